"""Run the plan: every step whose fingerprint is not in the store, in dependency order.
Finished steps are cache hits next time, so an interrupted or failed run resumes where it
stopped. Exit status: 0 when every step succeeded, 1 when a step failed, 2 for an invalid spec
or a request the backend refuses before running (resources no Slurm node has)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, ClassVar

from mlspec.commands._common import (
    DISK_FULL_HINT,
    EXIT_FAILED,
    EXIT_USAGE,
    add_spec_argument,
    disk_full,
    fail,
    load_spec_or_exit,
)


def configure(p: argparse.ArgumentParser) -> None:
    add_spec_argument(p)
    p.add_argument(
        "--backend",
        help="where steps run: local, ray or batch (a Slurm job per step) (default: execution.backend)",
    )
    p.add_argument(
        "--workers",
        type=int,
        help="parallel steps for the local backend (default: execution.workers; unset, one"
        " in-process lane and one side worker on a machine with two cores or more)",
    )
    p.add_argument(
        "--only",
        action="append",
        metavar="STEP",
        help="run only these steps: ID, ID+ (and downstream), +ID (and upstream); repeatable",
    )
    p.add_argument(
        "--force",
        action="append",
        metavar="STEP",
        help="recompute these steps even if cached (same selection syntax); repeatable",
    )
    p.add_argument(
        "--detach",
        action="store_true",
        help="batch backend: submit every step as a Slurm job and return; follow the run with"
        " `mlspec runs show ID`",
    )
    p.add_argument("--json", action="store_true", help="print the run's result as JSON")


def run(args: argparse.Namespace) -> int:
    from mlspec.backends import BackendError, get_backend
    from mlspec.compile.plan import PlanError
    from mlspec.engine.assess import assess, store_root
    from mlspec.engine.runner import SelectionError, run_plan

    spec = load_spec_or_exit(args.spec)
    a = assess(spec, store_root(spec, args.store))
    backend_name = args.backend or spec.execution.get("backend", "local")
    try:
        only = a.plan.select(args.only) if args.only else None
        force = a.plan.select(args.force) if args.force else set()
    except PlanError as exc:
        return fail(str(exc), "see `mlspec plan SPEC` for the step ids")
    options: dict[str, Any] = {
        "workers": args.workers or spec.execution.get("workers"),
        "threads": spec.execution.get("threads", 1),
        **spec.execution.get(backend_name, {}),
    }
    try:
        backend = get_backend(backend_name, **options)
        problems = backend.check(a.plan)
    except BackendError as exc:
        return fail(str(exc))
    if problems:
        backend.close()
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        print(f"nothing was submitted to the {backend_name} backend", file=sys.stderr)
        return EXIT_USAGE
    if args.detach and not backend.submits_ahead:
        backend.close()
        return fail(
            f"--detach needs a backend that queues jobs; the {backend_name} backend does not",
            "use --backend batch",
        )
    reporter = _Reporter(quiet=args.json, total=len(only) if only is not None else len(a.plan))
    try:
        result = run_plan(
            a,
            backend,
            backend_name=backend_name,
            only=only,
            force=force,
            progress=reporter,
            argv=sys.argv[1:],
            detach=args.detach,
            notice=reporter.notice,
        )
        if args.detach:
            backend.detach()  # type: ignore[attr-defined]
    except SelectionError as exc:
        return fail(str(exc))
    finally:
        backend.close()
        reporter.close()
    if args.json:
        print(
            json.dumps(
                {
                    "run_id": result.run_id,
                    "status": result.status,
                    "seconds": round(result.seconds, 3),
                    "steps": {
                        sid: {
                            "ok": r.ok,
                            "cache_hit": r.cache_hit,
                            "seconds": round(r.seconds, 3),
                            "error": r.error,
                            "metrics": r.metrics,
                        }
                        for sid, r in result.results.items()
                    },
                    "skipped": result.skipped,
                },
                indent=2,
            )
        )
    if result.status == "submitted":
        if not args.json:
            queued = len(a.plan.order() if only is None else only) - len(result.results)
            print(
                f"run {result.run_id} submitted: {queued} jobs queued, {len(result.results)} cached;"
                f" follow it with `mlspec runs show {result.run_id} --store {a.store_root}`"
            )
        return 0
    if not args.json:
        for line in summary(a, result):
            print(line)
    gate_failed = _gate_failed(result)
    if result.status != "succeeded" and gate_failed and len(result.failed) == 1:
        # Only packaging refused, because the gate failed: rerunning cannot help.
        print("\nerror: the gate failed; nothing was packaged", file=sys.stderr)
        for line in gate_failed:
            print(f"  {line}", file=sys.stderr)
        print(
            "  hint: rerunning gives the same models; improve them, or change the gate's thresholds",
            file=sys.stderr,
        )
        return EXIT_FAILED
    if result.status != "succeeded":
        if any(disk_full(r.error) for r in result.failed):  # one cause: say it once
            failed = ", ".join(r.step_id for r in result.failed)
            return fail(
                f"the disk is full (No space left on device); steps not finished: {failed}",
                DISK_FULL_HINT,
                EXIT_FAILED,
            )
        for r in result.failed:
            print(f"\nerror: step {r.step_id} failed", file=sys.stderr)
            print("  " + (r.error or "unknown error").replace("\n", "\n  "), file=sys.stderr)
            if r.log_path:
                print(f"  log: {r.log_path}", file=sys.stderr)
        if result.skipped:
            print(f"  not run: {', '.join(result.skipped)}", file=sys.stderr)
        print(f"  resume: mlspec run {args.spec}  (finished steps are cached)", file=sys.stderr)
        return EXIT_FAILED
    if not args.json:
        hits = sum(r.cache_hit for r in result.results.values())
        print(
            f"run {result.run_id} succeeded: {len(result.results) - hits} ran, {hits} cached, {result.seconds:.2f} s"
        )
    _publish_scores(spec, a.store_root, result.results)
    from mlspec.registry import register_run

    if (
        version := register_run(a.store_root, spec.name, result.results, result.run_id)
    ) is not None and not args.json:
        print(f"registered {version.name} version {version.version}")
    return 0


def _number(x: Any) -> str:
    return f"{x:.4g}" if isinstance(x, int | float) else "n/a"


def summary(a: Any, result: Any) -> list[str]:
    """What the run found, per objective: the selected model and its selection metric on the
    test split with its 95% interval; then the gate's verdict. Read from the select and gate
    artifacts of this plan (cached or just computed)."""
    from mlspec.store import ArtifactStore

    store = ArtifactStore(a.store_root)
    lines = []
    for name in a.spec.objectives:
        sid = f"select.{name}"
        r = result.results.get(sid)
        if r is None or not r.ok or not store.has(a.fingerprints[sid].digest):
            continue
        sel = store.open(a.fingerprints[sid].digest).json("selection.json")
        interval = (
            f" [{_number(sel.get('low'))}, {_number(sel.get('high'))}]"
            if sel.get("low") is not None
            else ""
        )
        lines.append(
            f"{name}: selected {sel.get('selected')}, {sel.get('metric')} "
            f"{_number(sel.get('value'))}{interval} on the test split"
        )
    report = result.results.get("report")
    if report is not None and report.ok and store.has(a.fingerprints["report"].digest):
        lines.append(f"report: {store.open(a.fingerprints['report'].digest).path('report.html')}")
    gate = result.results.get("gate")
    if gate is not None and gate.ok:
        missed = _gate_failed(result)
        lines.append("gate: passed" if not missed else f"gate: FAILED ({len(missed)} missed)")
    return lines


def _gate_failed(result: Any) -> list[str]:
    """Each missed threshold with its margin ('quality roc_auc 0.71 < 0.75 (short by 0.04)')
    when the gate ran and failed, else []."""
    gate = result.results.get("gate")
    if gate is None or not gate.ok or gate.metrics.get("gate.passed", 1.0) != 0.0:
        return []
    return [w.removeprefix("gate failed: ") for w in gate.warnings if w.startswith("gate failed: ")]


def _event(step_id: str, event: str, result: Any) -> str:
    """A failed gate is a failure of the gate (its step succeeded: it wrote its verdict), and
    a package refused by it was not run for a fault of its own."""
    if result is None:
        return event
    if step_id == "gate" and result.ok and result.metrics.get("gate.passed", 1.0) == 0.0:
        return "failed"
    if step_id == "package" and not result.ok and "gate failed" in (result.error or ""):
        return "skipped"
    return event


def _publish_scores(spec: Any, store_root: Any, results: dict[str, Any]) -> None:
    """``deployment: batch``: copy the score step's file to ``deployment.batch.output``."""
    score = results.get("score")
    if score is None or not getattr(score, "ok", False):
        return
    from mlspec.scoring.batch import publish
    from mlspec.store import ArtifactStore

    batch = (spec.deployment or {}).get("batch") or {}
    fmt = batch.get("format", "parquet")
    reader = ArtifactStore(store_root).open(score.fingerprint)
    dest = spec.root / batch.get("output", f"scores.{fmt}")
    if publish(reader.path(f"scores.{fmt}"), dest):
        print(f"wrote {dest}", file=sys.stderr)


