"""No-change rerun of the feed-ranking example against its cold run, on 1M rows.

Issue (engine): a rerun with nothing changed is all cache hits and takes <= 1 s as a whole
process and <= 2% of the cold run. Cold runs use a fresh store each time; reruns reuse the
store of the last cold run. Interleaved, whole processes.

    python bench/rerun_speed.py [--rows 1000000] [--repeat 3]
    python bench/rerun_speed.py --baseline DIR   # side by side with another source tree

Issue 18 (store integrity): a rerun checks every stored artifact it uses (manifest mac, then
each file's digest through the run records' authenticated file-hash cache, keyed on inode
and ctime too). `--baseline DIR` (e.g. `git archive <commit> | tar -x -C DIR`) times the
same runs with that tree's `mlspec` first on the path, interleaved with this one, and prints
the ratios: the first rerun after a cold run (this branch hashes each artifact once there)
and the later no-change reruns.
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
    ap.add_argument("--baseline", type=Path, help="source tree to compare with, side by side")
    args = ap.parse_args()
    if args.baseline is not None:
        return side_by_side(args.rows, args.repeat, args.baseline.resolve())
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


def side_by_side(rows: int, repeat: int, baseline: Path) -> None:
    subprocess.run([PYTHON, "-m", "compileall", "-q", str(baseline / "mlspec")], check=True)
    envs = {"baseline": {"PYTHONPATH": str(baseline)}, "this": {}}
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "feed_ranking"
        shutil.copytree(
            ROOT / "examples" / "feed_ranking",
            project,
            ignore=shutil.ignore_patterns("data", ".mlspec"),
        )
        subprocess.run(
            [PYTHON, str(project / "make_data.py"), "--rows", str(rows)],
            check=True,
            capture_output=True,
        )
        spec = str(project / "spec.yaml")
        cold: dict[str, list[float]] = {k: [] for k in envs}
        first: dict[str, list[float]] = {k: [] for k in envs}
        warm: dict[str, list[float]] = {k: [] for k in envs}
        for i in range(repeat):
            stores = {k: str(Path(tmp) / f"{k}{i}") for k in envs}
            argv = {k: [PYTHON, "-m", "mlspec", "run", spec, "--store", stores[k]] for k in envs}
            for k, env in envs.items():
                cold[k].append(time_process(argv[k], env=env))
            for k, env in envs.items():
                first[k].append(time_process(argv[k], env=env))
            for _ in range(3):
                for k, env in envs.items():
                    warm[k].append(time_process(argv[k], env=env))
        print(f"feed_ranking, {rows:,} rows; this branch vs {baseline}, interleaved")
        for name, runs in (("cold run", cold), ("first rerun", first), ("later reruns", warm)):
            b, t = median(runs["baseline"]), median(runs["this"])
            print(
                f"{name:<13} baseline {b:7.2f} s   this {t:7.2f} s   ratio {t / b:5.2f}x  ({len(runs['this'])} each)"
            )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
