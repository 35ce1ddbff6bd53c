"""The Ray backend: each step a Ray task running the same `run_task` as the local backend.

Ray only places work. Ordering, caching and failures stay in the runner; outputs go to the
shared artifact store (`task.store_root`, a path every node sees), never through Ray's object
store, so a step gives byte-identical artifacts on Ray and locally. Ray retries a task whose
worker died (`max_retries`); `run_task` never raises for a step's own failure, so a user error
(a `StepError`) is reported once and never retried.
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import Future
from typing import Any, ClassVar

from mlspec.backends import BackendError
from mlspec.engine.task import StepResult, StepTask, run_task, worker_env

INSTALL_HINT = "pip install 'mlspec[ray]'"


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise BackendError(
            f"the ray backend needs Ray, which is not installed; {INSTALL_HINT}"
        ) from exc
    return ray


class RayBackend:
    name: ClassVar[str] = "ray"
    submits_ahead = False

    def __init__(
        self, address: str | None = None, max_retries: int = 2, threads: int = 1, **_options: Any
    ) -> None:
        ray = self._ray = _import_ray()
        self.max_retries = int(max_retries)
        self.threads = max(1, int(threads))
        # A Ray already initialised in this process (a test session, a notebook) is reused
        # and left running: whoever started it shuts it down.
        self._owns = not ray.is_initialized()
        if self._owns:
            try:
                if address:
                    ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
                else:
                    ray.init(
                        num_cpus=os.cpu_count(),
                        include_dashboard=False,
                        logging_level=logging.WARNING,
                        log_to_driver=False,
                    )
            except Exception as exc:  # ConnectionError, a timeout, a version mismatch, ...
                where = f"the Ray cluster at '{address}'" if address else "a local Ray"
                hint = (
                    "start one with `ray start --head` (see backends/ray/README.md)"
                    if address
                    else "see backends/ray/README.md"
                )
                raise BackendError(
                    f"cannot connect to {where}: {type(exc).__name__}: {exc}; {hint}"
                ) from exc
        self._remote = ray.remote(run_task)

    def check(self, plan: Any) -> list[str]:
        return []

    def submit(self, task: StepTask) -> Future[StepResult]:
        options: dict[str, Any] = {
            "num_cpus": task.resources.get("num_cpus") or 1,
            "max_retries": self.max_retries,  # system failures only: run_task returns user errors
            "retry_exceptions": False,
            "runtime_env": {"env_vars": worker_env(self.threads)},
        }
        if task.resources.get("memory"):
            options["memory"] = int(task.resources["memory"])
        return self._remote.options(**options).remote(task).future()

    def close(self) -> None:
        if self._owns and self._ray.is_initialized():
            self._ray.shutdown()
        self._owns = False
