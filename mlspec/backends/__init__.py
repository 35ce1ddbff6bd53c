"""Backends only choose where a step's work runs: `submit(task) -> Future[StepResult]`.

Ordering, caching, progress and failures belong to the runner (Kedro's one scheduling loop).
Backends are looked up by name in `BACKENDS` and imported only when used.
"""

from __future__ import annotations

from concurrent.futures import Future
from importlib import import_module
from typing import Any, ClassVar, Protocol

from mlspec.engine.task import StepResult, StepTask

# name -> "module:Class"; batch registers here when it exists.
BACKENDS: dict[str, str] = {
    "local": "mlspec.backends.local:LocalBackend",
    "ray": "mlspec.backends.ray:RayBackend",
}


class Backend(Protocol):
    name: ClassVar[str]

    def submit(self, task: StepTask) -> Future[StepResult]: ...
    def close(self) -> None: ...


class BackendError(Exception):
    """The backend cannot run here (not installed, cannot connect, ...)."""


def get_backend(name: str, **options: Any) -> Backend:
    if name not in BACKENDS:
        from mlspec.spec.suggest import did_you_mean

        hint = did_you_mean(name, BACKENDS)
        raise BackendError(f"unknown backend '{name}'" + (f"; {hint}" if hint else ""))
    module, cls = BACKENDS[name].split(":")
    return getattr(import_module(module), cls)(**options)
