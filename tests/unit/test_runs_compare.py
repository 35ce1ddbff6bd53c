"""`mlspec runs compare A B`: metric deltas of shared steps and the steps whose fingerprints differ."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlspec.commands.runs import compare
from mlspec.store import RunStore

ROOT = Path(__file__).resolve().parents[2]


def command_line() -> list[str]:
    """`python -m mlspec runs`, or the module itself while another command's module is missing."""
    import importlib.util

    from mlspec.cli import COMMANDS

    if all(importlib.util.find_spec(f"mlspec.commands.{m}") for m, _ in COMMANDS.values()):
        return [sys.executable, "-m", "mlspec", "runs"]
    runner = (
        "import argparse, sys; from mlspec.commands import runs as m; "
        "p = argparse.ArgumentParser(); m.configure(p); sys.exit(m.run(p.parse_args(sys.argv[1:])))"
    )
    return [sys.executable, "-c", runner]


@pytest.fixture
def store(tmp_path: Path) -> tuple[Path, str, str]:
    db = RunStore(tmp_path / "store" / "runs.sqlite")
    a = db.start_run(spec_path="spec.yaml", spec_name="feed", spec_hash="h1", backend="local")
    db.record_step(
        a,
        step_id="split",
        kind="split",
        fingerprint="f-split",
        status="succeeded",
        metrics={"rows.test": 200.0},
    )
    db.record_step(
        a,
        step_id="evaluate.quality.lr",
        kind="evaluate",
        fingerprint="f-eval-1",
        status="succeeded",
        metrics={"roc_auc": 0.8, "log_loss": 0.5},
    )
    db.record_step(
        a, step_id="train.quality.old", kind="train", fingerprint="f-old", status="succeeded"
    )
    db.finish_run(a, "succeeded")
    b = db.start_run(spec_path="spec.yaml", spec_name="feed", spec_hash="h2", backend="local")
    db.record_step(
        b,
        step_id="split",
        kind="split",
        fingerprint="f-split",
        status="cached",
        cache_hit=True,
        metrics={"rows.test": 200.0},
    )
    db.record_step(
        b,
        step_id="evaluate.quality.lr",
        kind="evaluate",
        fingerprint="f-eval-2",
        status="succeeded",
        metrics={"roc_auc": 0.85, "pr_auc": 0.6},
    )
    db.record_step(
        b, step_id="train.quality.new", kind="train", fingerprint="f-new", status="succeeded"
    )
    db.finish_run(b, "succeeded")
    db.close()
    return tmp_path / "store", a, b


def test_compare_function(store: tuple[Path, str, str]) -> None:
    root, a, b = store
    result = compare(RunStore(root / "runs.sqlite"), a, b)
    rows = {(m["step"], m["metric"]): m for m in result["metrics"]}
    assert rows[("evaluate.quality.lr", "roc_auc")]["delta"] == pytest.approx(0.05)
    assert rows[("evaluate.quality.lr", "log_loss")] == {
        "step": "evaluate.quality.lr",
        "metric": "log_loss",
        "a": 0.5,
        "b": None,
        "delta": None,
    }
    assert rows[("evaluate.quality.lr", "pr_auc")]["a"] is None
    assert rows[("split", "rows.test")]["delta"] == 0.0
    assert result["changed"] == ["evaluate.quality.lr"]
    assert result["only_a"] == ["train.quality.old"] and result["only_b"] == ["train.quality.new"]


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [*command_line(), *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=60
    )


def test_cli_text_json_and_errors(store: tuple[Path, str, str], tmp_path: Path) -> None:
    root, a, b = store
    proc = run_cli("compare", a, "latest", "--store", str(root), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == f"A {a}" and lines[1] == f"B {b}"
    assert any(
        line.split() == ["evaluate.quality.lr", "roc_auc", "0.8", "0.85", "+0.05"] for line in lines
    ), proc.stdout
    assert any(
        line.split() == ["evaluate.quality.lr", "log_loss", "0.5", "-", "-"] for line in lines
    )
    assert "fingerprints differ (1): evaluate.quality.lr" in proc.stdout
    assert (
        "only in A: train.quality.old" in proc.stdout
        and "only in B: train.quality.new" in proc.stdout
    )

    proc = run_cli("compare", a[:-2], b, "--store", str(root), "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["a"] == a and data["b"] == b and data["changed"] == ["evaluate.quality.lr"]
    assert {"step", "metric", "a", "b", "delta"} == set(data["metrics"][0])

    proc = run_cli("compare", a, "--store", str(root), cwd=tmp_path)
    assert proc.returncode == 2 and "usage: mlspec runs compare A B" in proc.stderr
    proc = run_cli("compare", a, "nope", "--store", str(root), cwd=tmp_path)
    assert proc.returncode == 2 and "no run 'nope'" in proc.stderr
    proc = run_cli("compare", a, b, "--store", str(tmp_path / "none"), cwd=tmp_path)
    assert proc.returncode == 2 and "no run records" in proc.stderr
    proc = run_cli("compare", a, a, "--store", str(root), cwd=tmp_path)
    assert proc.returncode == 0 and "all shared steps are identical" in proc.stdout


def test_same_run_prefix_is_ambiguous(store: tuple[Path, str, str], tmp_path: Path) -> None:
    root, a, b = store
    assert a[:4] == b[:4]  # ids start with the year
    proc = run_cli("compare", a[:4], b, "--store", str(root), cwd=tmp_path)
    assert proc.returncode == 2 and "matches several runs" in proc.stderr


def test_cached_steps_without_recorded_metrics_read_the_manifest(tmp_path: Path) -> None:
    from mlspec.store import ArtifactStore

    artifacts = ArtifactStore(tmp_path / "store")
    fp = "cd" * 16
    w = artifacts.stage(fp, "evaluate.q.lr")
    w.write_json({}, "metrics.json")
    w.metric("roc_auc", 0.9)
    artifacts.commit(w)
    db = RunStore(tmp_path / "store" / "runs.sqlite")
    a = db.start_run(spec_path=None, spec_name="s", spec_hash="h", backend="local")
    db.record_step(
        a,
        step_id="evaluate.q.lr",
        kind="evaluate",
        fingerprint=fp,
        status="succeeded",
        metrics={"roc_auc": 0.9},
    )
    b = db.start_run(spec_path=None, spec_name="s", spec_hash="h", backend="local")
    db.record_step(
        b, step_id="evaluate.q.lr", kind="evaluate", fingerprint=fp, status="cached", cache_hit=True
    )
    assert compare(db, a, b)["metrics"][0]["b"] is None
    result = compare(db, a, b, artifacts)
    assert result["metrics"] == [
        {"step": "evaluate.q.lr", "metric": "roc_auc", "a": 0.9, "b": 0.9, "delta": 0.0}
    ]
    assert result["changed"] == []
    proc = run_cli("compare", a, b, "--store", str(tmp_path / "store"), cwd=tmp_path)
    assert proc.returncode == 0 and any(
        line.split() == ["evaluate.q.lr", "roc_auc", "0.9", "0.9", "0"]
        for line in proc.stdout.splitlines()
    ), proc.stdout
