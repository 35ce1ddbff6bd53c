"""Backends only choose where a step's work runs: `submit(task) -> Future[StepResult]`.

Ordering, caching, progress and failures belong to the runner (Kedro's one scheduling loop).
Backends are looked up by name in `BACKENDS` and imported only when used.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from mlspec.engine.backend import Backend, BackendError

__all__ = ["BACKENDS", "Backend", "BackendError", "get_backend"]

# name -> "module:Class"
BACKENDS: dict[str, str] = {
    "local": "mlspec.backends.local:LocalBackend",
    "ray": "mlspec.backends.ray:RayBackend",
    "batch": "mlspec.backends.batch:SlurmBackend",
}


def get_backend(name: str, **options: Any) -> Backend:
    if name not in BACKENDS:
        from mlspec.lang.suggest import did_you_mean

        hint = did_you_mean(name, BACKENDS)
        raise BackendError(f"unknown backend '{name}'" + (f"; {hint}" if hint else ""))
    module, cls = BACKENDS[name].split(":")
    return getattr(import_module(module), cls)(**options)
