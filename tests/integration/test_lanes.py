"""The local backend's default: the in-process lane and one warmed side worker; the runner
starts the higher-priority step first; idle cores are lent to the in-process step; and
whatever runs where, artifacts are the same as one step at a time in-process."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from concurrent.futures import wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mlspec.backends import local
from mlspec.backends.local import LocalBackend, machine_idle, own_runnable, usable_cores
from mlspec.cli import main
from mlspec.engine.task import StepTask
from tests import lane_steps

pytestmark = pytest.mark.skipif(usable_cores() < 2, reason="two lanes need two cores")


@dataclass
class _Step:
    kind: str
    params: Any
    priority: int = 0


class _Plan:
    """What `prepare` reads of a plan: each step's kind and params."""

    def __init__(self, steps: dict[str, _Step]) -> None:
        self.steps = steps

    def step(self, sid: str) -> _Step:
        return self.steps[sid]


def _task(tmp: Path, sid: str, params: lane_steps.TestLanesParams) -> StepTask:
    return StepTask(
        step_id=sid,
        kind=lane_steps.KIND,
        fingerprint=hashlib.sha256(sid.encode()).hexdigest(),
        params=params,
        inputs={},
        store_root=str(tmp / "store"),
        spec_root=str(tmp),
        log_path=str(tmp / "logs" / f"{sid}.log"),
    )


def test_a_side_step_overlaps_the_in_process_one_which_gets_its_core_back(
    tmp_path: Path,
) -> None:
    long = lane_steps.TestLanesParams(
        marker=str(tmp_path / "long.json"), wait_for=str(tmp_path / "short.json")
    )
    short = lane_steps.TestLanesParams(marker=str(tmp_path / "short.json"))
    plan = _Plan({"long": _Step(lane_steps.KIND, long), "short": _Step(lane_steps.KIND, short)})
    backend = LocalBackend(threads=1, side=True)
    try:
        backend.prepare(plan, ["long", "short"])  # type: ignore[arg-type]
        assert backend.lanes_idle() == usable_cores() - 1  # the side worker is warming up
        futures = [
            backend.submit(_task(tmp_path, "long", long)),
            backend.submit(_task(tmp_path, "short", short)),
        ]
        wait(futures, timeout=120)
        assert all(f.result().ok for f in futures), [f.result().error for f in futures]
        assert backend.lanes_idle() == usable_cores()  # both lanes idle: every core
    finally:
        backend.close()
    seen_long = json.loads((tmp_path / "long.json").read_text())
    seen_short = json.loads((tmp_path / "short.json").read_text())
    assert seen_long["pid"] == os.getpid()  # the first step takes the in-process lane
    assert seen_short["pid"] != os.getpid()  # the second one the side worker...
    assert seen_short["start"] < seen_long["end"]  # ...while the first one runs
    assert seen_long["cores"] == [1]  # lent nothing while the side worker works


@pytest.mark.parametrize(
    ("loadavg", "idle"),
    [
        ("0.10 0.20 0.30 1/300 999", 2),  # only the caller runs: both cores are its
        ("1.90 1.50 1.00 2/300 999", 1),  # one other thread runs
        ("7.50 7.00 6.00 6/310 999", 0),  # a busy machine: nothing to lend
        ("garbled", 2),  # unreadable: the lanes alone decide
    ],
)
def test_machine_idle_counts_other_runnable_threads(loadavg: str, idle: int) -> None:
    assert machine_idle(2, loadavg, own=1) == idle


def test_this_process_runnable_threads_are_not_another_process_work() -> None:
    """An XGBoost fit's own OpenMP thread, still runnable between rounds, is not work of
    another process: counted as such it halved the rounds a fit ran on lent cores."""
    assert machine_idle(2, "1.90 1.50 1.00 3/300 999", own=3) == 2
    assert machine_idle(2, "1.90 1.50 1.00 3/300 999", own=2) == 1
    stop = threading.Event()
    data = b"x" * (1 << 25)

    def hash_until_stopped() -> None:  # hashlib releases the GIL: the thread stays runnable
        while not stop.is_set():
            hashlib.sha256(data).digest()

    workers = [threading.Thread(target=hash_until_stopped) for _ in range(2)]
    for w in workers:
        w.start()
    try:
        seen = max(own_runnable() for _ in range(50))
    finally:
        stop.set()
        for w in workers:
            w.join()
    assert seen >= 2  # the caller and at least one hashing thread


