"""The local backend: in this process, beside one warmed worker process, or in a process pool.

- ``workers`` unset (the default), on a machine with two cores or more: two lanes. Steps run
  in this process (a thread, so the scheduling loop stays free) and, when that lane is busy,
  in one side worker process, started only if two models will fit (`fits_at_once`) and the
  machine has an idle core at the start (`has_idle_core`); otherwise every step runs in
  this process, one at a time (still with the idle cores lent). The side worker is started and warmed (the step and library
  modules the plan will need) as soon as the runner says what will run, so its imports
  overlap the data steps. The runner starts the higher-priority step first, so the models
  take the in-process lane and the baseline the side one. A step in this process may use the
  cores the side worker leaves idle and no other process wants (`cores`), re-read as it runs.
- ``workers: 1``: every step in this process, one at a time.
- ``workers: N > 1``: a pool of N worker processes.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Iterable
from concurrent.futures import Future
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from mlspec.engine.imports import IMPORTING
from mlspec.engine.orphans import die_with_parent
from mlspec.engine.task import StepResult, StepTask, run_task, worker_env

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

    from mlspec.compile.plan import Plan


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _loadavg() -> str | None:
    try:
        return Path("/proc/loadavg").read_text()
    except OSError:  # not Linux
        return None


def machine_idle(total: int, loadavg: str | None = None, own: int | None = None) -> int:
    """Cores no other process's thread wants right now: `total` less the runnable threads of
    /proc/loadavg's fourth field that are not this process's (`own`: its runnable threads,
    the caller included; read from /proc/self/task when not given).

    Why: lending a second core to an OpenMP fit on a machine other processes keep busy makes
    it slower, not faster (seen: XGBoost's 1M-row fit took 56 s on two threads beside three
    other sessions' work, against ~10 s of CPU); its barriers wait for a thread the kernel
    has descheduled. Read between boosting rounds. The fit's own OpenMP thread is often still
    runnable then: counted as another's, it halved the lent rounds on an idle machine (52 of
    103 reads said one core). Where /proc is missing, `total`."""
    text = loadavg if loadavg is not None else _loadavg()
    try:
        runnable = int((text or "").split()[3].split("/")[0])
    except (IndexError, ValueError):
        return total
    if runnable > 1 and own is None:
        own = own_runnable()
    return max(0, total - max(0, runnable - (own or 1)))


def own_runnable() -> int:
    """Threads of this process in state R (running or waiting for a core), the caller
    included; 1 where /proc/self/task cannot be read."""
    count = 0
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:  # not Linux
        return 1
    for tid in tasks:
        try:
            with open(f"/proc/self/task/{tid}/stat", "rb") as f:
                stat = f.read()
        except OSError:  # the thread ended
            continue
        # "tid (name) S ...": the state follows the last ')' (a name may hold one).
        if stat[stat.rfind(b")") + 2 : stat.rfind(b")") + 3] == b"R":
            count += 1
    return max(1, count)


def idle_cores(total: int, want: int, samples: int = 3, pause: float = 0.001) -> int:
    """The most idle cores (`machine_idle`, at most `want`) that any of a few samples,
    `pause` seconds apart, shows: one sample is an instant, and a kernel worker flushing the
    files a step just wrote, or a thread going to sleep between the two reads, makes it say
    busy (seen: evaluation started on one core of two idle ones in one run of three)."""
    import time

    best = 0
    for i in range(samples):
        best = max(best, machine_idle(total))
        if best >= want:
            return want
        if i + 1 < samples:
            time.sleep(pause)
    return best


def has_idle_core(total: int, samples: int = 3) -> bool:
    """Does any of a few samples, 2 ms apart, show a core besides the caller's that no other
    thread wants? A side worker on a machine without one adds its imports to the others'
    work: under three other sessions' load the default spec took 13.4 s on two lanes
    against 10.3 s in-process."""
    return idle_cores(total, 2, samples, pause=0.002) >= 2


# What the in-process lane runs first, while the warm-up imports the rest.
DATA_KINDS = frozenset({"load", "check", "join", "features", "split"})


def _init_worker(threads: int, parent: int | None = None) -> None:
    """Pin library thread pools before polars/numpy load, so results match the inline run;
    and die with the run's process (see `mlspec.engine.orphans`)."""
    for var, value in worker_env(threads).items():
        os.environ.setdefault(var, value)
    if parent is not None:
        die_with_parent(parent)


