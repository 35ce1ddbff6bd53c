"""Changing one combine weight in the two-objective feed-ranking spec, against its cold run.

Issue (models): the rerun after a weight change takes <= 5% of the cold run and refits no
model. Whole processes; the cold run uses a fresh store; the weight run reuses it.

    python bench/weight_change.py [--rows 200000] [--repeat 2]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _timing import PYTHON, ROOT, median


def run(spec: Path, store: Path) -> tuple[float, dict]:
    start = time.perf_counter()
    proc = subprocess.run(
        [PYTHON, "-m", "mlspec", "run", str(spec), "--store", str(store), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    return time.perf_counter() - start, json.loads(proc.stdout)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "feed_ranking"
        shutil.copytree(
            ROOT / "examples" / "feed_ranking",
            project,
            ignore=shutil.ignore_patterns("data", ".mlspec"),
        )
        subprocess.run(
            [PYTHON, str(project / "make_data.py"), "--rows", str(args.rows)],
            check=True,
            capture_output=True,
        )
        spec = project / "spec.yaml"
        original = spec.read_text()
        assert "quality: 0.7" in original and "engagement: 0.3" in original
        cold, warm, refits = [], [], []
        for i in range(args.repeat):
            spec.write_text(original)
            store = Path(tmp) / f"store{i}"
            seconds, _ = run(spec, store)
            cold.append(seconds)
            spec.write_text(
                original.replace("quality: 0.7", f"quality: 0.{6 - i}").replace(
                    "engagement: 0.3", f"engagement: 0.{4 + i}"
                )
            )
            seconds, result = run(spec, store)
            warm.append(seconds)
            ran = [s for s, r in result["steps"].items() if not r["cache_hit"]]
            refits.append([s for s in ran if s.startswith(("train.", "trial."))])
        c, w = median(cold), median(warm)
        print(f"feed_ranking, {args.rows:,} posts; {args.repeat} cold runs and weight changes")
        print(f"cold run                 median {c:7.2f} s")
        print(f"after one weight change  median {w:7.2f} s   steps that ran: {', '.join(ran)}")
        print(
            f"ratio weight run / cold: {w / c:.1%}  (target <= 5%: {'met' if w / c <= 0.05 else 'MISSED'})"
        )
        print(f"models refit after the weight change: {sum(len(r) for r in refits)} (target 0)")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
