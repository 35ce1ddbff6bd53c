"""What each step kind receives: one params class per kind, the single declaration.

The planner (`compile/planner.py`) fills these, the step functions read them as attributes
(`ctx.params.objective`), the fingerprint hashes their identity fields
(`contract/params.py`), and `docs/step-contracts.md` is generated from the docstring under
each field (`tools/gen_step_contracts.py`; a test keeps the page equal). They live in this
one light module, beside the kind table, because the planner builds them without importing
the step modules (which import polars, scikit-learn and xgboost).

Nested values are JSON. Their shapes, shared by several kinds:

- objective: ``{name, task, target, positive, missing_target, features, select_by,
  higher_is_better}`` for fitting;
  evaluation and reporting also get ``metrics, threshold, slices, protected``.
- feature: ``{name, type, encoding, impute, fill_value, scale}`` (``expr`` where computed).
- model: ``{name, type, params}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlspec.contract.params import Params, param


@dataclass(frozen=True)
class LoadParams(Params):
    name: str
    """The source's name (`data.sources.<name>`)."""
    source: dict[str, Any]
    """`{path, format, query, separator, columns}`: where and how to read it."""
    filter: str | None = None
    """`where:`: the rows kept, an expression of the feature language (none: every row)."""
    external: bool = param(identity=False, default=False)
    """The path may leave the project folder (permission only: the bytes read are the same)."""
    where: str | None = param(identity=False, default=None)
    """Spec position of the source's path, for messages."""


@dataclass(frozen=True)
class CheckParams(Params):
    name: str
    """The source whose rows are checked."""
    checks: list[dict[str, Any]]
    """`[{column, rules, severity, where}]`: the source's checks, in spec order."""


@dataclass(frozen=True)
class JoinParams(Params):
    joins: list[dict[str, Any]]
    """`[{left, right, on, how, suffix}]`, applied in order."""
    where: dict[str, str] = param(identity=False, default={})
    """Spec position of each join (by index), for messages."""


@dataclass(frozen=True)
class FeaturesParams(Params):
    features: list[dict[str, Any]]
    """`[{name, expr, type, where}]`: every feature of the spec, computed from the table."""
    carry: list[str]
    """Columns kept beside the features: targets, slices, protected and split columns."""

    def column_parts(self) -> dict[str, Any]:
        """Each output column's own definition: a reader of some columns depends on those
        columns' definitions only (so a feature one objective uses reruns that objective)."""
        parts: dict[str, Any] = {c: {"carry": c} for c in self.carry}
        for f in self.features:
            parts[f["name"]] = {"expr": f.get("expr"), "type": f.get("type")}
        return parts


@dataclass(frozen=True)
class SplitParams(Params):
    method: str
    """`random`, `stratified`, `group`, `time`."""
    test: float
    """Share of rows (or groups) in the test split."""
    valid: float | None
    """Share in the valid split, or none."""
    seed: int
    """`data.split.seed`: the seeded draw."""
    by: str | None
    """The column a stratified, group or time split reads."""
    where: str | None = param(identity=False, default=None)
    """Spec position of `data.split`, for messages."""


@dataclass(frozen=True)
class TrialParams(Params):
    objective: dict[str, Any]
    """The objective, as fitting needs it."""
    model: dict[str, Any]
    """The model being searched."""
    trial: dict[str, Any]
    """`{index, params}`: this trial's number and the params drawn for it at plan time."""
    search: dict[str, Any]
    """`{method, cv, seed}`: how trials are scored (folds are drawn with `seed`)."""
    seed: int
    """`execution.seed`: the estimator's random state."""
    threads: int
    """`execution.threads`: the estimator's thread count (scikit-learn pickles its n_jobs)."""
    folds: dict[str, Any] = param(default={"method": "random", "by": None})
    """`{method, by}` of `data.split`: k-fold search folds follow the split (group: whole
    groups of `by` per fold; time: each fold scores rows later, by `by`, than it fits)."""


