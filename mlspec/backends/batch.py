"""The batch backend: every step a Slurm job (`sbatch`), running `mlspec.engine.step`.

Slurm only places work. The job runs the same `run_task` as the local backend, from a task
file (JSON) beside the step's log; its result comes back as ``TASKFILE.result.json``, its
output goes to the artifact store, so the artifacts are the local backend's bytes. Steps are
submitted ahead: a step whose inputs are still running is queued with
``--dependency=afterok:<their jobs> --kill-on-invalid-dep=yes``, so Slurm starts it when they
succeed and cancels it when one fails, without waiting for this process (which is also what
lets ``mlspec run --detach`` submit a whole plan and return).

Waiting: one thread looks for result files every 0.1 s (a stat per running job) and asks
``squeue`` every ``poll_seconds`` for the state of the jobs without one, which is how a job
that died without a result (cancelled, out of time, killed) is found. ``sacct`` is not used:
without an accounting database (slurmdbd) it only answers "accounting storage is disabled";
``squeue -t all`` shows finished jobs for the cluster's MinJobAge (300 s by default).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shlex
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from mlspec.engine.backend import BackendError
from mlspec.engine.step import read_result, result_path, write_task
from mlspec.engine.task import StepResult, StepTask

START_HINT = (
    "start a single-node Slurm with `sudo backends/slurm/start.sh` (see backends/slurm/README.md)"
)
JOBS_FILE = "jobs.jsonl"  # in a run's log folder: one line per submitted job
LIVE = frozenset(
    {"PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "RESIZING", "REQUEUED",
     "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD", "SIGNALING", "STAGE_OUT", "STOPPED"}
)  # fmt: skip
RESULT_CHECK_S = 0.1  # how often result files are looked for
NO_RESULT_GRACE_S = 5.0  # a job that ended may still be writing its result (a shared FS)
LOG_TAIL_LINES = 15


def _slurm(args: list[str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
    except FileNotFoundError as exc:
        raise BackendError(f"Slurm's `{args[0]}` is not on PATH; {START_HINT}") from exc
    except subprocess.TimeoutExpired as exc:
        raise BackendError(f"`{' '.join(args[:2])}` did not answer in {timeout:.0f} s") from exc


def log_tail(path: str | os.PathLike[str] | None, lines: int = LOG_TAIL_LINES) -> str:
    if not path:
        return ""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 16384))
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def job_states(job_ids: Iterable[str]) -> dict[str, tuple[str, str]]:
    """job id -> (state, reason) for the jobs the controller still knows (finished ones for
    MinJobAge). Raises BackendError when the controller does not answer."""
    ids = [j for j in job_ids if j]
    if not ids:
        return {}
    proc = _slurm(["squeue", "-h", "-t", "all", "-j", ",".join(ids), "-o", "%i|%T|%r"])
    if proc.returncode != 0:
        if "Invalid job id" in proc.stderr:  # one id asked and unknown (purged)
            return {}
        raise BackendError(f"squeue failed: {proc.stderr.strip() or proc.stdout.strip()}")
    out: dict[str, tuple[str, str]] = {}
    for line in proc.stdout.splitlines():
        parts = line.strip().split("|")
        if len(parts) == 3:
            out[parts[0]] = (parts[1], parts[2])
    return out


def describe_end(job_id: str, state: str, reason: str, time_limit: str | None = None) -> str:
    """Why a job ended without a result, in the words a user acts on."""
    if state == "CANCELLED" and reason == "DependencyNeverSatisfied":
        return f"not run: an upstream step failed, so Slurm cancelled job {job_id}"
    if state == "CANCELLED":
        return f"cancelled: job {job_id} was cancelled (scancel) before the step finished"
    if state == "TIMEOUT":
        limit = f" {time_limit}" if time_limit else ""
        return f"job {job_id} hit its time limit{limit}; raise execution.batch.time_limit"
    if state == "OUT_OF_MEMORY":
        return f"job {job_id} ran out of memory; raise the model's resources.memory_gb"
    return f"job {job_id} ended {state} ({reason}) without writing its result"


@dataclass
class _Job:
    job_id: str
    task: StepTask
    task_file: Path
    future: Future[StepResult] = field(default_factory=Future)
    ended: float | None = None  # when squeue first showed it ended (or gone) with no result


def _resource_args(resources: dict[str, Any]) -> list[str]:
    """A task's resources (cores, memory in bytes) as sbatch asks for them: whole cores."""
    args = [f"--cpus-per-task={max(1, math.ceil(float(resources.get('num_cpus') or 1)))}"]
    if resources.get("memory"):
        args.append(f"--mem={math.ceil(resources['memory'] / 2**20)}M")
    return args


