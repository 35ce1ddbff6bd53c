"""The `combine` step: put every objective's score on a common scale and weight them into one.

Params: `CombineParams` (`mlspec/steps/params.py`).

Inputs ``("select", o)`` and ``("eval", o, m)``: only the selected model's test predictions are
read. All objectives are evaluated on the same test rows; rows are aligned by ``row`` and a
mismatch is a StepError.

The final score is **not** normalised by the weight sum: ``score = Σ_o weight_o × score_<o>``,
literally as the spec language states it (`combine.weights`). Weights that sum to 1 keep it
in [0, 1]; doubling every weight doubles every score and changes no ranking. A negative
weight counts an objective against the score (lower is better for it).

Scales (`mlspec.scoring.combine.SCALES`: identity, probability, rank, minmax; what each score means is in that module) are fitted on the selected
model's test predictions; the fitted parameters are recorded in ``combine.json`` so the
scorer applies exactly the same map (`transform` is the one implementation both use).

Artifacts: ``scores.parquet`` (``row`` Int64, ``score_<o>`` Float64 scaled, in sorted
objective order, ``score``, and ``target`` when one is evaluated), ``reference.parquet``
(each objective's raw test scores, sorted) and ``combine.json``. Metrics of the combined
score against ``target`` (roc_auc and pr_auc for a binary target; rmse, mae, r2 otherwise)
come from `mlspec.evaluation.metrics`, with a 95% bootstrap interval over 200 resamples of a
fixed seed (0): the step takes no seed, so its fingerprint fixes its output.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from mlspec.contract.api import StepContext, StepError
from mlspec.evaluation import metrics as M
from mlspec.frames import FLOAT, INTEGER, base, positive_last
from mlspec.scoring.combine import SCALES, combine_scores, transform
from mlspec.steps.params import CombineParams

BOOTSTRAP_RESAMPLES = 200
BOOTSTRAP_SEED = 0
# Metrics of the combined score, by the kind of target they need.
COMBINED_METRICS: dict[str, str] = {
    "roc_auc": "binary",
    "pr_auc": "binary",
    "rmse": "regression",
    "mae": "regression",
    "r2": "regression",
}


# ----------------------------------------------------------------------------- inputs


@dataclass
class Objective:
    name: str
    task: str
    model: str
    rows: np.ndarray  # sorted row ids
    raw: np.ndarray  # scores, in row order
    target: pl.Series
    metrics: dict[str, Any]


def _read(ctx: StepContext, name: str, task: str) -> Objective:
    selection = ctx.input("select", name).json("selection.json")
    model = selection.get("selected")
    if not model:
        raise StepError(f"Objective '{name}' has no selected model (selection.json names none).")
    try:
        ev = ctx.input("eval", name, model)
    except KeyError:
        raise StepError(
            f"Objective '{name}': the selected model '{model}' has no evaluation among the combine step's inputs."
        ) from None
    preds = ev.frame("predictions", columns=["row", "target", "score"]).sort("row")
    rows = preds.get_column("row").cast(pl.Int64)
    if rows.null_count() or rows.n_unique() != len(rows):
        raise StepError(
            f"Objective '{name}' (model '{model}'): the predictions' `row` ids must be unique and not null."
        )
    score = preds.get_column("score").cast(pl.Float64)
    bad = score.is_null() | score.is_nan() | score.is_infinite()
    if bad.any():
        raise StepError(
            f"Objective '{name}' (model '{model}'): {int(bad.sum())} test prediction(s) have no finite score.",
            hint="the model produced null, NaN or infinite scores; check its inputs and parameters",
        )
    metrics = ev.json("metrics.json").get("metrics", {})
    return Objective(
        name, task, model, rows.to_numpy(), score.to_numpy(), preds.get_column("target"), metrics
    )


def _align(objectives: list[Objective]) -> np.ndarray:
    first = objectives[0]
    for o in objectives[1:]:
        if len(o.rows) != len(first.rows) or not np.array_equal(o.rows, first.rows):
            differ = len(np.setxor1d(o.rows, first.rows))
            raise StepError(
                f"Objectives '{first.name}' and '{o.name}' were evaluated on different test rows: "
                f"{len(first.rows)} and {len(o.rows)} rows, {differ} row id(s) in only one of them.",
                hint="every objective must be evaluated on the same split of the same table; rerun the plan",
            )
    return first.rows


# ----------------------------------------------------------------------------- metrics


def _target_rows(
    target: pl.Series, score: np.ndarray, kind: str, column: str, positive: Any = None
) -> M.Rows:
    """Rows for the metrics: non-null targets, binary targets as 0/1 (positive: the owning
    objective's `positive`, else the larger class)."""
    keep = target.is_not_null().to_numpy()
    t, s = target.filter(pl.Series(keep)), score[keep]
    what = f"the test rows of '{column}'"
    if kind == "binary":
        classes = t.unique().sort().to_list()
        if positive is not None and len(classes) == 2:
            classes = positive_last(classes, positive, column, what)
        if len(classes) > 2:
            raise StepError(
                f"The combined score's binary metrics need a target with two classes. Got {len(classes)} distinct values in '{column}' instead.",
                hint="use combine.metrics rmse, mae or r2 for a numeric target",
            )
        y = (
            (t == classes[-1]).to_numpy().astype(np.int64)
            if len(classes) == 2
            else np.zeros(len(t), dtype=np.int64)
        )
        return M.Rows.make("binary", y, s, classes=tuple(classes) or (0, 1), what=what)
    if base(t.dtype) not in INTEGER | FLOAT | {pl.Boolean}:
        raise StepError(
            f"The combined score's {kind} metrics need a numeric target. Got '{column}' of dtype {t.dtype} instead."
        )
    return M.Rows.make("regression", t.cast(pl.Float64).to_numpy(), s, what=what)


def _evaluate(
    names: list[str], target: pl.Series, score: np.ndarray, column: str, positive: Any = None
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kind in ("binary", "regression"):
        wanted = [m for m in names if COMBINED_METRICS[m] == kind]
        if not wanted:
            continue
        rows = _target_rows(target, score, kind, column, positive)
        defined = []
        for m in wanted:
            v = M.value(m, rows)
            out[m] = v.to_json()
            if v.value is not None:
                defined.append(m)
        for m, (low, high) in M.bootstrap(
            rows, defined, BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED
        ).items():
            out[m].update(low=low, high=high)
    return out


def _target(
    params: CombineParams, objectives: list[Objective]
) -> tuple[str | None, pl.Series | None]:
    column = params.target
    if not column:
        return None, None
    targets = params.targets
    owners = sorted(o for o, t in targets.items() if t == column)
    by_name = {o.name: o for o in objectives}
    if not owners or owners[0] not in by_name:
        raise StepError(
            f"combine.target '{column}' is not the target of any objective; the combine step reads targets only from the objectives' test predictions.",
            hint="evaluate the combined score against an objective's target"
            + (f" ({', '.join(sorted(set(targets.values())))})" if targets else "")
            + "; other columns are not among the combine step's inputs yet",
        )
    return column, by_name[owners[0]].target


# ----------------------------------------------------------------------------- run


def run(ctx: StepContext) -> None:
    p: CombineParams = ctx.params
    weights = {o: float(w) for o, w in p.weights.items()}
    scale, tasks, wanted = p.scale, p.tasks, list(p.metrics)
    names = sorted(weights)
    if not names:
        raise StepError("combine needs at least one objective with a weight.")
    for m in wanted:
        if m not in COMBINED_METRICS:
            raise StepError(
                f"combine.metrics must be among {', '.join(COMBINED_METRICS)}. Got '{m}' instead."
            )
    for o in names:
        if scale.get(o) not in SCALES:
            raise StepError(
                f"combine.scale.{o} must be one of {', '.join(SCALES)}. Got {scale.get(o)!r} instead."
            )

    objectives = [_read(ctx, o, tasks.get(o, "binary")) for o in names]
    rows = _align(objectives)
    scaled: dict[str, np.ndarray] = {}
    scaling: dict[str, dict[str, Any]] = {}
    reference: dict[str, np.ndarray] = {}
    for o in objectives:
        method = scale[o.name]
        fitted = SCALES[method].fit(o.raw, o.task, o.name)
        reference[o.name] = np.sort(o.raw, kind="stable")
        scaled[o.name] = transform(method, fitted, o.raw, reference[o.name])
        scaling[o.name] = {"method": method, **fitted}
    score = combine_scores(weights, scaled)

    column, target = _target(p, objectives)
    if wanted and column is None:
        raise StepError(
            "combine.metrics need combine.target: the column the combined score is evaluated against."
        )
    owner = sorted(o for o, t in p.targets.items() if t == column)
    positive = p.positives.get(owner[0]) if owner else None
    results = (
        _evaluate(wanted, target, score, column, positive)
        if column is not None and target is not None
        else {}
    )
    for m, v in results.items():
        if v["value"] is None:
            ctx.warn(f"combined {m} is undefined: {v['reason']}")
        else:
            ctx.output.metric(f"combined.{m}", v["value"])

    columns: dict[str, pl.Series] = {"row": pl.Series("row", rows, dtype=pl.Int64)}
    columns.update(
        {f"score_{o}": pl.Series(f"score_{o}", scaled[o], dtype=pl.Float64) for o in names}
    )
    columns["score"] = pl.Series("score", score, dtype=pl.Float64)
    if target is not None:
        columns["target"] = target.rename("target")
    ctx.output.write_frame(pl.DataFrame(columns), "scores")
    ctx.output.write_frame(
        pl.DataFrame({f"score_{o}": pl.Series(reference[o], dtype=pl.Float64) for o in names}),
        "reference",
    )
    ctx.output.write_json(
        {
            "formula": "score = sum(weight[o] * score_<o>); not divided by the sum of the weights",
            "normalized": False,
            "weights": weights,
            "scale": {o: scale[o] for o in names},
            "scaling": scaling,
            "selected": {o.name: o.model for o in objectives},
            "objectives": {
                o.name: {
                    "model": o.model,
                    "task": o.task,
                    "weight": weights[o.name],
                    "column": f"score_{o.name}",
                    "metrics": o.metrics,
                }
                for o in objectives
            },
            "rows": len(rows),
            "target": column,
            "metrics": results,
        },
        "combine.json",
    )
