"""The `trial` step: score one parameter set of a model's search.

Params: `TrialParams` (`mlspec/steps/params.py`).

Inputs ``data`` (features table) and ``split``. The model's params updated with the trial's
are fitted and scored with the objective's ``select_by`` metric: by k-fold cross-validation
on the train split (StratifiedKFold for classifiers, KFold for regression; shuffled with
the search seed, so every trial of a search sees the same folds; after a group or a time
split, GroupKFold or TimeSeriesSplit by the split's column: see `folds`), or, with ``cv: valid``,
fitted on train and scored on the valid split. The model's own seed is ``params.seed`` (`execution.seed`).

Output ``score.json``: {index, params (the trial's), score (mean over folds), folds [...],
metric, higher_is_better}; metrics ``score`` and ``rows.train``. A fold is scored with the
evaluate step's own metric definitions (`mlspec.evaluation.metrics`): one metric, one
definition.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl
from sklearn.model_selection import GroupKFold, KFold, StratifiedKFold, TimeSeriesSplit

from mlspec.contract.api import StepContext, StepError
from mlspec.evaluation import metrics as M
from mlspec.models.estimators import assemble, early_stopping, fit, resolve
from mlspec.scoring.encoders import choose
from mlspec.scoring.predict import predict
from mlspec.scoring.preprocess import (
    check_values,
    labelled,
    load,
    matrix,
    nan_ok,
    rows,
    target,
    watched_set,
)
from mlspec.steps.params import TrialParams
from mlspec.steps.split import TRAIN, VALID


def folds(
    y: np.ndarray,
    task: str,
    cv: int,
    seed: int,
    method: str = "random",
    by: np.ndarray | None = None,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Seeded (train, test) row indices; StepError if a class has fewer rows than folds.

    The folds follow the split, so selection is not optimistic where the test split is not:
    a group split's folds keep each group of `by` whole (GroupKFold, shuffled groups); a
    time split's folds each score rows later by `by` than the rows they fit
    (TimeSeriesSplit over the rows sorted by `by`)."""
    if method in FOLDS and by is not None:
        return FOLDS[method](y, cv, seed, by)
    if task == "regression":
        if len(y) < cv:
            raise StepError(
                f"cv: {cv} needs at least {cv} train rows. Got {len(y)} instead.",
                hint="lower `search.cv`",
            )
        splitter: Any = KFold(cv, shuffle=True, random_state=seed)
    else:
        counts = np.bincount(y)
        if counts.min() < cv:
            raise StepError(
                f"cv: {cv} needs at least {cv} train rows of every class. Got {int(counts.min())} of class index {int(counts.argmin())} instead.",
                hint="lower `search.cv`, use `cv: valid`, or add rows of the rare class",
            )
        splitter = StratifiedKFold(cv, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros((len(y), 1)), y))


def _group_folds(
    y: np.ndarray, cv: int, seed: int, by: np.ndarray
) -> list[tuple[np.ndarray, np.ndarray]]:
    groups = np.unique(by)
    if len(groups) < cv:
        raise StepError(
            f"cv: {cv} with a group split needs at least {cv} groups in the train split. Got {len(groups)} instead.",
            hint="lower `search.cv`, or use `cv: valid`",
        )
    splitter = GroupKFold(cv, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros((len(y), 1)), y, groups=by))


def _time_folds(
    y: np.ndarray, cv: int, seed: int, by: np.ndarray
) -> list[tuple[np.ndarray, np.ndarray]]:
    if len(y) <= cv:
        raise StepError(
            f"cv: {cv} with a time split needs more than {cv} train rows. Got {len(y)} instead.",
            hint="lower `search.cv`, or use `cv: valid`",
        )
    order = np.argsort(by, kind="stable")
    return [(order[a], order[b]) for a, b in TimeSeriesSplit(cv).split(order)]


FOLDS: dict[str, Callable[..., list[tuple[np.ndarray, np.ndarray]]]] = {
    "group": _group_folds,
    "time": _time_folds,
}


