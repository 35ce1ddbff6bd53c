"""The evaluate step end to end: real models (the train step) in a real ArtifactStore."""

from __future__ import annotations

import secrets
from typing import Any

import numpy as np
import polars as pl
import pytest
from sklearn import metrics as skm
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from steps_fakes import FakeContext, FakeReader

from mlspec.contract.api import StepError
from mlspec.models import persist
from mlspec.steps import evaluate, select, train
from mlspec.store import ArtifactStore
from mlspec.store.artifacts import Reader
from tests.unit.steps_fakes import StoreContext


def put(store: ArtifactStore, frame: pl.DataFrame) -> str:
    w = store.stage(secrets.token_hex(8), "test.input")
    w.write_frame(frame, "data")
    store.commit(w)
    return w.fingerprint


def feature(name: str, type: str = "numeric", **kw: Any) -> dict[str, Any]:
    base = {
        "name": name,
        "type": type,
        "encoding": "onehot" if type == "categorical" else None,
        "impute": "none",
        "fill_value": None,
        "scale": "none",
    }
    return {**base, **kw}


def split_of(n: int, seed: int = 0) -> pl.DataFrame:
    parts = np.random.default_rng(seed).choice([0, 1, 2], size=n, p=[0.6, 0.15, 0.25])
    return pl.DataFrame({"split": pl.Series(parts, dtype=pl.UInt8)})


# ----------------------------------------------------------------------------- data

_BC = load_breast_cancer()
BC_N = len(_BC.target)
BREAST = pl.DataFrame({f"f{i}": _BC.data[:, i] for i in range(6)}).with_columns(
    size=pl.Series(np.where(_BC.data[:, 6] > np.median(_BC.data[:, 6]), "big", "small")),
    malignant=pl.Series(_BC.target),
    band=pl.Series([None if i % 9 == 0 else ["low", "mid", "high"][i % 3] for i in range(BC_N)]),
    clinic=pl.Series(np.where(np.arange(BC_N) % 4 == 0, "north", "south")),
)
BC_FEATURES = [
    feature("f0", scale="standard"),
    feature("f1", scale="standard"),
    feature("f2", scale="standard"),
    feature("f4", scale="standard"),
    feature("size", "categorical"),
]
BC_OBJECTIVE = {
    "name": "quality",
    "task": "binary",
    "target": "malignant",
    "features": BC_FEATURES,
    "metrics": ["roc_auc", "pr_auc", "log_loss", "accuracy", "f1", "brier"],
    "select_by": "roc_auc",
    "higher_is_better": True,
    "threshold": None,
    "slices": ["size", "band"],
    "protected": ["clinic"],
}


def train_model(
    store: ArtifactStore,
    inputs: dict[str, str],
    objective: dict[str, Any],
    mtype: str,
    params: dict[str, Any] | None = None,
) -> str:
    ctx = StoreContext(
        store,
        {
            "objective": objective,
            "model": {"name": mtype, "type": mtype, "params": params or {}},
            "search": None,
        },
        inputs,
    )
    train.run(ctx)
    return ctx.commit().fingerprint


def run_evaluate(
    store: ArtifactStore,
    inputs: dict[str, str],
    model: str,
    objective: dict[str, Any],
    n: int = 200,
    seed: int = 0,
    importance: bool = True,
) -> tuple[StoreContext, Reader]:
    params = {
        "objective": objective,
        "model_name": "m",
        "bootstrap": n,
        "seed": seed,
        "importance": importance,
    }
    ctx = StoreContext(store, params, {"model": model, **inputs})
    evaluate.run(ctx)
    return ctx, ctx.commit()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> ArtifactStore:
    return ArtifactStore(tmp_path_factory.mktemp("evaluate") / "store")


@pytest.fixture(scope="module")
def breast(store: ArtifactStore) -> dict[str, str]:
    inputs = {"data": put(store, BREAST), "split": put(store, split_of(BC_N))}
    return {**inputs, "model": train_model(store, inputs, BC_OBJECTIVE, "logistic_regression")}


@pytest.fixture(scope="module")
def binary(store: ArtifactStore, breast: dict[str, str]) -> tuple[StoreContext, Reader]:
    inputs = {k: v for k, v in breast.items() if k != "model"}
    return run_evaluate(store, inputs, breast["model"], BC_OBJECTIVE)


