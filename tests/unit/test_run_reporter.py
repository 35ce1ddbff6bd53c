"""The step lines of `mlspec run`: a skipped package says why only when it knows why."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from mlspec.commands.run import _Reporter


def test_a_package_skipped_after_an_upstream_failure_does_not_blame_the_gate(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A failed `profile` skips `package` (no result) while the gate passed: the line must
    not say "not packaged: the gate failed"."""
    _Reporter(quiet=False, total=1)("package", "skipped", None)
    err = capsys.readouterr().err
    assert "- package" in err and "gate" not in err


def test_a_package_refused_by_the_gate_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    refused = SimpleNamespace(
        ok=False,
        error="gate failed: y roc_auc 0.5 < 0.999",
        cache_hit=False,
        seconds=0.01,
        warnings=[],
        metrics={},
    )
    _Reporter(quiet=False, total=1)("package", "failed", refused)
    assert "not packaged: the gate failed" in capsys.readouterr().err
