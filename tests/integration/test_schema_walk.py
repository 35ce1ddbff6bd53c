"""Whatever `validate` accepts, `run` runs (issue 13).

Every key and every enum value of the schema is used by at least one small spec below
(`test_the_walk_covers_the_schema` computes the coverage from the specs themselves, so a new
key or value fails it until a spec uses it). Each spec either runs end to end on the local
backend over one shared, tiny generated data set, or is refused by `validate` with a located
error of the declared code. Every task runs with and without `combine`.

Kept cheap for CI: 240 rows, baseline off, no bootstrap, no permutation importance, except
where a variant is about them. Not yet tightened: `deployment`, `monitors` and
`execution.backend` (batch, ray) are being built elsewhere; here they must validate and the
run (on the local backend) must succeed, which says nothing of what they deploy or watch.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
import yaml

from mlspec.lang.schema import schema
from mlspec.lang.validate import validate_file

pytestmark = pytest.mark.slow

N = 240


# ----------------------------------------------------------------------------- data


def make_data(folder: Path) -> None:
    rng = np.random.default_rng(0)
    x1, x2 = rng.normal(size=N), rng.normal(size=N)
    grp = np.arange(N) % 24
    signal = x1 + 0.5 * x2 + rng.normal(scale=0.5, size=N)
    kind = np.where(signal < -0.4, "p", np.where(signal < 0.4, "q", "r"))
    day = [dt.date(2024, 1, 1) + dt.timedelta(days=int(i)) for i in rng.permutation(N)]
    frame = pl.DataFrame(
        {
            "id": np.arange(N),
            "x1": x1,
            "x2": [None if i % 17 == 0 else float(v) for i, v in enumerate(x2)],
            "cat": np.array(["a", "b", "c"])[np.arange(N) % 3],
            "grp": grp,
            "day": day,
            "ts": [dt.datetime(2024, 1, 1, 12) + dt.timedelta(hours=int(i)) for i in range(N)],
            "flag": np.arange(N) % 2 == 0,
            "label": (signal > 0).astype(np.int64),
            "answer": np.where(signal > 0, "yes", "no"),
            "kind": kind,
            "amount": 10 + 3 * signal,
            "spend": [None if i % 7 == 0 else float(v) for i, v in enumerate(10 + 3 * signal)],
            "part": np.array(["train", "train", "train", "valid", "test"])[np.arange(N) % 5],
        }
    )
    frame.write_csv(folder / "main.csv")
    frame.write_parquet(folder / "main.parquet")
    keys = pl.DataFrame({"grp": np.arange(24)})
    keys.with_columns(size_a=pl.col("grp") * 2).write_parquet(folder / "side_a.parquet")
    keys.with_columns(size_b=pl.col("grp") * 3).write_ndjson(folder / "side_b.ndjson")
    keys.with_columns(size_c=pl.col("grp") + 1).write_csv(folder / "side_c.csv")
    keys.with_columns(size_d=pl.col("grp") - 1).write_csv(folder / "side_d.csv")
    pl.DataFrame({"grp": [1000, 1001], "gone": [1, 2]}).write_csv(folder / "side_e.csv")
    with sqlite3.connect(folder / "side.sqlite") as db:
        db.execute("create table side (grp integer, size_s integer)")
        db.executemany("insert into side values (?, ?)", [(g, g * 5) for g in range(24)])


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("walk")
    make_data(folder)
    return folder


# ----------------------------------------------------------------------------- specs

QUICK = {"bootstrap": 0, "importance": False}
FEATURES = [
    {"name": "x1"},
    {"name": "x2", "impute": "median"},
    {"name": "cat", "type": "categorical"},
]
LR = {"name": "lr", "type": "logistic_regression"}
RIDGE = {"name": "ridge", "type": "ridge"}


def objective(task: str, **kw: Any) -> dict[str, Any]:
    target = {"binary": "label", "multiclass": "kind", "regression": "amount"}[task]
    model = RIDGE if task == "regression" else LR
    return {
        "task": task,
        "target": target,
        "features": ["x1", "x2", "cat"],
        "models": [model],
        "baseline": False,
        "evaluation": dict(QUICK),
        **kw,
    }


def base(**objectives: dict[str, Any]) -> dict[str, Any]:
    return {
        "mlspec": 1,
        "name": "walk",
        "data": {"sources": {"main": {"path": "main.csv"}}, "split": {"test": 0.25}},
        "features": copy.deepcopy(FEATURES),
        "objectives": objectives or {"y": objective("binary")},
    }


def with_(spec: dict[str, Any], **parts: Any) -> dict[str, Any]:
    out = copy.deepcopy(spec)
    out.update(parts)
    return out


def split(method: str, **kw: Any) -> dict[str, Any]:
    return with_(
        base(), data={"sources": {"main": {"path": "main.csv"}}, "split": {"method": method, **kw}}
    )


def searched(model: dict[str, Any], **search: Any) -> dict[str, Any]:
    return {**model, "search": search}


ALL_BINARY_METRICS = [
    "roc_auc",
    "pr_auc",
    "log_loss",
    "accuracy",
    "f1",
    "precision",
    "recall",
    "brier",
]
CLASSIFIERS = [
    "logistic_regression",
    "random_forest",
    "extra_trees",
    "gradient_boosting",
    "hist_gradient_boosting",
    "knn",
    "svm",
    "naive_bayes",
    "dummy",
    "xgboost",
    "ridge",
]
REGRESSORS = [
    "linear_regression",
    "ridge",
    "lasso",
    "random_forest",
    "extra_trees",
    "gradient_boosting",
    "hist_gradient_boosting",
    "knn",
    "svm",
    "dummy",
    "xgboost",
]
SMALL = {
    "random_forest": {"n_estimators": 5},
    "extra_trees": {"n_estimators": 5},
    "gradient_boosting": {"n_estimators": 5},
    "hist_gradient_boosting": {"max_iter": 5},
    "xgboost": {"n_estimators": 5},
}


def models(types: list[str]) -> list[dict[str, Any]]:
    return [{"name": f"m_{t}", "type": t, "params": dict(SMALL.get(t, {}))} for t in types]


def two_objectives(a: str, b: str, **combine: Any) -> dict[str, Any]:
    spec = base(first=objective(a), second=objective(b))
    spec["combine"] = {"weights": {"first": 0.5, "second": 0.5}, **combine}
    return spec


def full_features() -> list[dict[str, Any]]:
    return [
        {"name": "x1", "scale": "standard", "description": "a column"},
        {"name": "x1_mm", "expr": "x1 * 2", "scale": "minmax", "impute": "mean"},
        {"name": "x1_rb", "expr": "x1 - 1", "scale": "robust"},
        {"name": "x2", "impute": "constant", "fill_value": 0, "scale": "none"},
        {"name": "x2_mf", "expr": "x2", "impute": "most_frequent", "type": "numeric"},
        {"name": "x2_raw", "expr": "x2", "impute": "median"},
        {"name": "cat", "type": "categorical", "encoding": "onehot"},
        {
            "name": "cat_ord",
            "expr": "cat",
            "type": "categorical",
            "encoding": "ordinal",
            "impute": "none",
        },
        {"name": "cat_null", "expr": "cat", "type": "categorical", "encoding": None},
        {"name": "cat_freq", "expr": "cat", "type": "categorical", "encoding": "frequency"},
        {"name": "cat_hash", "expr": "cat", "type": "categorical", "encoding": "hashing"},
        {"name": "cat_tgt", "expr": "cat", "type": "categorical", "encoding": "target"},
    ]


def sources_and_joins() -> dict[str, Any]:
    return {
        "sources": {
            "main": {
                "path": "main.csv",
                "format": "csv",
                "separator": ",",
                "columns": {
                    "id": "int",
                    "x1": "float",
                    "x2": "float",
                    "cat": "categorical",
                    "grp": "int",
                    "day": "date",
                    "ts": "datetime",
                    "flag": "bool",
                    "label": "int",
                    "answer": "str",
                    "kind": "str",
                    "amount": "float",
                    "part": "str",
                },
                "checks": [
                    {"column": "id", "dtype": "int", "unique": True, "not_null": True},
                    {"column": "x1", "dtype": "float", "min": -100, "max": 100},
                    {"column": "cat", "dtype": "categorical", "allowed": ["a", "b", "c"]},
                    {"column": "answer", "dtype": "str"},
                    {"column": "flag", "dtype": "bool"},
                    {"column": "day", "dtype": "date"},
                    {"column": "ts", "dtype": "datetime", "severity": "error"},
                    {"column": "x2", "max_null_fraction": 0.2, "severity": "warn"},
                    {"rows": {"min": 10, "max": 100000}},
                ],
            },
            "a": {"path": "side_a.parquet", "format": "parquet", "external": False},
            "b": {"path": "side_b.ndjson", "format": "ndjson"},
            "s": {"path": "side.sqlite", "format": "sqlite", "query": "select * from side"},
            "c": {"path": "side_c.csv", "format": None},
            "d": {"path": "side_d.csv"},
            "e": {"path": "side_e.csv"},
        },
        "joins": [
            {"left": "main", "right": "a", "on": "grp", "how": "inner"},
            {"left": "main", "right": "b", "on": ["grp"], "how": "left", "suffix": "_b"},
            {"left": "main", "right": "s", "on": "grp", "how": "full"},
            {"left": "main", "right": "c", "on": "grp", "how": "semi"},
            {"left": "main", "right": "e", "on": "grp", "how": "anti"},
            {"left": "main", "right": "d", "on": "grp"},
        ],
        "split": {"method": "random", "test": 0.25, "valid": 0.15, "seed": 3, "by": None},
    }


def everything_else() -> dict[str, Any]:
    """The keys outside the data and the models: problem, gate, slices, fairness, evaluation,
    deployment, monitors, execution."""
    spec = base(
        y=objective(
            "binary",
            description="a binary objective",
            metrics=ALL_BINARY_METRICS,
            select_by="roc_auc",
            threshold=0.4,
            positive=1,
            gate={"roc_auc": ">= 0.5", "log_loss": "<= 5"},
            slices=["cat"],
            fairness={"protected": ["cat"]},
            evaluation={"bootstrap": 20, "importance": True},
        )
    )
    spec.update(
        {
            "$schema": "../schemas/mlspec.schema.json",
            "description": "every other key",
            "problem": {"goal": "walk the schema", "business_metric": "none", "task": "binary"},
            "deployment": {
                "target": "batch",
                "batch": {"input": "main.csv", "output": "scores.parquet", "format": "parquet"},
            },
            "monitors": [
                {
                    "name": "d1",
                    "type": "data_drift",
                    "columns": ["x1"],
                    "test": "psi",
                    "threshold": 0.2,
                },
                {"name": "d2", "type": "data_drift", "columns": ["x1"], "test": "ks"},
                {"name": "d3", "type": "data_drift", "columns": ["cat"], "test": "chi_square"},
                {
                    "name": "d4",
                    "type": "data_drift",
                    "columns": ["x1"],
                    "test": "jensen_shannon",
                    "alert": {"severity": "info", "channels": [], "retrain": False},
                },
                {"name": "d5", "type": "data_drift", "columns": ["x1"], "test": "wasserstein"},
                {
                    "name": "d6",
                    "type": "data_drift",
                    "columns": ["x1", "x2", "cat"],
                    "test": "auto",
                    "drift_share": 0.5,
                    "reference": "train",
                    "column_tests": {
                        "x1": {"test": "ks", "threshold": 0.05},
                        "x2": {"test": "psi"},
                        "cat": {"test": "chi_square"},
                    },
                },
                {
                    "name": "d7",
                    "type": "data_drift",
                    "columns": ["x1", "cat"],
                    "reference": "test",
                    "column_tests": {
                        "x1": {"test": "wasserstein"},
                        "cat": {"test": "jensen_shannon"},
                    },
                },
                {"name": "dq", "type": "data_quality", "reference": "train"},
                {
                    "name": "p1",
                    "type": "prediction_drift",
                    "objective": "y",
                    "alert": {"severity": "warning"},
                },
                {
                    "name": "q1",
                    "type": "performance",
                    "objective": "y",
                    "metric": "roc_auc",
                    "threshold": 0.05,
                    "alert": {"severity": "critical"},
                },
                {
                    "name": "q2",
                    "type": "performance",
                    "objective": "y",
                    "metric": "roc_auc",
                    "floor": 0.5,
                },
            ],
            "execution": {
                "backend": "local",
                "workers": 1,
                "store": ".mlspec-other",
                "seed": 1,
                "threads": 1,
                "ray": {"address": None, "max_retries": 1},
                "batch": {
                    "partition": "debug",
                    "time_limit": "00:10:00",
                    "account": None,
                    "poll_seconds": 1,
                },
            },
        }
    )
    return spec


TASK_OF = {
    **dict.fromkeys(ALL_BINARY_METRICS, "binary"),
    "macro_f1": "multiclass",
    **dict.fromkeys(["rmse", "mae", "r2", "mape"], "regression"),
}


def every_select_by() -> dict[str, Any]:
    """One objective per metric, each selecting (and searching, 2 folds) by it, each watched
    by a performance monitor on it: trials score with the evaluation's metrics."""
    objectives = {}
    for metric, task in TASK_OF.items():
        model = RIDGE if task == "regression" else LR
        param = {"alpha": [1.0]} if task == "regression" else {"C": [1.0]}
        objectives[f"by_{metric}"] = objective(
            task,
            metrics=[metric],
            select_by=metric,
            models=[searched(model, method="grid", cv=2, space=param)],
        )
    spec = base(**objectives)
    spec["combine"] = {"weights": dict.fromkeys(objectives, 1)}
    spec["monitors"] = [
        {"name": f"watch_{m}", "type": "performance", "objective": f"by_{m}", "metric": m}
        for m in TASK_OF
    ]
    return spec


