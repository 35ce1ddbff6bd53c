"""Encodings of categorical features: the choice by cardinality, each encoding in a model, sparse
output for models that take it."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import scipy.sparse as sp
from test_models_store import FRAME, SPLIT, feature, objective, put, store, train_model

from mlspec.models import persist
from mlspec.models.estimators import assemble, resolve
from mlspec.scoring.encoders import ONEHOT_MAX_LEVELS, FrequencyEncoder, choose
from mlspec.scoring.predict import predict
from mlspec.scoring.preprocess import matrix
from mlspec.store import ArtifactStore

N = FRAME.height
__all__ = ["store"]  # the fixture
WIDE = FRAME.with_columns(
    item=pl.Series([f"item{i % 300}" for i in range(N)]),  # 300 levels > ONEHOT_MAX_LEVELS
)


def _features(encoding: str | None) -> list[dict]:
    return [feature("f0"), feature("f1"), feature("item", "categorical", encoding=encoding)]


def test_no_encoding_is_onehot_when_narrow_and_target_when_wide_with_a_warning() -> None:
    warnings: list[str] = []
    narrow = choose(FRAME, [feature("size", "categorical", encoding=None)], warnings.append)
    assert narrow[0]["encoding"] == "onehot" and warnings == []
    wide = choose(WIDE, _features(None), warnings.append)
    assert wide[2]["encoding"] == "target"
    assert len(warnings) == 1 and "'item'" in warnings[0] and "300 distinct values" in warnings[0]
    assert str(ONEHOT_MAX_LEVELS) in warnings[0]


def test_an_explicit_onehot_on_a_wide_column_is_kept_and_warned() -> None:
    warnings: list[str] = []
    chosen = choose(WIDE, _features("onehot"), warnings.append)
    assert chosen[2]["encoding"] == "onehot"
    assert "'item'" in warnings[0] and "300" in warnings[0]


@pytest.mark.parametrize("encoding", ["onehot", "ordinal", "target", "frequency", "hashing", None])
@pytest.mark.parametrize("mtype", ["logistic_regression", "hist_gradient_boosting", "xgboost"])
def test_every_encoding_trains_and_predicts(
    store: ArtifactStore, encoding: str | None, mtype: str
) -> None:
    inputs = {"data": put(store, {"data": WIDE}), "split": put(store, {"data": SPLIT})}
    obj = objective("binary", _features(encoding))
    params = {"n_estimators": 5} if mtype == "xgboost" else {}
    _ctx, reader = train_model(store, "binary", mtype, params, inputs=inputs, obj=obj)
    pipeline, info = persist.load(reader)
    assert info["features"][2]["encoding"] == (encoding or "target")
    unseen = WIDE.head(5).with_columns(item=pl.Series(["never seen"] * 5))
    p = predict(pipeline, matrix(unseen, obj["features"]), "binary", info["classes"], meta=info)
    assert np.isfinite(p.score).all()


def test_onehot_stays_sparse_for_a_model_that_takes_sparse_input() -> None:
    obj = objective("binary", _features("onehot"))
    X = matrix(WIDE, obj["features"])
    lr = assemble(obj, resolve({"type": "logistic_regression"}, "binary", 0, 1))
    assert sp.issparse(lr[0].fit_transform(X, WIDE["malignant"].to_numpy()))
    hgb = assemble(obj, resolve({"type": "hist_gradient_boosting"}, "binary", 0, 1))
    assert not sp.issparse(hgb[0].fit_transform(X, WIDE["malignant"].to_numpy()))
    narrow = objective("binary", [feature("f0"), feature("size", "categorical")])
    lr = assemble(narrow, resolve({"type": "logistic_regression"}, "binary", 0, 1))
    assert not sp.issparse(lr[0].fit_transform(matrix(FRAME, narrow["features"]), None))


def test_frequency_encoder_counts_nulls_and_gives_unseen_zero() -> None:
    X = np.array([["a"], ["a"], [None], ["b"]], dtype=object)
    enc = FrequencyEncoder().fit(X)
    out = enc.transform(np.array([["a"], [None], ["z"]], dtype=object))
    assert out[:, 0].tolist() == [0.5, 0.25, 0.0]


@pytest.mark.parametrize("task", ["multiclass", "regression"])
@pytest.mark.parametrize("encoding", ["target", "frequency", "hashing"])
def test_wide_encodings_fit_every_task(store: ArtifactStore, task: str, encoding: str) -> None:
    inputs = {"data": put(store, {"data": WIDE}), "split": put(store, {"data": SPLIT})}
    obj = objective(task, _features(encoding))
    _ctx, reader = train_model(store, task, "xgboost", {"n_estimators": 3}, inputs=inputs, obj=obj)
    pipeline, info = persist.load(reader)
    p = predict(pipeline, matrix(WIDE.head(9), obj["features"]), task, info["classes"], meta=info)
    assert np.isfinite(p.score).all()
