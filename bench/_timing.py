"""Shared helpers for benchmarks: whole-process timings, interleaved so that noise hits all sides."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable


def _compile_package() -> None:
    """Byte-compile mlspec first, as `pip install` does: with PYTHONDONTWRITEBYTECODE set (as
    on these machines) an editable install would otherwise recompile ~50 modules per process
    (~0.15 s), which no installed user pays."""
    subprocess.run([PYTHON, "-m", "compileall", "-q", str(ROOT / "mlspec")], check=True)


_compile_package()


def time_process(argv: Sequence[str], cwd: Path = ROOT) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def interleaved(commands: dict[str, Sequence[str]], repeat: int, warmup: int = 1) -> dict[str, list[float]]:
    """Run each command `repeat` times, round-robin, after `warmup` untimed rounds."""
    for _ in range(warmup):
        for argv in commands.values():
            time_process(argv)
    out: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(repeat):
        for name, argv in commands.items():
            out[name].append(time_process(argv))
    return out


def median(xs: list[float]) -> float:
    return statistics.median(xs)
