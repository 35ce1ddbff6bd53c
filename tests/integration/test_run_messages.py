"""What `mlspec run`, `runs`, `report` and `models` tell the user (issue 13.13-16)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.conftest import mlspec
from tests.integration.test_schema_walk import base, make_data, objective


def _project(folder: Path, gate: str) -> Path:
    make_data(folder)
    spec = base(
        y=objective(
            "binary", gate={"roc_auc": gate}, evaluation={"bootstrap": 20, "importance": False}
        )
    )
    path = folder / "spec.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def passed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    spec = _project(tmp_path_factory.mktemp("passed"), ">= 0.5")
    proc = mlspec("run", str(spec), check=True)
    return spec, proc.stdout, proc.stderr


def test_a_run_prints_its_result(passed: tuple[Path, str, str]) -> None:
    """Issue 13.14: the selected model, its metric with an interval, the gate, the report."""
    spec, out, _ = passed
    line = next(x for x in out.splitlines() if x.startswith("y: selected lr, roc_auc "))
    assert "[" in line and "] on the test split" in line
    assert "gate: passed" in out
    report = next(x for x in out.splitlines() if x.startswith("report: "))
    assert Path(report.removeprefix("report: ")).is_file()
    assert str(spec.parent / ".mlspec") in report


def test_commands_given_a_spec_use_its_store(passed: tuple[Path, str, str], tmp_path: Path) -> None:
    """Issue 13.13: from another folder, `runs SPEC` and `models list --spec SPEC` find them."""
    spec, _, _ = passed
    runs = mlspec("runs", str(spec), cwd=tmp_path, check=True).stdout
    assert "succeeded" in runs and "walk" in runs
    run_id = runs.split()[0]
    shown = mlspec("runs", str(spec), "show", run_id, cwd=tmp_path, check=True).stdout
    assert "roc_auc" in shown and "libraries: " in shown and "scikit-learn" in shown
    listed = json.loads(
        mlspec("models", "list", "--spec", str(spec), "--json", cwd=tmp_path, check=True).stdout
    )
    assert [v["version"] for v in listed] == [1]
    assert "no run records" in mlspec("runs", cwd=tmp_path).stderr  # no spec: ./.mlspec


def test_the_report_goes_under_the_store(passed: tuple[Path, str, str], tmp_path: Path) -> None:
    """Issue 13.15: not into the folder one stands in; its path is printed."""
    spec, _, _ = passed
    out = mlspec("report", str(spec), cwd=tmp_path, check=True).stdout.strip()
    assert Path(out).is_file() and Path(out).parent == spec.parent / ".mlspec" / "reports"
    assert list(tmp_path.iterdir()) == []


def test_a_failed_gate_is_the_gates_failure(tmp_path: Path) -> None:
    """Issue 13.16: ✗ gate with each threshold and margin; package not blamed; no resume."""
    spec = _project(tmp_path, ">= 0.999")
    proc = mlspec("run", str(spec))
    assert proc.returncode == 1
    err = proc.stderr
    assert "✗ gate" in err and "✓ gate" not in err
    assert "- package" in err and "not packaged: the gate failed" in err and "✗ package" not in err
    assert "error: the gate failed; nothing was packaged" in err
    assert "y roc_auc" in err and "< 0.999 (short by" in err
    assert "resume" not in err
    assert "gate: FAILED (1 missed)" in proc.stdout


def test_the_report_shows_what_applies(passed: tuple[Path, str, str], tmp_path: Path) -> None:
    """Issue 13.15: no "threshold" on a regression, no "Business metric None" when unset."""
    from tests.integration.test_schema_walk import run_spec

    folder = tmp_path
    make_data(folder)
    spec = base(y=objective("regression"))
    spec["problem"] = {"goal": "predict the amount", "business_metric": None}
    _, run = run_spec(folder, spec)
    assert run.status == "succeeded"
    html = next((folder / ".mlspec").glob("objects/*/*/report.html")).read_text()
    assert "Business metric" not in html and "None" not in html
    assert "<dt>threshold</dt>" not in html and "positive class" not in html
