"""The unit of work a backend places: `run_task(task) -> StepResult`.

A task carries everything a worker needs by value (pickled to a process pool or a Ray worker,
written as JSON for a Slurm job); outputs go to the artifact store, never back through the result.
`run_task` holds the artifact's lock while it computes and commits, so two runs of the same
plan never compute or write one artifact twice at once.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, TypeVar, get_origin, get_type_hints

from mlspec.contract.api import StepError
from mlspec.contract.params import InputKey, Params, key_text
from mlspec.engine.views import ColumnsReader, open_artifact

_T = TypeVar("_T")


@dataclass(frozen=True)
class StepTask:
    """One step to compute: its kind's typed params, and its inputs by artifact fingerprint."""

    step_id: str
    kind: str
    fingerprint: str
    params: Params
    inputs: dict[InputKey, str]  # input key -> upstream artifact fingerprint
    store_root: str
    spec_root: str
    log_path: str
    columns: dict[InputKey, tuple[str, ...]] = field(default_factory=dict)  # readable columns
    force: bool = False
    meta: dict[str, Any] = field(default_factory=dict)
    resources: dict[str, Any] = field(default_factory=dict)  # num_cpus, memory (bytes)


@dataclass(frozen=True)
class StepResult:
    step_id: str
    fingerprint: str
    ok: bool
    seconds: float = 0.0
    cache_hit: bool = False
    error: str | None = None
    user_error: bool = False  # a StepError (the user's data or spec), not a bug or a crash
    warnings: tuple[str, ...] = ()
    metrics: dict[str, float] = field(default_factory=dict)
    log_path: str | None = None


@dataclass
class _Context:
    """The StepContext a step function sees (see mlspec.contract.api)."""

    step_id: str
    params: Params
    spec_root: Path
    output: Any
    log: logging.Logger
    _inputs: dict[InputKey, str]
    _columns: dict[InputKey, tuple[str, ...]]
    _store: Any
    _cores: Callable[[], int] | None = None
    warnings: list[str] = field(default_factory=list)

    def cores(self) -> int:
        """Cores this step may use now: its params' threads, or more when the backend has
        idle ones. Only for work whose result does not depend on the thread count."""
        threads = int(getattr(self.params, "threads", 1) or 1)
        return threads if self._cores is None else max(threads, self._cores())

    def input(self, *key: str) -> Any:
        if key not in self._inputs:
            have = ", ".join(key_text(k) for k in self._inputs)
            raise KeyError(f"step {self.step_id} has no input {key_text(key)} (inputs: {have})")
        reader = open_artifact(self._store, self._inputs[key])
        cols = self._columns.get(key)
        return reader if cols is None else ColumnsReader(reader, cols)

    def inputs(self, group: str) -> dict[InputKey, Any]:
        """The inputs whose key starts with `group`, by the rest of their key."""
        return {k[1:]: self.input(*k) for k in sorted(self._inputs) if k[0] == group}

    def warn(self, message: str) -> None:
        self.warnings.append(message)
        self.log.warning(message)


def _logger(task: StepTask) -> tuple[logging.Logger, logging.Handler]:
    Path(task.log_path).parent.mkdir(parents=True, exist_ok=True)
    log = logging.getLogger(f"mlspec.step.{task.step_id}.{os.getpid()}")
    log.setLevel(logging.INFO)
    log.propagate = False
    handler = logging.FileHandler(task.log_path, mode="a", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    return log, handler


THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "POLARS_MAX_THREADS")


def worker_env(threads: int) -> dict[str, str]:
    """What a worker process sets before it loads any library: thread pools follow the spec
    (results and speed match the inline run), and OpenMP threads wait passively, since
    spinning ones starve the other core on a small machine (seen: HistGradientBoosting
    0.35 s -> 37 s).

    Measured again for XGBoost (800k x 20, 100 trees, 2 threads, whole processes,
    interleaved, on 2 cores shared with other work): six pairs in a quiet hour, PASSIVE
    median 10.2 s (9.8-14.6) and libgomp's default spinning median 10.2 s (9.7-11.2), with
    ~10% less CPU for PASSIVE; with the machine busy the default once took 43.8 s against
    19.3 s. HistGradientBoosting beside one busy process: PASSIVE 1.1-1.2 s, default 1.8 s,
    a short spin (GOMP_SPINCOUNT=10000) 5-8 s. XGBoost and scikit-learn load one libgomp
    (the same soname), so the policy cannot differ per estimator; passive costs XGBoost
    nothing measurable and never collapses.
    """
    # The store key travels with the task, so a worker commits under the driver's key.
    from mlspec.store.keys import KEY_VARS

    key = {v: os.environ[v] for v in KEY_VARS if v in os.environ}
    return {**dict.fromkeys(THREAD_VARS, str(threads)), "OMP_WAIT_POLICY": "PASSIVE", **key}


