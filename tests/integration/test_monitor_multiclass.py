"""A `performance` monitor on a multiclass objective with a probability metric (log_loss)
needs every class's probability of the current rows: end to end, from a run to `mlspec
monitor` on labelled current data, right labels and rotated ones."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import mlspec

pytestmark = pytest.mark.slow
N = 900


def _data(rows: int, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=rows), rng.normal(size=rows)
    signal = x1 + 0.5 * x2 + rng.normal(scale=0.3, size=rows)
    kind = np.where(signal < -0.4, "p", np.where(signal < 0.4, "q", "r"))
    cat = np.array(["a", "b", "c"])[rng.integers(0, 3, rows)]
    return pl.DataFrame({"x1": x1, "x2": x2, "cat": cat, "kind": kind})


SPEC = {
    "mlspec": 1,
    "name": "classes",
    "data": {"sources": {"main": {"path": "main.parquet"}}, "split": {"test": 0.25}},
    "features": [{"name": "x1"}, {"name": "x2"}, {"name": "cat", "type": "categorical"}],
    "objectives": {
        "kind": {
            "task": "multiclass",
            "target": "kind",
            "metrics": ["log_loss", "accuracy"],
            "models": [{"name": "lr", "type": "logistic_regression"}],
            "baseline": False,
            "evaluation": {"bootstrap": 0, "importance": False},
        }
    },
    "monitors": [
        {
            "name": "kind_loss",
            "type": "performance",
            "objective": "kind",
            "metric": "log_loss",
            "threshold": 0.3,
        },
        {"name": "kind_accuracy", "type": "performance", "objective": "kind", "metric": "accuracy"},
    ],
}


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("multiclass")
    _data(N, 0).write_parquet(folder / "main.parquet")
    path = folder / "spec.yaml"
    path.write_text(yaml.safe_dump(SPEC, sort_keys=False))
    mlspec("run", str(path), check=True)
    mlspec("models", "promote", "classes", "1", "--store", str(folder / ".mlspec"), check=True)
    return path


def _monitor(spec: Path, frame: pl.DataFrame, name: str) -> tuple[int, dict]:
    current = spec.parent / name
    frame.write_parquet(current)
    proc = mlspec("monitor", str(spec), "--current", str(current), "--json")
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.stdout.strip(), proc.stderr
    doc = json.loads(proc.stdout)
    return proc.returncode, {m["name"]: m for m in doc["monitors"]}


def test_log_loss_on_multiclass_is_computed_and_fires_on_wrong_labels(spec: Path) -> None:
    fresh = _data(600, 1)
    code, monitors = _monitor(spec, fresh, "fresh.parquet")
    loss = monitors["kind_loss"]
    assert loss["status"] == "ok", loss["summary"]
    assert code == 0, monitors
    d = loss["details"]
    assert d["rows"] == 600 and 0 < d["low"] <= d["value"] <= d["high"] < d["bound"]
    assert d["bound"] == pytest.approx(d["reference"] + 0.3)

    rotated = fresh.with_columns(pl.col("kind").replace({"p": "q", "q": "r", "r": "p"}))
    code, monitors = _monitor(spec, rotated, "rotated.parquet")
    assert code == 1
    assert monitors["kind_loss"]["status"] == "fired", monitors["kind_loss"]["summary"]
    assert monitors["kind_loss"]["details"]["value"] > 1.0
    assert monitors["kind_accuracy"]["status"] == "fired"
