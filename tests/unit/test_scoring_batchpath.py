"""The many-row path gives what the fitted Pipeline gives on `preprocess.matrix`, to the last
bit: the transformed matrix (values and layout) and the scores, for every transformer mlspec
builds and the usual final estimators; its value checks say what `check_values` says."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import polars as pl
import pytest

from mlspec.contract.api import StepError
from mlspec.models.estimators import assemble, fit, resolve
from mlspec.scoring import batchpath
from mlspec.scoring.batchpath import check_numbers, compile_batch, score_objectives
from mlspec.scoring.predict import estimate, predict
from mlspec.scoring.preprocess import check_values, matrix, nan_ok, numeric_columns, target

FEATURES = [
    {"name": "a", "type": "numeric", "impute": "median", "scale": "standard"},
    {"name": "b", "type": "numeric", "impute": "mean", "scale": "minmax"},
    {"name": "c", "type": "numeric", "impute": "constant", "fill_value": -1, "scale": "robust"},
    {"name": "d", "type": "numeric"},
    {"name": "i", "type": "numeric", "scale": "standard"},  # an int column, never null
    {"name": "t", "type": "categorical", "encoding": "onehot"},
    {"name": "u", "type": "categorical", "encoding": "ordinal", "impute": "most_frequent"},
    {
        "name": "v",
        "type": "categorical",
        "encoding": "onehot",
        "impute": "constant",
        "fill_value": "zz",
    },
    # never null in train, null in the scored rows: a null never seen (onehot: zeros,
    # ordinal: the unknown code)
    {"name": "k", "type": "categorical", "encoding": "onehot"},
    {"name": "o", "type": "categorical", "encoding": "ordinal"},
    # null in train, no imputation: None is a category of its own (its code; NaN is what
    # OrdinalEncoder's encoded_missing_value is for, and categories are never NaN)
    {"name": "w", "type": "categorical", "encoding": "ordinal"},
]

TARGET_ENCODED = [FEATURES[0], {"name": "t", "type": "categorical", "encoding": "target"}]


def _frame(n: int, seed: int, *, train: bool) -> pl.DataFrame:
    rng = np.random.default_rng(seed)

    def holes(x: np.ndarray) -> list:
        return [None if rng.random() < 0.1 else float(v) for v in x]

    def cats(levels: str, nulls: bool) -> list:
        return [
            None if nulls and rng.random() < 0.1 else str(k) for k in rng.choice(list(levels), n)
        ]

    return pl.DataFrame(
        {
            "a": holes(rng.normal(size=n)),
            "b": holes(rng.uniform(0, 100, size=n)),
            "c": holes(rng.exponential(size=n)),
            "d": rng.normal(size=n),
            "i": rng.integers(0, 1000, size=n),
            "t": cats("pqrs", True),
            "u": cats("xyz", True),
            "v": cats("mn", True),
            "k": cats("gh" if train else "ghj", not train),
            "o": cats("ef" if train else "efq", not train),
            "w": cats("abc", True),
            "y": rng.integers(0, 2, size=n),
            "m": rng.integers(0, 3, size=n),
            "r": rng.normal(size=n),
        },
        schema_overrides={"a": pl.Float64, "b": pl.Float64, "c": pl.Float64},
    )


def _scored_rows() -> pl.DataFrame:
    """Rows to score: nulls, and categories never seen in train."""
    return _frame(3000, 1, train=False).with_columns(
        pl.when(pl.int_range(pl.len()) % 7 == 0).then(pl.lit("new")).otherwise("t").alias("t"),
        pl.when(pl.int_range(pl.len()) % 5 == 0).then(pl.lit("w")).otherwise("u").alias("u"),
    )


def _fitted(features: list[dict[str, Any]], mtype: str, task: str, target_col: str, params: dict):  # type: ignore[no-untyped-def]
    objective = {"name": "o", "task": task, "target": target_col, "features": features}
    train = _frame(600, 0, train=True)
    pipeline = assemble(
        objective, resolve({"name": "m", "type": mtype, "params": params}, task, 0, 1)
    )
    y, classes = target(train, objective)
    fit(pipeline, matrix(train, features), y, threads=1, what="test")
    return pipeline, classes


def _same(got: np.ndarray, expected: np.ndarray) -> bool:
    return (
        got.shape == expected.shape
        and got.dtype == expected.dtype
        and got.flags.c_contiguous == expected.flags.c_contiguous
        and got.tobytes() == expected.tobytes()
    )


CASES = [
    ("logistic_regression", "binary", "y", {}, FEATURES),
    ("xgboost", "binary", "y", {"n_estimators": 20, "max_depth": 3}, FEATURES),
    ("hist_gradient_boosting", "binary", "y", {"max_iter": 20}, FEATURES),
    ("random_forest", "multiclass", "m", {"n_estimators": 10}, FEATURES),
    ("logistic_regression", "multiclass", "m", {}, FEATURES),
    ("ridge", "regression", "r", {}, FEATURES),
    # one group holds every feature: the transformer is one Pipeline, no ColumnTransformer
    ("logistic_regression", "binary", "y", {}, [FEATURES[0], {**FEATURES[0], "name": "b"}]),
    ("hist_gradient_boosting", "binary", "y", {"max_iter": 5}, [FEATURES[5], FEATURES[7]]),
    ("xgboost", "binary", "y", {"n_estimators": 5}, [{"name": "d"}, {"name": "i"}]),
]


@pytest.mark.parametrize(("mtype", "task", "target_col", "params", "features"), CASES)
def test_many_rows_equal_the_pipeline(
    mtype: str, task: str, target_col: str, params: dict, features: list[dict[str, Any]]
) -> None:
    pipeline, classes = _fitted(features, mtype, task, target_col, params)
    batch = compile_batch(pipeline, features)
    assert batch is not None, f"{mtype}: no batch path"
    rows = _scored_rows()
    X = matrix(rows, features)
    expected = pipeline[0].transform(X)
    got = batch.transform(rows, numeric_columns(rows, features))
    assert _same(got, expected), (
        mtype,
        np.argwhere(got.view(np.uint64) != expected.view(np.uint64))[:5],
    )
    want = predict(pipeline, X, task, classes).score
    have = estimate(batch.final, got, task, classes).score
    assert want.tobytes() == have.tobytes(), mtype


def test_blocks_of_rows_make_the_same_matrix(monkeypatch: pytest.MonkeyPatch) -> None:
    """The matrix is written a block of rows at a time: a last block that is short, and
    blocks of one row, give the same bits."""
    pipeline, _ = _fitted(FEATURES, "logistic_regression", "binary", "y", {})
    batch = compile_batch(pipeline, FEATURES)
    assert batch is not None
    rows = _scored_rows()
    numeric = numeric_columns(rows, FEATURES)
    whole = batch.transform(rows, numeric)
    monkeypatch.setattr(batchpath, "MIN_BLOCK_ROWS", 1)
    for size in (8 * batch.width * 7, 1):  # 7 rows per block (the last one short), then 1
        monkeypatch.setattr(batchpath, "BLOCK_BYTES", size)
        assert _same(batch.transform(rows, numeric), whole)
    assert batch.transform(rows.head(0), numeric_columns(rows.head(0), FEATURES)).shape == (
        0,
        batch.width,
    )


def test_what_it_does_not_know_goes_through_the_pipeline() -> None:
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    assert compile_batch(Pipeline([("pca", PCA()), ("m", LogisticRegression())]), FEATURES) is None
    pipeline, _ = _fitted(TARGET_ENCODED, "logistic_regression", "binary", "y", {})
    assert compile_batch(pipeline, TARGET_ENCODED) is None
    # a one-hot column alone for a model that takes sparse input: the output stays sparse
    sparse = [{"name": "t", "type": "categorical", "encoding": "onehot"}]
    pipeline, _ = _fitted(sparse, "logistic_regression", "binary", "y", {})
    assert pipeline[0].sparse_output_ and compile_batch(pipeline, sparse) is None


def _objective(features: list[dict[str, Any]], mtype: str, params: dict) -> SimpleNamespace:
    pipeline, classes = _fitted(features, mtype, "binary", "y", params)
    return SimpleNamespace(
        pipeline=pipeline,
        batch=compile_batch(pipeline, features),
        features=features,
        task="binary",
        classes=classes,
        threshold=0.5,
        nan_ok=nan_ok(pipeline),
        meta={"type": mtype},
    )


def test_objectives_in_threads_score_as_one_after_the_other(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    objectives = {
        "lr": _objective(FEATURES, "logistic_regression", {}),
        "xgb": _objective(FEATURES, "xgboost", {"n_estimators": 20}),
        "pipe": _objective(TARGET_ENCODED, "logistic_regression", {}),  # through the Pipeline
    }
    assert objectives["pipe"].batch is None
    rows = _scored_rows()
    numeric = numeric_columns(rows, FEATURES)
    monkeypatch.setattr(batchpath, "CONCURRENT_ROWS", None)
    one_by_one = score_objectives(objectives, rows, numeric)
    monkeypatch.setattr(batchpath, "CONCURRENT_ROWS", 0)
    threaded = score_objectives(objectives, rows, numeric)
    for name, o in objectives.items():
        expected = predict(o.pipeline, matrix(rows, o.features), "binary", o.classes).score
        assert one_by_one[name].tobytes() == expected.tobytes(), name
        assert threaded[name].tobytes() == expected.tobytes(), name


def _message(fn: Any) -> str:
    with pytest.raises(StepError) as info:
        fn()
    return info.value.message


def test_value_checks_say_what_check_values_says() -> None:
    o = _objective(FEATURES, "logistic_regression", {})
    rows = _scored_rows()
    infinite = rows.with_columns(
        pl.when(pl.int_range(pl.len()) % 9 == 0).then(float("inf")).otherwise("b").alias("b")
    )
    for bad in (infinite, rows.with_columns(pl.lit(None, dtype=pl.Float64).alias("d"))):
        numeric = numeric_columns(bad, FEATURES)
        got = _message(lambda: check_numbers(o, numeric, {}, what="the rows"))  # noqa: B023
        expected = _message(
            lambda: check_values(
                matrix(bad, FEATURES),  # noqa: B023
                FEATURES,
                nan_ok=False,
                model="logistic_regression",
                what="the rows",
            )
        )
        assert got == expected
    check_numbers(o, numeric_columns(rows, FEATURES), {}, what="the rows")  # imputed NaN: fine
