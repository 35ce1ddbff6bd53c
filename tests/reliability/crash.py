"""Suite R2: `kill -9` of a real `mlspec run` at seeded moments, then a rerun.

A moment is (when, how, where): *when* is the start of a step of one kind (its log file
appears), a commit in progress (a staging folder appears under ``tmp/``), or a seeded
fraction of an uninterrupted run's duration; *how* is inline, ``--workers 2`` or the default
(two lanes: in-process plus a side worker); *where* is
the main process only (as the OOM killer does) or the whole process group. After each kill:

- no process of the run survives (pool workers die with their parent), within `GRACE_S`;
- the store holds only whole artifacts (every manifest verifies) and the rerun completes;
- the rerun's artifacts are byte-identical to an uninterrupted run's;
- no run is left ``running`` in the run record.

`run_suite` is called by the test (a few moments) and by ``bench/reliability.py`` (20).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from mlspec.store import ArtifactStore
from tests.conftest import artifacts, mlspec

GRACE_S = 10.0  # a dead parent's workers must be gone by then (the watchdog polls every 1 s)
RUN_TIMEOUT_S = 600.0
KINDS = ("load", "check", "join", "features", "split", "trial", "train", "evaluate", "report")


@dataclass(frozen=True)
class Moment:
    when: str  # "kind:<kind>", "commit" or "fraction:<0..1>"
    workers: int  # 1 inline, 2 a process pool, 0 the default (two lanes)
    group: bool  # kill the whole process group, else the main process only
    delay_s: float  # after `when` is seen

    def __str__(self) -> str:
        where = "group" if self.group else "main"
        return f"{self.when} workers={self.workers} kill={where} +{self.delay_s:.2f}s"


@dataclass
class Outcome:
    moment: Moment
    killed: bool  # False: the run finished before the moment came
    survivors: list[int] = field(default_factory=list)
    identical: bool = False
    differs: list[str] = field(default_factory=list)  # steps whose artifacts differ
    leftovers: list[str] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    seconds_to_reap: float = 0.0

    @property
    def ok(self) -> bool:
        return (
            not self.survivors
            and self.identical
            and not self.leftovers
            and "running" not in self.statuses
        )


def moments(n: int, seed: int) -> list[Moment]:
    """`n` seeded moments; the first ones cover every kind, a commit, both modes, both kills."""
    rng = random.Random(seed)
    whens = [f"kind:{k}" for k in KINDS] + ["commit"]
    out = []
    for i in range(n):
        when = whens[i] if i < len(whens) else rng.choice([*whens, "fraction"])
        if when == "fraction":
            when = f"fraction:{rng.uniform(0.05, 0.95):.2f}"
        out.append(Moment(when, 2 if i % 2 == 0 else 1, i % 4 in (1, 2), rng.uniform(0, 0.3)))
    return out


def _children(pid: int) -> list[int]:
    """Every descendant of `pid` (Linux /proc)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for t in tasks:
            try:
                kids = Path(f"/proc/{p}/task/{t}/children").read_text().split()
            except OSError:
                continue
            for k in map(int, kids):
                out.append(k)
                todo.append(k)
    return out


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has exited


def _seen(moment: Moment, store: Path, started: float, reference_s: float) -> bool:
    if moment.when.startswith("kind:"):
        kind = moment.when.split(":", 1)[1]
        return any(store.glob(f"logs/*/{kind}.*log")) or any(store.glob(f"logs/*/{kind}.log"))
    if moment.when == "commit":
        tmp = store / "tmp"
        return tmp.is_dir() and any(tmp.iterdir())
    fraction = float(moment.when.split(":", 1)[1])
    return time.monotonic() - started >= fraction * reference_s


def _argv(spec: Path, workers: int) -> list[str]:
    chosen = ["--workers", str(workers)] if workers else []
    return [sys.executable, "-m", "mlspec", "run", str(spec), *chosen, "--json"]


def reference(spec: Path) -> tuple[dict[str, dict[str, str]], float]:
    """Artifacts and duration of an uninterrupted inline run (in the spec's own store)."""
    start = time.monotonic()
    mlspec("run", str(spec), "--workers", "1", "--json", check=True, timeout=RUN_TIMEOUT_S)
    return artifacts(spec.parent / ".mlspec"), time.monotonic() - start


def trial(spec: Path, moment: Moment, expected: dict, reference_s: float) -> Outcome:
    """Kill a run of `spec` (with a fresh store) at `moment`; rerun; compare."""
    store = spec.parent / ".mlspec"
    shutil.rmtree(store, ignore_errors=True)
    env = {**os.environ, "NO_COLOR": "1"}
    proc = subprocess.Popen(
        _argv(spec, moment.workers),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own group: `group` kills reach every process of the run
    )
    outcome = Outcome(moment, killed=False)
    try:
        started = time.monotonic()
        while proc.poll() is None and time.monotonic() - started < RUN_TIMEOUT_S:
            if _seen(moment, store, started, reference_s):
                time.sleep(moment.delay_s)
                family = _children(proc.pid)
                if proc.poll() is None:
                    if moment.group:
                        os.killpg(proc.pid, signal.SIGKILL)
                    else:
                        os.kill(proc.pid, signal.SIGKILL)
                    outcome.killed = True
                break
            time.sleep(0.002)
        proc.wait(timeout=RUN_TIMEOUT_S)
        if outcome.killed:
            reap = time.monotonic()
            while any(_alive(p) for p in family) and time.monotonic() - reap < GRACE_S:
                time.sleep(0.05)
            outcome.seconds_to_reap = time.monotonic() - reap
            outcome.survivors = [p for p in family if _alive(p)]
            # The caller's pipes close once every holder is gone (a CI step waits on them).
            proc.communicate(timeout=GRACE_S)
    finally:
        # Never leave anything of ours behind, whatever the assertions say.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        for p in outcome.survivors:
            with contextlib.suppress(ProcessLookupError):
                os.kill(p, signal.SIGKILL)
    # Only whole artifacts are visible (before the rerun cleans anything).
    s = ArtifactStore(store)
    for folder in s.objects.glob("??/*") if s.objects.is_dir() else []:
        if not (folder / "manifest.json").is_file():
            outcome.leftovers.append(f"half-written artifact visible: {folder.name}")
    for fp in s.fingerprints():
        s.open(fp).verify()
    rerun = subprocess.run(
        _argv(spec, moment.workers), env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S
    )
    if rerun.returncode != 0:
        outcome.leftovers.append(f"rerun exited {rerun.returncode}: {rerun.stderr[-2000:]}")
        return outcome
    got = artifacts(store)
    outcome.identical = got == expected
    outcome.differs = sorted(k for k in {*got, *expected} if got.get(k) != expected.get(k))
    tmp = store / "tmp"
    outcome.leftovers += [p.name for p in tmp.iterdir()] if tmp.is_dir() else []
    runs = json.loads(mlspec("runs", "--store", str(store), "--json", check=True).stdout)
    outcome.statuses = [r["status"] for r in runs]
    return outcome


def run_suite(spec: Path, n: int, seed: int = 19) -> list[Outcome]:
    expected, seconds = reference(spec)
    return [trial(spec, m, expected, seconds) for m in moments(n, seed)]
