"""The `train` step: fit one model of an objective on the train split and save it.

Params: `TrainParams` (`mlspec/steps/params.py`).

Inputs ``data`` (features table), ``split``, and with a search ``trial_0`` .. ``trial_<n-1>``
(each a ``score.json`` of the trial step). The planner does not pass the number of trials,
so they are read in order until the first missing name.

With a search, the best trial wins (``higher_is_better`` of the objective; ties go to the
lowest index) and its params update the model's. The model is fitted on the train split
with ``random_state = params.seed`` and ``n_jobs = params.threads`` (see `models.estimators`),
and saved with `models.persist`: ``model/pipeline.joblib`` (+ ``model/booster.ubj`` for
XGBoost) and ``model.json``. Metrics ``rows.train``, and ``best_trial`` with a search.
An XGBoost model with ``early_stopping_rounds`` watches the valid split and records the
round it kept (``best_iteration`` in model.json and as a metric).
Library warnings (e.g. no convergence) and constant features are reported with ctx.warn.
"""

from __future__ import annotations

from typing import Any

from mlspec.contract.api import StepContext, StepError
from mlspec.engine.imports import IMPORTING
from mlspec.evaluation.leakage import message, suspects
from mlspec.models.recipes import recipe
from mlspec.scoring.preprocess import (
    check_values,
    constant_features,
    labelled,
    load,
    matrix,
    nan_ok,
    signature,
    target,
    watched_set,
)
from mlspec.steps.params import TrainParams
from mlspec.steps.split import TRAIN


def trial_scores(ctx: StepContext) -> list[dict[str, Any]]:
    """The ``score.json`` of the inputs ``("trial", k)``, by trial number."""
    trials = ctx.inputs("trial")
    return [trials[k].json("score.json") for k in sorted(trials, key=lambda k: int(k[0]))]


def best(scores: list[dict[str, Any]], higher_is_better: bool) -> dict[str, Any]:
    """The best trial; on a tie the one with the lowest index."""
    ordered = sorted(scores, key=lambda s: s["index"])
    top = ordered[0]
    for s in ordered[1:]:
        better = s["score"] > top["score"] if higher_is_better else s["score"] < top["score"]
        if better:
            top = s
    return top


def run(ctx: StepContext) -> None:
    p: TrainParams = ctx.params
    objective, model = p.objective, p.model
    features = objective["features"]
    what = f"fitting {objective['name']}/{model['name']} ({model['type']})"

    params = dict(model.get("params") or {})
    searched = None
    if p.search:
        scores = trial_scores(ctx)
        if not scores:
            raise StepError(
                f"{what}: the model has a search but the step got no trial results.",
                hint="rerun `mlspec plan`: the plan is stale",
            )
        top = best(scores, bool(objective["higher_is_better"]))
        params.update(top["params"])
        searched = {
            "best_trial": top["index"],
            "score": top["score"],
            "metric": top["metric"],
            "trials": len(scores),
        }

    # The data first (polars and numpy), scikit-learn after: a local run imports it in a
    # thread meanwhile (`LocalBackend._warm_here`), so reading, encoding and the leakage
    # check overlap the imports. Warnings keep their order: the model's, then the data's.
    uses = recipe(model["type"]).uses_features  # the baseline ignores features: no verdict
    train, _ = load(ctx.input("data"), ctx.input("split"), objective, only=TRAIN)
    train, _, dropped = labelled(train, objective)
    X, (y, classes) = matrix(train, features), target(train, objective)
    constant = constant_features(X, features) if uses else []
    leaks = suspects(train, features, y, objective["task"], p.seed) if uses else []

    with IMPORTING:  # after the warm-up's imports, never beside them (mlspec.engine.imports)
        from mlspec.models.estimators import (
            assemble,
            best_iteration,
            early_stopping,
            fit,
            resolve,
        )
        from mlspec.models.persist import meta, save
        from mlspec.scoring.encoders import choose

    resolved = resolve({**model, "params": params}, objective["task"], p.seed, p.threads)
    for note in resolved.notes():
        ctx.warn(note)
    if dropped:
        ctx.warn(f"{what}: {dropped} train row(s) without a target left out (missing_target: drop)")
        ctx.output.metric("rows.dropped", float(dropped))
    objective = {
        **objective,
        "features": choose(train, features, lambda m: ctx.warn(f"{what}: {m}")),
    }
    watched = None
    if early_stopping({**model, "params": params}):
        watched = watched_set(ctx.input("data"), ctx.input("split"), objective, classes)
    pipeline = assemble(objective, resolved)
    check_values(
        X,
        features,
        nan_ok=nan_ok(pipeline),
        model=resolved.type,
        what="the train split",
        where=(objective.get("where") or {}).get("features"),
        origins=((objective.get("where") or {}).get("origins") or {}).get("features"),
    )
    for name in constant:
        ctx.warn(
            f"{what}: feature '{name}' is constant on the train split; it carries no information."
        )
    for suspect in leaks:
        ctx.warn(f"{what}: {message(objective['name'], suspect)}")

    fit(
        pipeline,
        X,
        y,
        threads=p.threads,
        what=what,
        warn=lambda m: ctx.warn(f"{what}: {m}"),
        eval_set=watched,
        cores=ctx.cores if recipe(resolved.type).any_threads else None,
    )
    info = meta(resolved, objective, classes, signature(X, features), searched, leaks)
    if watched is not None:
        info["best_iteration"] = best_iteration(pipeline)
        if info["best_iteration"] is not None:
            ctx.output.metric("best_iteration", float(info["best_iteration"]))
    save(ctx.output, pipeline, info)
    ctx.output.metric("rows.train", float(len(y)))
    if searched is not None:
        ctx.output.metric("best_trial", float(searched["best_trial"]))
