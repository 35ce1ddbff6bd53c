"""The seam between the scheduling loop and where work runs.

The runner (`engine/runner.py`) depends on this protocol only; implementations live in
`mlspec/backends/` and depend on the engine, never the other way round.
"""

from __future__ import annotations

from concurrent.futures import Future
from typing import TYPE_CHECKING, ClassVar, Protocol

from mlspec.engine.task import StepResult, StepTask

if TYPE_CHECKING:
    from mlspec.compile.plan import Plan


class Backend(Protocol):
    name: ClassVar[str]
    # True: the runner submits a step as soon as its inputs are submitted, and the backend
    # holds it until they succeed (Slurm's afterok); False: once its inputs are done.
    submits_ahead: bool

    def check(self, plan: Plan) -> list[str]: ...  # what this backend would refuse, before a run
    def submit(self, task: StepTask) -> Future[StepResult]: ...
    def close(self) -> None: ...

    # Optional: `prepare(plan, steps)`, called once before the first submit with the steps
    # that will run (not cache hits): a backend may start and warm workers for them.


class BackendError(Exception):
    """The backend cannot run here (not installed, cannot connect, ...)."""
