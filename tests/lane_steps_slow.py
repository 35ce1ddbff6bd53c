"""A test-only step kind whose module takes 60 s to import in a side worker of the test
process (tests/integration/test_lanes.py): a warm-up that is still going when the run ends."""

from __future__ import annotations

import os
import time

from mlspec.steps.kinds import KINDS, StepKind, register
from tests.lane_steps import TestLanesParams, run

__all__ = ["KIND", "run"]

KIND = "test_lanes_slow"

if os.environ.get("MLSPEC_TEST_SLOW_WARM") == str(os.getppid()):  # a worker of the test
    time.sleep(60)

if KIND not in KINDS:
    register(StepKind(KIND, __name__), TestLanesParams)