# ----------------------------------------------------------------------------- binary


def test_binary_metrics_match_sklearn_on_the_written_predictions(
    binary: tuple[StoreContext, Reader],
) -> None:
    ctx, out = binary
    doc, pred = out.json("metrics.json"), out.frame("predictions")
    assert out.names() == ["metrics.json", "predictions.parquet"]
    assert pred.columns == ["row", "target", "score", "label"]
    assert (
        pred.schema["row"] == pl.Int64
        and pred.schema["score"] == pl.Float64
        and pred.schema["label"] == pl.Int64
    )
    test_rows = np.flatnonzero(split_of(BC_N)["split"].to_numpy() == 2)
    assert pred["row"].to_list() == test_rows.tolist()
    assert pred["target"].to_list() == BREAST["malignant"].to_numpy()[test_rows].tolist()
    y, s, lab = pred["target"].to_numpy(), pred["score"].to_numpy(), pred["label"].to_numpy()
    assert np.array_equal(lab, (s >= 0.5).astype(int))
    expected = {
        "roc_auc": skm.roc_auc_score(y, s),
        "pr_auc": skm.average_precision_score(y, s),
        "log_loss": skm.log_loss(y, s),
        "accuracy": skm.accuracy_score(y, lab),
        "f1": skm.f1_score(y, lab),
        "brier": skm.brier_score_loss(y, s),
    }
    assert set(doc["metrics"]) == set(expected)
    for name, value in expected.items():
        m = doc["metrics"][name]
        assert m["value"] == pytest.approx(value, rel=1e-10), name
        assert m["low"] <= m["value"] <= m["high"], name
    assert ctx.output.metrics == {k: v["value"] for k, v in doc["metrics"].items()}
    assert {
        k: doc[k]
        for k in (
            "objective",
            "model",
            "task",
            "rows",
            "threshold",
            "classes",
            "select_by",
            "bootstrap",
        )
    } == {
        "objective": "quality",
        "model": "m",
        "task": "binary",
        "rows": len(test_rows),
        "threshold": 0.5,
        "classes": [0, 1],
        "select_by": "roc_auc",
        "bootstrap": {"n": 200, "seed": 0, "level": 0.95},
    }
    assert doc["unseen"] == {} and ctx.warnings == []


def test_slices_are_sorted_with_nulls_last_and_hold_every_metric(
    binary: tuple[StoreContext, Reader],
) -> None:
    _, out = binary
    doc, pred = out.json("metrics.json"), out.frame("predictions")
    band = doc["slices"]["band"]
    assert [e["value"] for e in band] == ["high", "low", "mid", "(null)"]
    assert sum(e["count"] for e in band) == doc["rows"]
    values = BREAST["band"].to_numpy()[pred["row"].to_numpy()]
    y, s = pred["target"].to_numpy(), pred["score"].to_numpy()
    for e in band:
        mask = (
            np.array([v is None for v in values])
            if e["value"] == "(null)"
            else values == e["value"]
        )
        assert e["count"] == int(mask.sum())
        assert set(e["metrics"]) == set(doc["metrics"])
        assert e["metrics"]["roc_auc"]["value"] == pytest.approx(
            skm.roc_auc_score(y[mask], s[mask])
        )
    assert [e["value"] for e in doc["slices"]["size"]] == ["big", "small"]


def test_fairness_agrees_with_the_predictions(binary: tuple[StoreContext, Reader]) -> None:
    _, out = binary
    doc, pred = out.json("metrics.json"), out.frame("predictions")
    fair = doc["fairness"]["clinic"]
    groups = BREAST["clinic"].to_numpy()[pred["row"].to_numpy()]
    y, lab = pred["target"].to_numpy(), pred["label"].to_numpy()
    rates = {}
    for g in ("north", "south"):
        m = groups == g
        rates[g] = (lab[m].mean(), lab[m & (y == 1)].mean(), lab[m & (y == 0)].mean())
    assert [g["group"] for g in fair["groups"]] == ["north", "south"]
    for g in fair["groups"]:
        assert (g["selection_rate"], g["tpr"], g["fpr"]) == pytest.approx(rates[g["group"]])
    dp = abs(rates["north"][0] - rates["south"][0])
    eo = max(abs(rates["north"][1] - rates["south"][1]), abs(rates["north"][2] - rates["south"][2]))
    assert fair["demographic_parity_difference"]["value"] == pytest.approx(dp)
    assert fair["equalized_odds_difference"]["value"] == pytest.approx(eo)


