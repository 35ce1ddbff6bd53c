"""The one scheduling loop: ordering, cache look-ups, progress, failure and resume.

Backends only place work (`submit(task) -> Future`); everything else is here, so local, Ray
and Slurm runs behave the same. A step is submitted once all its inputs are done (or, for a
backend that `submits_ahead` like Slurm's, once they are submitted: the scheduler holds it
until they succeed); a step whose fingerprint is already in the store is a cache hit and
never submitted. On a failure no new step starts, running ones finish, and the report names
the step, the error, the log and how to resume (finished steps are cache hits next time).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from mlspec.engine.assess import Assessment
from mlspec.engine.backend import Backend
from mlspec.engine.task import StepResult, StepTask

if TYPE_CHECKING:
    from mlspec.store import ArtifactStore, RunStore


@dataclass
class RunResult:
    run_id: str
    status: str  # succeeded | failed | submitted (detached)
    results: dict[str, StepResult] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failed(self) -> list[StepResult]:
        return [r for r in self.results.values() if not r.ok]


Progress = Callable[[str, str, StepResult | None], None]  # (step_id, event, result)


class SelectionError(Exception):
    pass


def run_plan(
    assessment: Assessment,
    backend: Backend,
    *,
    backend_name: str,
    only: set[str] | None = None,
    force: set[str] | None = None,
    progress: Progress | None = None,
    argv: list[str] | None = None,
    detach: bool = False,
    notice: Callable[[str], None] | None = None,
) -> RunResult:
    """Run the selected steps. With `detach` (a backend that submits ahead), return once every
    step is submitted: the run stays 'running' and `mlspec runs show` follows its jobs."""
    from mlspec.store import RunStore
    from mlspec.store.versions import versions

    plan, fps, spec = assessment.plan, assessment.fingerprints, assessment.spec
    root = assessment.store_root
    selected = set(plan.order()) if only is None else set(only)
    force = force or set()
    statuses = assessment.statuses
    for sid in selected:
        for up in plan.upstream(sid):
            if up not in selected and not statuses[up].cached:
                raise SelectionError(
                    f"step '{sid}' needs '{up}', which is not selected and has no artifact; select '+{sid}' to run it too"
                )

    from mlspec.store import ArtifactStore

    # Staging folders whose lock no live writer holds were left by a killed run.
    store = ArtifactStore(root)
    store.claim()  # a folder that is not a store is refused before anything is cleaned
    store.clean_tmp(older_than_s=0)
    runs = RunStore(root / "runs.sqlite")
    for sid in _damaged(assessment, store, runs, selected, force):
        fp = fps[sid].digest
        with store.lock(fp):
            problem = store.check(fp, runs.file_hash)
            if problem is None:  # replaced meanwhile by another run
                continue
            where = store.quarantine(fp, problem)
        statuses[sid] = replace(statuses[sid], cached=False, reasons=("artifact damaged",))
        selected.add(sid)  # a damaged input of a selected step is rebuilt too
        if notice:
            notice(f"artifact {fp[:12]} ({sid}) damaged: {problem}; moved to {where}, recomputing")
    run_id = runs.start_run(
        spec_path=str(spec.path) if spec.path else None,
        spec_name=spec.name,
        spec_hash=_spec_hash(spec),
        git_commit=_git_commit(spec.root),
        backend=backend_name,
        versions=versions(),
        argv=argv or [],
    )
    log_dir = root / "logs" / run_id
    result = RunResult(run_id, "succeeded")
    started = time.perf_counter()
    done: set[str] = {
        s for s in plan.order() if s not in selected
    }  # unselected: cached (checked above)
    pending = [s for s in plan.order() if s in selected]
    running: dict[Future[StepResult], str] = {}
    queued: set[str] = set()  # submitted and not finished: what a step may be queued after
    failed = False
    ahead = backend.submits_ahead
    if detach and not ahead:
        raise SelectionError(f"the {backend_name} backend cannot detach: it does not queue jobs")

    def record(sid: str, res: StepResult, status: str) -> None:
        result.results[sid] = res
        step = plan.step(sid)
        runs.record_step(
            run_id,
            step_id=sid,
            kind=step.kind,
            fingerprint=fps[sid].digest,
            parts=fps[sid].parts,
            status=status,
            cache_hit=res.cache_hit,
            seconds=res.seconds,
            error=res.error,
            log_path=res.log_path,
            metrics=res.metrics,
        )
        if progress:
            progress(sid, status, res)

    blocked: set[str] = set()  # downstream of a failed step: never started
    skipped_ahead: list[str] = []  # submitted ahead of a step that then failed

    def handle(sid: str, future: Future[StepResult]) -> None:
        nonlocal failed
        try:
            res = future.result()
        except Exception as exc:  # the backend lost the task (worker died, ...)
            res = StepResult(sid, fps[sid].digest, False, error=f"{type(exc).__name__}: {exc}")
        if res.ok:
            record(sid, res, "cached" if res.cache_hit else "succeeded")
            done.add(sid)
        elif sid in blocked:  # submitted ahead, then cancelled by the scheduler: not run
            skipped_ahead.append(sid)
        else:
            record(sid, res, "failed")
            failed = True
            blocked.update(plan.downstream(sid))

    def submit_ready() -> None:
        """Start every step whose inputs are done; cache hits complete at once.

        As in dbt, a failure skips only the failed step's descendants: independent branches
        still run (a failed gate stops `package`, but the report still shows why).
        """
        progressed = True
        while progressed:
            progressed = False
            for sid in sorted(pending, key=lambda s: (-plan.step(s).priority, position[s])):
                if sid in blocked or not all(
                    p in done or (ahead and p in queued) for p in plan.parents(sid)
                ):
                    continue
                pending.remove(sid)
                progressed = True
                fp = fps[sid].digest
                if sid not in force and statuses[sid].cached:
                    metrics = store.manifest(
                        fp
                    ).metrics  # so records of cached steps keep their metrics
                    record(
                        sid,
                        StepResult(sid, fp, True, 0.0, cache_hit=True, metrics=metrics),
                        "cached",
                    )
                    done.add(sid)
                    continue
                step = plan.step(sid)
                task = StepTask(
                    step_id=sid,
                    kind=step.kind,
                    fingerprint=fp,
                    params=step.params,
                    inputs={key: fps[up].digest for key, up in step.inputs.items()},
                    columns=dict(step.columns),
                    store_root=str(root),
                    spec_root=str(spec.root),
                    log_path=str(log_dir / f"{sid}.log"),
                    force=sid in force,
                    meta={"run_id": run_id},
                    resources=_resources(step.resources, spec.execution),
                )
                if progress:
                    progress(sid, "start", None)
                future = backend.submit(task)
                if future.done():  # inline backends finish in submit
                    handle(sid, future)
                else:
                    running[future] = sid
                    queued.add(sid)

    position = {sid: i for i, sid in enumerate(plan.order())}
    prepare = getattr(backend, "prepare", None)
    if prepare is not None:  # e.g. warm a worker with what the steps to run will import
        prepare(plan, [s for s in pending if s in force or not statuses[s].cached])
    try:
        submit_ready()
        if detach:
            runs.detach_run(run_id)
            result.status, result.seconds = "submitted", time.perf_counter() - started
            return result
        while running:
            finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
            # In plan order, so a failure is handled before its dependents' cancellations.
            for future in sorted(finished, key=lambda f: position[running[f]]):
                sid = running.pop(future)
                queued.discard(sid)
                handle(sid, future)
            submit_ready()
    except KeyboardInterrupt:
        runs.finish_run(run_id, "interrupted")
        raise
    result.skipped = [s for s in plan.order() if s in pending or s in skipped_ahead]
    for sid in result.skipped:
        if progress:
            progress(sid, "skipped", None)
    result.status = "failed" if failed else "succeeded"
    result.seconds = time.perf_counter() - started
    runs.finish_run(run_id, result.status)
    return result


def _damaged(
    a: Assessment, store: ArtifactStore, runs: RunStore, selected: set[str], force: set[str]
) -> list[str]:
    """The stored steps this run would use (selected or read by a selected step) whose
    artifact fails `ArtifactStore.check`: a damaged artifact is a cache miss, never a
    traceback and never loaded. Unchanged files are not read again (the run records'
    authenticated file-hash cache), so a no-change rerun stays cheap."""
    used = {s for s in selected if s not in force}
    used |= {p for s in selected for p in a.plan.parents(s)}
    return [
        sid
        for sid in a.plan.order()
        if sid in used
        and store.has(a.fingerprints[sid].digest)  # cached, or present but not authentic
        and store.check(a.fingerprints[sid].digest, runs.file_hash) is not None
    ]


def _resources(spec_resources: dict, execution: dict | None = None) -> dict:
    """A step's spec resources in the units backends reserve: cores and memory in bytes, and
    the thread count a worker process pins its libraries to (`execution.threads`)."""
    out: dict = {"threads": int((execution or {}).get("threads", 1))}
    if spec_resources.get("num_cpus") is not None:
        out["num_cpus"] = spec_resources["num_cpus"]
    if spec_resources.get("memory_gb") is not None:
        out["memory"] = int(spec_resources["memory_gb"] * 1024**3)
    return out


def _spec_hash(spec: object) -> str:
    from mlspec.compile.fingerprint import digest

    return digest(getattr(spec, "raw", {}))


def _git_commit(folder: Path) -> str | None:
    """The commit of the repository holding the spec, read from .git without running git."""
    for parent in [folder, *folder.parents]:
        head = parent / ".git" / "HEAD"
        if head.is_file():
            try:
                ref = head.read_text().strip()
                if ref.startswith("ref: "):
                    ref_path = parent / ".git" / ref[5:]
                    if ref_path.is_file():
                        return ref_path.read_text().strip()
                    packed = parent / ".git" / "packed-refs"
                    if packed.is_file():
                        for line in packed.read_text().splitlines():
                            if line.endswith(" " + ref[5:]):
                                return line.split()[0]
                    return None
                return ref
            except OSError:
                return None
    return None
