"""The renderers: Markdown parses into details, tables and a mermaid fence, within GitHub's limit."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from mlspec.diff.changes import Change, MetricDelta, SpecDiff, compare
from mlspec.diff.markdown import LIMIT, render_markdown
from mlspec.diff.text import render_text
from mlspec.lang.validate import load_spec

SPECS = Path(__file__).resolve().parents[2] / "specs" / "diff"


def feature_diff() -> SpecDiff:
    return compare(
        load_spec(SPECS / "feed.yaml"),
        load_spec(SPECS / "feature-expr.yaml"),
        base_file="base",
        head_file="head",
    )


def tokens(text: str) -> list:
    return MarkdownIt("commonmark").enable("table").parse(text)


def test_markdown_has_summary_details_tables_and_a_mermaid_subgraph() -> None:
    d = feature_diff()
    text = render_markdown(d)
    toks = tokens(text)
    types = [t.type for t in toks]
    assert types.count("table_open") == 2  # the changes and the step actions
    html = "".join(t.content for t in toks if t.type == "html_block")
    assert html.count("<details>") == 2 and html.count("</details>") == 2
    fences = [t for t in toks if t.type == "fence"]
    assert [f.info for f in fences] == ["mermaid"]
    graph = fences[0].content
    assert graph.startswith("flowchart LR") and 'subgraph affected["affected steps"]' in graph
    assert (
        "s_features --> s_train_quality_lr" in graph
        and "s_load_posts" not in graph
        and "s_split" not in graph
    )  # reused steps are left out
    assert f"**{d.summary()}**" in text
    cells = [t.content for t in toks if t.type == "inline"]
    assert "`features[log_followers].expr`" in cells


def test_markdown_is_truncated_under_the_limit_with_a_note() -> None:
    d = feature_diff()
    many = [
        Change(f"features[f{i}].expr", "changed", i, i, "x" * 30, "y" * 30) for i in range(3000)
    ]
    big = replace(d, changes=many)
    text = render_markdown(big)
    assert len(text) < LIMIT
    assert "_Truncated:" in text and "more changes not shown" in text
    assert [t.info for t in tokens(text) if t.type == "fence"] == ["mermaid"]


def test_markdown_escapes_table_cells() -> None:
    d = replace(feature_diff(), changes=[Change("a", "changed", 1, 1, "x | y", "<script>")])
    text = render_markdown(d)
    assert "x \\| y" in text and "<script>" not in text


def test_text_has_no_colour_unless_asked() -> None:
    d = feature_diff()
    assert "\033[" not in render_text(d)
    assert "\033[33m" in render_text(d, colour=True)
    assert "features[log_followers].expr  (line 67 → 67)" in render_text(d)


PAYLOADS = [
    "[approve me](https://evil.example) @someone",  # the issue's: a live link and a mention
    "see https://evil.example/x and www.evil.example",  # bare URLs (GitHub autolinks them)
    "![img](https://evil.example/p.png)",
    "<img src=x onerror=alert(1)> <a href='https://evil.example'>x</a>",
    "`code` and ``` fence",
    "**bold** _it_ ~~s~~ # heading | pipe \\ backslash",
    "line one\n\n# two\n- three",
    "mail admin@evil.example, ping @org/team",
    "[ref]: https://evil.example",
]


# The HTML the renderer itself writes.
OURS = re.compile(r"<!-- mlspec-diff -->|</?details>|<details><summary>[^<]*</summary>|</?sub>")


def _injected(text: str) -> list[str]:
    """What the rendered comment would turn into markup: links, images, HTML, mentions, URLs."""
    toks = tokens(text)
    found = []
    for t in toks:
        if t.type == "html_block" and not OURS.fullmatch(t.content.strip()):
            found.append(t.content)
        for c in t.children or []:
            if c.type in ("link_open", "image") or (
                c.type == "html_inline" and not OURS.fullmatch(c.content)
            ):
                found.append(c.type)
            if c.type in ("text", "code_inline"):
                found += re.findall(r"@\w|https?://|www\.", c.content)
    return found


@pytest.mark.parametrize("payload", PAYLOADS)
def test_markdown_renders_spec_text_inert(payload: str) -> None:
    """Every value from the spec reaches the comment as text: no link, mention, HTML or markup."""
    d = feature_diff()
    evil = replace(
        d,
        head_file=payload,
        changes=[
            Change("problem.description", "changed", 3, 3, "benign", payload),
            Change(payload, "added", None, 4, None, payload),
        ],
        steps=[replace(d.affected[0], kind=payload, reasons=(payload,))],
        metrics=[MetricDelta(payload, "train.quality.gbt", payload, 0.5, 0.6)],
    )
    text = render_markdown(evil)
    assert _injected(text) == []
    toks = tokens(text)
    assert [t.type for t in toks].count("table_open") == 3
    rows = [t for t in toks if t.type == "tr_open"]
    assert len(rows) == 3 + 2 + 2  # each table: a header and its rows, none split or added
    cells = [t for t in toks if t.type in ("td_open", "th_open")]
    assert len(cells) == 3 * 6 + 2 * 4 + 2 * 6
    assert [t.info for t in toks if t.type == "fence"] == ["mermaid"]
    # The words stay readable: only zero-width spaces and escapes were added.
    plain = "".join(
        c.content for t in toks for c in (t.children or []) if c.type in ("text", "code_inline")
    ).replace("\u200b", "")
    assert "approve me" in plain or "approve" not in payload


def test_markdown_code_span_outlasts_backticks_in_the_value() -> None:
    from mlspec.diff.markdown import _code

    for value in ("a`b", "``x``", "`", "a | b"):
        span = [
            c for t in tokens(_code(value)) for c in t.children or [] if c.type == "code_inline"
        ]
        assert len(span) == 1 and span[0].content.strip() == value.replace("|", "\\|").strip()
