"""Run every monitor of a spec on current data against the promoted version.

  mlspec monitor SPEC --current FILE|DIR|GLOB [--store DIR] [--json] [--html PATH] [--sample N]

FILE (.parquet, .csv, .ndjson/.jsonl, .json) has the columns of the joined data that the
features read, and optionally the objectives' targets (for performance monitors). A folder
(such as the request log of `mlspec serve --log-requests DIR`) or a glob pattern: every such
file in it, stacked. Prints a
table (or JSON with --json), writes the HTML report (default
<store>/monitor/<name>-v<version>.html), sends each fired monitor's alerts and, for one with
`alert.retrain: true`, runs the spec on the current data. Exit status: 0 no monitor fired,
1 a monitor fired (or could not be computed), 2 invalid spec or usage."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from mlspec.commands._common import EXIT_FAILED, EXIT_OK, add_spec_argument, fail, load_spec_or_exit


def configure(p: argparse.ArgumentParser) -> None:
    add_spec_argument(p)
    p.add_argument(
        "--current",
        metavar="FILE|DIR|GLOB",
        required=True,
        help="the current data: a file, a folder of files (a request log) or a glob pattern",
    )
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--html", metavar="PATH", help="where to write the HTML report")
    p.add_argument(
        "--sample",
        metavar="N",
        type=int,
        default=100_000,
        help="drift tests use a seeded sample of at most N current rows (default 100000)",
    )


def run(args: argparse.Namespace) -> int:
    if args.sample < 1:
        return fail(f"--sample must be a positive number of rows. Got {args.sample} instead.")
    spec = load_spec_or_exit(args.spec)
    if not spec.monitors:
        return fail(f"{args.spec} declares no monitors", "add a `monitors` section to the spec")

    from mlspec.engine.assess import store_root
    from mlspec.monitor import alerts, current, html, monitors
    from mlspec.monitor.errors import MonitorError
    from mlspec.monitor.reference import promoted
    from mlspec.monitor.retrain import retrain
    from mlspec.monitor.scoring import score_current

    root = store_root(spec, args.store)
    try:
        reference = promoted(root, spec.name)
        raw = current.read(args.current)
    except MonitorError as exc:
        return fail(exc.message, exc.hint)
    features = reference.bundle_info.get("features") or []
    targets = sorted({o["target"] for o in reference.objectives.values()})
    from mlspec.serving.requestlog import LOGGED

    outputs = [f"{p}_{o}" for o in reference.objectives for p in ("raw", "score")]
    known = [*targets, *outputs, "score", *LOGGED]  # a request log's columns are not extra
    cur = current.prepare(raw, reference.kinds(), features, known)
    ctx = monitors.Context(
        reference,
        cur,
        lambda frame: score_current(reference.bundle, frame, str(reference.version)),
        args.sample,
    )
    results = monitors.run_all(list(spec.monitors), ctx)

    at = datetime.now(UTC).isoformat(timespec="seconds")
    deliveries: dict[str, list[dict[str, object]]] = {}
    retrained: dict[str, object] | None = None
    for r in results:
        if not r.fired:
            continue
        alert = {
            "system": spec.name,
            "version": reference.version,
            "monitor": r.name,
            "type": r.type,
            "severity": r.alert.get("severity", "warning"),
            "status": r.status,
            "summary": r.summary,
            "verdicts": r.to_json()["verdicts"],
            "at": at,
        }
        deliveries[r.name] = alerts.send(list(r.alert.get("channels", ["log"])), alert, spec.root)
        for d in deliveries[r.name]:  # reported, not fatal (--json carries them in "alerts")
            if not d["ok"]:
                print(
                    f"warning: alert of {r.name} to {d['channel']} failed: {d['error']}",
                    file=sys.stderr,
                )
        if r.alert.get("retrain") and retrained is None:
            retrained = retrain(Path(args.spec), Path(args.current), raw, targets, root)

    out = (
        Path(args.html)
        if args.html
        else root / "monitor" / f"{spec.name}-v{reference.version}.html"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html.page(spec.name, reference.version, args.current, results), "utf-8")

    fired = [r for r in results if r.fired]
    if args.json:
        doc = {
            "system": spec.name,
            "version": reference.version,
            "current": args.current,
            "rows": raw.height,
            "fired": [r.name for r in fired],
            "monitors": [r.to_json() for r in results],
            "alerts": deliveries,
            "retrain": retrained,
            "html": str(out),
        }
        print(json.dumps(doc, indent=2, allow_nan=False, default=str))
    else:
        _table(results)
        if retrained is not None:
            print(f"retrain: {json.dumps(retrained)}")
        print(f"report: {out}", file=sys.stderr)
    return EXIT_FAILED if fired else EXIT_OK


def _table(results: list) -> None:
    width = max(len(r.name) for r in results)
    for r in results:
        print(f"{r.status.upper():8} {r.name:{width}}  {r.type:16} {r.summary}")
        for v in r.verdicts:
            if v.status != "ok" and r.type != "performance":
                print(f"{'':8} {'':{width}}    {v.column}: {v.status}: {v.message}")
