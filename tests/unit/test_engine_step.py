"""The step entry point (`python -m mlspec.engine.step TASKFILE`) and tasks as JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mlspec.engine.assess import assess, store_root
from mlspec.engine.runner import _resources
from mlspec.engine.step import read_result, result_path, write_task
from mlspec.engine.task import StepTask, task_from_json, task_to_json
from mlspec.lang.validate import validate_file
from mlspec.steps.params import LoadParams
from mlspec.store.root import claim
from tests.conftest import mlspec


def _tasks(spec_path: Path, store: Path) -> dict[str, StepTask]:
    """Every step of a plan as the runner builds its task (in a store the runner claimed)."""
    claim(store)
    spec = validate_file(spec_path).spec
    assert spec is not None
    a = assess(spec, store_root(spec, store))
    fps = a.fingerprints
    out = {}
    for sid in a.plan.order():
        step = a.plan.step(sid)
        out[sid] = StepTask(
            step_id=sid,
            kind=step.kind,
            fingerprint=fps[sid].digest,
            params=step.params,
            inputs={key: fps[up].digest for key, up in step.inputs.items()},
            columns=dict(step.columns),
            store_root=str(store),
            spec_root=str(spec.root),
            log_path=str(store / "logs" / "test" / f"{sid}.log"),
            meta={"run_id": "test"},
            resources=_resources(step.resources, spec.execution),
        )
    return out


@pytest.mark.parametrize("example", ["quickstart", "feed_ranking"])
def test_every_task_of_both_examples_comes_back_equal_from_json(
    example: str, examples_dir: Path, tmp_path: Path
) -> None:
    for sid, task in _tasks(examples_dir / example / "spec.yaml", tmp_path).items():
        text = json.dumps(task_to_json(task))
        assert task_from_json(json.loads(text)) == task, sid


def test_a_key_json_would_turn_into_a_string_is_refused(tmp_path: Path) -> None:
    params = LoadParams(name="s", source={"columns": {1: "int"}})
    task = StepTask("s", "load", "0" * 64, params, {}, "/s", "/r", "/l")
    with pytest.raises(TypeError, match="must be str"):
        task_to_json(task)
    ok = StepTask("s", "load", "0" * 64, LoadParams(name="s", source={}), {}, "/", "/", "/")
    with pytest.raises(ValueError, match="unknown StepTask fields: nope"):
        task_from_json({**task_to_json(ok), "nope": 1})


def _step(task_file: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mlspec.engine.step", str(task_file)],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_step_runs_in_a_fresh_process_from_its_task_file(
    quickstart: Path, tmp_path: Path
) -> None:
    store = tmp_path / "store"
    tasks = _tasks(quickstart, store)
    load = write_task(tasks["load.biopsies"], tmp_path / "load.task.json")
    proc = _step(load)
    assert proc.returncode == 0, proc.stderr
    result = read_result(load)
    assert result is not None and result.ok and not result.cache_hit
    assert (store / "objects" / result.fingerprint[:2] / result.fingerprint).is_dir()
    assert "done in" in Path(tasks["load.biopsies"].log_path).read_text()
    # Its upstream in the store, the check runs; with a failing check it exits 1 and says why.
    quickstart.write_text(
        quickstart.read_text().replace("{rows: {min: 500}}", "{rows: {min: 100000}}")
    )
    check = write_task(_tasks(quickstart, store)["check.biopsies"], tmp_path / "check.task.json")
    proc = _step(check)
    assert proc.returncode == 1, proc.stderr
    result = read_result(check)
    assert result is not None and not result.ok and result.user_error
    assert "expected at least 100000" in (result.error or "")
    # Writing a task again removes the result of the job before.
    write_task(_tasks(quickstart, store)["check.biopsies"], check)
    assert not result_path(check).exists()


def test_an_unreadable_task_file_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.task.json"
    bad.write_text("{not json")
    proc = _step(bad)
    assert proc.returncode == 2
    assert "cannot read the task file" in proc.stderr
    assert not result_path(bad).exists()
    cli = mlspec("step", str(bad))  # the same entry point, unlisted in `mlspec --help`
    assert cli.returncode == 2 and "cannot read the task file" in cli.stderr
    assert " step " not in mlspec("--help").stdout
