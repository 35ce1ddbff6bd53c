"""Model steps against the real ArtifactStore: a small context, shared data, and persistence.

Other model test modules import `StoreContext`, `put`, `FRAME`, `SPLIT` and `objective`
from here. The data is scikit-learn's bundled breast-cancer set (569 rows) with a derived
categorical feature, a 3-class target and a regression target.
"""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from sklearn.datasets import load_breast_cancer

from mlspec.models import persist
from mlspec.models.estimators import build, fit
from mlspec.scoring.predict import predict
from mlspec.scoring.preprocess import matrix, signature, target
from mlspec.steps import train
from mlspec.store import ArtifactStore
from mlspec.store.artifacts import Reader
from tests.unit.steps_fakes import StoreContext

_BC = load_breast_cancer()
_X = _BC.data
N = len(_X)
FRAME = pl.DataFrame({f"f{i}": _X[:, i] for i in range(6)}).with_columns(
    size=pl.Series(np.where(_X[:, 6] > np.median(_X[:, 6]), "big", "small")),
    malignant=pl.Series(_BC.target),
    grade=pl.Series(
        np.array(["a", "b", "c"])[np.digitize(_X[:, 7], np.quantile(_X[:, 7], [0.33, 0.66]))]
    ),
    area=pl.Series(_X[:, 3] / 100),
)
SPLIT = pl.DataFrame(
    {
        "split": pl.Series(
            np.random.default_rng(0).choice([0, 1, 2], size=N, p=[0.6, 0.2, 0.2]), dtype=pl.UInt8
        )
    }
)
TARGETS = {"binary": "malignant", "multiclass": "grade", "regression": "area"}


def feature(name: str, type: str = "numeric", **kw: Any) -> dict[str, Any]:
    spec = {
        "name": name,
        "type": type,
        "encoding": "onehot" if type == "categorical" else None,
        "impute": "none",
        "fill_value": None,
        "scale": "none",
    }
    return {**spec, **kw}


FEATURES = [
    feature("f0", scale="standard"),
    feature("f1"),
    feature("f2", scale="minmax"),
    feature("f4"),
    feature("size", "categorical"),
]


def objective(
    task: str = "binary", features: list[dict[str, Any]] | None = None, **kw: Any
) -> dict[str, Any]:
    select = {"binary": "roc_auc", "multiclass": "log_loss", "regression": "rmse"}[task]
    return {
        "name": "o",
        "task": task,
        "target": TARGETS[task],
        "features": FEATURES if features is None else features,
        "select_by": select,
        "higher_is_better": select == "roc_auc",
        **kw,
    }


def put(
    store: ArtifactStore,
    frames: dict[str, pl.DataFrame] | None = None,
    jsons: dict[str, Any] | None = None,
) -> str:
    """Commit an artifact holding these frames / json files; returns its fingerprint."""
    w = store.stage(secrets.token_hex(8), "test.input")
    for name, df in (frames or {}).items():
        w.write_frame(df, name)
    for name, value in (jsons or {}).items():
        w.write_json(value, name)
    store.commit(w)
    return w.fingerprint


@pytest.fixture
def store(tmp_path: Path) -> ArtifactStore:
    return ArtifactStore(tmp_path / "store")


def data_inputs(
    store: ArtifactStore, frame: pl.DataFrame = FRAME, split: pl.DataFrame = SPLIT
) -> dict[str, str]:
    return {"data": put(store, {"data": frame}), "split": put(store, {"data": split})}


def train_model(
    store: ArtifactStore,
    task: str,
    mtype: str,
    params: dict[str, Any] | None = None,
    *,
    seed: int = 0,
    threads: int = 1,
    inputs: dict[str, str] | None = None,
    obj: dict[str, Any] | None = None,
    search: dict[str, Any] | None = None,
) -> tuple[StoreContext, Reader]:
    ctx = StoreContext(
        store,
        {
            "objective": obj or objective(task),
            "model": {"name": "m", "type": mtype, "params": params or {}},
            "search": search,
        },
        inputs or data_inputs(store),
        seed=seed,
        threads=threads,
    )
    train.run(ctx)
    return ctx, ctx.commit()


def sha(reader: Reader, name: str) -> str:
    return hashlib.sha256(reader.path(name).read_bytes()).hexdigest()


