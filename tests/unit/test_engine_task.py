"""The worker environment: thread pools follow the spec and OpenMP threads wait passively."""

from __future__ import annotations

import os
import subprocess
import sys

from mlspec.engine.task import THREAD_VARS, worker_env


def test_worker_env_pins_thread_pools_and_waits_passively() -> None:
    env = worker_env(3)
    assert {var: env[var] for var in THREAD_VARS} == dict.fromkeys(THREAD_VARS, "3")
    # Spinning OpenMP waits starve a busy 2-core machine (HistGradientBoosting 0.35 s -> 37 s).
    assert env["OMP_WAIT_POLICY"] == "PASSIVE"


def test_inline_steps_get_the_passive_wait_unless_the_caller_chose() -> None:
    code = (
        "import os; from mlspec.engine import task; task._quiet_threads(); "
        "print(os.environ['OMP_WAIT_POLICY'])"
    )
    clean = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=clean, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "PASSIVE"
    chosen = subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, "OMP_WAIT_POLICY": "ACTIVE"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert chosen.stdout.strip() == "ACTIVE"


def test_worker_env_carries_the_store_key(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A Ray worker started elsewhere must commit under the driver's key, or the driver
    would find every artifact unauthenticated and recompute it."""
    monkeypatch.setenv("MLSPEC_STORE_KEY", "k" * 40)
    monkeypatch.delenv("MLSPEC_STORE_KEY_FILE", raising=False)
    env = worker_env(1)
    assert env["MLSPEC_STORE_KEY"] == "k" * 40 and "MLSPEC_STORE_KEY_FILE" not in env
