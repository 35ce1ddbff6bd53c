from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from mlspec.contract.api import StepError
from mlspec.steps import package
from mlspec.store import ArtifactStore, Reader
from mlspec.store.versions import versions
from tests.unit.steps_fakes import typed


def fp(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


def put(store: ArtifactStore, step: str, files: dict[str, Any]) -> str:
    """Commit an artifact: JSON values, DataFrames (name.parquet) or raw bytes; returns its fingerprint."""
    key = fp(step + json.dumps(sorted(files), default=str))
    if store.has(key):
        return key
    w = store.stage(key, step)
    for name, value in files.items():
        if isinstance(value, pl.DataFrame):
            w.write_frame(value, name)
        elif isinstance(value, bytes):
            w.path(name).write_bytes(value)
        else:
            w.write_json(value, name)
    store.commit(w)
    return key


class StoreContext:
    """A StepContext over a real ArtifactStore (readers verify hashes; the output is staged)."""

    def __init__(
        self, store: ArtifactStore, step_id: str, params: dict[str, Any], inputs: dict[str, str]
    ) -> None:
        self.store, self.step_id, self.inputs = store, step_id, inputs
        self.params = typed(params, "package")
        self.spec_root = Path(".")
        self.output = store.stage(
            fp(step_id + json.dumps(params, sort_keys=True) + json.dumps(inputs, sort_keys=True)),
            step_id,
        )
        self.log = logging.getLogger("test")
        self.warnings: list[str] = []

    def input(self, *name: str) -> Reader:
        return self.store.open(self.inputs["/".join(name)])

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def commit(self) -> Reader:
        manifest = self.store.commit(self.output, {"step": self.step_id})
        return self.store.open(manifest.fingerprint)


SIGNATURE = {
    "columns": [
        {"name": "x", "dtype": "float", "categories": None},
        {"name": "topic", "dtype": "categorical", "categories": ["a", "b"]},
    ]
}
GATE_OK = {
    "passed": True,
    "selected": {"quality": "gbt", "reach": "lr"},
    "results": [
        {
            "scope": "quality",
            "model": "gbt",
            "metric": "roc_auc",
            "op": ">=",
            "threshold": 0.7,
            "value": 0.8,
            "passed": True,
            "margin": 0.1,
            "reason": None,
        },
    ],
}
GATE_FAILED = {
    "passed": False,
    "selected": {"quality": "gbt", "reach": "lr"},
    "results": [
        {
            "scope": "quality",
            "model": "gbt",
            "metric": "roc_auc",
            "op": ">=",
            "threshold": 0.75,
            "value": 0.712,
            "passed": False,
            "margin": 0.712 - 0.75,
            "reason": None,
        },
        {
            "scope": "quality",
            "model": "gbt",
            "metric": "log_loss",
            "op": "<=",
            "threshold": 0.5,
            "value": 0.4,
            "passed": True,
            "margin": 0.1,
            "reason": None,
        },
        {
            "scope": "combine",
            "model": None,
            "metric": "roc_auc",
            "op": ">=",
            "threshold": 0.7,
            "value": None,
            "passed": False,
            "margin": None,
            "reason": "only one class in the test rows",
        },
    ],
}
COMBINE = {
    "formula": "score = sum(weight[o] * score_<o>); not divided by the sum of the weights",
    "normalized": False,
    "weights": {"quality": 0.7, "reach": 0.3},
    "scale": {"quality": "probability", "reach": "rank"},
    "scaling": {
        "quality": {"method": "probability"},
        "reach": {
            "method": "rank",
            "n": 3,
            "reference": "reference.parquet",
            "column": "score_reach",
        },
    },
    "selected": {"quality": "gbt", "reach": "lr"},
    "objectives": {
        "quality": {
            "model": "gbt",
            "task": "binary",
            "weight": 0.7,
            "column": "score_quality",
            "metrics": {"roc_auc": {"value": 0.8, "low": 0.7, "high": 0.9}},
        },
        "reach": {
            "model": "lr",
            "task": "regression",
            "weight": 0.3,
            "column": "score_reach",
            "metrics": {"rmse": {"value": 1.5, "low": 1.2, "high": 1.8}},
        },
    },
    "rows": 3,
    "target": None,
    "metrics": {},
}
PARAMS = {
    "name": "feed",
    "weights": {"quality": 0.7, "reach": 0.3},
    "objectives": {
        "quality": {"name": "quality", "task": "binary", "target": "is_quality", "threshold": 0.5},
        "reach": {"name": "reach", "task": "regression", "target": "views", "threshold": 0.5},
    },
    "features": [
        {"name": "x", "expr": "log1p(followers)", "type": "numeric"},
        {"name": "topic", "expr": None, "type": "categorical"},
        {"name": "unused", "expr": "length * 2", "type": "numeric"},
    ],
    "deployment": {"target": "rest", "rest": {"port": 8080}},
}


def build(root: Path, gate: dict[str, Any] = GATE_OK) -> tuple[ArtifactStore, dict[str, str]]:
    store = ArtifactStore(root)

    def model(t, c):
        return {
            "type": t,
            "estimator": "E",
            "params": {},
            "classes": c,
            "features": [{"name": "x"}, {"name": "topic", "type": "categorical"}],
            "signature": SIGNATURE,
        }

    inputs = {
        "gate": put(store, "gate", {"gate.json": gate}),
        "combine": put(
            store,
            "combine",
            {
                "combine.json": COMBINE,
                "reference": pl.DataFrame(
                    {"score_quality": [0.1, 0.5, 0.9], "score_reach": [1.0, 2.0, 3.0]}
                ),
            },
        ),
        "profile": put(store, "profile", {"profile.json": {"bins": 10, "columns": {}}}),
        "data": put(
            store,
            "load.posts",
            {"data": pl.DataFrame({"followers": [1], "topic": ["a"], "length": [2]})},
        ),
        "select/quality": put(store, "select.quality", {"selection.json": {"selected": "gbt"}}),
        "select/reach": put(store, "select.reach", {"selection.json": {"selected": "lr"}}),
        "train/quality/gbt": put(
            store,
            "train.quality.gbt",
            {
                "model.json": model("xgboost", [0, 1]),
                "model/pipeline.joblib": b"pipeline-q",
                "model/booster.ubj": b"booster-q",
            },
        ),
        "train/quality/lr": put(
            store,
            "train.quality.lr",
            {
                "model.json": model("logistic_regression", [0, 1]),
                "model/pipeline.joblib": b"not selected",
            },
        ),
        "train/reach/lr": put(
            store,
            "train.reach.lr",
            {"model.json": model("ridge", None), "model/pipeline.joblib": b"pipeline-r"},
        ),
    }
    return store, inputs


def run_package(root: Path, gate: dict[str, Any] = GATE_OK) -> Reader:
    store, inputs = build(root, gate)
    ctx = StoreContext(store, "package", PARAMS, inputs)
    try:
        package.run(ctx)  # type: ignore[arg-type]
    except BaseException:
        store.discard(ctx.output)
        raise
    return ctx.commit()


def test_failed_gate_names_every_failed_threshold(tmp_path: Path) -> None:
    with pytest.raises(StepError) as info:
        run_package(tmp_path, GATE_FAILED)
    assert info.value.message == (
        "gate failed: quality roc_auc 0.712 < 0.75 (short by 0.038); "
        "combine roc_auc is undefined (only one class in the test rows), needs >= 0.7"
    )
    assert "log_loss" not in str(info.value)


def test_bundle_layout_and_schema(tmp_path: Path) -> None:
    reader = run_package(tmp_path)
    names = [n for n in reader.names() if n.startswith("bundle/")]
    assert names == [
        "bundle/MANIFEST.json",
        "bundle/bundle.json",
        "bundle/objectives/quality/model.json",
        "bundle/objectives/quality/model/booster.ubj",
        "bundle/objectives/quality/model/pipeline.joblib",
        "bundle/objectives/reach/model.json",
        "bundle/objectives/reach/model/pipeline.joblib",
        "bundle/profile.json",
        "bundle/reference.parquet",
    ]
    assert (
        reader.path("bundle/objectives/quality/model/pipeline.joblib").read_bytes() == b"pipeline-q"
    )
    b = reader.json("bundle/bundle.json")
    assert b["name"] == "feed" and b["format"] == package.BUNDLE_FORMAT
    assert b["weights"] == {"quality": 0.7, "reach": 0.3}
    q, r = b["objectives"]["quality"], b["objectives"]["reach"]
    assert (
        q["model"] == "gbt"
        and q["type"] == "xgboost"
        and q["task"] == "binary"
        and q["target"] == "is_quality"
    )
    assert (
        q["classes"] == [0, 1]
        and q["scale"] == "probability"
        and q["scaling"] == {}
        and q["weight"] == 0.7
    )
    assert q["files"] == [
        "objectives/quality/model.json",
        "objectives/quality/model/booster.ubj",
        "objectives/quality/model/pipeline.joblib",
    ]
    assert r["scale"] == "rank" and r["scaling"] == {
        "n": 3,
        "reference": "reference.parquet",
        "column": "score_reach",
    }
    assert q["signature"] == SIGNATURE and b["signature"] == SIGNATURE
    assert b["deployment"] == PARAMS["deployment"] and b["versions"] == versions()
    assert (
        b["metrics"]["objectives"]["reach"]["rmse"]["value"] == 1.5
        and b["metrics"]["combined"] == {}
    )
    assert b["gate"]["passed"] is True and b["combine"]["normalized"] is False
    # What scoring needs beyond the models: the expressions and the raw input they read.
    assert b["features"] == PARAMS["features"][:2]
    assert b["input"] == {
        "columns": [{"name": "followers", "type": "int"}, {"name": "topic", "type": "str"}]
    }


def test_manifest_holds_every_files_sha256(tmp_path: Path) -> None:
    reader = run_package(tmp_path)
    manifest = reader.json("bundle/MANIFEST.json")
    bundle_files = {n[len("bundle/") :] for n in reader.names() if n.startswith("bundle/")} - {
        "MANIFEST.json"
    }
    assert set(manifest["files"]) == bundle_files
    for rel, sha in manifest["files"].items():
        assert hashlib.sha256(reader.path(f"bundle/{rel}").read_bytes()).hexdigest() == sha


def test_bytes_are_deterministic(tmp_path: Path) -> None:
    a, b = run_package(tmp_path / "a"), run_package(tmp_path / "b")
    files = lambda r: {n: e["blake3"] for n, e in r.manifest.files.items()}  # noqa: E731
    assert files(a) == files(b)
