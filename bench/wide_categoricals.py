"""A 100k-level categorical against a 10-level one: whole `mlspec run`s, side by side.

Data: `--rows` rows (default 1M), three numeric features and one categorical `item` with
`--levels` (default 100,000) or 10 distinct values, a binary target that depends on both.
One objective, two models (logistic regression and XGBoost), the categorical without
`encoding:` (so the wide one gets the default for wide columns). Each side is timed as a
whole process, interleaved; peak memory is the run's maximum resident set size
(`resource.getrusage(RUSAGE_CHILDREN)` of a wrapper that waits for the run).

Usage:  python bench/wide_categoricals.py [--rows N] [--levels K] [--repeat R]
Prints the seconds and peak MB of each side and the ratio wide / narrow (goal: <= 2).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

PYTHON = sys.executable

SPEC = """\
mlspec: 1
name: wide_{name}
data:
  sources:
    events: {{path: events.parquet}}
  split: {{method: random, test: 0.2, seed: 0}}
features:
  - {{name: a}}
  - {{name: b}}
  - {{name: c}}
  - {{name: item, type: categorical}}
objectives:
  click:
    task: binary
    target: clicked
    metrics: [roc_auc]
    models:
      - {{name: lr, type: logistic_regression}}
      - {{name: gbt, type: xgboost, params: {{n_estimators: 50, max_depth: 6}}}}
"""

# The wrapper waits for the run and reports its peak RSS: ru_maxrss of waited-for children.
WRAPPER = (
    "import resource, subprocess, sys, json;"
    "rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode;"
    "print(json.dumps({'rc': rc, 'maxrss_kb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))"
)


def make(folder: Path, rows: int, levels: int, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    item = rng.integers(0, levels, rows)
    effect = rng.normal(0, 1, levels)[item]
    a, b, c = rng.normal(size=(3, rows))
    logit = 0.8 * a - 0.5 * b + effect
    clicked = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    folder.mkdir(parents=True, exist_ok=True)
    pl.DataFrame(
        {
            "a": a,
            "b": b,
            "c": c,
            "item": pl.Series([f"i{v}" for v in item.tolist()], dtype=pl.String),
            "clicked": clicked,
        }
    ).write_parquet(folder / "events.parquet")
    spec = folder / "spec.yaml"
    spec.write_text(SPEC.format(name=levels))
    return spec


def measure(spec: Path) -> tuple[float, float]:
    """Seconds and peak MB of one cold `mlspec run` (its store removed first)."""
    shutil.rmtree(spec.parent / ".mlspec", ignore_errors=True)
    argv = [PYTHON, "-m", "mlspec", "run", str(spec)]
    start = time.perf_counter()
    out = subprocess.run([PYTHON, "-c", WRAPPER, *argv], capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - start
    info = json.loads(out.stdout)
    if info["rc"] != 0:
        raise SystemExit(f"mlspec run {spec} exited {info['rc']}")
    return seconds, info["maxrss_kb"] / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--levels", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        specs = {
            "wide": make(Path(tmp) / "wide", args.rows, args.levels),
            "narrow": make(Path(tmp) / "narrow", args.rows, 10),
        }
        times: dict[str, list[float]] = {k: [] for k in specs}
        peaks: dict[str, list[float]] = {k: [] for k in specs}
        for _ in range(args.repeat):  # interleaved, so load hits both sides alike
            for name, spec in specs.items():
                s, mb = measure(spec)
                times[name].append(s)
                peaks[name].append(mb)
    t = {k: statistics.median(v) for k, v in times.items()}
    m = {k: max(v) for k, v in peaks.items()}
    print(f"rows {args.rows}, levels {args.levels} vs 10, {args.repeat} interleaved runs each")
    for name in specs:
        print(f"  {name:6s} median {t[name]:7.1f} s  peak {m[name]:7.0f} MB  runs {times[name]}")
    print(
        f"ratio wide/narrow: time {t['wide'] / t['narrow']:.2f}x (goal <= 2), peak memory {m['wide'] / m['narrow']:.2f}x"
    )


if __name__ == "__main__":
    main()
