"""The Ray backend on a real local Ray: a killed worker is retried, a user error is not."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from mlspec.backends import BackendError, get_backend
from mlspec.engine.task import StepResult, StepTask
from tests import ray_steps


def _task(tmp_path: Path, action: str, **params: Any) -> StepTask:
    ray_steps.setup()
    fp = hashlib.sha256(f"{tmp_path}{action}".encode()).hexdigest()
    return StepTask(
        step_id=f"test.{action}",
        kind=ray_steps.KIND,
        fingerprint=fp,
        params=ray_steps.TestRayParams(
            action=action, marker=str(tmp_path / f"{action}.marker"), **params
        ),
        inputs={},
        store_root=str(tmp_path / "store"),
        spec_root=str(tmp_path),
        log_path=str(tmp_path / "logs" / f"{action}.log"),
    )


def _attempts(task: StepTask) -> int:
    return len(Path(task.params.marker).with_suffix(".attempts").read_text().splitlines())


def test_a_killed_worker_is_retried_and_the_step_completes(
    ray_session: Any, tmp_path: Path
) -> None:
    backend = get_backend("ray", max_retries=2)
    task = _task(tmp_path, "crash_once", value=7)
    result = backend.submit(task).result(timeout=120)
    backend.close()
    assert ray_session.is_initialized(), "a Ray started by someone else must be left running"
    assert result.ok and not result.cache_hit, result.error
    assert _attempts(task) == 2
    pids = Path(task.params.marker).with_suffix(".attempts").read_text().split()
    assert pids[0] != pids[1], "the retry must run in a new worker"
    manifest = next((tmp_path / "store").glob("objects/*/*/manifest.json"))
    assert manifest.parent.name == task.fingerprint


def test_without_retries_a_killed_worker_fails_the_step(ray_session: Any, tmp_path: Path) -> None:
    backend = get_backend("ray", max_retries=0)
    with pytest.raises(Exception, match=r"(?i)worker|died|crash"):
        backend.submit(_task(tmp_path, "crash_once", value=1)).result(timeout=120)


def test_a_user_error_reports_like_local_and_is_not_retried(
    ray_session: Any, tmp_path: Path
) -> None:
    results: dict[str, StepResult] = {}
    for name in ("local", "ray"):
        folder = tmp_path / name
        folder.mkdir()
        task = _task(folder, "user_error")
        backend = get_backend(name, max_retries=2)
        results[name] = backend.submit(task).result(timeout=120)
        backend.close()
        assert _attempts(task) == 1, f"a StepError must not be retried on {name}"
    local, ray = results["local"], results["ray"]
    assert not ray.ok and ray.user_error
    assert (ray.ok, ray.user_error, ray.error, ray.cache_hit) == (
        local.ok,
        local.user_error,
        local.error,
        local.cache_hit,
    )
    assert "two classes" in Path(ray.log_path or "").read_text()


def test_missing_ray_is_a_clear_backend_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def no_ray(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "ray":
            raise ImportError("No module named 'ray'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    with pytest.raises(BackendError, match=r"pip install 'mlspec\[ray\]'"):
        get_backend("ray")
