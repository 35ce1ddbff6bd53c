"""What a step function sees: its context, its inputs' artifacts, its output, its errors.

A step function is ``run(ctx: StepContext) -> None``: it reads input artifacts, writes its
output artifact, and raises `StepError` for a problem the user can fix (bad data, a missing
file). Anything else that escapes is a bug in mlspec. Steps never know which backend runs
them; outputs travel through the artifact store, never as return values.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import polars as pl


class StepError(Exception):
    """A problem with the user's data or spec, found while running a step.

    `where` is a spec location (``spec.yaml:12:7``) when one applies; `hint` says what to do.
    """

    def __init__(
        self,
        message: str,
        *,
        where: str | None = None,
        hint: str | None = None,
        details: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.where = where
        self.hint = hint
        self.details = details

    def __str__(self) -> str:
        out = f"{self.where}: {self.message}" if self.where else self.message
        return f"{out}\n  hint: {self.hint}" if self.hint else out


class ArtifactReader(Protocol):
    """A finished artifact. Every read verifies the file's hash against the manifest."""

    fingerprint: str

    def path(self, name: str) -> Path: ...
    def frame(self, name: str = "data", columns: list[str] | None = None) -> pl.DataFrame: ...
    def scan(self, name: str = "data") -> pl.LazyFrame: ...
    def json(self, name: str) -> Any: ...
    def names(self) -> list[str]: ...


class ArtifactWriter(Protocol):
    """An artifact being written in a staging folder; committed atomically by the runner."""

    fingerprint: str

    def path(self, name: str) -> Path: ...
    def write_frame(self, frame: pl.DataFrame | pl.LazyFrame, name: str = "data") -> None: ...
    def reference(self, path: Path, name: str = "data") -> None: ...
    def write_json(self, value: Any, name: str) -> None: ...
    def write_view(self, recipe: dict[str, Any], name: str = "data") -> None: ...
    def metric(self, name: str, value: float) -> None: ...


class StepContext(Protocol):
    """What a step function receives. `params` is its kind's params object
    (`mlspec/steps/params.py`): seed and thread count included, nothing else reaches it.
    Inputs are addressed by structured key: ``ctx.input("data")``,
    ``ctx.input("eval", objective, model)``, or a group at once with ``ctx.inputs("eval")``."""

    step_id: str
    params: Any
    spec_root: Path
    output: ArtifactWriter
    log: logging.Logger

    def input(self, *key: str) -> ArtifactReader: ...
    def inputs(self, group: str) -> dict[tuple[str, ...], ArtifactReader]: ...
    def warn(self, message: str) -> None: ...
    def cores(self) -> int:
        """Cores the step may use now: ``params.threads``, or more when the scheduler has idle
        ones (a step on the in-process lane of a local run). Read it again as the work goes
        on; use it only where the result does not depend on the thread count."""
        ...
