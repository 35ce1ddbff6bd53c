from __future__ import annotations

from typing import Any

import pytest
from steps_fakes import FakeContext, FakeReader

from mlspec.contract.api import StepError
from mlspec.steps import select


def _doc(value: float | None, reason: str | None = None, metric: str = "roc_auc") -> dict[str, Any]:
    entry: dict[str, Any] = {
        "value": value,
        "low": None if value is None else value - 0.01,
        "high": None if value is None else value + 0.01,
    }
    if reason:
        entry["reason"] = reason
    return {"metrics": {metric: entry}}


def _run(
    values: dict[str, Any],
    *,
    metric: str = "roc_auc",
    higher: bool = True,
    baseline: str | None = "baseline",
) -> FakeContext:
    candidates = [m for m in values if m != "baseline"]
    docs = {m: v if isinstance(v, dict) else _doc(v, metric=metric) for m, v in values.items()}
    c = FakeContext(
        {
            "objective": {"name": "quality", "select_by": metric, "higher_is_better": higher},
            "candidates": candidates,
            "baseline": baseline,
        },
        {f"eval/{m}": FakeReader({}, {"metrics.json": d}) for m, d in docs.items()},
    )
    select.run(c)
    return c


def _selection(c: FakeContext) -> dict[str, Any]:
    return c.output.jsons["selection.json"]


def test_picks_the_best_candidate_and_compares_with_the_baseline() -> None:
    c = _run({"lr": 0.81, "gbt": 0.86, "baseline": 0.5})
    s = _selection(c)
    assert s["selected"] == "gbt" and s["value"] == 0.86 and s["metric"] == "roc_auc"
    assert (s["low"], s["high"]) == (0.85, 0.87)
    assert [r["model"] for r in s["ranking"]] == ["gbt", "lr"]
    assert (
        s["ranking"][1]["vs_baseline"] == pytest.approx(0.31)
        and s["ranking"][1]["beats_baseline"] is True
    )
    assert s["baseline"] == {
        "model": "baseline",
        "value": 0.5,
        "low": 0.49,
        "high": 0.51,
        "reason": None,
    }
    assert (
        s["beats_baseline"] is True
        and s["higher_is_better"] is True
        and s["objective"] == "quality"
    )
    assert c.warnings == [] and c.output.metrics == {"roc_auc": 0.86}


def test_lower_is_better_metrics_pick_the_smallest() -> None:
    s = _selection(
        _run({"lr": 0.31, "gbt": 0.42, "baseline": 0.69}, metric="log_loss", higher=False)
    )
    assert s["selected"] == "lr"
    assert s["ranking"][0]["vs_baseline"] == pytest.approx(
        0.69 - 0.31
    )  # positive: better than the baseline


def test_ties_go_to_the_earlier_candidate() -> None:
    assert _selection(_run({"b": 0.8, "a": 0.8, "c": 0.7}, baseline=None))["selected"] == "b"
    assert _selection(_run({"a": 0.8, "b": 0.8}, baseline=None))["selected"] == "a"


def test_the_baseline_is_never_selected_and_a_loss_to_it_is_a_warning() -> None:
    c = _run({"lr": 0.55, "baseline": 0.6})
    s = _selection(c)
    assert s["selected"] == "lr" and s["beats_baseline"] is False
    assert (
        len(c.warnings) == 1
        and "does not beat the baseline" in c.warnings[0]
        and "Start simple" in c.warnings[0]
    )
    # A tie with the baseline does not beat it either.
    assert _selection(_run({"lr": 0.6, "baseline": 0.6}))["beats_baseline"] is False


def test_an_undefined_candidate_ranks_last() -> None:
    s = _selection(
        _run(
            {"lr": _doc(None, "only one class (0) in the test split"), "gbt": 0.7, "baseline": 0.5}
        )
    )
    assert s["selected"] == "gbt"
    assert s["ranking"][1] == {
        "model": "lr",
        "value": None,
        "low": None,
        "high": None,
        "reason": "only one class (0) in the test split",
        "vs_baseline": None,
        "beats_baseline": None,
    }


def test_undefined_for_every_candidate_is_an_error_that_says_why() -> None:
    why = "only one class (0) in the test split"
    with pytest.raises(StepError) as info:
        _run({"lr": _doc(None, why), "gbt": _doc(None, why), "baseline": _doc(None, why)})
    text = str(info.value)
    assert "undefined for every model" in text and f"lr: {why}" in text and "select_by" in text


def test_a_metric_missing_from_the_evaluation_counts_as_undefined() -> None:
    s = _selection(_run({"lr": {"metrics": {}}, "gbt": 0.7}, baseline=None))
    assert s["selected"] == "gbt" and s["ranking"][1]["reason"] == "roc_auc was not evaluated"
    assert s["baseline"] is None and s["beats_baseline"] is None


def test_an_undefined_baseline_is_a_warning() -> None:
    c = _run({"lr": 0.7, "baseline": _doc(None, "only one class (0) in the test split")})
    assert _selection(c)["beats_baseline"] is None
    assert len(c.warnings) == 1 and "cannot compare with the baseline" in c.warnings[0]


def test_no_candidate_is_an_error() -> None:
    with pytest.raises(StepError, match="no model to select from"):
        _run({"baseline": 0.5})