def _split_key(ctx: StepContext, p: TrialParams, parts: np.ndarray) -> np.ndarray | None:
    """The train rows' `by` values when the folds follow a group or time split."""
    by = p.folds.get("by")
    if p.folds.get("method") not in FOLDS or not by:
        return None
    target = p.objective["target"]
    table = ctx.input("data").frame(columns=list(dict.fromkeys([by, target])))
    table, parts, _ = labelled(table, p.objective, parts)  # the rows the folds are drawn from
    column = table.get_column(by).filter(pl.Series(parts == TRAIN))
    if column.null_count():
        raise StepError(f"split column '{by}' has missing values in the train split.")
    return column.to_physical().to_numpy()


def run(ctx: StepContext) -> None:
    p: TrialParams = ctx.params
    objective, model, trial, search = p.objective, p.model, p.trial, p.search or {}
    task, features, metric = objective["task"], objective["features"], objective["select_by"]
    if metric not in M.METRICS:
        raise StepError(f"select_by must be one of {', '.join(M.METRICS)}. Got '{metric}' instead.")
    index = int(trial["index"])
    what = f"trial {index} of {objective['name']}/{model['name']}"

    params = {**(model.get("params") or {}), **(trial.get("params") or {})}
    resolved = resolve({**model, "params": params}, task, p.seed, p.threads)
    frame, all_parts = load(ctx.input("data"), ctx.input("split"), objective)
    frame, parts, _ = labelled(frame, objective, all_parts)
    train = rows(frame, parts, TRAIN)
    objective = {**objective, "features": choose(train, features, lambda m: None)}
    X, (y, classes) = matrix(train, features), target(train, objective)
    nan = nan_ok(assemble(objective, resolved))
    check_values(
        X,
        features,
        nan_ok=nan,
        model=resolved.type,
        what="the train split",
        where=(objective.get("where") or {}).get("features"),
        origins=((objective.get("where") or {}).get("origins") or {}).get("features"),
    )

    cv = search.get("cv", 3)
    if cv == "valid":
        valid = rows(frame, parts, VALID)
        if valid.height == 0:
            raise StepError(
                "search cv: valid needs a valid split. Got none instead.",
                hint="set `data.split.valid`, or use cv: <folds>",
            )
        Xv, (yv, _) = (
            matrix(valid, features),
            target(valid, objective, classes, what="the valid split"),
        )
        check_values(Xv, features, nan_ok=nan, model=resolved.type, what="the valid split")
        data = [(X, y, Xv, yv)]
    else:
        seed, key = int(search.get("seed", 0)), _split_key(ctx, p, all_parts)
        drawn = folds(y, task, int(cv), seed, p.folds.get("method", "random"), key)
        data = [(X[a], y[a], X[b], y[b]) for a, b in drawn]

    watched = None
    if early_stopping({**model, "params": params}):
        watched = watched_set(ctx.input("data"), ctx.input("split"), objective, classes)
    warnings: dict[str, None] = {}
    scores = []
    for i, (Xa, ya, Xb, yb) in enumerate(data):
        pipeline = assemble(objective, resolved)
        fit(
            pipeline,
            Xa,
            ya,
            threads=p.threads,
            what=f"{what}, fold {i}",
            warn=lambda m: warnings.setdefault(m),
            eval_set=watched,
        )
        pred = predict(pipeline, Xb, task, classes, threads=p.threads)
        held_out = M.Rows.make(task, yb, pred.score, pred.index, pred.proba, classes or ())
        value = M.value(metric, held_out)
        if value.value is None:
            raise StepError(
                f"{what}: {metric} is undefined on fold {i} ({value.reason}); the trial cannot be ranked.",
                hint="check the target of the train split",
            )
        scores.append(float(value.value))
    for message in warnings:
        ctx.warn(f"{what}: {message}")

    score = float(np.mean(scores))
    ctx.output.write_json(
        {
            "index": index,
            "params": trial.get("params") or {},
            "score": score,
            "folds": scores,
            "metric": metric,
            "higher_is_better": bool(objective["higher_is_better"]),
        },
        "score.json",
    )
    ctx.output.metric("score", score)
    ctx.output.metric("rows.train", float(len(y)))
