from __future__ import annotations

from typing import Any

import pytest
from steps_fakes import FakeContext, FakeReader

from mlspec.contract.api import StepError
from mlspec.steps import gate

QUALITY = {
    "metrics": {
        "roc_auc": {"value": 0.712, "low": 0.69, "high": 0.73},
        "log_loss": {"value": 0.41, "low": 0.4, "high": 0.42},
        "pr_auc": {"value": None, "reason": "no positive rows in the test split"},
    },
    "fairness": {
        "author_group": {
            "demographic_parity_difference": 0.04,
            "equalized_odds_difference": {"value": 0.07},
        },
        "country": {
            "demographic_parity_difference": 0.12,
            "equalized_odds_difference": {"value": 0.02},
        },
    },
}
BASELINE = {"metrics": {"roc_auc": {"value": 0.5}}}
COMBINED = {"metrics": {"roc_auc": {"value": 0.81, "low": 0.8, "high": 0.82}}}


def _run(objective_gate: dict[str, str], combine_gate: dict[str, str] | None = None) -> FakeContext:
    inputs = {
        "select/quality": FakeReader({}, {"selection.json": {"selected": "gbt"}}),
        "eval/quality/gbt": FakeReader({}, {"metrics.json": QUALITY}),
        "eval/quality/baseline": FakeReader({}, {"metrics.json": BASELINE}),
        "select/engagement": FakeReader({}, {"selection.json": {"selected": "lr"}}),
        "combine": FakeReader({}, {"combine.json": COMBINED}),
    }
    params: dict[str, Any] = {
        "objectives": {
            "quality": {"gate": objective_gate, "task": "binary"},
            "engagement": {"gate": {}, "task": "binary"},
        },
        "combine_gate": combine_gate or {},
    }
    c = FakeContext(params, inputs)
    gate.run(c)
    return c


def _results(c: FakeContext) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["scope"], r["metric"]): r for r in c.output.jsons["gate.json"]["results"]}


@pytest.mark.parametrize(
    ("comparison", "passed", "margin"),
    [
        (">= 0.7", True, 0.012),
        (">= 0.75", False, -0.038),
        ("> 0.712", False, 0.0),
        ("<= 0.8", True, 0.088),
        ("< 0.7", False, -0.012),
        ("== 0.712", True, 0.0),
        ("  ==0.7 ", False, -0.012),
    ],
)
def test_each_operator_with_its_signed_margin(comparison: str, passed: bool, margin: float) -> None:
    c = _run({"roc_auc": comparison})
    r = _results(c)["quality", "roc_auc"]
    assert r["passed"] is passed and r["margin"] == pytest.approx(margin, abs=1e-12)
    assert r["value"] == 0.712 and r["model"] == "gbt"
    doc = c.output.jsons["gate.json"]
    assert doc["passed"] is passed and doc["selected"] == {"engagement": "lr", "quality": "gbt"}
    assert c.output.metrics["gate.passed"] == float(passed)


def test_a_failed_gate_is_described_with_how_far_short() -> None:
    c = _run({"roc_auc": ">= 0.75", "log_loss": "<= 0.5"})
    r = _results(c)
    assert gate.describe(r["quality", "roc_auc"]) == "quality roc_auc 0.712 < 0.75 (short by 0.038)"
    assert r["quality", "log_loss"]["passed"] and r["quality", "log_loss"][
        "margin"
    ] == pytest.approx(0.09)
    assert c.warnings == ["gate failed: quality roc_auc 0.712 < 0.75 (short by 0.038)"]


def test_an_undefined_or_unreported_metric_fails_with_its_reason() -> None:
    r = _results(_run({"pr_auc": ">= 0.5", "brier": "<= 0.2"}))
    assert (
        r["quality", "pr_auc"] | {"passed": False, "value": None, "margin": None}
        == r["quality", "pr_auc"]
    )
    assert r["quality", "pr_auc"]["reason"] == "no positive rows in the test split"
    assert r["quality", "brier"]["reason"] == "the metric was not reported"
    assert "undefined (no positive rows" in gate.describe(r["quality", "pr_auc"])


def test_fairness_takes_the_worst_protected_column() -> None:
    r = _results(
        _run({"demographic_parity_difference": "<= 0.1", "equalized_odds_difference": "<= 0.1"})
    )
    assert r["quality", "demographic_parity_difference"]["value"] == 0.12
    assert not r["quality", "demographic_parity_difference"]["passed"]
    assert r["quality", "equalized_odds_difference"]["value"] == 0.07


def test_combine_gate_reads_combine_json() -> None:
    c = _run({"roc_auc": ">= 0.7"}, {"roc_auc": ">= 0.9"})
    r = _results(c)["combine", "roc_auc"]
    assert r["value"] == 0.81 and not r["passed"] and r["model"] is None
    assert gate.describe(r) == "combine roc_auc 0.81 < 0.9 (short by 0.09)"
    assert [x["scope"] for x in c.output.jsons["gate.json"]["results"]] == ["quality", "combine"]


def test_no_thresholds_pass() -> None:
    doc = _run({}).output.jsons["gate.json"]
    assert doc == {
        "passed": True,
        "results": [],
        "selected": {"engagement": "lr", "quality": "gbt"},
    }


@pytest.mark.parametrize("text", [">= high", "=> 0.5", "0.5", ">= nan", ""])
def test_malformed_comparisons(text: str) -> None:
    with pytest.raises(StepError, match="must be a comparison"):
        gate.parse(text)


def test_a_pass_whose_interval_reaches_the_failing_side_is_doubted() -> None:
    from mlspec.steps.gate import check, uncertain

    thin = {"metrics": {"roc_auc": {"value": 0.7, "low": 0.45, "high": 0.93}}}
    result = check("quality", "lr", "roc_auc", ">= 0.6", thin)
    assert result["passed"]
    doubt = uncertain(result, thin)
    assert doubt is not None and "quality roc_auc 0.7 >= 0.6" in doubt and "[0.45, 0.93]" in doubt
    firm = {"metrics": {"roc_auc": {"value": 0.8, "low": 0.75, "high": 0.85}}}
    assert uncertain(check("quality", "lr", "roc_auc", ">= 0.6", firm), firm) is None
    lower = {"metrics": {"log_loss": {"value": 0.3, "low": 0.2, "high": 0.45}}}
    assert uncertain(check("q", "lr", "log_loss", "<= 0.4", lower), lower) is not None
    assert uncertain(check("q", "lr", "roc_auc", ">= 0.6", {"metrics": {}}), {}) is None