def _warm(modules: list[str]) -> None:
    """Import what the coming steps import, so the first of them does not wait for it.

    The cyclic garbage collector is paused meanwhile (in the whole process: a second or so)
    and what exists then is frozen (`gc.freeze`): imports allocate hundreds of thousands of
    objects that live as long as the process, and later collections walked them again and
    again. The default spec, 200k rows, 5 interleaved runs: median 3.73 s wall and 5.23 s of
    CPU frozen, against 3.95 s and 5.48 s without (collecting as usual)."""
    import gc
    from importlib import import_module

    collecting = gc.isenabled()
    gc.disable()
    try:
        with IMPORTING:  # the steps' imports wait for these (mlspec.engine.imports)
            for name in modules:
                with suppress(Exception):  # the step that needs it reports it, located
                    import_module(name)
    finally:
        gc.freeze()
        if collecting:
            gc.enable()


def warm_modules(plan: Plan, steps: Iterable[str], side: bool = True) -> list[str]:
    """The step modules (beyond the data steps, which the in-process lane runs first) and
    estimator modules that `steps` will import. For the side worker (`side`), those of the
    lowest-priority steps (the baseline's, which yield to the models': importing XGBoost for
    a dummy model would cost the side core ~0.3 s), or of all of them when all are equal;
    for this process, all of them, the highest priority first."""
    from mlspec.lang.model_types import MODEL_TYPES
    from mlspec.steps.kinds import KINDS

    steps = list(steps)
    low = min((plan.step(s).priority for s in steps), default=0)
    if not side:
        steps.sort(key=lambda s: -plan.step(s).priority)
    elif any(plan.step(s).priority != low for s in steps):
        steps = [s for s in steps if plan.step(s).priority == low]
    out: dict[str, None] = {}
    for sid in steps:
        step = plan.step(sid)
        if step.kind in DATA_KINDS:
            continue
        if step.kind in KINDS:
            out[KINDS[step.kind].module] = None
        model = getattr(step.params, "model", None)
        objective = getattr(step.params, "objective", None)
        if isinstance(model, dict) and isinstance(objective, dict):
            entry = MODEL_TYPES.get(str(model.get("type")))
            est = entry.estimator(objective.get("task", "")) if entry is not None else None
            if est is not None:
                out[est.path.rpartition(".")[0]] = None
    return list(out)


def fits_at_once(plan: Plan, steps: Iterable[str]) -> bool:
    """Are there two model fits (train or trial steps) of the top priority among `steps`?
    Only then does a side worker pay for its imports (~1.5-2 s of CPU on a 2-core machine):
    one model and its baseline ran slower on two lanes than in-process (200k rows, load
    0.5-1: 6.34 s against 5.89 s), the baseline's ~0.4 s being less than the imports."""
    steps = list(steps)
    top = max((plan.step(s).priority for s in steps), default=0)
    fits = [s for s in steps if plan.step(s).kind in ("train", "trial")]
    return sum(plan.step(s).priority == top for s in fits) >= 2


def _spawn_pool(workers: int, threads: int) -> ProcessPoolExecutor:
    # Imported here: multiprocessing costs an inline run ~10 ms.
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # spawn, not fork: polars and xgboost start thread pools that fork would copy mid-use.
    return ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_worker,
        initargs=(threads, os.getpid()),
    )


