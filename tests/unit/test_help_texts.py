"""Help texts say what the commands do (no document or help text promises otherwise)."""

from __future__ import annotations

from pathlib import Path

from mlspec.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]


def test_report_help_names_where_the_page_goes() -> None:
    """The page goes to <store>/reports/ (tests/integration/test_run_messages.py), not 'here'."""
    sub = build_parser("report")._subparsers._group_actions[0].choices["report"]  # type: ignore[union-attr]
    text = " ".join(sub.format_help().split())
    assert "<store>/reports/report-<run id>.html" in text and "` here" not in text


def test_the_readme_lists_every_command() -> None:
    readme = (ROOT / "README.md").read_text()
    from mlspec.cli import COMMANDS

    listed = [name for name, (_module, help_text) in COMMANDS.items() if help_text is not None]
    missing = [c for c in listed if f"`mlspec {c}" not in readme]
    assert not missing, missing
