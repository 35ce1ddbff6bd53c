"""Slurm (the batch backend) against the local backend, side by side in one run.

1. Per-step overhead: the quickstart's four data steps (`--only +split`: load, check, features,
   split, a chain, each ~0.1 s of work) on the local backend (inline) and on Slurm, with steps
   submitted ahead (afterok dependencies, the backend's mode) and submitted once their inputs
   are done (the runner's other mode). Overhead per step = (Slurm - local) / 4.
2. Fan-out: bench/ray_speed.py's spec (4 independent objectives, one 1500-tree XGBoost each) on
   Slurm against the local backend, sequential.

Needs a running Slurm (backends/slurm/start.sh). Runs are in this process (`mlspec.cli.main`
and the runner), interleaved, each into a fresh store; medians.
"""

from __future__ import annotations

import contextlib
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.ray_speed import make_spec, timed_run  # noqa: E402
from mlspec.cli import main  # noqa: E402

CHAIN_REPEAT = 5
FANOUT_REPEAT = 2
PREFIX = ["--only", "+split"]


def chain_run(spec: Path, store: Path, *, backend: str, ahead: bool = True) -> float:
    """One run of the data steps; `ahead` False makes the batch backend wait for inputs."""
    from mlspec.backends import get_backend
    from mlspec.engine.assess import assess
    from mlspec.engine.runner import run_plan
    from mlspec.lang.validate import validate_file

    spec_obj = validate_file(spec).spec
    assert spec_obj is not None
    start = time.perf_counter()
    a = assess(spec_obj, store)
    options = {"submit_ahead": ahead, "poll_seconds": 2} if backend == "batch" else {}
    b = get_backend(backend, **options)
    try:
        result = run_plan(a, b, backend_name=backend, only=a.plan.select(["+split"]))
    finally:
        b.close()
    assert result.status == "succeeded", result.failed
    return time.perf_counter() - start


def main_bench() -> int:
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        quick = make_spec(tmp / "four")  # the quickstart's data, its data steps
        with contextlib.redirect_stdout(io.StringIO()):
            assert main(["validate", str(quick)]) == 0
        sides = {
            "local": {"backend": "local"},
            "slurm ahead": {"backend": "batch", "ahead": True},
            "slurm when ready": {"backend": "batch", "ahead": False},
        }
        chain_run(quick, tmp / "warm", backend="batch")  # page cache, Python's bytecode
        chain: dict[str, list[float]] = {name: [] for name in sides}
        for k in range(CHAIN_REPEAT):
            for name, how in sides.items():
                store = tmp / f"chain-{name.replace(' ', '-')}-{k}"
                chain[name].append(chain_run(quick, store, **how))  # type: ignore[arg-type]
        fan: dict[str, list[float]] = {"local": [], "batch": []}
        for k in range(FANOUT_REPEAT):
            for name in fan:
                fan[name].append(timed_run(quick, tmp / f"fan-{name}-{k}", "--backend", name))
    med = {name: statistics.median(v) for name, v in chain.items()}
    print(f"data steps (4-step chain), medians of {CHAIN_REPEAT}:")
    for name, value in med.items():
        extra = ""
        if name != "local":
            per_step = (value - med["local"]) / 4
            extra = f"  {value / med['local']:.1f}x local, {per_step:.2f} s overhead per step"
        print(f"  {name:<17} {value:6.2f} s{extra}")
    local, batch = statistics.median(fan["local"]), statistics.median(fan["batch"])
    print(
        f"4 independent objectives (1500-tree XGBoost each), medians of {FANOUT_REPEAT}: "
        f"local sequential {local:.2f} s, slurm {batch:.2f} s, ratio {batch / local:.2f}x"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main_bench())