def test_importance_is_reported_per_input_feature(
    binary: tuple[StoreContext, Reader], store: ArtifactStore, breast: dict[str, str]
) -> None:
    _, out = binary
    imp = out.json("metrics.json")["importance"]
    names = [f["name"] for f in BC_FEATURES]
    assert sorted(imp["permutation"]) == sorted(names)
    assert imp["permutation_settings"] == {
        "metric": "roc_auc",
        "repeats": 5,
        "rows": out.json("metrics.json")["rows"],
        "seed": 0,
    }
    assert imp["permutation"]["f0"]["mean"] > 0 and imp["permutation"]["f0"]["std"] >= 0
    assert imp["model_source"] == "coef_" and imp["reasons"] == {}
    # The one-hot columns of `size` are summed back into one value.
    pipeline, _ = persist.load(store.open(breast["model"]))
    coef = np.abs(pipeline[-1].coef_[0])
    assert len(coef) == len(names) + 1
    assert sum(imp["model"].values()) == pytest.approx(coef.sum())
    assert imp["model"]["size"] == pytest.approx(coef[-2:].sum())


def test_curves_for_the_report(binary: tuple[StoreContext, Reader]) -> None:
    _, out = binary
    doc = out.json("metrics.json")
    curves = doc["curves"]
    assert set(curves) == {"roc", "pr", "calibration"}
    assert 2 <= len(curves["roc"]["fpr"]) == len(curves["roc"]["tpr"]) <= 200
    assert curves["roc"]["fpr"][0] == 0 and curves["roc"]["tpr"][-1] == 1
    assert len(curves["pr"]["recall"]) == len(curves["pr"]["precision"]) <= 200
    cal = curves["calibration"]
    assert cal["bins"] == 10 and sum(cal["count"]) == doc["rows"]
    assert len(cal["mean_predicted"]) == len(cal["fraction_positive"]) == len(cal["count"]) <= 10
    assert all(0 <= v <= 1 for v in cal["mean_predicted"] + cal["fraction_positive"])


def test_curves_are_thinned_to_200_points() -> None:
    assert len(evaluate._thin(10)) == 10
    kept = evaluate._thin(5000)
    assert len(kept) <= 200 and kept[0] == 0 and kept[-1] == 4999


def test_artifacts_are_byte_identical_across_runs(
    store: ArtifactStore, breast: dict[str, str], binary: tuple[StoreContext, Reader]
) -> None:
    inputs = {k: v for k, v in breast.items() if k != "model"}
    _, again = run_evaluate(store, inputs, breast["model"], BC_OBJECTIVE)
    _, first = binary
    for name in ("metrics.json", "predictions.parquet"):
        assert first.manifest.files[name]["blake3"] == again.manifest.files[name]["blake3"], name
    _, other_seed = run_evaluate(store, inputs, breast["model"], BC_OBJECTIVE, seed=1)
    assert (
        other_seed.json("metrics.json")["metrics"]["roc_auc"]["low"]
        != first.json("metrics.json")["metrics"]["roc_auc"]["low"]
    )


def test_a_single_class_test_split_gives_undefined_metrics_not_a_crash(
    store: ArtifactStore, breast: dict[str, str]
) -> None:
    # The test split holds benign rows only (malignant == 0).
    parts = split_of(BC_N)["split"].to_numpy().copy()
    parts[(parts == 2) & (BREAST["malignant"].to_numpy() == 1)] = 0
    inputs = {
        "data": breast["data"],
        "split": put(store, pl.DataFrame({"split": pl.Series(parts, dtype=pl.UInt8)})),
    }
    ctx, out = run_evaluate(store, inputs, breast["model"], BC_OBJECTIVE)
    doc = out.json("metrics.json")
    roc = doc["metrics"]["roc_auc"]
    assert roc == {
        "value": None,
        "reason": "only one class (0) in the test split",
        "low": None,
        "high": None,
    }
    assert (
        doc["metrics"]["pr_auc"]["value"] is None
        and "no positive rows" in doc["metrics"]["pr_auc"]["reason"]
    )
    assert (
        doc["metrics"]["log_loss"]["value"] is not None
        and doc["metrics"]["accuracy"]["low"] is not None
    )
    assert "roc_auc" not in ctx.output.metrics and "log_loss" in ctx.output.metrics
    assert (
        doc["importance"]["permutation"] is None
        and "only one class" in doc["importance"]["reasons"]["permutation"]
    )
    assert doc["curves"]["roc"] == {"reason": "only one class (0) in the test split"}
    assert doc["fairness"]["clinic"]["groups"][0]["tpr"] is None
    # Selecting by roc_auc among such models explains itself.
    sel = FakeContext(
        {
            "objective": {"name": "quality", "select_by": "roc_auc", "higher_is_better": True},
            "candidates": ["lr"],
            "baseline": None,
        },
        {"eval/lr": FakeReader({}, {"metrics.json": doc})},
    )
    with pytest.raises(
        StepError, match=r"undefined for every model \(lr: only one class \(0\) in the test split\)"
    ):
        select.run(sel)