class _Reporter:
    """One line per finished step; a live progress bar (rich) only on a terminal.

    Off a terminal (CI, pipes) lines are plain text and rich is never imported: it costs
    ~0.1 s of start-up, a tenth of a no-change rerun.
    """

    MARKS: ClassVar[dict[str, str]] = {
        "succeeded": "✓",
        "cached": "·",
        "failed": "✗",
        "skipped": "-",
    }
    STYLES: ClassVar[dict[str, str]] = {
        "succeeded": "green",
        "cached": "dim",
        "failed": "red",
        "skipped": "yellow",
    }

    def __init__(self, *, quiet: bool, total: int) -> None:
        self.quiet = quiet
        self.console: Any = None
        self.progress: Any = None
        if not quiet and sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self.console = Console(stderr=True, highlight=False)
            self.progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=self.console,
                transient=True,
            )
            self.task = self.progress.add_task("running", total=total)
            self.progress.start()

    def _print(self, text: str, style: str | None = None) -> None:
        if self.console is not None:
            self.console.print(text, style=style, markup=False)
        else:
            print(text, file=sys.stderr, flush=True)

    def __call__(self, step_id: str, event: str, result: Any) -> None:
        if self.quiet:
            return
        if event == "start":
            if self.progress:
                self.progress.update(self.task, description=f"running {step_id}")
            return
        shown = _event(step_id, event, result)
        if result is not None and not result.cache_hit:
            timing = f"{result.seconds:6.2f} s"
        else:
            timing = "cached" if event == "cached" else ""
        extra = (
            f"  {len(result.warnings)} warning(s)" if result is not None and result.warnings else ""
        )
        if shown == "skipped" and step_id == "package" and result is not None:
            # refused by the gate (see `_event`); without a result an upstream step failed
            extra = "  not packaged: the gate failed"
        self._print(
            f"{self.MARKS.get(shown, shown)} {step_id:<32} {timing}{extra}", self.STYLES.get(shown)
        )
        for w in result.warnings if result is not None else ():
            self._print(f"    warning: {w}", "yellow")
        if self.progress and event != "skipped":
            self.progress.advance(self.task)

    def notice(self, text: str) -> None:
        """Something the user must know even with --json (a damaged artifact): stderr, once."""
        if self.console is not None:
            self.console.print(f"warning: {text}", style="yellow", markup=False)
        else:
            print(f"warning: {text}", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.progress:
            self.progress.stop()
