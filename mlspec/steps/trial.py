"""The `trial` step: score one parameter set of a model's search.

Params: `TrialParams` (`mlspec/steps/params.py`).

Inputs ``data`` (features table) and ``split``. The model's params updated with the trial's
are fitted and scored with the objective's ``select_by`` metric: by k-fold cross-validation
on the train split (StratifiedKFold for classifiers, KFold for regression; shuffled with
the search seed, so every trial of a search sees the same folds), or, with ``cv: valid``,
fitted on train and scored on the valid split. The model's own seed is ``params.seed`` (`execution.seed`).

Output ``score.json``: {index, params (the trial's), score (mean over folds), folds [...],
metric, higher_is_better}; metrics ``score`` and ``rows.train``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn import metrics as skm
from sklearn.model_selection import KFold, StratifiedKFold

from mlspec.contract.api import StepContext, StepError
from mlspec.models.estimators import assemble, early_stopping, fit, resolve
from mlspec.scoring.predict import Predictions, predict
from mlspec.scoring.preprocess import (
    check_values,
    load,
    matrix,
    nan_ok,
    rows,
    target,
    watched_set,
)
from mlspec.steps.params import TrialParams
from mlspec.steps.split import TRAIN, VALID

# The select_by metrics: (y as class indices or values, predictions, number of classes) -> value.
# Same definitions as the evaluate step's metric table (scikit-learn's); the binary label uses
# threshold 0.5, since training never reads the objective's threshold.
Metric = Callable[[np.ndarray, Predictions, int], float]
METRICS: dict[str, Metric] = {
    "roc_auc": lambda y, p, k: skm.roc_auc_score(y, p.score),
    "pr_auc": lambda y, p, k: skm.average_precision_score(y, p.score),
    "log_loss": lambda y, p, k: skm.log_loss(y, p.proba, labels=list(range(k))),
    "brier": lambda y, p, k: skm.brier_score_loss(y, p.score),
    "accuracy": lambda y, p, k: skm.accuracy_score(y, p.index),
    "f1": lambda y, p, k: skm.f1_score(y, p.index, zero_division=0),
    "precision": lambda y, p, k: skm.precision_score(y, p.index, zero_division=0),
    "recall": lambda y, p, k: skm.recall_score(y, p.index, zero_division=0),
    "macro_f1": lambda y, p, k: skm.f1_score(
        y, p.index, average="macro", labels=list(range(k)), zero_division=0
    ),
    "rmse": lambda y, p, k: skm.root_mean_squared_error(y, p.score),
    "mae": lambda y, p, k: skm.mean_absolute_error(y, p.score),
    "r2": lambda y, p, k: skm.r2_score(y, p.score),
    "mape": lambda y, p, k: skm.mean_absolute_percentage_error(y, p.score),
}


def folds(y: np.ndarray, task: str, cv: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Seeded (train, test) row indices; StepError if a class has fewer rows than folds."""
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


def run(ctx: StepContext) -> None:
    p: TrialParams = ctx.params
    objective, model, trial, search = p.objective, p.model, p.trial, p.search or {}
    task, features, metric = objective["task"], objective["features"], objective["select_by"]
    if metric not in METRICS:
        raise StepError(f"select_by must be one of {', '.join(METRICS)}. Got '{metric}' instead.")
    index = int(trial["index"])
    what = f"trial {index} of {objective['name']}/{model['name']}"

    params = {**(model.get("params") or {}), **(trial.get("params") or {})}
    resolved = resolve({**model, "params": params}, task, p.seed, p.threads)
    frame, parts = load(ctx.input("data"), ctx.input("split"), objective)
    train = rows(frame, parts, TRAIN)
    X, (y, classes) = matrix(train, features), target(train, objective)
    nan = nan_ok(assemble(objective, resolved))
    check_values(X, features, nan_ok=nan, model=resolved.type, what="the train split")

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
        data = [
            (X[a], y[a], X[b], y[b]) for a, b in folds(y, task, int(cv), int(search.get("seed", 0)))
        ]

    watched = None
    if early_stopping({**model, "params": params}):
        watched = watched_set(ctx.input("data"), ctx.input("split"), objective, classes)
    warnings: dict[str, None] = {}
    scores = []
    k = len(classes or ())
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
        value = float(
            METRICS[metric](yb, predict(pipeline, Xb, task, classes, threads=p.threads), k)
        )
        if not math.isfinite(value):
            raise StepError(
                f"{what}: {metric} is {value} on fold {i}; the trial cannot be ranked.",
                hint="check the target of the train split",
            )
        scores.append(value)
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
