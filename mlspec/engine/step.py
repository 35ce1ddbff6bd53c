"""Run one step in a fresh process from a task file: ``python -m mlspec.engine.step TASKFILE``.

This is the unit a batch scheduler runs (`mlspec step TASKFILE` is the same). The task is JSON
(`task.task_to_json`); the step reads its inputs from and writes its output to the store named
in the task; the `StepResult` goes, as JSON, to ``TASKFILE.result.json`` (written to a
temporary name and renamed, so a reader sees all of it or nothing). Exit status: 0 the step
succeeded (or was already in the store), 1 it failed (a user error or a bug: the result and the
step's log say which), 2 the task file cannot be read.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path

from mlspec.engine.task import StepResult, StepTask, result_from_json, result_to_json

RESULT_SUFFIX = ".result.json"


def result_path(task_file: str | os.PathLike[str]) -> Path:
    return Path(f"{os.fspath(task_file)}{RESULT_SUFFIX}")


def _write_json(path: Path, data: object) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1, allow_nan=True)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_task(task: StepTask, path: str | os.PathLike[str]) -> Path:
    """Write `task` for a job to run; a result left by an earlier job at this path goes."""
    from mlspec.engine.task import task_to_json

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    result_path(path).unlink(missing_ok=True)
    _write_json(path, task_to_json(task))
    return path


def read_task(path: str | os.PathLike[str]) -> StepTask:
    from mlspec.engine.task import task_from_json

    with open(path, encoding="utf-8") as f:
        return task_from_json(json.load(f))


def read_result(task_file: str | os.PathLike[str]) -> StepResult | None:
    """The result a job wrote for `task_file`, or None while there is none."""
    try:
        with open(result_path(task_file), encoding="utf-8") as f:
            return result_from_json(json.load(f))
    except FileNotFoundError:
        return None


def run_task_file(task_file: str | os.PathLike[str]) -> int:
    try:
        task = read_task(task_file)
    except (OSError, ValueError, TypeError) as exc:  # JSONDecodeError is a ValueError
        print(f"error: cannot read the task file {task_file}: {exc}", file=sys.stderr)
        return 2
    # Thread pools follow the task before any library loads them (as in a Ray worker), so a
    # step's output does not depend on the environment the scheduler gave the job.
    from mlspec.engine.task import run_task, worker_env

    os.environ.update(worker_env(int(task.resources.get("threads", 1))))
    result = run_task(task)
    _write_json(result_path(task_file), result_to_json(result))
    return 0 if result.ok else 1


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0].startswith("-"):
        print("usage: python -m mlspec.engine.step TASKFILE", file=sys.stderr)
        return 2
    return run_task_file(args[0])


if __name__ == "__main__":
    code = main()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    # Everything is committed inside the step; skip the interpreter's module teardown
    # (0.25-0.4 s after scikit-learn and XGBoost, see `mlspec.cli.entry`).
    os._exit(code)