def derived_slices() -> dict[str, Any]:
    """Issue 13.8 and 13.17: with declared columns, features are columns too; a continuous
    slice is cut into quartiles."""
    declared = sources_and_joins()["sources"]["main"]["columns"]
    spec = base(
        y=objective(
            "binary",
            features=["x1", "x2", "cat"],
            slices=["x1_double", "band"],
            fairness={"protected": ["band"]},
        )
    )
    spec["data"] = {
        "sources": {"main": {"path": "main.csv", "columns": declared}},
        "split": {"method": "stratified", "by": "band"},
    }
    spec["features"] = [
        *FEATURES,
        {"name": "x1_double", "expr": "x1 * 2"},
        {"name": "band", "expr": "cat", "type": "categorical"},
    ]
    return spec


# Each variant: (name, spec, None to run it, or the code `validate` must refuse it with).
Variant = tuple[str, Callable[[], dict[str, Any]], str | None]
VARIANTS: list[Variant] = [
    # ---- every task, alone (identity scale) and combined, every scale
    ("binary", lambda: base(y=objective("binary")), None),
    (
        "multiclass",
        lambda: with_(
            base(y=objective("multiclass", metrics=["accuracy", "log_loss", "macro_f1"])),
            problem={"goal": "g", "task": "multiclass"},
        ),
        None,
    ),
    (
        "regression",
        lambda: with_(
            base(y=objective("regression", metrics=["rmse", "mae", "r2", "mape"])),
            problem={"goal": "g", "task": "regression"},
        ),
        None,
    ),
    ("every-select-by", every_select_by, None),
    (
        "multiclass-probability",
        lambda: with_(
            base(y=objective("multiclass")),
            combine={"weights": {"y": 1}, "scale": {"y": "probability"}},
        ),
        "combine-scale",
    ),
    (
        "binary+regression",
        lambda: two_objectives(
            "binary",
            "regression",
            method="weighted_sum",
            target="label",
            metrics=["roc_auc", "pr_auc"],
            gate={"roc_auc": ">= 0.5"},
        ),
        None,
    ),
    (
        "multiclass+regression",
        lambda: two_objectives(
            "multiclass",
            "regression",
            scale={"first": "minmax", "second": "identity"},
            target="amount",
            metrics=["rmse", "mae", "r2"],
        ),
        None,
    ),
    (
        "multiclass+binary",
        lambda: two_objectives(
            "multiclass", "binary", scale={"first": "rank", "second": "probability"}
        ),
        None,
    ),
    (
        "regression-alone-combined",
        lambda: with_(
            base(y=objective("regression")), combine={"weights": {"y": 2}, "scale": {"y": "rank"}}
        ),
        None,
    ),
    (
        "combined-metric-off-task",
        lambda: two_objectives("binary", "regression", target="label", metrics=["log_loss"]),
        "metric-task",
    ),
    *[
        (
            f"combined-metric-{m}",
            (lambda m=m: two_objectives("binary", "regression", target="label", metrics=[m])),
            "metric-task",
        )
        for m in ("accuracy", "f1", "precision", "recall", "brier", "macro_f1", "mape")
    ],
    # ---- missing targets: dropped by the objective, or by the source's row filter
    (
        "missing-target-drop",
        lambda: base(y=objective("regression", target="spend", missing_target="drop")),
        None,
    ),
    (
        "missing-target-drop-combined",
        lambda: with_(
            base(
                a=objective("binary"),
                b=objective("regression", target="spend", missing_target="drop"),
            ),
            combine={"weights": {"a": 1, "b": 1}},
        ),
        None,
    ),
    (
        "row-filter",
        lambda: with_(
            base(y=objective("regression", target="spend", missing_target="fail")),
            data={
                "sources": {"main": {"path": "main.csv", "where": "spend is not None and x1 > -3"}}
            },
        ),
        None,
    ),
    # ---- a signed weight: lower is better for the second objective
    (
        "signed-weight",
        lambda: (
            two_objectives("binary", "regression")
            | {"combine": {"weights": {"first": 1, "second": -0.5}}}
        ),
        None,
    ),
    # ---- slices, protected groups and split.by name derived features, columns declared
    ("derived-slices", derived_slices, None),
    # ---- positive class of a text target
    ("positive-text", lambda: base(y=objective("binary", target="answer", positive="no")), None),
    # ---- every model type, every metric
    (
        "binary-models",
        lambda: base(y=objective("binary", models=models(CLASSIFIERS), metrics=ALL_BINARY_METRICS)),
        None,
    ),
    (
        "multiclass-models",
        lambda: base(
            y=objective(
                "multiclass",
                models=models([t for t in CLASSIFIERS if t != "ridge"]),
                metrics=["macro_f1", "accuracy"],
            )
        ),
        None,
    ),
    ("regression-models", lambda: base(y=objective("regression", models=models(REGRESSORS))), None),
    (
        "logistic-regression-for-regression",
        lambda: base(y=objective("regression", models=[LR])),
        "model-task",
    ),
    # ---- split methods, with k-fold search (folds follow the split) and grid/random search
    ("split-random-by", lambda: split("random", by="grp"), None),
    (
        "split-stratified",
        lambda: with_(
            split("stratified", by="label", valid=0.1),
            objectives={
                "y": objective(
                    "binary",
                    models=[
                        searched(
                            LR,
                            method="random",
                            trials=2,
                            cv="valid",
                            seed=1,
                            space={"C": {"low": 0.01, "high": 10, "log": True}},
                        )
                    ],
                )
            },
        ),
        None,
    ),
    (
        "split-group",
        lambda: with_(
            split("group", by="grp", test=0.25),
            objectives={
                "y": objective(
                    "binary", models=[searched(LR, method="grid", cv=3, space={"C": [0.1, 1.0]})]
                )
            },
        ),
        None,
    ),
    (
        "split-time",
        lambda: with_(
            split("time", by="day"),
            objectives={
                "y": objective(
                    "regression",
                    models=[
                        searched(
                            {"name": "rf", "type": "random_forest", "params": {"n_estimators": 5}},
                            method="random",
                            trials=2,
                            space={"max_depth": {"low": 2, "high": 4, "integer": True}},
                        )
                    ],
                )
            },
        ),
        None,
    ),
    ("split-column", lambda: split("column", by="part"), None),
    (
        "split-column-early-stopping",
        lambda: with_(
            split("column", by="part"),
            objectives={
                "y": objective(
                    "binary",
                    models=[
                        {
                            "name": "gbt",
                            "type": "xgboost",
                            "params": {"n_estimators": 20, "early_stopping_rounds": 3},
                            "search": {
                                "method": "grid",
                                "cv": "valid",
                                "space": {"max_depth": [2]},
                            },
                        }
                    ],
                )
            },
        ),
        None,
    ),
    ("split-column-without-by", lambda: split("column"), "missing-key"),
    # ---- early stopping: wired to the valid split, or refused without one
    (
        "early-stopping",
        lambda: with_(
            split("random", valid=0.2),
            objectives={
                "y": objective(
                    "binary",
                    models=[
                        {
                            "name": "gbt",
                            "type": "xgboost",
                            "params": {"n_estimators": 50, "early_stopping_rounds": 3},
                        }
                    ],
                )
            },
        ),
        None,
    ),
    (
        "early-stopping-without-valid",
        lambda: base(
            y=objective(
                "binary",
                models=[{"name": "gbt", "type": "xgboost", "params": {"early_stopping_rounds": 3}}],
            )
        ),
        "early-stopping",
    ),
    # ---- sources, formats, dtypes, checks and every join
    (
        "sources-and-joins",
        lambda: with_(
            base(),
            data=sources_and_joins(),
            features=[*FEATURES, {"name": "size_a"}, {"name": "size_b"}, {"name": "size_s"}],
        ),
        None,
    ),
    # ---- every feature option
    (
        "features",
        lambda: with_(base(y=objective("binary", features=None)), features=full_features()),
        None,
    ),
    # ---- everything else
    ("everything-else", everything_else, None),
    (
        "problem-ranking",
        lambda: with_(base(), problem={"goal": "g", "task": "ranking"}),
        None,
    ),  # the framing; its objectives run
    (
        "deployment-rest",
        lambda: with_(
            base(),
            deployment={
                "target": "rest",
                "rest": {"host": "127.0.0.1", "port": 8080, "workers": 1},
                "request_weights": True,
            },
        ),
        None,
    ),
    (
        "deployment-ray-serve",
        lambda: with_(
            base(),
            deployment={
                "target": "ray_serve",
                "ray_serve": {"num_replicas": 1, "route_prefix": "/walk", "num_cpus": 1},
            },
        ),
        None,
    ),
    (
        "monitor-reference-valid",
        lambda: with_(
            base(),
            data={"sources": {"main": {"path": "main.csv"}}, "split": {"test": 0.25, "valid": 0.2}},
            monitors=[
                {
                    "name": "d8",
                    "type": "data_drift",
                    "columns": ["x1"],
                    "reference": "valid",
                    "column_tests": {"x1": {"test": "auto"}},
                }
            ],
        ),
        None,
    ),
    (
        "monitor-reference-valid-without-a-valid-split",
        lambda: with_(
            base(),
            monitors=[
                {"name": "d9", "type": "data_drift", "columns": ["x1"], "reference": "valid"}
            ],
        ),
        "monitor-option",
    ),
    (
        "deployment-csv",
        lambda: with_(base(), deployment={"target": "batch", "batch": {"format": "csv"}}),
        None,
    ),
    ("execution-ray", lambda: with_(base(), execution={"backend": "ray"}), None),
    ("execution-batch", lambda: with_(base(), execution={"backend": "batch"}), None),
    (
        "resources",
        lambda: base(
            y=objective("binary", models=[{**LR, "resources": {"num_cpus": 1, "memory_gb": 1}}])
        ),
        None,
    ),
]


