"""Ray vs local on a spec with 4 independent objectives (2 cores), and Ray's fixed cost per step.

The spec is generated from the quickstart: its objective four times (one XGBoost of 1500
trees and no baseline, so each objective has real work), combined with equal weights. Both sides run in this
process on a Ray that is already up, each into a fresh store, interleaved. Target: Ray ≤ 0.6×
local sequential (`--workers 1`: one step at a time, in-process). The default local run (two
lanes: in-process plus one side worker) is timed in the same rounds. The fixed cost is the
time from submit to result of an empty step.
"""

from __future__ import annotations

import contextlib
import copy
import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("RAY_AUTH_MODE", "disabled")

from mlspec.cli import main  # noqa: E402

OBJECTIVES = 4
REPEAT = 3


def make_spec(dest: Path) -> Path:
    src = ROOT / "examples" / "quickstart"
    spec = yaml.safe_load((src / "spec.yaml").read_text())
    base = spec["objectives"].pop("diagnosis")
    base["models"] = [
        {
            "name": "gbt",
            "type": "xgboost",
            "params": {"n_estimators": 1500, "max_depth": 6, "learning_rate": 0.02},
        }
    ]
    for i in range(OBJECTIVES):
        o = copy.deepcopy(base)
        o["models"][0]["params"]["max_depth"] = 5 + i % 2
        o["baseline"] = False
        spec["objectives"][f"o{i}"] = o
    spec["combine"] = {
        "method": "weighted_sum",
        "weights": {f"o{i}": 1.0 for i in range(OBJECTIVES)},
    }
    spec["monitors"] = [m for m in spec["monitors"] if m.get("objective") is None]
    dest.mkdir(parents=True)
    shutil.copy(src / "make_data.py", dest / "make_data.py")  # it writes data/ next to itself
    subprocess.run([sys.executable, str(dest / "make_data.py")], check=True, capture_output=True)
    (dest / "spec.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return dest / "spec.yaml"


def timed_run(spec: Path, store: Path, *args: str) -> float:
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        code = main(["run", str(spec), "--store", str(store), "--json", *args])
    assert code == 0, f"run failed ({args})"
    return time.perf_counter() - start


def step_overhead(ray: object, tmp: Path, n: int = 20) -> list[float]:
    """Submit-to-result of an empty step on Ray (warm workers), one at a time."""
    import hashlib

    from mlspec.backends import get_backend
    from mlspec.engine.task import StepTask
    from tests import ray_steps

    ray_steps.setup()
    backend = get_backend("ray")
    out = []
    for i in range(n + 2):
        fp = hashlib.sha256(f"noop{i}".encode()).hexdigest()
        task = StepTask(
            f"noop.{i}",
            ray_steps.KIND,
            fp,
            ray_steps.TestRayParams(action="noop", value=i),
            {},
            str(tmp / "noop-store"),
            str(tmp),
            str(tmp / "logs" / f"{i}.log"),
        )
        start = time.perf_counter()
        assert backend.submit(task).result().ok
        if i >= 2:  # the first two start workers
            out.append(time.perf_counter() - start)
    return out


def main_bench() -> int:
    import ray

    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        spec = make_spec(tmp / "four")
        runtime_env = {
            "env_vars": {"PYTHONPATH": str(ROOT)},
            "worker_process_setup_hook": "tests.ray_steps.setup",
        }
        ray.init(
            num_cpus=2, include_dashboard=False, runtime_env=runtime_env, log_to_driver=False
        )  # "cluster already up"
        timed_run(spec, tmp / "warm", "--backend", "ray")  # warm the workers and the page cache
        # local sequential: one step at a time, in-process (`--workers 1`); the default
        # local run (two lanes: in-process plus one side worker) is timed beside it.
        args = {
            "local": ["--backend", "local", "--workers", "1"],
            "ray": ["--backend", "ray"],
            "two-lanes": ["--backend", "local"],
        }
        times: dict[str, list[float]] = {name: [] for name in args}
        for k in range(REPEAT):
            for name, extra in args.items():
                times[name].append(timed_run(spec, tmp / f"{name}{k}", *extra))
        overhead = step_overhead(ray, tmp)
        ray.shutdown()
    local, on_ray = statistics.median(times["local"]), statistics.median(times["ray"])
    ratio = on_ray / local
    print(
        f"4 independent objectives, 2 cores: local sequential {local:.2f} s, ray {on_ray:.2f} s (medians of {REPEAT})"
    )
    print(f"ratio {ratio:.2f}x (target <= 0.6x): {'met' if ratio <= 0.6 else 'MISSED'}")
    lanes = statistics.median(times["two-lanes"])
    print(
        f"default local run (two lanes) {lanes:.2f} s: {lanes / local:.2f}x local sequential;"
        f" ray {on_ray / lanes:.2f}x of it"
    )
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(
        f"ray fixed cost per step (empty step, submit to result, warm workers): median {statistics.median(overhead) * 1000:.1f} ms, min {min(overhead) * 1000:.1f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main_bench())
