"""Write a run's HTML evaluation report to a file: `mlspec report [SPEC] [--run ID]`.

The page is the artifact of the run's `report` step; this copies it out (default
`<store>/reports/report-<run id>.html`, or -o FILE) and prints the path. ID may be a unique prefix or 'latest'
(the default: the newest run, of SPEC's system when SPEC is given)."""

from __future__ import annotations

import argparse
import contextlib
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from mlspec.commands._common import fail, load_spec_or_exit

if TYPE_CHECKING:
    from mlspec.store import RunStore


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "spec", nargs="?", metavar="SPEC", help="the spec file (its store and its runs); optional"
    )
    p.add_argument(
        "--run", metavar="ID", default="latest", help="run id, unique prefix or 'latest' (default)"
    )
    p.add_argument(
        "--store",
        metavar="DIR",
        help="artifact store folder (default: the spec's store, else ./.mlspec)",
    )
    p.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="where to write the page (default: <store>/reports/report-<run id>.html)",
    )
    p.add_argument("--open", action="store_true", help="open the page in a web browser")


def run(args: argparse.Namespace) -> int:
    from mlspec.store import ArtifactError, ArtifactStore, RunStore
    from mlspec.store.runs import AmbiguousRunId

    spec_name = None
    if args.spec:
        from mlspec.engine.assess import store_root

        spec = load_spec_or_exit(args.spec)
        root, spec_name = store_root(spec, args.store), spec.name
    else:
        root = Path(args.store or ".mlspec")
    db = root / "runs.sqlite"
    if not db.is_file():
        return fail(
            f"no run records in {root}",
            "run a spec first (mlspec run SPEC), or point --store at its store",
        )
    runs = RunStore(db)
    try:
        if args.run == "latest" and spec_name is not None:
            rows = runs.runs(1, spec_name=spec_name)
            row = rows[0] if rows else None
        else:
            row = runs.run(args.run)
    except AmbiguousRunId as exc:
        return fail(str(exc), "give more characters of the run id")
    if row is None:
        return fail(
            f"no run '{args.run}'"
            + (f" of {spec_name}" if spec_name and args.run == "latest" else ""),
            "list runs with `mlspec runs`",
        )
    step = next((s for s in runs.steps(row.run_id) if s.step_id == "report"), None)
    if step is None or step.fingerprint is None or step.status not in ("succeeded", "cached"):
        why = (
            "has no report step"
            if step is None
            else f"has no report (the report step {step.status})"
        )
        return fail(f"run {row.run_id} {why}", _hint(runs, row.run_id, row.spec_name))
    try:
        page = ArtifactStore(root).open(step.fingerprint).path("report.html")
    except ArtifactError as exc:
        return fail(
            f"run {row.run_id}: {exc}", "run the spec again: the report step will write it anew"
        )
    # Under the store by default: never an untracked file in whatever folder one stands in.
    out = Path(args.output) if args.output else root / "reports" / f"report-{row.run_id}.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(page, out)
    print(out.resolve())
    if args.open:
        _open(out)
    return 0


def _hint(runs: RunStore, run_id: str, spec_name: str | None) -> str:
    """Point at the newest run that has a report, if there is one."""
    for r in runs.runs(50, spec_name=spec_name):
        if r.run_id != run_id and any(
            s.step_id == "report" and s.status in ("succeeded", "cached")
            for s in runs.steps(r.run_id)
        ):
            return f"run {r.run_id} has one: mlspec report --run {r.run_id}"
    return "run the whole plan (mlspec run SPEC) to write a report"


def _open(path: Path) -> None:
    """Open the page in a browser; without one (a server, CI) do nothing."""
    import webbrowser

    with contextlib.suppress(webbrowser.Error):
        webbrowser.open(path.resolve().as_uri())
