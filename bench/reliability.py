"""Suites R2 (crash) and R3 (concurrency) at full size, on the feed-ranking example.

R2: `kill -9` at 20 seeded moments (every step kind, a commit, seeded fractions of a run;
inline and --workers 2; the main process only or the whole group), each followed by a rerun
(tests/reliability/crash.py). R3: rounds of 4 concurrent runs of one spec on one store
(tests/integration/test_store_concurrency.py's `concurrent_runs`), each compared with a lone
run. The CI runs both suites at a small size (tests/integration/test_crash.py and
test_store_concurrency.py).

Usage:  python bench/reliability.py [--moments 20] [--rounds 2] [--rows 4000]
Prints per-suite counts; the figures go to docs/reliability.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import artifacts, make_example, run_json  # noqa: E402
from tests.integration.test_store_concurrency import concurrent_runs  # noqa: E402
from tests.reliability.crash import moments, reference, trial  # noqa: E402


def r2(spec: Path, n: int) -> None:
    expected, seconds = reference(spec)
    print(f"R2: reference run {seconds:.1f} s; {n} moments")
    outcomes = []
    for m in moments(n, 19):
        start = time.monotonic()
        o = trial(spec, m, expected, seconds)
        outcomes.append(o)
        state = "ok" if o.ok else f"FAILED {o.survivors} {o.differs} {o.leftovers} {o.statuses}"
        killed = "killed" if o.killed else "finished first"
        print(
            f"  {m}: {killed}, reaped in {o.seconds_to_reap:.2f} s, {state} ({time.monotonic() - start:.0f} s)"
        )
    killed = [o for o in outcomes if o.killed]
    print(
        f"R2: {len(killed)}/{n} killed mid-run; {sum(o.ok for o in outcomes)}/{n} reruns byte-identical "
        f"with no survivor, partial artifact or run left running; "
        f"{sum(len(o.survivors) for o in outcomes)} orphaned processes; "
        f"workers gone after median {statistics.median([o.seconds_to_reap for o in killed] or [0]):.2f} s, "
        f"max {max([o.seconds_to_reap for o in killed] or [0]):.2f} s"
    )


def r3(spec: Path, rounds: int, tmp: Path) -> None:
    lone = tmp / "lone"
    run_json(str(spec), "--store", str(lone))
    expected = artifacts(lone)
    ok = 0
    for i in range(rounds):
        start = time.monotonic()
        store = tmp / f"shared{i}"
        results = concurrent_runs(spec, store, 4)
        good = all(r.returncode == 0 for r in results) and artifacts(store) == expected
        ok += good
        print(
            f"  round {i}: 4 runs {'ok, byte-identical' if good else 'FAILED'} ({time.monotonic() - start:.0f} s)"
        )
    print(f"R3: {ok}/{rounds} rounds of 4 concurrent runs succeeded byte-identical to a lone run")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--moments", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--rows", default="4000")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        spec = make_example("feed_ranking", Path(tmp) / "r2", "--rows", args.rows)
        r2(spec, args.moments)
        spec = make_example("feed_ranking", Path(tmp) / "r3", "--rows", args.rows)
        r3(spec, args.rounds, Path(tmp))


if __name__ == "__main__":
    main()
