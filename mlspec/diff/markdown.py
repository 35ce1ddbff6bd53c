"""The pull-request comment: summary, collapsible tables, a Mermaid graph of affected steps.

GitHub refuses comments over 65,535 characters; rows are dropped from the longest tables
first and a note says how many, so the comment always posts.
"""

from __future__ import annotations

import re

from mlspec.diff.changes import SpecDiff, StepAction
from mlspec.diff.text import short

LIMIT = 65_535
BUDGET = LIMIT - 1_000  # room for the notes
MARKER = "<!-- mlspec-diff -->"  # lets CI find and update its own comment
ICONS = {"new": "🆕 new", "rerun": "🔁 rerun", "reuse": "♻️ reuse", "removed": "🗑️ removed"}


# Every ASCII punctuation character may be backslash-escaped in CommonMark; escaping them all
# leaves no link, image, emphasis, HTML tag, code span or table pipe in a value.
_PUNCT = re.compile(r"([!-/:-@\[-`{-~])")
# What GitHub turns into links or notifications after Markdown: @mentions, bare URLs and
# www. hosts, e-mail addresses. A zero-width space after '@' and inside '://' and 'www.'
# keeps the text readable and inert.
_ZWSP = "\u200b"
_LIVE = re.compile(r"(?<=@)|(?<=:)(?=//)|(?<=www)(?=\.)", re.IGNORECASE)


def _one_line(value: object) -> str:
    return " ".join(str(value).split())


def _cell(value: object) -> str:
    """A value from the spec as inert Markdown text (a table cell, a heading)."""
    return _PUNCT.sub(r"\\\1", _LIVE.sub(_ZWSP, _one_line(value)))


def _code(value: object) -> str:
    """A value as an inline code span: a fence longer than any backtick run in it, and '|'
    escaped (GitHub splits table cells on it even inside code). Links and HTML are not
    rendered inside code; mentions and URLs are broken as in `_cell` all the same."""
    text = _LIVE.sub(_ZWSP, _one_line(value)).replace("|", "\\|")
    fence = "`" * (max((len(r) for r in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _label(value: object) -> str:
    """Text inside a quoted Mermaid label: quotes and angle brackets as Mermaid entities."""
    return (
        _one_line(value)
        .replace("#", "#35;")
        .replace('"', "#quot;")
        .replace("<", "#lt;")
        .replace(">", "#gt;")
        .replace("`", "#96;")
    )


def _node(step_id: str) -> str:
    return "s_" + "".join(ch if ch.isalnum() else "_" for ch in step_id)


def _mermaid(affected: list[StepAction], max_nodes: int) -> list[str]:
    shown = affected[:max_nodes]
    ids = {s.step for s in shown}
    lines = ["```mermaid", "flowchart LR", '  subgraph affected["affected steps"]']
    for s in shown:
        lines.append(f'    {_node(s.step)}["{_label(s.step)}<br/>{s.action}"]:::{s.action}')
    lines.append("  end")
    for s in shown:
        for up in s.inputs:
            if up in ids:
                lines.append(f"  {_node(up)} --> {_node(s.step)}")
    lines += [
        "  classDef new fill:#d4f7d4,stroke:#2a2",
        "  classDef rerun fill:#fff3c4,stroke:#b80",
        "  classDef removed fill:#f9d0d0,stroke:#b22,stroke-dasharray: 4 2",
        "```",
    ]
    return lines


def _render(d: SpecDiff, n_changes: int, n_steps: int, n_nodes: int) -> str:
    out = [MARKER, f"### mlspec diff {_code(d.head_file)}", "", f"**{d.summary()}**", ""]
    if d.changes:
        out += [f"<details><summary>Spec changes ({len(d.changes)})</summary>", ""]
        out += [
            "| change | spec path | base line | head line | base | head |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for ch in d.changes[:n_changes]:
            out.append(
                f"| {ch.kind} | {_code(ch.path)} | {ch.base_line or ''} | {ch.head_line or ''} "
                f"| {_cell(short(ch.base, 40)) if ch.kind != 'added' else ''} "
                f"| {_cell(short(ch.head, 40)) if ch.kind != 'removed' else ''} |"
            )
        if n_changes < len(d.changes):
            out += [
                "",
                f"_Truncated: {len(d.changes) - n_changes} more changes not shown (comment size limit). Run `mlspec diff` locally for all._",
            ]
        out += ["", "</details>", ""]
    else:
        out += [
            "No semantic change: formatting, comments and the order of mapping keys do not count.",
            "",
        ]
    affected = d.affected
    if affected:
        out += [
            f"<details><summary>Step actions ({len(affected)} affected, {d.count('reuse')} reused)</summary>",
            "",
        ]
        out += ["| action | step | kind | why |", "| --- | --- | --- | --- |"]
        for s in affected[:n_steps]:
            out.append(
                f"| {ICONS[s.action]} | {_code(s.step)} | {_cell(s.kind)} | {_cell('; '.join(s.reasons))} |"
            )
        if n_steps < len(affected):
            out += [
                "",
                f"_Truncated: {len(affected) - n_steps} more steps not shown (comment size limit). Run `mlspec diff` locally for all._",
            ]
        out += ["", "</details>", ""]
        out += _mermaid(affected, n_nodes)
        if n_nodes < len(affected):
            out.append(f"_Graph truncated to {n_nodes} of {len(affected)} affected steps._")
        out.append("")
    if d.metrics:
        out += ["<details><summary>Recorded metrics (base → head)</summary>", ""]
        out += [
            "| scope | step | metric | base | head | Δ |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for m in d.metrics:
            delta = "" if m.delta is None else f"{m.delta:+.4g}"
            out.append(
                f"| {_cell(m.scope)} | {_code(m.step)} | {_cell(m.metric)} | {_num(m.base)} | {_num(m.head)} | {delta} |"
            )
        out += ["", "</details>", ""]
    out.append(
        "<sub>Data files are not read: this diff shows changes of the spec, not of the data.</sub>"
    )
    return "\n".join(out) + "\n"


def _num(v: float | None) -> str:
    return "" if v is None else f"{v:.4g}"


def render_markdown(d: SpecDiff, limit: int = LIMIT) -> str:
    """Markdown under `limit` characters; halves the longest table until it fits."""
    n_changes, n_steps, n_nodes = len(d.changes), len(d.affected), min(len(d.affected), 200)
    budget = min(BUDGET, limit - 1_000) if limit > 2_000 else limit
    while True:
        text = _render(d, n_changes, n_steps, n_nodes)
        if len(text) <= budget or (n_changes == 0 and n_steps == 0 and n_nodes == 0):
            return text
        if n_nodes >= max(n_changes, n_steps):
            n_nodes //= 2
        elif n_changes >= n_steps:
            n_changes //= 2
        else:
            n_steps //= 2