class SlurmBackend:
    name: ClassVar[str] = "batch"

    def __init__(
        self,
        partition: str | None = None,
        time_limit: str = "01:00:00",
        account: str | None = None,
        poll_seconds: float = 2.0,
        submit_ahead: bool = True,
        **_options: Any,
    ) -> None:
        if shutil.which("sbatch") is None:
            raise BackendError(
                f"the batch backend needs Slurm, and `sbatch` is not on PATH; {START_HINT}"
            )
        self.partition = partition
        self.time_limit = time_limit
        self.account = account
        self.poll_seconds = float(poll_seconds)
        # Ahead: a step is queued as soon as its inputs are queued (afterok); otherwise the
        # runner submits it once they are done (bench/slurm_overhead.py measures both).
        self.submits_ahead = bool(submit_ahead)
        self._jobs: dict[str, _Job] = {}  # job id -> job still waited for
        self._by_fingerprint: dict[str, _Job] = {}  # every job of this backend
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._detached = False

    # ------------------------------------------------------------------ before a run

    def _common_args(self) -> list[str]:
        args = [f"--time={self.time_limit}"]
        if self.partition:
            args.append(f"--partition={self.partition}")
        if self.account:
            args.append(f"--account={self.account}")
        return args

    def check(self, plan: Any) -> list[str]:
        """What Slurm would refuse, asked before anything is submitted: each distinct
        resource request goes through `sbatch --test-only` (nothing is queued)."""
        from mlspec.engine.runner import _resources  # spec units -> a task's units

        requests: dict[tuple[str, ...], list[str]] = {}
        for sid in plan.order():
            args = (*_resource_args(_resources(plan.step(sid).resources)), *self._common_args())
            requests.setdefault(args, []).append(sid)
        problems = []
        for args, steps in requests.items():
            proc = _slurm(["sbatch", "--test-only", *args, "--wrap", "true"])
            if proc.returncode == 0:
                continue
            answer = " ".join(proc.stderr.split()) or f"exit status {proc.returncode}"
            if "Unable to contact slurm controller" in answer:
                raise BackendError(f"cannot reach the Slurm controller ({answer}); {START_HINT}")
            shown = ", ".join(steps[:3]) + (f" and {len(steps) - 3} more" if len(steps) > 3 else "")
            problems.append(f"Slurm refuses {' '.join(args)} for {shown}: {answer}{self._limits()}")
        return problems

    def _limits(self) -> str:
        """The partition's biggest node, to say what can be asked for."""
        cmd = ["sinfo", "-h", "-o", "%P %c %m"]
        if self.partition:
            cmd[1:1] = ["-p", self.partition]
        try:
            proc = _slurm(cmd, timeout=20)
        except BackendError:
            return ""
        rows = [line.split() for line in proc.stdout.splitlines() if len(line.split()) == 3]
        if self.partition is None:
            rows = [r for r in rows if r[0].endswith("*")] or rows
        if proc.returncode != 0 or not rows:
            return ""
        name = rows[0][0].rstrip("*")
        cpus = max(int(r[1].rstrip("+")) for r in rows)
        mem = max(int(r[2].rstrip("+")) for r in rows)
        return (
            f" (partition {name}: nodes have at most {cpus} CPUs and {mem} MB; lower the"
            " model's resources or choose another execution.batch.partition)"
        )

    # ------------------------------------------------------------------ submission

    def submit(self, task: StepTask) -> Future[StepResult]:
        after: list[str] = []
        for fp in task.inputs.values():
            up = self._by_fingerprint.get(fp)
            if up is None:
                continue  # cached, or done in an earlier run
            # Also after one that failed since the runner looked: Slurm then cancels this
            # job, as it would have had the failure come later.
            done = up.future.done() and up.future.exception() is None
            if not (done and up.future.result().ok):
                after.append(up.job_id)
        log = Path(task.log_path)
        task_file = write_task(task, log.with_name(f"{task.step_id}.task.json"))
        script = f"exec {shlex.quote(sys.executable)} -m mlspec.engine.step {shlex.quote(str(task_file))}"
        cmd = [
            "sbatch",
            "--parsable",
            f"--job-name=mlspec.{task.step_id}",
            f"--output={log}",
            "--open-mode=append",
            f"--chdir={task.spec_root}",
            "--export=ALL",
            "--no-requeue",
            "--kill-on-invalid-dep=yes",
            *_resource_args(task.resources),
            *self._common_args(),
        ]
        if after:
            cmd.append(f"--dependency=afterok:{':'.join(after)}")
        refused: Future[StepResult] = Future()
        try:
            proc = _slurm([*cmd, "--wrap", script])
        except BackendError as exc:
            refused.set_exception(exc)
            return refused
        if proc.returncode != 0:
            refused.set_exception(BackendError(f"sbatch refused the job: {proc.stderr.strip()}"))
            return refused
        job = _Job(proc.stdout.strip().split(";")[0], task, task_file)
        with open(log.with_name(JOBS_FILE), "a", encoding="utf-8") as f:
            f.write(json.dumps({"step": task.step_id, "job": job.job_id, "task": str(task_file),
                                "kind": task.kind, "fingerprint": task.fingerprint}) + "\n")  # fmt: skip
        with self._lock:
            self._jobs[job.job_id] = job
            self._by_fingerprint[task.fingerprint] = job
            if self._thread is None:
                self._thread = threading.Thread(target=self._poll, name="slurm-poll", daemon=True)
                self._thread.start()
        self._wake.set()
        return job.future

    # ------------------------------------------------------------------ waiting

    def _finish(self, job: _Job, result: StepResult) -> None:
        with self._lock:
            self._jobs.pop(job.job_id, None)
        if not job.future.done():
            job.future.set_result(result)

    def _poll(self) -> None:
        """The waiting thread. Should it fail, every waiting future fails with it: a run
        must end with an error, never wait forever on a thread that is gone."""
        try:
            self._poll_loop()
        except BaseException as exc:
            with self._lock:
                jobs, self._jobs = list(self._jobs.values()), {}
            for job in jobs:
                if not job.future.done():
                    job.future.set_exception(
                        BackendError(f"waiting for Slurm jobs failed: {exc!r}")
                    )
            raise

    def _poll_loop(self) -> None:
        last_squeue = 0.0
        while True:
            with self._lock:
                if self._closed:
                    return
                jobs = list(self._jobs.values())
            if not jobs:
                self._wake.wait(1.0)
                self._wake.clear()
                continue
            for job in jobs:
                try:
                    result = read_result(job.task_file)
                except (OSError, ValueError) as exc:
                    result = StepResult(
                        job.task.step_id, job.task.fingerprint, False,
                        error=f"job {job.job_id} left an unreadable result: {exc}",
                        log_path=job.task.log_path,
                    )  # fmt: skip
                if result is not None:
                    if not result.ok and not result.user_error:
                        result = _with_tail(result, job.task.log_path)
                    self._finish(job, result)
            now = time.monotonic()
            waiting = [j for j in jobs if not j.future.done()]
            if waiting and now - last_squeue >= self.poll_seconds:
                last_squeue = now
                self._judge(waiting, now)
            self._wake.wait(RESULT_CHECK_S)
            self._wake.clear()

    def _judge(self, jobs: list[_Job], now: float) -> None:
        """Find the jobs that ended without a result, from the controller's view."""
        try:
            states = job_states(j.job_id for j in jobs)
        except BackendError:
            return  # the controller is busy or restarting: ask again next time
        for job in jobs:
            state, reason = states.get(job.job_id, ("UNKNOWN", "purged"))
            if state in LIVE:
                if state == "PENDING" and reason == "DependencyNeverSatisfied":
                    with contextlib.suppress(BackendError):  # a cluster that keeps them queued
                        _slurm(["scancel", job.job_id])
                continue
            cancelled_upstream = state == "CANCELLED" and reason == "DependencyNeverSatisfied"
            if not cancelled_upstream and state in ("COMPLETED", "FAILED", "UNKNOWN"):
                if job.ended is None:  # its result may still be on its way
                    job.ended = now
                    continue
                if now - job.ended < NO_RESULT_GRACE_S or read_result(job.task_file):
                    continue
            if state == "UNKNOWN":
                error = f"job {job.job_id} is no longer known to Slurm and wrote no result"
            else:
                error = describe_end(job.job_id, state, reason, self.time_limit)
            result = StepResult(
                job.task.step_id,
                job.task.fingerprint,
                False,
                error=error,
                log_path=job.task.log_path,
            )
            self._finish(
                job, result if cancelled_upstream else _with_tail(result, job.task.log_path)
            )

    # ------------------------------------------------------------------ the end

    def detach(self) -> None:
        """Leave the submitted jobs queued: `close` will not cancel them."""
        self._detached = True

    def close(self) -> None:
        with self._lock:
            self._closed = True
            live = list(self._jobs)
            self._jobs.clear()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if live and not self._detached:  # an interrupted run takes its jobs with it
            with contextlib.suppress(BackendError):
                _slurm(["scancel", *live])


