"""List recorded runs, or show one run's steps: `mlspec runs [SPEC]`, `mlspec runs show ID`;
`mlspec runs compare A B` prints how the metrics of the steps of two runs moved and which
steps' fingerprints differ. ID may be a unique prefix or 'latest'."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlspec.commands._common import fail, is_spec_path, resolve_store

if TYPE_CHECKING:
    from mlspec.store import ArtifactStore, RunStore


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "args",
        nargs="*",
        metavar="[SPEC] [show ID | compare A B]",
        help="SPEC: the runs in that spec's store; 'show ID' to see one run; 'compare A B' to compare two",
    )
    p.add_argument(
        "--store",
        metavar="DIR",
        help="artifact store folder (default: the SPEC's store, else ./.mlspec)",
    )
    p.add_argument("--limit", type=int, default=20, help="how many runs to list (default: 20)")
    p.add_argument("--json", action="store_true", help="print as JSON")


def run(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from mlspec.store import RunStore
    from mlspec.store.runs import AmbiguousRunId

    spec = args.args[0] if args.args and is_spec_path(args.args[0]) else None
    if spec is not None:
        args.args = args.args[1:]
    args.store = resolve_store(args.store, spec)
    db = Path(args.store) / "runs.sqlite"
    if not db.is_file():
        return fail(
            f"no run records in {args.store}",
            "run a spec first, or point --store at its store (default .mlspec beside the spec)",
        )
    runs = RunStore(db)
    if args.args[:1] == ["compare"]:
        if len(args.args) != 3:
            return fail("usage: mlspec runs compare A B")
        return _compare(runs, args.args[1], args.args[2], as_json=args.json)
    if args.args[:1] == ["show"]:
        if len(args.args) != 2:
            return fail("usage: mlspec runs show ID")
        try:
            row = runs.run(args.args[1])
        except AmbiguousRunId as exc:
            return fail(str(exc), "give more characters of the run id")
        if row is None:
            return fail(f"no run '{args.args[1]}'", "list runs with `mlspec runs`")
        jobs = []
        if row.backend == "batch" and row.status == "running" and row.pid is None:
            from mlspec.backends.batch import follow_run

            # A detached run: its jobs' states come from Slurm and their result files.
            jobs = follow_run(runs, row.run_id, db.parent, row.spec_name)
            row = runs.run(row.run_id) or row
        steps = runs.steps(row.run_id)
        if args.json:
            out = {"run": asdict(row), "steps": [asdict(s) for s in steps]}
            if jobs:
                out["jobs"] = [
                    {"step_id": j.step_id, "job_id": j.job_id, "state": j.state} for j in jobs
                ]
            print(json.dumps(out, indent=2, default=str))
            return 0
        print(
            f"run {row.run_id}  {row.status}  {row.spec_name}  backend {row.backend}  started {row.started}"
        )
        for s in steps:
            extra = f"  {s.error.splitlines()[0]}" if s.error else ""
            print(
                f"  {s.status:<9} {s.step_id:<32} {s.seconds or 0:7.2f} s  {s.fingerprint[:12]}{extra}"
            )
            shown = {k: v for k, v in (s.metrics or {}).items() if _number(v)}
            if shown and s.step_id.split(".")[0] in ("select", "gate", "combine"):
                print("      " + ", ".join(f"{k} {v:.4g}" for k, v in sorted(shown.items())))
        if row.versions:
            libraries = ", ".join(f"{k} {v}" for k, v in sorted(row.versions.items()))
            print(f"  libraries: {libraries}")
        if jobs and row.status == "running":
            print("jobs:")
            for j in jobs:
                print(f"  {j.state:<11} {j.step_id:<32} job {j.job_id}")
        return 0
    if args.args:
        return fail(
            f"unknown arguments: {' '.join(args.args)}",
            "use `mlspec runs`, `mlspec runs show ID` or `mlspec runs compare A B`",
        )
    rows = runs.runs(args.limit)
    if args.json:
        print(json.dumps([asdict(r) for r in rows], indent=2, default=str))
        return 0
    for r in rows:
        print(f"{r.run_id}  {r.status:<11} {r.spec_name:<20} {r.backend:<6} {r.started}")
    return 0


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _step_metrics(step: Any, artifacts: ArtifactStore | None) -> dict[str, Any]:
    """A step's recorded metrics; a cached step may have none recorded, so its artifact's
    manifest (same fingerprint, same metrics) fills in when the store still holds it."""
    from mlspec.store import ArtifactError

    if (
        step.metrics
        or artifacts is None
        or not step.fingerprint
        or step.status not in ("succeeded", "cached")
    ):
        return dict(step.metrics or {})
    try:
        return dict(artifacts.manifest(step.fingerprint).metrics)
    except (ArtifactError, ValueError):
        return {}


def compare(
    runs: RunStore, a: str, b: str, artifacts: ArtifactStore | None = None
) -> dict[str, Any]:
    """Metric deltas (B - A) of the steps both runs recorded, and whose fingerprints differ."""
    steps_a = {s.step_id: s for s in runs.steps(a)}
    steps_b = {s.step_id: s for s in runs.steps(b)}
    both = [sid for sid in steps_a if sid in steps_b]
    metrics = []
    for sid in both:
        ma, mb = _step_metrics(steps_a[sid], artifacts), _step_metrics(steps_b[sid], artifacts)
        for name in sorted({*ma, *mb}):
            va, vb = ma.get(name), mb.get(name)
            delta = vb - va if _number(va) and _number(vb) else None
            metrics.append({"step": sid, "metric": name, "a": va, "b": vb, "delta": delta})
    return {
        "a": a,
        "b": b,
        "metrics": metrics,
        "changed": [sid for sid in both if steps_a[sid].fingerprint != steps_b[sid].fingerprint],
        "only_a": [sid for sid in steps_a if sid not in steps_b],
        "only_b": [sid for sid in steps_b if sid not in steps_a],
    }


def _compare(runs: RunStore, ref_a: str, ref_b: str, *, as_json: bool) -> int:
    from mlspec.store.runs import AmbiguousRunId

    ids = []
    for ref in (ref_a, ref_b):
        try:
            row = runs.run(ref)
        except AmbiguousRunId as exc:
            return fail(str(exc), "give more characters of the run id")
        if row is None:
            return fail(f"no run '{ref}'", "list runs with `mlspec runs`")
        ids.append(row.run_id)
    from mlspec.store import ArtifactStore

    result = compare(runs, ids[0], ids[1], ArtifactStore(runs.path.parent))
    if as_json:
        print(json.dumps(result, indent=2))
        return 0

    def fmt(v: Any) -> str:
        return "-" if v is None else f"{v:.6g}" if _number(v) else str(v)

    print(f"A {ids[0]}\nB {ids[1]}")
    rows = [
        (
            m["step"],
            m["metric"],
            fmt(m["a"]),
            fmt(m["b"]),
            "-" if m["delta"] is None else "0" if m["delta"] == 0 else f"{m['delta']:+.6g}",
        )
        for m in result["metrics"]
    ]
    if rows:
        head = ("step", "metric", "A", "B", "delta")
        widths = [max(len(r[i]) for r in [head, *rows]) for i in range(5)]
        print()
        for r in [head, *rows]:
            print(
                "  ".join(
                    c.ljust(w) if i < 2 else c.rjust(w)
                    for i, (c, w) in enumerate(zip(r, widths, strict=True))
                ).rstrip()
            )
    else:
        print("\nno metrics recorded by steps of both runs")
    print()
    changed = result["changed"]
    print(
        f"fingerprints differ ({len(changed)}): {', '.join(changed)}"
        if changed
        else "fingerprints: all shared steps are identical"
    )
    for key, label in (("only_a", "only in A"), ("only_b", "only in B")):
        if result[key]:
            print(f"{label}: {', '.join(result[key])}")
    return 0
