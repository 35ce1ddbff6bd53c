"""The renderers: Markdown parses into details, tables and a mermaid fence, within GitHub's limit."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from markdown_it import MarkdownIt

from mlspec.diff.changes import Change, SpecDiff, compare
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
