"""Decoupled objectives end to end: a weight change refits nothing; runs are reproducible;
both examples end in a registered bundle and an HTML report."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import artifacts, mlspec, run_json

SYSTEM_STEPS = {"combine", "gate", "profile", "package", "report"}


def test_weight_change_reruns_only_combine_and_its_descendants(feed: Path) -> None:
    first = run_json(str(feed))
    assert first["status"] == "succeeded"
    text = feed.read_text()
    feed.write_text(
        text.replace("quality: 0.7", "quality: 0.5").replace("engagement: 0.3", "engagement: 0.5")
    )
    plan = json.loads(mlspec("plan", str(feed), "--json", check=True).stdout)
    to_run = {s["step"]: s["reasons"] for s in plan["steps"] if s["action"] == "run"}
    assert set(to_run) == SYSTEM_STEPS
    assert to_run["combine"] == [
        "spec path combine.weights.engagement changed",
        "spec path combine.weights.quality changed",
    ]
    second = run_json(str(feed))
    ran = {s for s, r in second["steps"].items() if not r["cache_hit"]}
    assert ran == SYSTEM_STEPS, "a weight change must refit no model"
    store = feed.parent / ".mlspec"
    combined = [json.loads(p.read_text()) for p in store.glob("objects/*/*/combine.json")]
    assert sorted(c["weights"]["quality"] for c in combined) == [0.5, 0.7]


def test_two_runs_give_byte_identical_models_and_predictions(feed: Path, tmp_path: Path) -> None:
    run_json(str(feed))
    run_json(str(feed), "--store", str(tmp_path / "second"))
    a, b = artifacts(feed.parent / ".mlspec"), artifacts(tmp_path / "second")
    assert a == b
    assert (
        "model/pipeline.joblib" in a["train.quality.gbt"]
        and "model/booster.ubj" in a["train.quality.gbt"]
    )
    assert "predictions.parquet" in a["evaluate.quality.gbt"]


def test_quickstart_ends_in_a_bundle_and_a_report(quickstart: Path, tmp_path: Path) -> None:
    proc = mlspec("run", str(quickstart), check=True)
    assert "registered quickstart version 1" in proc.stdout
    store = quickstart.parent / ".mlspec"
    listed = json.loads(
        mlspec("models", "list", "--store", str(store), "--json", check=True).stdout
    )
    assert [v["version"] for v in listed] == [1]
    out = tmp_path / "report.html"
    mlspec("report", str(quickstart), "-o", str(out), check=True)
    html = out.read_text()
    assert "diagnosis" in html and "roc_auc" in html and "<svg" in html
    assert (
        "http://" not in html.replace("http://www.w3.org/2000/svg", "") and "https://" not in html
    )


def test_failed_gate_exits_1_names_the_threshold_and_still_reports(quickstart: Path) -> None:
    text = quickstart.read_text()
    assert 'roc_auc: ">= 0.9"' in text
    quickstart.write_text(text.replace('roc_auc: ">= 0.9"', 'roc_auc: ">= 0.9999"'))
    proc = mlspec("run", str(quickstart), "--json")
    assert proc.returncode == 1
    result = json.loads(proc.stdout)
    assert not result["steps"]["package"]["ok"]
    assert "gate failed: diagnosis roc_auc" in result["steps"]["package"]["error"]
    assert "< 0.9999 (short by" in result["steps"]["package"]["error"]
    assert result["steps"]["report"]["ok"], "the report shows why the gate failed"
