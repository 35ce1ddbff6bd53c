"""No-change rerun of the feed-ranking example against its cold run, on 1M rows.

Issue (engine): a rerun with nothing changed is all cache hits and takes <= 1 s as a whole
process and <= 2% of the cold run. Cold runs use a fresh store each time; reruns reuse the
store of the last cold run. Interleaved, whole processes.

    python bench/rerun_speed.py [--rows 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from _timing import PYTHON, ROOT, median, time_process


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
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
        spec = str(project / "spec.yaml")
        cold, warm = [], []
        for i in range(args.repeat):
            store = str(Path(tmp) / f"store{i}")
            cold.append(time_process([PYTHON, "-m", "mlspec", "run", spec, "--store", store]))
            for _ in range(3):
                warm.append(time_process([PYTHON, "-m", "mlspec", "run", spec, "--store", store]))
        c, w = median(cold), median(warm)
        print(
            f"feed_ranking, {args.rows:,} rows; {len(cold)} cold runs, {len(warm)} no-change reruns"
        )
        print(f"cold run            median {c:6.2f} s")
        print(
            f"no-change rerun     median {w:6.2f} s   (target <= 1 s: {'met' if w <= 1 else 'MISSED'})"
        )
        print(
            f"ratio rerun / cold: {w / c:.1%}  (target <= 2%: {'met' if w / c <= 0.02 else 'MISSED'})"
        )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