def test_idle_cores_takes_the_best_of_a_few_samples(monkeypatch: pytest.MonkeyPatch) -> None:
    """One sample can catch a kernel worker or a thread going to sleep: the best of three."""
    samples = iter(["0.5 0.5 0.5 3/200 1", "0.5 0.5 0.5 1/200 1", "0.5 0.5 0.5 3/200 1"])
    monkeypatch.setattr(local, "_loadavg", lambda: next(samples))
    monkeypatch.setattr(local, "own_runnable", lambda: 1)
    assert local.idle_cores(2, 2) == 2
    monkeypatch.setattr(local, "_loadavg", lambda: "7.5 7.0 6.0 6/310 1")
    assert local.idle_cores(2, 2) == 0


def _files(store: Path) -> dict[str, dict[str, str]]:
    out = {}
    for manifest in store.glob("objects/*/*/manifest.json"):
        m = json.loads(manifest.read_text())
        out[m["step"]] = {name: f["blake3"] for name, f in m["files"].items()}
    return out


QUIET = "0.05 0.10 0.10 1/200 4242"  # /proc/loadavg with nothing runnable but the reader
BUSY = "7.50 7.00 6.00 6/310 4242"


@pytest.mark.parametrize(("loadavg", "started"), [(QUIET, True), (BUSY, False)])
def test_the_side_worker_starts_only_when_a_core_is_idle(
    monkeypatch: pytest.MonkeyPatch, loadavg: str, started: bool
) -> None:
    monkeypatch.setattr(local, "_loadavg", lambda: loadavg)  # the OS's view of the machine
    fit = _Step("train", lane_steps.TestLanesParams(marker="-"))
    backend = LocalBackend(threads=1)
    try:
        backend.prepare(_Plan({"a": fit, "b": fit}), ["a", "b"])  # type: ignore[arg-type]
        assert (backend._side is not None) is started
    finally:
        backend.close()


def test_one_model_and_its_baseline_stay_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """The side worker's imports cost more than the baseline it would take over."""
    monkeypatch.setattr(local, "_loadavg", lambda: QUIET)
    params = lane_steps.TestLanesParams(marker="-")
    plan = _Plan(
        {
            "train.o.gbt": _Step("train", params),
            "train.o.baseline": _Step("train", params, priority=-1),
            "evaluate.o.baseline": _Step("evaluate", params, priority=-1),
        }
    )
    backend = LocalBackend(threads=1)
    try:
        backend.prepare(plan, list(plan.steps))  # type: ignore[arg-type]
        assert backend._side is None
    finally:
        backend.close()


