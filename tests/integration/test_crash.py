"""Kills of real runs: workers die with their parent; suite R2 at a small size (see
tests/reliability/crash.py; the full size is bench/reliability.py)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.reliability.crash import GRACE_S, Moment, _alive, _children, reference, trial

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def test_pool_workers_die_with_a_killed_main_process(feed: Path) -> None:
    """`kill -9` of the main process only (as the OOM killer does): the pool's workers are
    gone within GRACE_S and the caller's pipes close, so a CI step waiting on them ends."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlspec", "run", str(feed), "--workers", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        workers: list[int] = []
        while time.monotonic() < deadline and proc.poll() is None:
            workers = [p for p in _children(proc.pid) if b"spawn_main" in _cmdline(p)]
            if len(workers) == 2:
                break
            time.sleep(0.05)
        assert len(workers) == 2, "the pool never started two workers"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        start = time.monotonic()
        while any(_alive(p) for p in workers) and time.monotonic() - start < GRACE_S:
            time.sleep(0.05)
        assert not [p for p in workers if _alive(p)], "pool workers outlived their parent"
        proc.communicate(timeout=GRACE_S)  # EOF on both pipes: no one holds them any more
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


@pytest.mark.parametrize(
    "moment",
    [
        Moment("kind:train", workers=2, group=False, delay_s=0.05),
        Moment("commit", workers=1, group=True, delay_s=0.0),
        Moment("kind:trial", workers=2, group=True, delay_s=0.1),
        Moment("kind:evaluate", workers=0, group=False, delay_s=0.05),
    ],
    ids=str,
)
def test_r2_a_killed_run_reruns_byte_identical(feed: Path, moment: Moment) -> None:
    expected, seconds = reference(feed)
    outcome = trial(feed, moment, expected, seconds)
    assert outcome.killed, "the run finished before the moment; the test proved nothing"
    assert outcome.survivors == []
    assert outcome.leftovers == []
    assert outcome.identical, f"artifacts differ from an uninterrupted run's: {outcome.differs}"
    assert "running" not in outcome.statuses
