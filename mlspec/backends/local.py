"""The local backend: in this process (workers=1) or in a process pool (workers>1)."""

from __future__ import annotations

from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, ClassVar

from mlspec.engine.orphans import die_with_parent
from mlspec.engine.task import StepResult, StepTask, run_task, worker_env

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor


def _init_worker(threads: int, parent: int | None = None) -> None:
    """Pin library thread pools before polars/numpy load, so results match the inline run;
    and die with the run's process (see `mlspec.engine.orphans`)."""
    import os

    for var, value in worker_env(threads).items():
        os.environ.setdefault(var, value)
    if parent is not None:
        die_with_parent(parent)


class LocalBackend:
    name: ClassVar[str] = "local"
    submits_ahead = False

    def __init__(self, workers: int = 1, threads: int = 1, **_options: Any) -> None:
        self.workers = max(1, int(workers))
        self._pool: ProcessPoolExecutor | None = None
        if self.workers > 1:  # imported here: multiprocessing costs an inline run ~10 ms
            import multiprocessing

            # spawn, not fork: polars and xgboost start thread pools that fork would copy mid-use.
            import os
            from concurrent.futures import ProcessPoolExecutor

            ctx = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(
                self.workers,
                mp_context=ctx,
                initializer=_init_worker,
                initargs=(threads, os.getpid()),
            )

    def check(self, plan: Any) -> list[str]:
        return []

    def submit(self, task: StepTask) -> Future[StepResult]:
        if self._pool is not None:
            return self._pool.submit(run_task, task)
        future: Future[StepResult] = Future()
        future.set_result(run_task(task))
        return future

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