# ----------------------------------------------------------------------------- persist


def test_save_and_load_round_trip(store: ArtifactStore) -> None:
    _, reader = train_model(store, "binary", "logistic_regression", {"C": 0.5})
    assert reader.names() == ["model.json", "model/pipeline.joblib"]
    pipeline, info = persist.load(reader)
    assert info["type"] == "logistic_regression"
    assert info["estimator"] == "sklearn.linear_model.LogisticRegression"
    assert info["params"] == {"C": 0.5, "max_iter": 1000, "random_state": 0}
    assert info["classes"] == [0, 1] and info["task"] == "binary" and info["target"] == "malignant"
    assert info["features"] == FEATURES
    cols = info["signature"]["columns"]
    assert [c["name"] for c in cols] == ["f0", "f1", "f2", "f4", "size"]
    assert cols[0] == {"name": "f0", "type": "numeric", "dtype": "float64"}
    assert cols[-1] == {
        "name": "size",
        "type": "categorical",
        "dtype": "string",
        "categories": ["big", "small"],
    }
    X = matrix(FRAME, FEATURES)
    p = predict(pipeline, X, "binary", info["classes"], meta=info)
    assert p.score.shape == (N,) and p.proba is not None and p.proba.shape == (N, 2)


def test_xgboost_writes_its_native_booster(store: ArtifactStore) -> None:
    import xgboost

    _, reader = train_model(store, "multiclass", "xgboost", {"n_estimators": 5})
    assert reader.names() == ["model.json", "model/booster.ubj", "model/pipeline.joblib"]
    booster = xgboost.Booster()
    booster.load_model(str(reader.path("model/booster.ubj")))
    pipeline, info = persist.load(reader)
    X = matrix(FRAME, FEATURES)
    native = booster.predict(xgboost.DMatrix(pipeline[:-1].transform(X)))
    assert np.allclose(native, pipeline.predict_proba(X), atol=1e-6)
    assert info["classes"] == ["a", "b", "c"] and info["params"]["tree_method"] == "hist"


@pytest.mark.parametrize(
    ("mtype", "params", "files"),
    [
        ("random_forest", {"n_estimators": 10}, ["model/pipeline.joblib"]),
        ("xgboost", {"n_estimators": 10}, ["model/pipeline.joblib", "model/booster.ubj"]),
        ("svm", {}, ["model/pipeline.joblib"]),
        ("hist_gradient_boosting", {"max_iter": 10}, ["model/pipeline.joblib"]),
    ],
)
def test_model_files_are_byte_identical_across_fits(
    store: ArtifactStore, mtype: str, params: dict[str, Any], files: list[str]
) -> None:
    inputs = data_inputs(store)
    _, a = train_model(store, "binary", mtype, params, seed=3, inputs=inputs)
    _, b = train_model(store, "binary", mtype, params, seed=3, inputs=inputs)
    for name in [*files, "model.json"]:
        assert sha(a, name) == sha(b, name), name


def test_a_different_seed_gives_a_different_random_forest(store: ArtifactStore) -> None:
    inputs = data_inputs(store)
    _, a = train_model(
        store, "binary", "random_forest", {"n_estimators": 10}, seed=1, inputs=inputs
    )
    _, b = train_model(
        store, "binary", "random_forest", {"n_estimators": 10}, seed=2, inputs=inputs
    )
    assert sha(a, "model/pipeline.joblib") != sha(b, "model/pipeline.joblib")
    X = matrix(FRAME, FEATURES)
    pa, pb = persist.load(a)[0], persist.load(b)[0]
    assert not np.array_equal(pa.predict_proba(X), pb.predict_proba(X))


def test_meta_of_a_regression_has_no_classes() -> None:
    obj = objective("regression")
    X = matrix(FRAME, FEATURES)
    y, classes = target(FRAME, obj)
    pipe = fit(
        build(obj, {"name": "m", "type": "ridge", "params": {}}, 0, 1), X, y, threads=1, what="fit"
    )
    from mlspec.models.estimators import resolve

    info = persist.meta(
        resolve({"type": "ridge", "params": {}}, "regression", 0, 1),
        obj,
        classes,
        signature(X, FEATURES),
    )
    assert info["classes"] is None and info["calibration"] is None and info["search"] is None
    assert pipe.predict(X).shape == (N,)