# ----------------------------------------------------------------------------- coverage


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = {
            **schema()["$defs"][node["$ref"].split("/")[-1]],
            **{k: v for k, v in node.items() if k != "$ref"},
        }
    return node


def schema_items() -> set[str]:
    """Every key (`.a.b`) and every enum value (`.a.b=v`) of the schema."""
    out: set[str] = set()
    seen: set[tuple[int, str]] = set()

    def walk(node: dict[str, Any], path: str) -> None:
        if (id(node), path) in seen:
            return
        seen.add((id(node), path))
        node = _resolve(node)
        for value in node.get("enum", []):
            out.add(f"{path}={json.dumps(value)}")
        for key, sub in node.get("properties", {}).items():
            out.add(f"{path}.{key}")
            walk(sub, f"{path}.{key}")
        if isinstance(node.get("additionalProperties"), dict):
            walk(node["additionalProperties"], f"{path}.*")
        if isinstance(node.get("items"), dict):
            walk(node["items"], f"{path}[]")
        for kw in ("anyOf", "oneOf", "allOf"):
            for sub in node.get(kw, []):
                walk(sub, path)
        for kw in ("then", "else"):
            if kw in node:
                walk(node[kw], path)

    walk(schema(), "")
    return out


def used_items(data: Any) -> set[str]:
    """The schema items a spec uses: the same names as `schema_items`."""
    out: set[str] = set()

    def walk(node: dict[str, Any], value: Any, path: str) -> None:
        node = _resolve(node)
        if (
            "enum" in node
            and value in node["enum"]
            and type(value) is type(next((e for e in node["enum"] if e == value), value))
        ):
            out.add(f"{path}={json.dumps(value)}")
        for kw in ("anyOf", "oneOf", "allOf"):
            for sub in node.get(kw, []):
                walk(sub, value, path)
        if isinstance(value, dict):
            props = node.get("properties", {})
            extra = node.get("additionalProperties")
            for key, v in value.items():
                if key in props:
                    out.add(f"{path}.{key}")
                    walk(props[key], v, f"{path}.{key}")
                elif isinstance(extra, dict):
                    walk(extra, v, f"{path}.*")
        elif isinstance(value, list) and isinstance(node.get("items"), dict):
            for v in value:
                walk(node["items"], v, f"{path}[]")

    walk(schema(), data, "")
    return out


