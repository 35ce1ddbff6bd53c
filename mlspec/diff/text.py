"""The terminal form: summary, changes with lines on both sides, affected steps, metric deltas.

Colour only when writing to a terminal and NO_COLOR is unset (https://no-color.org).
"""

from __future__ import annotations

import json
import os
from typing import IO, Any

from mlspec.diff.changes import SpecDiff

COLOURS = {
    "new": "32",
    "rerun": "33",
    "removed": "31",
    "reuse": "2",
    "added": "32",
    "changed": "33",
    "reordered": "36",
    "bold": "1",
}


def use_colour(stream: IO[str]) -> bool:
    return "NO_COLOR" not in os.environ and hasattr(stream, "isatty") and stream.isatty()


def short(value: Any, width: int = 60) -> str:
    text = (
        json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
        if not isinstance(value, str)
        else value
    )
    return text if len(text) <= width else text[: width - 1] + "…"


def _line(n: int | None) -> str:
    return "-" if n is None else str(n)


def render_text(d: SpecDiff, colour: bool = False) -> str:
    def c(key: str, text: str) -> str:
        return f"\033[{COLOURS[key]}m{text}\033[0m" if colour else text

    out = [f"mlspec diff {d.base_file} → {d.head_file}", c("bold", d.summary()), ""]
    if d.changes:
        out.append(f"Spec changes ({len(d.changes)}):")
        for ch in d.changes:
            where = f"line {_line(ch.base_line)} → {_line(ch.head_line)}"
            if ch.kind in ("changed", "reordered"):
                what = f"{short(ch.base)} → {short(ch.head)}"
            elif ch.kind == "added":
                what = short(ch.head)
            else:
                what = short(ch.base)
            out.append(f"  {c(ch.kind, ch.kind):<9} {ch.path}  ({where})  {what}")
    else:
        out.append(
            "No semantic change (formatting, comments and the order of mapping keys do not count)."
        )
    out.append("")
    affected = d.affected
    if affected:
        out.append(f"Steps ({len(affected)} affected, {d.count('reuse')} reused):")
        width = max(len(s.step) for s in affected)
        for s in affected:
            out.append(
                f"  {c(s.action, f'{s.action:<7}')} {s.step:<{width}}  {'; '.join(s.reasons)}"
            )
    else:
        out.append(f"Steps: all {d.count('reuse')} reused.")
    if d.metrics:
        out += ["", "Recorded metrics (base → head):"]
        for m in d.metrics:
            delta = "" if m.delta is None else f"  ({m.delta:+.4g})"
            out.append(
                f"  {m.scope:<12} {m.step:<28} {m.metric:<18} {_num(m.base)} → {_num(m.head)}{delta}"
            )
    out += ["", "Data files are not read: a spec diff shows changes of the spec, not of the data."]
    return "\n".join(out)


def _num(v: float | None) -> str:
    return "-" if v is None else f"{v:.4g}"
