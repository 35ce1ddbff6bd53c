"""`mlspec diff` and `mlspec plan --base` end to end: files, git refs, run records, exit codes."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from mlspec.cli import main
from mlspec.diff.changes import fingerprints
from mlspec.lang.validate import load_spec
from mlspec.store import RunStore

SPECS = Path(__file__).resolve().parents[2] / "specs" / "diff"


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    git(tmp_path, "init", "-q", "-b", "main")
    shutil.copy(SPECS / "feed.yaml", tmp_path / "spec.yaml")
    git(tmp_path, "add", "spec.yaml")
    git(tmp_path, "commit", "-q", "-m", "base")
    shutil.copy(SPECS / "weight-change.yaml", tmp_path / "spec.yaml")
    return tmp_path


def test_diff_against_a_git_ref(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", str(repo / "spec.yaml"), "--base", "main", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["base"] == "main:spec.yaml" and doc["counts"]["rerun"] == 5 and doc["retrains"] == []
    status = subprocess.run(
        ["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout
    assert status.strip() == "M spec.yaml"  # nothing checked out or written


def test_plan_base_shows_actions_against_the_ref(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plan", str(repo / "spec.yaml"), "--base", "main", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    by_action: dict[str, set[str]] = {}
    for s in doc["steps"]:
        by_action.setdefault(s["action"], set()).add(s["step"])
    assert by_action["rerun"] == {"combine", "gate", "profile", "package", "report"}
    assert main(["plan", str(repo / "spec.yaml"), "--base", "main"]) == 0
    out = capsys.readouterr().out
    assert "against main:spec.yaml" in out and "0 new, 5 rerun, 25 reuse, 0 removed" in out


def test_unknown_ref_and_option_like_ref_are_usage_errors(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["diff", str(repo / "spec.yaml"), "--base", "no-such-ref"]) == 2
    assert "git show" in capsys.readouterr().err
    assert main(["diff", str(repo / "spec.yaml"), "--base=--output=/tmp/x"]) == 2
    assert "must be a git ref" in capsys.readouterr().err


def test_invalid_side_prints_diagnostics_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text((SPECS / "feed.yaml").read_text().replace("task: binary", "task: binery", 1))
    assert main(["diff", str(SPECS / "feed.yaml"), str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml:" in err and "binery" in err


def test_metric_deltas_from_run_records(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base_spec, head_spec = SPECS / "feed.yaml", SPECS / "weight-change.yaml"
    (_, bfps), (_, hfps) = fingerprints(load_spec(base_spec)), fingerprints(load_spec(head_spec))
    with RunStore(tmp_path / "runs.sqlite") as runs:
        for fps, score, passed in ((bfps, 0.61, 1.0), (hfps, 0.64, 0.0)):
            rid = runs.start_run(
                spec_path=None, spec_name="feed_ranking", spec_hash=None, backend="local"
            )
            runs.record_step(
                rid,
                step_id="evaluate.quality.lr",
                kind="evaluate",
                fingerprint=fps["evaluate.quality.lr"].digest,
                status="succeeded",
                metrics={"roc_auc": 0.8},
            )
            runs.record_step(
                rid,
                step_id="combine",
                kind="combine",
                fingerprint=fps["combine"].digest,
                status="succeeded",
                metrics={"combined.roc_auc": score},
            )
            runs.record_step(
                rid,
                step_id="gate",
                kind="gate",
                fingerprint=fps["gate"].digest,
                status="succeeded",
                metrics={"gate.passed": passed},
            )
            runs.finish_run(rid, "succeeded")
    assert main(["diff", str(base_spec), str(head_spec), "--store", str(tmp_path), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    got = {(m["step"], m["metric"]): (m["base"], m["head"]) for m in doc["metrics"]}
    assert got[("combine", "combined.roc_auc")] == (0.61, 0.64)
    assert got[("gate", "gate.passed")] == (1.0, 0.0)
    assert got[("evaluate.quality.lr", "roc_auc")] == (
        0.8,
        0.8,
    )  # reused: same record on both sides
    assert (
        main(
            [
                "diff",
                str(base_spec),
                str(head_spec),
                "--store",
                str(tmp_path),
                "--format",
                "markdown",
            ]
        )
        == 0
    )
    assert "Recorded metrics" in capsys.readouterr().out


def test_no_store_means_no_metrics_section(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(
            [
                "diff",
                str(SPECS / "feed.yaml"),
                str(SPECS / "weight-change.yaml"),
                "--store",
                str(tmp_path / "none"),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "Recorded metrics" not in out
    assert not (tmp_path / "none").exists()  # looking never creates a store