def test_the_walk_covers_the_schema() -> None:
    used: set[str] = set()
    for _name, make, _code in VARIANTS:
        used |= used_items(make())
    missing = sorted(schema_items() - used)
    assert missing == [], "schema keys or values no spec of the walk uses"


# ----------------------------------------------------------------------------- running


def run_spec(folder: Path, spec: dict[str, Any]) -> tuple[Any, Any]:
    """Validate the spec written into `folder`; when valid, run it on the local backend."""
    from mlspec.backends import get_backend
    from mlspec.engine.assess import assess, store_root
    from mlspec.engine.runner import run_plan

    path = folder / "spec.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    result = validate_file(path)
    if not result.ok:
        return result, None
    a = assess(result.spec, store_root(result.spec))
    backend = get_backend("local", workers=1, threads=1)
    try:
        return result, run_plan(a, backend, backend_name="local")
    finally:
        backend.close()


def _variant_folder(data: Path, tmp_path: Path) -> Path:
    for f in data.iterdir():
        os.link(f, tmp_path / f.name)  # a symlink would lead out of the project folder
    return tmp_path


@pytest.mark.parametrize(("name", "make", "code"), VARIANTS, ids=[v[0] for v in VARIANTS])
def test_validate_accepts_only_what_runs(
    data: Path, tmp_path: Path, name: str, make: Callable[[], dict[str, Any]], code: str | None
) -> None:
    result, run = run_spec(_variant_folder(data, tmp_path), make())
    errors = [d for d in result.diagnostics if d.severity == "error"]
    if code is not None:
        assert run is None and errors, f"{name}: validate accepted a spec it must refuse"
        assert code in {d.code for d in errors}, [(d.code, d.message) for d in errors]
        assert all(d.line > 0 and d.col > 0 for d in errors), "every refusal is located"
        return
    assert not errors, [f"{d.line}:{d.col} {d.code} {d.message}" for d in errors]
    failed = {r.step_id: r.error for r in run.failed}
    assert run.status == "succeeded", failed