class LocalBackend:
    name: ClassVar[str] = "local"
    submits_ahead = False

    def __init__(
        self,
        workers: int | None = None,
        threads: int = 1,
        side: bool | None = None,
        **_options: Any,
    ) -> None:
        self.threads = max(1, int(threads))
        # Two lanes: None starts the side worker only if a core is idle; MLSPEC_SIDE_WORKER
        # set to 1 or 0 says always or never (to measure, or where the sampling misjudges).
        if side is None and os.environ.get("MLSPEC_SIDE_WORKER") in ("0", "1"):
            side = os.environ["MLSPEC_SIDE_WORKER"] == "1"
        self.side = side
        self.cores_total = usable_cores()
        self.two_lanes = workers is None and self.cores_total >= 2
        self.workers = 2 if self.two_lanes else max(1, int(workers or 1))
        self._pool: ProcessPoolExecutor | None = None
        if workers is not None and self.workers > 1:
            self._pool = _spawn_pool(self.workers, self.threads)
        # Two lanes: the in-process one, the side worker (started by `prepare`), a queue.
        self._lock = threading.Lock()
        self._queue: deque[tuple[StepTask, Future[StepResult]]] = deque()
        self._here_busy = False
        self._side_busy = False
        self._side_step = False  # a step (not the warm-up) runs on the side worker
        self._side: ProcessPoolExecutor | None = None

    def check(self, plan: Any) -> list[str]:
        return []

    def prepare(self, plan: Plan, steps: list[str]) -> None:
        """Start importing, in a thread of this process, what its steps will import; and
        start and warm the side worker when more than one step will run and (unless `side`
        says) two models will fit (`fits_at_once`) and the machine has an idle core for it;
        else every step runs in-process."""
        if self._pool is None and len(steps) >= 2:
            self._warm_here(plan, steps)
        if not self.two_lanes or len(steps) < 2 or self._side is not None or self.side is False:
            return
        if self.side is None and not (
            fits_at_once(plan, steps) and has_idle_core(self.cores_total)
        ):
            return
        self._side = _spawn_pool(1, self.threads)
        with self._lock:
            self._side_busy = True  # importing: its core is not idle
        warming = self._side.submit(_warm, warm_modules(plan, steps))
        warming.add_done_callback(self._warmed)

    def _warm_here(self, plan: Plan, steps: list[str]) -> None:
        """Import the modules this process's steps will need (scikit-learn, XGBoost: ~1.2 s)
        in a thread while the data steps run: their polars work releases the GIL, so part of
        the imports is done by the time the first model step asks for them (the default spec,
        200k rows, 6 interleaved runs: median 3.87 s against 4.03 s). A step imports its
        module, and the train step its estimators, only once the thread is done
        (`mlspec.engine.imports`): two threads importing one package graph can fail one of
        them."""
        modules = warm_modules(plan, steps, side=False)
        if modules:
            # The data steps' modules now (polars is loaded; ~20 ms), so that their steps do
            # not wait for the warm-up's lock (mlspec.engine.imports).
            from mlspec.steps.kinds import KINDS

            for kind in {plan.step(s).kind for s in steps} & DATA_KINDS:
                with suppress(Exception):  # the step reports it, located
                    _ = KINDS[kind].function
            threading.Thread(target=_warm, args=(modules,), daemon=True, name="mlspec-warm").start()

    def lanes_idle(self) -> int:
        """Cores our lanes leave idle to a step in this process: all but the side worker's
        while it works."""
        return self.cores_total - (self.threads if self._side_busy else 0)

    def cores(self) -> int:
        """Cores a step in this process may use now: what our lanes leave idle, and no more
        than the machine has idle (`idle_cores`): other processes' work counts too."""
        lanes = self.lanes_idle()
        return max(self.threads, idle_cores(self.cores_total, lanes))

    def submit(self, task: StepTask) -> Future[StepResult]:
        if self._pool is not None:
            return self._pool.submit(run_task, task)
        if not self.two_lanes:
            future: Future[StepResult] = Future()
            future.set_result(run_task(task))
            return future
        future = Future()
        with self._lock:
            self._queue.append((task, future))
        self._dispatch()
        return future

    def _dispatch(self) -> None:
        """Start queued steps on free lanes: this process first, then the side worker."""
        while True:
            with self._lock:
                if not self._queue:
                    return
                if not self._here_busy:
                    lane = "here"
                    self._here_busy = True
                elif self._side is not None and not self._side_busy:
                    lane = "side"
                    self._side_busy = self._side_step = True
                else:
                    return
                task, future = self._queue.popleft()
            if lane == "here":
                threading.Thread(
                    target=self._run_here, args=(task, future), daemon=True, name="mlspec-step"
                ).start()
            else:
                assert self._side is not None
                try:
                    inner = self._side.submit(run_task, task)
                except Exception as exc:  # the side worker died (BrokenProcessPool, ...)
                    self._lose_side()
                    future.set_exception(exc)  # the runner reports the step as lost
                    continue
                inner.add_done_callback(lambda f, outer=future: self._side_done(f, outer))

    def _run_here(self, task: StepTask, future: Future[StepResult]) -> None:
        try:
            result = run_task(task, cores=self.cores)
        except BaseException as exc:  # run_task returns a step's failures; this is a crash
            self._freed("here")
            future.set_exception(exc)
            return
        self._freed("here")
        future.set_result(result)

    def _side_done(self, inner: Future[StepResult], outer: Future[StepResult]) -> None:
        exc = inner.exception()
        if exc is not None:  # the worker died under the step: later steps run in-process
            self._lose_side()
            outer.set_exception(exc)
        else:
            outer.set_result(inner.result())
        self._freed("side")

    def _warmed(self, warming: Future[None]) -> None:
        if warming.exception() is not None:  # the side worker died: run in-process only
            self._lose_side()
        self._freed("side")

    def _lose_side(self) -> None:
        with self._lock:
            side, self._side = self._side, None
        if side is not None:
            side.shutdown(wait=False, cancel_futures=True)

    def _freed(self, lane: str) -> None:
        with self._lock:
            if lane == "here":
                self._here_busy = False
            else:
                self._side_busy = self._side_step = False
        self._dispatch()

    def close(self) -> None:
        with self._lock:
            for _, future in self._queue:
                future.cancel()
            self._queue.clear()
            side, stepping = self._side, self._side_step
        if side is not None and not stepping:
            # Idle or still importing: a small plan's steps may all have run in-process
            # before the warm-up ended, and waiting for it would only add its imports.
            for process in list(getattr(side, "_processes", {}).values()):
                process.terminate()
        for pool in (self._pool, side):
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
        self._pool = self._side = None