def _with_tail(result: StepResult, log_path: str | None) -> StepResult:
    tail = log_tail(log_path)
    if not tail:
        return result
    from dataclasses import replace

    indented = "\n".join("  | " + line for line in tail.splitlines())
    return replace(result, error=f"{result.error}\nlast lines of the log:\n{indented}")


# ---------------------------------------------------------------- a detached run's jobs


@dataclass(frozen=True)
class JobView:
    step_id: str
    job_id: str
    kind: str
    fingerprint: str
    state: str  # PENDING, RUNNING, ... while live; succeeded | failed | cached | skipped at the end
    result: StepResult | None

    @property
    def final(self) -> bool:
        return self.state in ("succeeded", "failed", "cached", "skipped")


def jobs_of_run(log_dir: Path) -> list[JobView]:
    """The jobs a run submitted (from its jobs file) and where each one is now."""
    try:
        lines = (log_dir / JOBS_FILE).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    entries = {}
    for line in lines:
        with contextlib.suppress(ValueError):
            d = json.loads(line)
            entries[d["step"]] = d  # a resubmission of a step replaces the earlier line
    results = {sid: read_result(d["task"]) for sid, d in entries.items()}
    try:
        states = job_states(d["job"] for sid, d in entries.items() if results[sid] is None)
    except BackendError:
        states = {}
    views = []
    for sid, d in entries.items():
        result = results[sid]
        if result is not None:
            state = "failed" if not result.ok else "cached" if result.cache_hit else "succeeded"
        else:
            slurm_state, reason = states.get(d["job"], ("UNKNOWN", ""))
            if slurm_state in LIVE:
                state = slurm_state
            else:
                skipped = slurm_state == "CANCELLED" and reason == "DependencyNeverSatisfied"
                state = "skipped" if skipped else "failed"
                if slurm_state == "UNKNOWN":
                    error = f"job {d['job']} is no longer known to Slurm and wrote no result"
                    if not result_path(d["task"]).parent.exists():
                        error += " (its task folder is gone)"
                else:
                    error = describe_end(d["job"], slurm_state, reason)
                log = str(Path(d["task"]).with_name(f"{sid}.log"))
                result = StepResult(sid, d["fingerprint"], False, error=error, log_path=log)
        views.append(JobView(sid, d["job"], d["kind"], d["fingerprint"], state, result))
    return views


def follow_run(runs: Any, run_id: str, store_root: Path, spec_name: str | None) -> list[JobView]:
    """The jobs of a detached run, now; once every one has ended, their results are recorded
    as a finished run's steps are (and a built package is registered), and the run closes."""
    views = jobs_of_run(store_root / "logs" / run_id)
    if not views or not all(v.final for v in views):
        return views
    recorded = {s.step_id for s in runs.steps(run_id)}
    results = {}
    for v in views:
        if v.state == "skipped" or v.step_id in recorded or v.result is None:
            continue
        r = v.result
        results[v.step_id] = r
        runs.record_step(
            run_id, step_id=v.step_id, kind=v.kind, fingerprint=v.fingerprint, status=v.state,
            cache_hit=r.cache_hit, seconds=r.seconds, error=r.error, log_path=r.log_path,
            metrics=r.metrics,
        )  # fmt: skip
    failed = any(v.state == "failed" for v in views)
    runs.finish_run(run_id, "failed" if failed else "succeeded")
    if not failed and spec_name:
        from mlspec.registry import register_run

        register_run(store_root, spec_name, results, run_id)
    return views
