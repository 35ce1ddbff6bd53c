"""Which metrics exist, which tasks they fit, and which way is better.

Pure data, so `validate` can check "metric fits task" without importing scikit-learn. The
evaluation step computes each metric; a test keeps the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    name: str
    tasks: frozenset[str]
    higher_is_better: bool
    summary: str


def _m(name: str, tasks: str, higher: bool, summary: str) -> Metric:
    return Metric(name, frozenset(tasks.split()), higher, summary)


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        _m("roc_auc", "binary", True, "area under the ROC curve"),
        _m("pr_auc", "binary", True, "area under the precision-recall curve (average precision)"),
        _m("log_loss", "binary multiclass", False, "cross-entropy of the predicted probabilities"),
        _m("accuracy", "binary multiclass", True, "fraction of correct labels"),
        _m("f1", "binary", True, "F1 score of the positive class"),
        _m("precision", "binary", True, "precision of the positive class"),
        _m("recall", "binary", True, "recall of the positive class"),
        _m("brier", "binary", False, "Brier score: mean squared error of the probability"),
        _m("macro_f1", "multiclass", True, "F1 averaged over classes"),
        _m("rmse", "regression", False, "root mean squared error"),
        _m("mae", "regression", False, "mean absolute error"),
        _m("r2", "regression", True, "coefficient of determination"),
        _m("mape", "regression", False, "mean absolute percentage error"),
    )
}

# Fairness differences across protected groups (fairlearn's definitions); binary tasks only.
FAIRNESS_METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        _m(
            "demographic_parity_difference",
            "binary",
            False,
            "largest gap in selection rate between groups",
        ),
        _m(
            "equalized_odds_difference",
            "binary",
            False,
            "largest gap in true- or false-positive rate between groups",
        ),
    )
}

DEFAULT_METRICS: dict[str, tuple[str, ...]] = {
    "binary": ("roc_auc", "log_loss"),
    "multiclass": ("accuracy", "log_loss"),
    "regression": ("rmse", "r2"),
}

# Metrics of the combined score against `combine.target`: the score is a ranking, not a
# probability, so only rank and error metrics apply.
COMBINED_METRICS = frozenset({"roc_auc", "pr_auc", "rmse", "mae", "r2"})


def metrics_for(task: str) -> list[str]:
    return [name for name, m in METRICS.items() if task in m.tasks]
