"""A test-only step kind for the local backend's two lanes (tests/integration/test_lanes.py).

Importing this module registers the kind, so a side worker warmed with it (the backend's
`prepare` imports the kinds' modules) can run it too. Each step writes what it saw (its
process, when it ran, the cores it was lent) to `params.marker`, outside the store, and a
fixed value to its artifact."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlspec.contract.params import Params
from mlspec.steps.kinds import KINDS, StepKind, register

KIND = "test_lanes"


@dataclass(frozen=True)
class TestLanesParams(Params):
    marker: str
    """Where the step records what it saw."""
    wait_for: str | None = None
    """Run until this file exists (or 60 s)."""
    threads: int = 1
    """As every step: the threads of its params."""


def run(ctx: Any) -> None:
    start = time.time()
    cores = [ctx.cores()]
    if ctx.params.wait_for:
        deadline = time.monotonic() + 60
        while not Path(ctx.params.wait_for).exists() and time.monotonic() < deadline:
            time.sleep(0.02)
    seen = {"pid": os.getpid(), "start": start, "end": time.time(), "cores": cores}
    Path(ctx.params.marker).write_text(json.dumps(seen))
    ctx.output.write_json({"value": 1}, "out")


if KIND not in KINDS:
    register(StepKind(KIND, __name__), TestLanesParams)
