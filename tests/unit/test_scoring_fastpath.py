"""The one-row fast path gives what the fitted Pipeline gives, to the last bit, for every
transformer mlspec builds and the usual final estimators."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import polars as pl
import pytest

from mlspec.models.estimators import assemble, fit, resolve
from mlspec.scoring.fastpath import compile_row
from mlspec.scoring.predict import finish, predict
from mlspec.scoring.preprocess import matrix, nan_ok, target

FEATURES = [
    {"name": "a", "type": "numeric", "impute": "median", "scale": "standard"},
    {"name": "b", "type": "numeric", "impute": "mean", "scale": "minmax"},
    {"name": "c", "type": "numeric", "impute": "constant", "fill_value": -1, "scale": "robust"},
    {"name": "d", "type": "numeric"},
    {"name": "t", "type": "categorical", "encoding": "onehot"},
    {"name": "u", "type": "categorical", "encoding": "ordinal", "impute": "most_frequent"},
    {
        "name": "v",
        "type": "categorical",
        "encoding": "onehot",
        "impute": "constant",
        "fill_value": "zz",
    },
]


def _frame(n: int, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)

    def holes(x: np.ndarray) -> list:
        return [None if rng.random() < 0.1 else float(v) for v in x]

    return pl.DataFrame(
        {
            "a": holes(rng.normal(size=n)),
            "b": holes(rng.uniform(0, 100, size=n)),
            "c": holes(rng.exponential(size=n)),
            "d": rng.normal(size=n),
            "t": [None if rng.random() < 0.1 else str(k) for k in rng.choice(list("pqrs"), n)],
            "u": [None if rng.random() < 0.1 else str(k) for k in rng.choice(list("xyz"), n)],
            "v": [None if rng.random() < 0.1 else str(k) for k in rng.choice(list("mn"), n)],
            "y": rng.integers(0, 2, size=n),
            "m": rng.integers(0, 3, size=n),
            "r": rng.normal(size=n),
        },
        schema_overrides={"a": pl.Float64, "b": pl.Float64, "c": pl.Float64},
    )


CASES = [
    ("logistic_regression", "binary", "y", {}),
    ("xgboost", "binary", "y", {"n_estimators": 20, "max_depth": 3}),
    ("hist_gradient_boosting", "binary", "y", {"max_iter": 20}),
    ("random_forest", "multiclass", "m", {"n_estimators": 10}),
    ("logistic_regression", "multiclass", "m", {}),
    ("ridge", "regression", "r", {}),
]


@pytest.mark.parametrize(("mtype", "task", "target_col", "params"), CASES)
def test_one_row_equals_the_pipeline(mtype: str, task: str, target_col: str, params: dict) -> None:
    objective = {"name": "o", "task": task, "target": target_col, "features": FEATURES}
    train, test = _frame(400, 0), _frame(300, 1)
    # categories never seen in train, and nulls, must behave as in the pipeline
    test = test.with_columns(
        pl.when(pl.int_range(pl.len()) % 7 == 0)
        .then(pl.lit("new"))
        .otherwise(pl.col("t"))
        .alias("t"),
        pl.when(pl.int_range(pl.len()) % 5 == 0)
        .then(pl.lit("w"))
        .otherwise(pl.col("u"))
        .alias("u"),
    )
    model = {"name": "m", "type": mtype, "params": params}
    pipeline = assemble(objective, resolve(model, task, 0, 1))
    X, (y, classes) = matrix(train, FEATURES), target(train, objective)
    fit(pipeline, X, y, threads=1, what="test")
    row = compile_row(pipeline, FEATURES)
    assert row is not None, f"{mtype}: no fast path"
    o = SimpleNamespace(
        features=FEATURES,
        nan_ok=nan_ok(pipeline),
        meta={"type": mtype},
        task=task,
        classes=classes,
        threshold=0.5,
    )
    Xt = matrix(test, FEATURES)
    for i in range(test.height):
        one = Xt[i : i + 1]
        expected = predict(pipeline, one, task, classes).score
        values = list(test.row(i)[:7])
        got = finish(row.output(row.matrix(values)), task, classes).score
        assert got.tobytes() == expected.tobytes(), (mtype, i, got, expected)
        score = row.score(values, o, "the test")
        assert np.float64(score).tobytes() == expected.tobytes(), (mtype, i, score, expected)


def test_an_unknown_step_has_no_fast_path() -> None:
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    assert compile_row(Pipeline([("pca", PCA()), ("m", LogisticRegression())]), FEATURES) is None


def test_linear_models_and_xgboost_skip_their_python_wrappers() -> None:
    """The row path's final step is the direct computation, not predict_proba/predict (whose
    input validation costs ~0.1 ms a row); the equality above holds it to the last bit."""
    for mtype, task, target_col, params in CASES[:2] + CASES[4:]:
        objective = {"name": "o", "task": task, "target": target_col, "features": FEATURES}
        pipeline = assemble(
            objective, resolve({"name": "m", "type": mtype, "params": params}, task, 0, 1)
        )
        train = _frame(200, 0)
        fit(pipeline, matrix(train, FEATURES), target(train, objective)[0], threads=1, what="test")
        row = compile_row(pipeline, FEATURES)
        assert row is not None
        assert not hasattr(row.final, "__self__"), mtype  # not the estimator's own method
        assert row.fused is not None, mtype  # the transforms on a list, no numpy per step