def _artifact(folder: Path, step: str, name: str, store: str = ".mlspec") -> Path:
    for manifest in (folder / store).glob("objects/*/*/manifest.json"):
        if json.loads(manifest.read_text())["step"] == step:
            return manifest.parent / name
    raise AssertionError(f"no artifact of {step}")


def _only(name: str) -> Callable[[], dict[str, Any]]:
    return next(make for n, make, _ in VARIANTS if n == name)


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_a_single_objectives_final_score_is_its_prediction(
    data: Path, tmp_path: Path, task: str
) -> None:
    """Issue 13.1-2: one objective, no combine: identity scale, the score as predicted."""
    folder = _variant_folder(data, tmp_path)
    _, run = run_spec(folder, base(y=objective(task)))
    assert run.status == "succeeded", {r.step_id: r.error for r in run.failed}
    scores = pl.read_parquet(_artifact(folder, "combine", "scores.parquet")).sort("row")
    predicted = pl.read_parquet(
        _artifact(
            folder,
            "evaluate.y.lr" if task != "regression" else "evaluate.y.ridge",
            "predictions.parquet",
        )
    ).sort("row")
    assert scores["score"].to_list() == predicted["score"].to_list()
    combined = json.loads(_artifact(folder, "combine", "combine.json").read_text())
    assert combined["scale"] == {"y": "identity"}