def test_models_start_before_the_baseline_and_two_lanes_match_one(
    quickstart: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert main(["run", str(quickstart), "--store", str(tmp_path / "one"), "--workers", "1"]) == 0
    finished = [
        line.split()[1] for line in capsys.readouterr().err.splitlines() if line.startswith("✓")
    ]
    trains = [s for s in finished if s.startswith("train.")]
    assert trains[-1] == "train.diagnosis.baseline", trains  # in-process: finish = start order
    monkeypatch.setattr(local, "_loadavg", lambda: QUIET)  # so the side worker starts
    assert main(["run", str(quickstart), "--store", str(tmp_path / "two")]) == 0
    assert _files(tmp_path / "two") == _files(tmp_path / "one")


def test_a_dead_side_worker_leaves_every_step_to_the_in_process_lane(tmp_path: Path) -> None:
    """The side worker killed (the OOM killer, say) while it warms up: the backend stops
    using it, and the steps still run, in this process, instead of waiting for it."""
    import signal
    import time

    steps = {sid: lane_steps.TestLanesParams(marker=str(tmp_path / f"{sid}.json")) for sid in "ab"}
    plan = _Plan({sid: _Step(lane_steps.KIND, p) for sid, p in steps.items()})
    backend = LocalBackend(threads=1, side=True)
    try:
        backend.prepare(plan, list(steps))  # type: ignore[arg-type]
        assert backend._side is not None
        deadline = time.monotonic() + 30
        while not backend._side._processes and time.monotonic() < deadline:
            time.sleep(0.01)
        for pid in list(backend._side._processes):
            os.kill(pid, signal.SIGKILL)
        while backend._side is not None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert backend._side is None, "the dead side worker was not noticed"
        futures = [backend.submit(_task(tmp_path, sid, p)) for sid, p in steps.items()]
        wait(futures, timeout=60)
        assert all(f.result().ok for f in futures)
    finally:
        backend.close()
    for sid in steps:
        assert json.loads((tmp_path / f"{sid}.json").read_text())["pid"] == os.getpid()


def test_closing_does_not_wait_for_a_warm_up_no_step_needs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A small plan's steps can all finish in-process before the side worker is warm: the
    run then ends at once instead of waiting for imports nothing will use."""
    import time

    from tests import lane_steps_slow

    monkeypatch.setenv("MLSPEC_TEST_SLOW_WARM", str(os.getpid()))
    step = _Step(lane_steps_slow.KIND, lane_steps.TestLanesParams(marker="-"))
    backend = LocalBackend(threads=1, side=True)
    backend.prepare(_Plan({"a": step, "b": step}), ["a", "b"])  # type: ignore[arg-type]
    deadline = time.monotonic() + 30
    while not getattr(backend._side, "_processes", None) and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.5)  # the worker is importing (sleeping in lane_steps_slow)
    start = time.monotonic()
    backend.close()
    assert time.monotonic() - start < 10


def test_a_spec_without_workers_gets_two_lanes(
    quickstart: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`execution.workers` unset means two lanes, as the language reference says (the schema
    once filled in 1, and every default run was one step at a time in-process)."""
    spawned: list[int] = []
    real = local._spawn_pool

    def spawn(workers: int, threads: int) -> Any:
        spawned.append(workers)
        return real(workers, threads)

    monkeypatch.setattr(local, "_spawn_pool", spawn)
    monkeypatch.setattr(local, "_loadavg", lambda: QUIET)
    assert main(["run", str(quickstart), "--store", str(tmp_path / "store")]) == 0
    assert spawned == [1]  # the side worker


def test_this_process_imports_what_its_steps_need_while_the_data_steps_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`prepare` starts a thread importing the modules of the steps to run, models first,
    also when no side worker starts."""
    warmed: list[list[str]] = []
    done = threading.Event()

    def warm(modules: list[str]) -> None:
        warmed.append(modules)
        done.set()

    monkeypatch.setattr(local, "_warm", warm)
    monkeypatch.setattr(local, "_loadavg", lambda: BUSY)  # no side worker
    fit = _Step("train", lane_steps.TestLanesParams(marker="-"), priority=1)
    load = _Step("load", lane_steps.TestLanesParams(marker="-"))
    backend = LocalBackend(threads=1)
    try:
        backend.prepare(_Plan({"l": load, "a": fit}), ["l", "a"])  # type: ignore[arg-type]
        assert done.wait(10)
        assert backend._side is None
        assert warmed == [["mlspec.steps.train"]]
    finally:
        backend.close()


def test_warming_freezes_what_its_imports_made_and_collects_again_after() -> None:
    """The collector is paused while importing, then the imports' objects are frozen (later
    collections skip them) and collection goes on."""
    import gc

    gc.unfreeze()
    try:
        assert gc.isenabled()
        local._warm(["json", "mlspec.no_such_module"])  # a missing module is the step's to report
        assert gc.get_freeze_count() > 0
        assert gc.isenabled()
    finally:
        gc.unfreeze()


def test_a_step_module_is_not_imported_beside_the_warm_up() -> None:
    """Two threads importing one package graph can fail one of them: a step's module waits
    while another thread holds `IMPORTING`; one already imported does not."""
    import subprocess
    import sys

    probe = (
        "import threading, time\n"
        "from mlspec.engine.imports import IMPORTING\n"
        "from mlspec.steps.kinds import KINDS\n"
        "KINDS['split'].function\n"
        "held = threading.Event()\n"
        "def warm():\n"
        "    with IMPORTING:\n"
        "        held.set()\n"
        "        time.sleep(0.5)\n"
        "threading.Thread(target=warm).start()\n"
        "held.wait()\n"
        "t = time.perf_counter(); KINDS['split'].function; imported = time.perf_counter() - t\n"
        "t = time.perf_counter(); KINDS['gate'].function; new = time.perf_counter() - t\n"
        "print(imported, new)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    imported, new = map(float, out.stdout.split())
    assert imported < 0.2  # in sys.modules already: no wait
    assert new >= 0.3  # waited for the warm-up to let go
