"""The train step: best trial, fit on the train split, saved model, warnings and errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from test_models_store import (
    FEATURES,
    FRAME,
    SPLIT,
    StoreContext,
    data_inputs,
    feature,
    objective,
    put,
    train_model,
)

from mlspec.compile.search import trials
from mlspec.contract.api import StepError
from mlspec.models import persist
from mlspec.scoring.predict import predict
from mlspec.scoring.preprocess import matrix
from mlspec.steps import train
from mlspec.steps import trial as trial_step
from mlspec.store import ArtifactStore

N_TRAIN = int((SPLIT["split"] == 0).sum())


@pytest.fixture
def store(tmp_path: Path) -> ArtifactStore:
    return ArtifactStore(tmp_path / "store")


def _score(index: int, score: float, higher: bool = True, **params: Any) -> dict[str, Any]:
    return {
        "index": index,
        "params": params,
        "score": score,
        "folds": [score],
        "metric": "roc_auc",
        "higher_is_better": higher,
    }


def _with_trials(store: ArtifactStore, scores: list[dict[str, Any]]) -> dict[str, str]:
    inputs = data_inputs(store)
    inputs.update({f"trial/{s['index']}": put(store, jsons={"score.json": s}) for s in scores})
    return inputs


SEARCH = {"method": "grid", "cv": 3, "seed": 0}


def test_train_fits_on_the_train_split_and_saves(store: ArtifactStore) -> None:
    ctx, reader = train_model(store, "binary", "hist_gradient_boosting", {"max_iter": 10})
    assert ctx.output.metrics == {"rows.train": float(N_TRAIN)}
    pipeline, info = persist.load(reader)
    assert info["search"] is None and info["params"] == {"max_iter": 10, "random_state": 0}
    p = predict(pipeline, matrix(FRAME, FEATURES), "binary", info["classes"], meta=info)
    assert np.isfinite(p.score).all()


@pytest.mark.parametrize(
    ("scores", "higher", "best", "depth"),
    [
        (
            [_score(0, 0.7, max_depth=1), _score(1, 0.9, max_depth=2), _score(2, 0.8, max_depth=3)],
            True,
            1,
            2,
        ),
        (
            [
                _score(0, 0.7, False, max_depth=1),
                _score(1, 0.9, False, max_depth=2),
                _score(2, 0.8, False, max_depth=3),
            ],
            False,
            0,
            1,
        ),
        (
            [_score(0, 0.8, max_depth=1), _score(1, 0.9, max_depth=2), _score(2, 0.9, max_depth=3)],
            True,
            1,
            2,
        ),  # tie -> lowest index
    ],
)
def test_train_picks_the_best_trial(
    store: ArtifactStore, scores: list[dict[str, Any]], higher: bool, best: int, depth: int
) -> None:
    obj = {**objective(), "higher_is_better": higher}
    ctx, reader = train_model(
        store,
        "binary",
        "xgboost",
        {"n_estimators": 5, "max_depth": 9},
        inputs=_with_trials(store, scores),
        obj=obj,
        search=SEARCH,
    )
    info = reader.json("model.json")
    assert ctx.output.metrics["best_trial"] == best
    assert info["params"]["max_depth"] == depth and info["params"]["n_estimators"] == 5
    assert info["search"] == {
        "best_trial": best,
        "score": scores[best]["score"],
        "metric": "roc_auc",
        "trials": 3,
    }
    assert persist.load(reader)[0][-1].max_depth == depth


def test_search_without_trial_inputs_is_a_step_error(store: ArtifactStore) -> None:
    with pytest.raises(StepError, match="no trial results"):
        train_model(store, "binary", "xgboost", search=SEARCH)


def test_trials_then_train_end_to_end(store: ArtifactStore) -> None:
    inputs = data_inputs(store)
    obj = objective()
    model = {"name": "lr", "type": "logistic_regression", "params": {"max_iter": 500}}
    for k, params in enumerate(trials({"method": "grid", "space": {"C": [0.001, 1.0]}})):
        ctx = StoreContext(
            store,
            {
                "objective": obj,
                "model": model,
                "trial": {"index": k, "params": params},
                "search": SEARCH,
            },
            inputs,
        )
        trial_step.run(ctx)
        inputs[f"trial/{k}"] = ctx.commit().fingerprint
    ctx = StoreContext(store, {"objective": obj, "model": model, "search": SEARCH}, inputs)
    train.run(ctx)
    info = ctx.commit().json("model.json")
    scores = [store.open(inputs[f"trial/{k}"]).json("score.json")["score"] for k in range(2)]
    assert info["search"]["best_trial"] == int(np.argmax(scores))
    assert info["params"] == {
        "C": [0.001, 1.0][int(np.argmax(scores))],
        "max_iter": 500,
        "random_state": 0,
    }


def test_threads_follow_the_context(store: ArtifactStore) -> None:
    _, reader = train_model(store, "binary", "random_forest", {"n_estimators": 5}, threads=2)
    pipeline, info = persist.load(reader)
    assert info["params"]["n_jobs"] == 2 and pipeline[-1].n_jobs == 2


def test_missing_values_without_impute_are_a_step_error(store: ArtifactStore) -> None:
    holes = FRAME.with_columns(
        f1=pl.when(pl.int_range(pl.len()) % 10 == 0).then(None).otherwise(pl.col("f1"))
    )
    inputs = data_inputs(store, holes)
    with pytest.raises(StepError) as info:
        train_model(store, "binary", "logistic_regression", inputs=inputs)
    assert (
        "'f1'" in str(info.value)
        and "impute:" in str(info.value)
        and "logistic_regression" in str(info.value)
    )
    train_model(
        store, "binary", "hist_gradient_boosting", {"max_iter": 5}, inputs=inputs
    )  # takes NaN
    train_model(store, "binary", "dummy", {"strategy": "prior"}, inputs=inputs)  # ignores features
    imputed = [feature("f1", impute="median"), *FEATURES[2:]]
    train_model(
        store, "binary", "logistic_regression", inputs=inputs, obj=objective(features=imputed)
    )


def test_constant_features_and_library_warnings_are_reported(store: ArtifactStore) -> None:
    frame = FRAME.with_columns(k=pl.lit(1.0))
    obj = objective(features=[*FEATURES, feature("k")])
    ctx, _ = train_model(
        store,
        "binary",
        "logistic_regression",
        {"max_iter": 3},
        inputs=data_inputs(store, frame),
        obj=obj,
    )
    assert any("feature 'k' is constant on the train split" in w for w in ctx.warnings)
    assert any("ConvergenceWarning" in w for w in ctx.warnings)
    ctx, _ = train_model(
        store, "binary", "svm", {"probability": True}, inputs=data_inputs(store, frame), obj=obj
    )
    assert any("param 'probability' is ignored" in w for w in ctx.warnings)


@pytest.mark.parametrize(
    ("frame", "task", "words"),
    [
        (FRAME.drop("malignant"), "binary", ["no target column 'malignant'"]),
        (
            FRAME.with_columns(
                malignant=pl.when(pl.col("f0") > 15).then(None).otherwise(pl.col("malignant"))
            ),
            "binary",
            ["target 'malignant' has", "missing value(s) in the train split"],
        ),
        (FRAME.with_columns(malignant=pl.lit(1)), "binary", ["single class (1)"]),
        (
            FRAME.with_columns(grade=pl.col("size")),
            "multiclass",
            ["at least 3 classes. Got 2", "task: binary"],
        ),
        (FRAME.with_columns(area=pl.col("size")), "regression", ["must be numeric"]),
    ],
)
def test_bad_targets_are_step_errors(
    store: ArtifactStore, frame: pl.DataFrame, task: str, words: list[str]
) -> None:
    with pytest.raises(StepError) as info:
        train_model(store, task, "dummy", inputs=data_inputs(store, frame))
    for word in words:
        assert word in str(info.value)


def test_unseen_category_at_predict_time(store: ArtifactStore) -> None:
    _, reader = train_model(store, "binary", "xgboost", {"n_estimators": 5})
    pipeline, info = persist.load(reader)
    new = FRAME.head(3).with_columns(size=pl.Series(["huge", None, "big"]))
    p = predict(pipeline, matrix(new, FEATURES), "binary", info["classes"], meta=info)
    assert (
        p.unseen == {"size": 1}
        and np.isfinite(p.score).all()
        and p.label.tolist() == [int(s >= 0.5) for s in p.score]
    )
