"""A test-only step kind for the Ray tests and the Ray benchmark. Ray workers register it at
start-up through the `ray_session` fixture's `worker_process_setup_hook` (tests.ray_steps.setup)."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlspec.contract.api import StepError
from mlspec.contract.params import Params
from mlspec.steps.kinds import KINDS, StepKind, register

KIND = "test_ray"


@dataclass(frozen=True)
class TestRayParams(Params):
    action: str
    """What the step does: one of `ACTIONS`."""
    marker: str | None = None
    """A file recording each attempt (crash_once, user_error)."""
    value: Any = None
    """Written to the output."""


def _attempt(ctx: Any) -> Path:
    marker = Path(ctx.params.marker)
    with marker.with_suffix(".attempts").open("a") as f:
        f.write(f"{os.getpid()}\n")
    return marker


def crash_once(ctx: Any) -> None:
    """Kill this worker the first time (a system failure); succeed on the retry."""
    marker = _attempt(ctx)
    if not marker.exists():
        marker.write_text("the first attempt killed its worker\n")
        os.kill(os.getpid(), signal.SIGKILL)
    ctx.output.write_json({"value": ctx.params.value}, "out")


def user_error(ctx: Any) -> None:
    """A user's mistake: reported once, never retried."""
    _attempt(ctx)
    raise StepError("target must have two classes. Got 1 instead.")


def noop(ctx: Any) -> None:
    """An empty step, to measure a backend's fixed cost per step."""
    ctx.output.write_json({"value": ctx.params.value}, "out")


ACTIONS: dict[str, Callable[[Any], None]] = {
    "crash_once": crash_once,
    "user_error": user_error,
    "noop": noop,
}


def run(ctx: Any) -> None:
    ACTIONS[ctx.params.action](ctx)


def setup() -> None:
    """Register the kind in this process (the test process or a Ray worker)."""
    if KIND not in KINDS:
        register(StepKind(KIND, __name__), TestRayParams)