def test_an_empty_test_split_is_a_step_error(store: ArtifactStore, breast: dict[str, str]) -> None:
    inputs = {
        "data": breast["data"],
        "split": put(store, pl.DataFrame({"split": pl.Series(np.zeros(BC_N), dtype=pl.UInt8)})),
    }
    with pytest.raises(StepError, match="the test split is empty"):
        run_evaluate(store, inputs, breast["model"], BC_OBJECTIVE)


def test_the_baseline_and_selection(
    store: ArtifactStore, breast: dict[str, str], binary: tuple[StoreContext, Reader]
) -> None:
    inputs = {k: v for k, v in breast.items() if k != "model"}
    dummy = train_model(store, inputs, BC_OBJECTIVE, "dummy", {"strategy": "prior"})
    _, base = run_evaluate(store, inputs, dummy, BC_OBJECTIVE, n=50)
    doc = base.json("metrics.json")
    assert doc["metrics"]["roc_auc"]["value"] == 0.5
    assert (
        doc["importance"]["model"] is None
        and "has no importance of its own" in doc["importance"]["reasons"]["model"]
    )
    assert all(v["mean"] == 0 for v in doc["importance"]["permutation"].values())
    sel = FakeContext(
        {"objective": BC_OBJECTIVE, "candidates": ["lr"], "baseline": "baseline"},
        {
            "eval/lr": FakeReader({}, {"metrics.json": binary[1].json("metrics.json")}),
            "eval/baseline": FakeReader({}, {"metrics.json": doc}),
        },
    )
    select.run(sel)
    s = sel.output.jsons["selection.json"]
    assert (
        s["selected"] == "lr"
        and s["beats_baseline"] is True
        and s["baseline"]["value"] == 0.5
        and sel.warnings == []
    )


