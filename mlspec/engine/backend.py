"""The seam between the scheduling loop and where work runs.

The runner (`engine/runner.py`) depends on this protocol only; implementations live in
`mlspec/backends/` and depend on the engine, never the other way round.
"""

from __future__ import annotations

from concurrent.futures import Future
from typing import ClassVar, Protocol

from mlspec.engine.task import StepResult, StepTask


class Backend(Protocol):
    name: ClassVar[str]

    def submit(self, task: StepTask) -> Future[StepResult]: ...
    def close(self) -> None: ...


class BackendError(Exception):
    """The backend cannot run here (not installed, cannot connect, ...)."""