@dataclass(frozen=True)
class TrainParams(Params):
    objective: dict[str, Any]
    """The objective, as fitting needs it (a new metric or slice never refits)."""
    model: dict[str, Any]
    """The model to fit; a search's best trial's params are merged over its params."""
    search: dict[str, Any] | None
    """`{method, cv, seed}` when the model is searched; its trials are inputs `("trial", k)`."""
    seed: int
    """`execution.seed`: the estimator's random state."""
    threads: int
    """`execution.threads`: the estimator's thread count (scikit-learn pickles its n_jobs)."""


@dataclass(frozen=True)
class EvaluateParams(Params):
    objective: dict[str, Any]
    """The whole objective: metrics, threshold, slices and protected columns too."""
    model_name: str
    """The model evaluated (input `("model",)` is its train step)."""
    bootstrap: int
    """`evaluation.bootstrap`: resamples for the metrics' intervals (0: none)."""
    importance: bool
    """`evaluation.importance`: permutation importance on or off."""
    seed: int
    """`execution.seed`: the bootstrap's and the permutations' draws."""
    threads: int = param(identity=False, default=1)
    """`execution.threads`: predictions and metrics do not depend on it."""


@dataclass(frozen=True)
class SelectParams(Params):
    objective: dict[str, Any]
    """The objective (its `select_by` and direction)."""
    candidates: list[str]
    """The models that may be selected, in spec order (inputs `("eval", model)`)."""
    baseline: str | None
    """The baseline model's name, or none: compared, never selected."""


@dataclass(frozen=True)
class CombineParams(Params):
    weights: dict[str, float]
    """Objective -> weight in the final score."""
    scale: dict[str, str]
    """Objective -> how its score is scaled before weighting."""
    tasks: dict[str, str]
    """Objective -> task."""
    target: str | None
    """A column the combined score is evaluated against, or none."""
    targets: dict[str, str]
    """Objective -> its target column (read from the evaluations' predictions)."""
    metrics: list[str]
    """Metrics of the combined score against `target`."""
    positives: dict[str, Any] = param(default={})
    """Objective -> its positive class (`objectives.<o>.positive`; none: the last sorted)."""


@dataclass(frozen=True)
class GateParams(Params):
    objectives: dict[str, Any]
    """Objective -> `{gate: {metric: "op value"}, task}`."""
    combine_gate: dict[str, str]
    """Thresholds on the combined score's metrics."""


@dataclass(frozen=True)
class ProfileParams(Params):
    monitors: list[dict[str, Any]]
    """The spec's monitors: which columns and scores get a reference."""
    features: list[dict[str, Any]]
    """The features the monitors read (name and type): every one when a `data_quality`
    monitor checks them, the watched ones for drift, none without monitors."""
    sample_rows: int = param(default=100_000)
    """The most rows of each split kept as a sample for the drift statistics."""
    seed: int = param(default=0)
    """`execution.seed`: the sample's draw."""


@dataclass(frozen=True)
class PackageParams(Params):
    name: str
    """The system's name (the registry's key)."""
    weights: dict[str, float]
    """Combine weights, as deployed."""
    objectives: dict[str, Any]
    """Objective -> its whole definition, as deployed."""
    features: list[dict[str, Any]]
    """`[{name, expr, type}]`: what a scorer computes from a raw row."""
    deployment: dict[str, Any] | None
    """The spec's deployment section."""


@dataclass(frozen=True)
class ReportParams(Params):
    name: str
    """The system's name (the page title)."""
    description: str
    """The spec's description."""
    problem: dict[str, Any] | None
    """The framing: goal, business metric."""
    objectives: dict[str, Any]
    """Objective -> its whole definition."""


@dataclass(frozen=True)
class ScoreParams(Params):
    input: str | None
    """`deployment.batch.input`: the file to score (relative to the spec), or none to score
    the table the features were computed from (input `("data",)`)."""
    format: str
    """`deployment.batch.format`: `parquet` or `csv`, the scores file's format."""


PARAMS: dict[str, type[Params]] = {
    "load": LoadParams,
    "check": CheckParams,
    "join": JoinParams,
    "features": FeaturesParams,
    "split": SplitParams,
    "trial": TrialParams,
    "train": TrainParams,
    "evaluate": EvaluateParams,
    "select": SelectParams,
    "combine": CombineParams,
    "gate": GateParams,
    "profile": ProfileParams,
    "package": PackageParams,
    "report": ReportParams,
    "score": ScoreParams,
}
