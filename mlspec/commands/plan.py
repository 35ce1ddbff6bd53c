"""Show what `mlspec run` would do: every step, whether it runs or is cached, and why.
Reads the spec, the store's manifests and the run records; runs nothing."""

from __future__ import annotations

import argparse
import json

from mlspec.commands._common import add_spec_argument, load_spec_or_exit


def configure(p: argparse.ArgumentParser) -> None:
    add_spec_argument(p)
    p.add_argument("--json", action="store_true", help="print the plan as JSON")
    p.add_argument(
        "--base",
        metavar="REF",
        help="actions relative to the spec at this git ref (for CI); reads no data file",
    )


def run(args: argparse.Namespace) -> int:
    from mlspec.engine.assess import assess, store_root

    if args.base:
        return plan_against(args)
    spec = load_spec_or_exit(args.spec)
    a = assess(spec, store_root(spec, args.store))
    statuses = [a.statuses[s] for s in a.plan.order()]
    if args.json:
        print(
            json.dumps(
                {
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
                },
                indent=2,
            )
        )
        return 0
    width = max(len(s.step_id) for s in statuses)
    print(f"Plan for {spec.name} ({args.spec}); store {a.store_root}")
    for s in statuses:
        why = "" if s.cached else "  " + "; ".join(s.reasons)
        print(f"  {s.action:<7} {s.step_id:<{width}}{why}")
    n_run = sum(not s.cached for s in statuses)
    print(f"{n_run} to run, {len(statuses) - n_run} cached")
    return 0


def plan_against(args: argparse.Namespace) -> int:
    """The head plan with new / rerun / reuse / removed relative to the base ref's fingerprints."""
    from mlspec.commands._common import EXIT_USAGE, fail
    from mlspec.commands.diff import valid_or_report
    from mlspec.diff.changes import fingerprints, step_actions
    from mlspec.diff.source import GitError, from_file, from_git

    try:
        base_side = from_git(args.base, args.spec)
    except GitError as exc:
        return fail(
            str(exc),
            "run inside the git repository that holds the spec; in CI fetch the base (fetch-depth: 0)",
        )
    head = valid_or_report(from_file(args.spec))
    base = valid_or_report(base_side)
    if base is None or head is None:
        return EXIT_USAGE
    actions = step_actions(fingerprints(base), fingerprints(head))
    if args.json:
        print(
            json.dumps(
                {
                    "spec": str(head.path),
                    "base": base_side.label,
                    "steps": [
                        {
                            "step": s.step,
                            "kind": s.kind,
                            "action": s.action,
                            "fingerprint": s.head_fingerprint,
                            "base_fingerprint": s.base_fingerprint,
                            "reasons": list(s.reasons),
                            "inputs": list(s.inputs),
                        }
                        for s in actions
                    ],
                },
                indent=2,
            )
        )
        return 0
    width = max(len(s.step) for s in actions)
    print(f"Plan for {head.name} ({args.spec}) against {base_side.label}; data files not read")
    for s in actions:
        why = "  " + "; ".join(s.reasons) if s.reasons else ""
        print(f"  {s.action:<7} {s.step:<{width}}{why}".rstrip())
    counts = {a: sum(s.action == a for s in actions) for a in ("new", "rerun", "reuse", "removed")}
    print(", ".join(f"{n} {a}" for a, n in counts.items()))
    return 0