def _quiet_threads() -> None:
    """In-process steps get the passive wait too (thread counts there are the caller's)."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def run_task(task: StepTask, cores: Callable[[], int] | None = None) -> StepResult:
    """Compute one step into the store (or find it already there). Never raises for a step's
    failure. `cores`, for a step run in the scheduler's process, says how many cores it may
    use at the moment (`StepContext.cores`)."""
    _quiet_threads()
    from mlspec.steps.kinds import KINDS
    from mlspec.store import ArtifactStore

    start = time.perf_counter()
    store = ArtifactStore(Path(task.store_root))
    log, handler = _logger(task)
    try:
        with store.lock(task.fingerprint):
            if store.has(task.fingerprint) and not task.force:
                problem = store.check(task.fingerprint)  # damaged: a miss (the runner said so)
                if problem is not None:
                    log.warning("artifact damaged: %s; moved to quarantine, recomputing", problem)
                    store.quarantine(task.fingerprint, problem)
            if store.has(task.fingerprint):
                if not task.force:
                    manifest = store.open(task.fingerprint).manifest
                    return StepResult(
                        task.step_id,
                        task.fingerprint,
                        True,
                        time.perf_counter() - start,
                        True,
                        metrics=manifest.get("metrics", {}),
                        log_path=task.log_path,
                    )
                store.remove(task.fingerprint)
            log.info("step %s (%s) fingerprint %s", task.step_id, task.kind, task.fingerprint)
            writer = store.stage(task.fingerprint, task.step_id)
            ctx = _Context(
                task.step_id,
                task.params,
                Path(task.spec_root),
                writer,
                log,
                task.inputs,
                task.columns,
                store,
                cores,
            )
            try:
                KINDS[task.kind].function(ctx)
                manifest = store.commit(
                    writer, {"step": task.step_id, "kind": task.kind, **task.meta}
                )
            except BaseException:
                store.discard(writer)
                raise
            seconds = time.perf_counter() - start
            log.info("done in %.3f s", seconds)
            return StepResult(
                task.step_id,
                task.fingerprint,
                True,
                seconds,
                False,
                None,
                False,
                tuple(ctx.warnings),
                manifest.get("metrics", {}),
                task.log_path,
            )
    except StepError as exc:
        log.error("%s", exc)
        return StepResult(
            task.step_id,
            task.fingerprint,
            False,
            time.perf_counter() - start,
            error=str(exc),
            user_error=True,
            log_path=task.log_path,
        )
    except Exception as exc:  # a bug in mlspec or a library: keep the traceback in the log
        log.error("internal error\n%s", traceback.format_exc())
        return StepResult(
            task.step_id,
            task.fingerprint,
            False,
            time.perf_counter() - start,
            error=f"internal error: {type(exc).__name__}: {exc}",
            log_path=task.log_path,
        )
    finally:
        log.removeHandler(handler)
        handler.close()


# ---------------------------------------------------------------- tasks and results as JSON
# A task crosses a process boundary as a file a job reads (`mlspec.engine.step`): JSON, never
# pickle, so a job never unpickles what it did not write. These functions are the one place
# that knows how a task's fields map to JSON; they follow the dataclasses' fields, so a new
# field needs nothing here, and a field holding an object with `to_json()` and a
# `from_json()` class method (typed params) is written and read through those.


def _to_json(value: Any) -> Any:
    if hasattr(value, "to_json"):
        return _to_json(value.to_json())
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _to_json(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, dict):
        for key in value:
            if not isinstance(key, str):  # json.dumps would turn it into a string silently
                raise TypeError(f"task keys must be str. Got {key!r} instead.")
        return {key: _to_json(v) for key, v in value.items()}
    if isinstance(value, list | tuple):
        return [_to_json(v) for v in value]
    return value


def _from_json(hint: Any, value: Any) -> Any:
    """`value` read back as the field's declared type: a class's `from_json`, or a tuple."""
    if value is None:
        return None
    from_json = getattr(hint, "from_json", None)
    if from_json is not None:
        return from_json(value)
    if get_origin(hint) is tuple:
        return tuple(value)
    return value


def _dataclass_to_json(obj: Any) -> dict[str, Any]:
    return {f.name: _to_json(getattr(obj, f.name)) for f in fields(obj)}


def _dataclass_from_json(cls: type[_T], data: dict[str, Any]) -> _T:
    hints = get_type_hints(cls)
    known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    unknown = set(data) - known
    if unknown:
        raise ValueError(f"unknown {cls.__name__} fields: {', '.join(sorted(unknown))}")
    return cls(**{name: _from_json(hints[name], value) for name, value in data.items()})


_KEYED = ("inputs", "columns")  # maps keyed by input key (a tuple): JSON as [key, value] pairs


def task_to_json(task: StepTask) -> dict[str, Any]:
    out = {f.name: _to_json(getattr(task, f.name)) for f in fields(task) if f.name not in _KEYED}
    for name in _KEYED:
        out[name] = [[list(k), _to_json(v)] for k, v in sorted(getattr(task, name).items())]
    return out


def task_from_json(data: dict[str, Any]) -> StepTask:
    """A task read back: params as its kind's class, input keys as tuples."""
    from mlspec.steps.kinds import KINDS

    data = dict(data)
    kind = data.get("kind")
    if kind not in KINDS:
        raise ValueError(f"unknown step kind {kind!r} in the task")
    params = KINDS[kind].params.from_json(data.pop("params"))
    keyed = {name: data.pop(name, []) for name in _KEYED}
    task = _dataclass_from_json(StepTask, {**data, "params": None, "inputs": {}, "columns": {}})
    return dataclasses.replace(
        task,
        params=params,
        inputs={tuple(k): v for k, v in keyed["inputs"]},
        columns={tuple(k): tuple(v) for k, v in keyed["columns"]},
    )


def result_to_json(result: StepResult) -> dict[str, Any]:
    return _dataclass_to_json(result)


def result_from_json(data: dict[str, Any]) -> StepResult:
    return _dataclass_from_json(StepResult, data)
