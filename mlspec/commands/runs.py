"""List recorded runs, or show one run's steps: `mlspec runs [SPEC]`, `mlspec runs show ID`.
ID may be a unique prefix or 'latest'."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from mlspec.commands._common import fail


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("args", nargs="*", metavar="[show ID]", help="'show ID' to see one run")
    p.add_argument("--store", metavar="DIR", default=".mlspec", help="artifact store folder (default: ./.mlspec)")
    p.add_argument("--limit", type=int, default=20, help="how many runs to list (default: 20)")
    p.add_argument("--json", action="store_true", help="print as JSON")


def run(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from mlspec.store import RunStore
    from mlspec.store.runs import AmbiguousRunId

    db = Path(args.store) / "runs.sqlite"
    if not db.is_file():
        return fail(f"no run records in {args.store}", "run a spec first, or point --store at its store (default .mlspec beside the spec)")
    runs = RunStore(db)
    if args.args[:1] == ["show"]:
        if len(args.args) != 2:
            return fail("usage: mlspec runs show ID")
        try:
            row = runs.run(args.args[1])
        except AmbiguousRunId as exc:
            return fail(str(exc), "give more characters of the run id")
        if row is None:
            return fail(f"no run '{args.args[1]}'", "list runs with `mlspec runs`")
        steps = runs.steps(row.run_id)
        if args.json:
            print(json.dumps({"run": asdict(row), "steps": [asdict(s) for s in steps]}, indent=2, default=str))
            return 0
        print(f"run {row.run_id}  {row.status}  {row.spec_name}  backend {row.backend}  started {row.started}")
        for s in steps:
            extra = f"  {s.error.splitlines()[0]}" if s.error else ""
            print(f"  {s.status:<9} {s.step_id:<32} {s.seconds or 0:7.2f} s  {s.fingerprint[:12]}{extra}")
        return 0
    if args.args:
        return fail(f"unknown arguments: {' '.join(args.args)}", "use `mlspec runs` or `mlspec runs show ID`")
    rows = runs.runs(args.limit)
    if args.json:
        print(json.dumps([asdict(r) for r in rows], indent=2, default=str))
        return 0
    for r in rows:
        print(f"{r.run_id}  {r.status:<11} {r.spec_name:<20} {r.backend:<6} {r.started}")
    return 0