def test_permutation_importance_samples_large_test_splits(
    store: ArtifactStore, breast: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(evaluate, "PERMUTATION_ROWS", 40)
    monkeypatch.setattr(evaluate, "MAX_SLICE_VALUES", 2)
    inputs = {k: v for k, v in breast.items() if k != "model"}
    _, out = run_evaluate(store, inputs, breast["model"], BC_OBJECTIVE, n=20)
    doc = out.json("metrics.json")
    assert doc["importance"]["permutation_settings"]["rows"] == 40
    band = doc["slices"]["band"]  # 4 values, at most 2 kept: the largest, then the rest pooled
    assert (
        len(band) == 2
        and band[-1]["value"] == "(other)"
        and sum(e["count"] for e in band) == doc["rows"]
    )


def _sklearn_permutation(
    pipeline: Any, X: np.ndarray, rows: Any, metric: str, classes: Any, seed: int
) -> Any:
    """What evaluate did before it stacked the copies: scikit-learn, one predict per copy."""
    from sklearn.inspection import permutation_importance

    from mlspec.evaluation import metrics as M
    from mlspec.scoring.predict import predict

    def score(estimator: Any, X: np.ndarray, y: np.ndarray) -> float:
        pred = predict(estimator, X, rows.task, classes, 0.5)
        v = M.value(
            metric, M.Rows.make(rows.task, y, pred.score, pred.index, pred.proba, classes or ())
        )
        assert v.value is not None
        return v.value if M.METRICS[metric].higher_is_better else -v.value

    return permutation_importance(
        pipeline,
        X,
        rows.y,
        scoring=score,
        n_repeats=evaluate.PERMUTATION_REPEATS,
        random_state=seed,
    )


@pytest.mark.parametrize(
    ("task", "mtype", "metric", "cells"),
    [
        ("binary", "xgboost", "roc_auc", 8_000_000),
        ("binary", "logistic_regression", "log_loss", 1),  # one feature per predict call
        ("multiclass", "random_forest", "accuracy", 3_000),
        ("regression", "xgboost", "rmse", 8_000_000),
    ],
)
def test_stacked_permutation_importance_equals_scikit_learns(
    task: str, mtype: str, metric: str, cells: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlspec.evaluation import metrics as M
    from mlspec.models.estimators import build, fit
    from mlspec.scoring.predict import predict
    from mlspec.scoring.preprocess import matrix, target

    monkeypatch.setattr(evaluate, "PERMUTATION_STACK_CELLS", cells)
    target_col = {"binary": "malignant", "multiclass": "band3", "regression": "f5"}[task]
    frame = BREAST.with_columns(band3=pl.Series(np.arange(BC_N) % 3))
    objective = {"name": "o", "task": task, "target": target_col, "features": BC_FEATURES}
    X = matrix(frame, BC_FEATURES)
    y, classes = target(frame, objective)
    pipeline = fit(
        build(
            objective,
            {
                "type": mtype,
                "params": {"n_estimators": 10} if mtype != "logistic_regression" else {},
            },
            0,
            1,
        ),
        X,
        y,
        threads=1,
        what="t",
    )
    pred = predict(pipeline, X, task, classes)
    rows = M.Rows.make(task, y, pred.score, pred.index, pred.proba, classes or ())
    baseline, permuted = evaluate._permutation_scores(pipeline, X, rows, metric, classes, 0.5, 3, 1)
    expected = _sklearn_permutation(pipeline, X, rows, metric, classes, 3)
    drop = baseline - permuted
    assert np.array_equal(drop, expected.importances)
    assert np.array_equal(drop.mean(axis=1), expected.importances_mean)


# ----------------------------------------------------------------------------- multiclass and regression


def _iris(store: ArtifactStore) -> tuple[dict[str, str], dict[str, Any]]:
    iris = load_iris()
    frame = pl.DataFrame({f"x{i}": iris.data[:, i] for i in range(4)}).with_columns(
        species=pl.Series(np.asarray(iris.target_names)[iris.target])
    )
    objective = {
        "name": "species",
        "task": "multiclass",
        "target": "species",
        "features": [feature(f"x{i}", scale="standard") for i in range(4)],
        "metrics": ["accuracy", "macro_f1", "log_loss"],
        "select_by": "log_loss",
        "higher_is_better": False,
        "threshold": None,
        "slices": [],
        "protected": [],
    }
    inputs = {"data": put(store, frame), "split": put(store, split_of(len(frame), seed=1))}
    return {
        **inputs,
        "model": train_model(store, inputs, objective, "logistic_regression"),
    }, objective


def test_multiclass_on_iris(store: ArtifactStore) -> None:
    inputs, objective = _iris(store)
    model = inputs.pop("model")
    ctx, out = run_evaluate(store, inputs, model, objective)
    doc, pred = out.json("metrics.json"), out.frame("predictions")
    classes = ["setosa", "versicolor", "virginica"]
    assert doc["classes"] == classes and doc["threshold"] is None
    assert pred.columns == ["row", "target", "score", "label", *[f"proba_{c}" for c in classes]]
    proba = pred.select([f"proba_{c}" for c in classes]).to_numpy()
    y, lab = pred["target"].to_list(), pred["label"].to_list()
    assert np.allclose(pred["score"].to_numpy(), proba.max(axis=1))
    assert doc["metrics"]["accuracy"]["value"] == pytest.approx(skm.accuracy_score(y, lab))
    assert doc["metrics"]["macro_f1"]["value"] == pytest.approx(
        skm.f1_score(y, lab, average="macro")
    )
    assert doc["metrics"]["log_loss"]["value"] == pytest.approx(
        skm.log_loss(y, proba, labels=classes)
    )
    conf = doc["curves"]["confusion"]
    assert conf["labels"] == classes
    assert conf["matrix"] == skm.confusion_matrix(y, lab, labels=classes).tolist()
    assert doc["fairness"] == {} and doc["importance"]["model_source"] == "coef_"
    assert doc["importance"]["permutation_settings"]["metric"] == "log_loss"
    assert set(ctx.output.metrics) == {"accuracy", "macro_f1", "log_loss"}


def test_regression_on_diabetes(store: ArtifactStore) -> None:
    data = load_diabetes()
    frame = pl.DataFrame(
        {name: data.data[:, i] for i, name in enumerate(data.feature_names)}
    ).with_columns(progression=pl.Series(data.target))
    objective = {
        "name": "progression",
        "task": "regression",
        "target": "progression",
        "features": [feature(n) for n in data.feature_names],
        "metrics": ["rmse", "mae", "r2", "mape"],
        "select_by": "rmse",
        "higher_is_better": False,
        "threshold": None,
        "slices": ["sex"],
        "protected": [],
    }
    inputs = {"data": put(store, frame), "split": put(store, split_of(len(frame), seed=2))}
    model = train_model(store, inputs, objective, "ridge", {"alpha": 0.1})
    _, out = run_evaluate(store, inputs, model, objective)
    doc, pred = out.json("metrics.json"), out.frame("predictions")
    assert pred.columns == ["row", "target", "score", "label"] and pred["label"].equals(
        pred["score"].rename("label")
    )
    y, p = pred["target"].to_numpy(), pred["score"].to_numpy()
    assert doc["metrics"]["rmse"]["value"] == pytest.approx(skm.root_mean_squared_error(y, p))
    assert doc["metrics"]["mae"]["value"] == pytest.approx(skm.mean_absolute_error(y, p))
    assert doc["metrics"]["r2"]["value"] == pytest.approx(skm.r2_score(y, p))
    assert doc["metrics"]["mape"]["value"] == pytest.approx(
        skm.mean_absolute_percentage_error(y, p)
    )
    res = doc["curves"]["residuals"]
    assert len(res["quantiles"]) == len(res["quantile_levels"]) == 11
    assert res["quantiles"] == sorted(res["quantiles"])
    assert res["quantiles"][5] == pytest.approx(np.median(y - p), abs=1e-5)
    assert len(res["y"]) == len(res["prediction"]) == min(500, doc["rows"])
    assert len(doc["slices"]["sex"]) == 2 and doc["classes"] is None and doc["threshold"] is None


def test_tree_model_with_a_categorical_feature_holding_nulls(
    store: ArtifactStore, breast: dict[str, str]
) -> None:
    objective = {
        **BC_OBJECTIVE,
        "features": [*BC_FEATURES, feature("band", "categorical")],
        "select_by": "log_loss",
        "higher_is_better": False,
    }
    inputs = {k: v for k, v in breast.items() if k != "model"}
    model = train_model(store, inputs, objective, "xgboost", {"n_estimators": 5, "max_depth": 2})
    _, out = run_evaluate(store, inputs, model, objective, n=20)
    imp = out.json("metrics.json")["importance"]
    assert imp["model_source"] == "feature_importances_"
    assert (
        sorted(imp["model"])
        == sorted(imp["permutation"])
        == sorted([*(f["name"] for f in BC_FEATURES), "band"])
    )
    assert sum(imp["model"].values()) == pytest.approx(
        1.0, abs=1e-6
    )  # xgboost's importances sum to 1
    assert imp["permutation_settings"]["metric"] == "log_loss"


def test_evaluation_without_intervals_or_permutation_importance(
    store: ArtifactStore, breast: dict[str, str], binary: tuple[StoreContext, Reader]
) -> None:
    inputs = {k: v for k, v in breast.items() if k != "model"}
    _, out = run_evaluate(store, inputs, breast["model"], BC_OBJECTIVE, n=0, importance=False)
    doc, full = out.json("metrics.json"), binary[1].json("metrics.json")
    for name, entry in doc["metrics"].items():
        assert entry["value"] == full["metrics"][name]["value"]  # the same values, no interval
        assert entry["low"] is None and entry["high"] is None
        assert full["metrics"][name]["low"] < full["metrics"][name]["high"]
    imp = doc["importance"]
    assert imp["permutation"] is None and imp["permutation_settings"] is None
    assert imp["reasons"] == {
        "permutation": "turned off in the spec (evaluation.importance: false)"
    }
    assert imp["model"] == full["importance"]["model"]  # the model's own importance stays
    assert out.frame("predictions").equals(binary[1].frame("predictions"))