def test_early_stopping_records_its_best_iteration(data: Path, tmp_path: Path) -> None:
    folder = _variant_folder(data, tmp_path)
    _, run = run_spec(folder, _only("early-stopping")())
    assert run.status == "succeeded"
    meta = json.loads(_artifact(folder, "train.y.gbt", "model.json").read_text())
    assert 0 <= meta["best_iteration"] < 50
    assert run.results["train.y.gbt"].metrics["best_iteration"] == meta["best_iteration"]


def test_a_text_targets_positive_class_is_chosen(data: Path, tmp_path: Path) -> None:
    """Issue 13.10: `positive: no` makes P('no') the score (the default would be 'yes')."""
    folder = _variant_folder(data, tmp_path)
    _, run = run_spec(folder, _only("positive-text")())
    assert run.status == "succeeded"
    meta = json.loads(_artifact(folder, "train.y.lr", "model.json").read_text())
    assert meta["classes"] == ["yes", "no"]
    preds = pl.read_parquet(_artifact(folder, "evaluate.y.lr", "predictions.parquet"))
    no = preds.filter(pl.col("target") == "no")["score"].mean()
    yes = preds.filter(pl.col("target") == "yes")["score"].mean()
    assert no > yes
    html = next((folder / ".mlspec").glob("objects/*/*/report.html")).read_text()
    assert "positive class" in html and "<dd>no</dd>" in html


