"""Show what `mlspec run` would do: every step, whether it runs or is cached, and why.
Reads the spec, the store's manifests and the run records; runs nothing."""

from __future__ import annotations

import argparse
import json

from mlspec.commands._common import add_spec_argument, load_spec_or_exit


def configure(p: argparse.ArgumentParser) -> None:
    add_spec_argument(p)
    p.add_argument("--json", action="store_true", help="print the plan as JSON")


def run(args: argparse.Namespace) -> int:
    from mlspec.engine.assess import assess, store_root

    spec = load_spec_or_exit(args.spec)
    a = assess(spec, store_root(spec, args.store))
    statuses = [a.statuses[s] for s in a.plan.order()]
    if args.json:
        print(json.dumps({
            "spec": str(spec.path),
            "store": str(a.store_root),
            "steps": [
                {
                    "step": s.step_id,
                    "kind": s.kind,
                    "action": s.action,
                    "fingerprint": s.fingerprint.digest,
                    "reasons": list(s.reasons),
                    "inputs": sorted(a.plan.step(s.step_id).inputs.values()),
                }
                for s in statuses
            ],
        }, indent=2))
        return 0
    width = max(len(s.step_id) for s in statuses)
    print(f"Plan for {spec.name} ({args.spec}); store {a.store_root}")
    for s in statuses:
        why = "" if s.cached else "  " + "; ".join(s.reasons)
        print(f"  {s.action:<7} {s.step_id:<{width}}{why}")
    n_run = sum(not s.cached for s in statuses)
    print(f"{n_run} to run, {len(statuses) - n_run} cached")
    return 0
