"""R1 at full size: 10,000 fuzzed specs through validate, plan, graph and diff, in-process.

The mutator is `tests/spec_fuzz.py` (seeded; CI runs a few hundred of the same specs in
tests/test_fuzz.py). Prints the count, how many were valid, every failure (an exception
escaping a command, an exit code other than 0/2, an unlocated diagnostic, a command over the
limit), and the time per spec and per command: median, p99 and max, in CPU seconds (what
the limit is on; the machine is shared) and wall seconds, each also as a ratio to the 1 s
limit. Figures go into docs/reliability.md.

    python bench/fuzz_specs.py [--count 10000] [--seed 0] [--limit 1.0]
    python bench/fuzz_specs.py --part 0/2 --out a.json & python bench/fuzz_specs.py --part 1/2 --out b.json
    python bench/fuzz_specs.py --report a.json b.json     # the figures of both halves
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from spec_fuzz import COMMANDS, Outcome, fuzz


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--limit", type=float, default=1.0, help="CPU seconds per command")
    ap.add_argument("--part", default="0/1", help="I/N: only the specs whose index is I mod N")
    ap.add_argument("--out", help="also write every outcome to this JSON file")
    ap.add_argument("--report", nargs="+", metavar="JSON", help="print the figures of saved runs")
    args = ap.parse_args()
    if args.report:
        saved = [json.loads(Path(f).read_text()) for f in args.report]
        outcomes = [Outcome(**o) for s in saved for o in s["outcomes"]]
        took = max(s["seconds"] for s in saved)
        report(sorted(outcomes, key=lambda o: o.index), args.seed, took, args.limit)
        return
    start = time.perf_counter()

    done: list[Outcome] = []

    def save(outcomes: list[Outcome]) -> None:
        if args.out:  # also every 250 specs: a run cut short keeps its figures
            data = {
                "seconds": time.perf_counter() - start,
                "outcomes": [dataclasses.asdict(o) for o in outcomes],
            }
            Path(args.out).write_text(json.dumps(data))

    def progress(o: Outcome) -> None:
        for failure in o.failures:
            print(f"FAIL spec {o.index} (from {o.seed}): {failure}", flush=True)
        done.append(o)
        if len(done) % 250 == 0:
            print(f"  {len(done)} specs, {time.perf_counter() - start:.0f} s", flush=True)
            save(done)

    i, n = (int(x) for x in args.part.split("/"))
    with tempfile.TemporaryDirectory() as tmp:
        outcomes = fuzz(args.count, Path(tmp), args.seed, args.limit, progress, (i, n))
    took = time.perf_counter() - start
    save(outcomes)
    report(outcomes, args.seed, took, args.limit)


def report(outcomes: list[Outcome], seed: int, took: float, limit: float) -> None:
    failed = [o for o in outcomes if o.failures]
    print(f"specs: {len(outcomes)} (seed {seed}), valid {sum(o.valid for o in outcomes)}")
    print(f"failures: {len(failed)} specs, {sum(len(o.failures) for o in failed)} findings")
    print(f"total: {took:.0f} s wall")
    rows = [
        (
            "per spec, 4 commands",
            [sum(o.cpu.values()) for o in outcomes],
            [sum(o.wall.values()) for o in outcomes],
        ),
        *(
            (name, [o.cpu[name] for o in outcomes], [o.wall[name] for o in outcomes])
            for name in COMMANDS
        ),
    ]
    print(
        f"{'':22} {'CPU median':>11} {'p99':>8} {'max':>8} {'max/limit':>10} {'wall p99':>9} {'wall max':>9}"
    )
    for label, cpu, wall in rows:
        print(
            f"{label:22} {_quantile(cpu, 0.5):10.3f}s {_quantile(cpu, 0.99):7.3f}s {max(cpu):7.3f}s "
            f"{max(cpu) / limit:9.2f}x {_quantile(wall, 0.99):8.3f}s {max(wall):8.3f}s"
        )
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