def test_a_column_split_follows_the_column(data: Path, tmp_path: Path) -> None:
    folder = _variant_folder(data, tmp_path)
    _, run = run_spec(folder, _only("split-column")())
    assert run.status == "succeeded"
    parts = pl.read_parquet(_artifact(folder, "split", "data.parquet"))["split"]
    expected = pl.read_csv(folder / "main.csv")["part"].replace_strict(
        {"train": 0, "valid": 1, "test": 2}
    )
    assert parts.cast(pl.Int64).to_list() == expected.to_list()


def test_missing_targets_fail_by_default_and_say_how_to_drop(data: Path, tmp_path: Path) -> None:
    """Issue 13.9: the default policy fails, and the hint names the two ways out."""
    folder = _variant_folder(data, tmp_path)
    _, run = run_spec(folder, base(y=objective("regression", target="spend")))
    assert run.status == "failed"
    error = run.results["train.y.ridge"].error
    assert "missing value(s)" in error and "missing_target: drop" in error and "where:" in error


def test_dropped_targets_are_counted_and_still_predicted(data: Path, tmp_path: Path) -> None:
    folder = _variant_folder(data, tmp_path)
    _, run = run_spec(folder, _only("missing-target-drop")())
    assert run.status == "succeeded"
    metrics = json.loads(_artifact(folder, "evaluate.y.ridge", "metrics.json").read_text())
    preds = pl.read_parquet(_artifact(folder, "evaluate.y.ridge", "predictions.parquet"))
    missing = preds["target"].null_count()
    assert missing > 0 and metrics["rows_without_target"] == missing
    assert metrics["rows"] == preds.height - missing
    assert run.results["train.y.ridge"].metrics["rows.dropped"] > 0
    html = next((folder / ".mlspec").glob("objects/*/*/report.html")).read_text()
    assert "without a target (left out)" in html


def test_a_row_filter_keeps_the_rows_it_names(data: Path, tmp_path: Path) -> None:
    folder = _variant_folder(data, tmp_path)
    _, run = run_spec(folder, _only("row-filter")())
    assert run.status == "succeeded"
    source = pl.read_csv(folder / "main.csv")
    kept = source.filter(pl.col("spend").is_not_null() & (pl.col("x1") > -3))
    assert run.results["load.main"].metrics == {
        "rows": float(kept.height),
        "rows.filtered_out": float(source.height - kept.height),
    }


def test_a_negative_weight_counts_an_objective_against_the_score(
    data: Path, tmp_path: Path
) -> None:
    """Issue 13.11: score = 1 x P(label) - 0.5 x rank(amount)."""
    folder = _variant_folder(data, tmp_path)
    _, run = run_spec(folder, _only("signed-weight")())
    assert run.status == "succeeded"
    scores = pl.read_parquet(_artifact(folder, "combine", "scores.parquet"))
    expected = scores["score_first"] - 0.5 * scores["score_second"]
    assert (scores["score"] - expected).abs().max() < 1e-12
    against = scores.select(pl.corr(pl.col("score") - pl.col("score_first"), "score_second"))
    assert against.item() < -0.999


def test_slices_by_derived_features_and_continuous_columns(data: Path, tmp_path: Path) -> None:
    folder = _variant_folder(data, tmp_path)
    result, run = run_spec(folder, derived_slices())
    assert result.ok and run.status == "succeeded"
    metrics = json.loads(_artifact(folder, "evaluate.y.lr", "metrics.json").read_text())
    quartiles = [s["value"] for s in metrics["slices"]["x1_double"]]
    assert len(quartiles) == 4 and quartiles[0].startswith("q1 (-inf, ")
    assert quartiles[3].startswith("q4 (") and quartiles[3].endswith(", inf]")
    assert sorted(s["value"] for s in metrics["slices"]["band"]) == ["a", "b", "c"]
