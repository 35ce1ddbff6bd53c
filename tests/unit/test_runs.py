"""Run records: runs and steps round-trip, id look-ups, the file-hash cache, dead runs."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from blake3 import blake3

import mlspec.store.runs as runs_mod
from mlspec.store import AmbiguousRunId, RunRow, RunStore, RunStoreError, StepRow, versions

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def db(tmp_path: Path) -> RunStore:
    return RunStore(tmp_path / "store" / "runs.sqlite")


def start(db: RunStore, name: str = "feed-ranking", **kw: object) -> str:
    args: dict[str, object] = {
        "spec_path": "/p/spec.yaml",
        "spec_name": name,
        "spec_hash": "abc",
        "backend": "local",
        "git_commit": None,
        "versions": {"python": "3.11"},
        "argv": ["run", "spec.yaml"],
    }
    args.update(kw)
    return db.start_run(**args)  # type: ignore[arg-type]


def set_column(db: RunStore, run_id: str, column: str, value: object) -> None:
    with sqlite3.connect(db.path) as conn:
        conn.execute(f"UPDATE runs SET {column} = ? WHERE run_id = ?", (value, run_id))


# ----------------------------------------------------------------------------- runs and steps


def test_created_on_first_use_with_wal_and_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "runs.sqlite"
    db = RunStore(path)
    assert not path.exists()
    assert db.runs() == []
    assert path.is_file()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [
            (runs_mod.SCHEMA_VERSION,)
        ]
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"runs", "steps", "file_digests", "schema_version"} <= tables
    RunStore(path).runs()  # opening again does not add a second version row
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM schema_version").fetchone()[0] == 1


def test_run_and_steps_round_trip(db: RunStore) -> None:
    run_id = start(db)
    assert re.fullmatch(r"\d{8}-\d{6}-[0-9a-f]{6}", run_id)
    row = db.run(run_id)
    assert isinstance(row, RunRow)
    assert row.status == "running" and row.finished is None
    assert (
        row.spec_name == "feed-ranking"
        and row.spec_path == "/p/spec.yaml"
        and row.backend == "local"
    )
    assert row.versions == {"python": "3.11"} and row.argv == ["run", "spec.yaml"]
    assert row.pid == os.getpid() and row.git_commit is None

    parts = {"kind": "load", "params": "p", "reads": {"x": float("nan")}}
    db.record_step(
        run_id,
        step_id="load.posts",
        kind="load",
        fingerprint="f1",
        parts=parts,
        status="succeeded",
        seconds=1.5,
        log_path=Path("/l/load.log"),
        metrics={"rows": 10.0},
    )
    db.record_step(
        run_id,
        step_id="check.posts",
        kind="check",
        fingerprint="f2",
        status="cached",
        cache_hit=True,
        seconds=0.0,
    )
    db.record_step(
        run_id,
        step_id="train.q.gbt",
        kind="train",
        fingerprint="f3",
        status="failed",
        error="boom\ntrace",
    )
    db.record_step(run_id, step_id="gate", kind="gate", fingerprint="f4", status="skipped")
    db.finish_run(run_id, "failed")

    row = db.run(run_id)
    assert (
        row is not None
        and row.status == "failed"
        and row.finished is not None
        and row.finished >= row.started
    )
    steps = db.steps(run_id)
    assert [s.step_id for s in steps] == ["load.posts", "check.posts", "train.q.gbt", "gate"]
    load = steps[0]
    assert isinstance(load, StepRow)
    assert (
        load.parts is not None
        and load.parts["kind"] == "load"
        and load.parts["reads"]["x"] != load.parts["reads"]["x"]
    )  # NaN kept
    assert load.metrics == {"rows": 10.0} and load.seconds == 1.5 and load.log_path == "/l/load.log"
    assert load.started is not None and load.started < row.finished
    assert steps[1].cache_hit is True and steps[1].parts is None
    assert steps[2].error == "boom\ntrace" and steps[2].status == "failed"


def test_recording_a_step_again_replaces_it(db: RunStore) -> None:
    run_id = start(db)
    db.record_step(run_id, step_id="a", kind="k", fingerprint="f", status="failed", error="x")
    db.record_step(run_id, step_id="a", kind="k", fingerprint="f", status="succeeded")
    assert [(s.step_id, s.status) for s in db.steps(run_id)] == [("a", "succeeded")]


def test_statuses_are_checked(db: RunStore) -> None:
    run_id = start(db)
    with pytest.raises(ValueError, match="step status"):
        db.record_step(run_id, step_id="a", kind="k", fingerprint="f", status="done")
    with pytest.raises(ValueError, match="run status"):
        db.finish_run(run_id, "running")
    with pytest.raises(LookupError, match="no run"):
        db.finish_run("20200101-000000-000000", "succeeded")


def test_runs_are_newest_first_and_filtered(db: RunStore) -> None:
    ids = [start(db, name="a" if i % 2 else "b") for i in range(5)]
    assert [r.run_id for r in db.runs()] == ids[::-1]
    assert [r.run_id for r in db.runs(2)] == ids[::-1][:2]
    assert [r.run_id for r in db.runs(spec_name="a")] == [ids[3], ids[1]]


# ----------------------------------------------------------------------------- look-ups


def test_latest_prefix_and_ambiguous_ids(db: RunStore) -> None:
    assert db.run("latest") is None
    first, second = start(db), start(db)
    latest = db.run("latest")
    assert latest is not None and latest.run_id == second
    set_column(db, first, "run_id", "20261122-031500-aaaaaa")
    set_column(db, second, "run_id", "20261122-031500-aabbbb")
    row = db.run("20261122-031500-aab")
    assert row is not None and row.run_id == "20261122-031500-aabbbb"
    row = db.run("20261122-031500-aaaaaa")
    assert row is not None and row.run_id == "20261122-031500-aaaaaa"
    with pytest.raises(AmbiguousRunId, match="matches several runs") as info:
        db.run("20261122-031500-aa")
    assert "aaaaaa" in str(info.value) and "aabbbb" in str(info.value)
    assert db.run("2027") is None and db.run("") is None
    assert db.run("%") is None and db.run("_") is None  # no LIKE wildcards


def test_last_step_is_the_latest_success(db: RunStore) -> None:
    assert db.last_step("train.q") is None
    r1 = start(db, name="a")
    db.record_step(
        r1,
        step_id="train.q",
        kind="train",
        fingerprint="f1",
        parts={"v": 1},
        status="succeeded",
        seconds=3,
    )
    db.finish_run(r1, "succeeded")
    r2 = start(db, name="a")
    db.record_step(
        r2, step_id="train.q", kind="train", fingerprint="f2", parts={"v": 2}, status="cached"
    )
    db.finish_run(r2, "succeeded")
    r3 = start(db, name="b")
    db.record_step(
        r3,
        step_id="train.q",
        kind="train",
        fingerprint="f3",
        parts={"v": 3},
        status="failed",
        error="x",
    )
    db.finish_run(r3, "failed")

    last = db.last_step("train.q")
    assert (
        last is not None
        and last.fingerprint == "f2"
        and last.run_id == r2
        and last.parts == {"v": 2}
    )
    failed = db.last_step("train.q", statuses=("failed",))
    assert failed is not None and failed.fingerprint == "f3"
    assert db.last_step("train.q", spec_name="b") is None
    only_a = db.last_step("train.q", ("succeeded",), spec_name="a")
    assert only_a is not None and only_a.fingerprint == "f1"


# ----------------------------------------------------------------------------- file hashes


@pytest.fixture
def hashing_calls(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    calls: list[Path] = []
    real = runs_mod.file_digest

    def counting(path: Path) -> tuple[str, int]:
        calls.append(Path(path))
        return real(path)

    monkeypatch.setattr(runs_mod, "file_digest", counting)
    return calls


def set_mtime(path: Path, seconds_ago: float) -> None:
    t = time.time() - seconds_ago
    os.utime(path, (t, t))


@pytest.fixture
def settled_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A file counts as settled however recent its ctime (which no test can set back), and
    the store key is this test's own."""
    monkeypatch.setattr(runs_mod, "RACY_SECONDS", 0.0)
    monkeypatch.setenv("MLSPEC_STORE_KEY", "k" * 64)


@pytest.mark.usefixtures("settled_at_once")
def test_file_hash_is_cached_per_size_and_mtime(
    db: RunStore, tmp_path: Path, hashing_calls: list[Path]
) -> None:
    data = tmp_path / "posts.csv"
    data.write_bytes(b"id,x\n1,2\n")
    set_mtime(data, 3600)
    expected = blake3(b"id,x\n1,2\n").hexdigest()
    assert db.file_hash(data) == expected and len(hashing_calls) == 1
    assert db.file_hash(data) == expected and len(hashing_calls) == 1  # hit
    assert (
        RunStore(db.path).file_hash(str(data)) == expected and len(hashing_calls) == 1
    )  # hit, another process

    data.write_bytes(b"id,x\n1,3\n")  # same size, new content, new mtime
    set_mtime(data, 1800)
    changed = blake3(b"id,x\n1,3\n").hexdigest()
    assert db.file_hash(data) == changed and len(hashing_calls) == 2  # miss on mtime change
    assert db.file_hash(data) == changed and len(hashing_calls) == 2
    with sqlite3.connect(db.path) as conn:
        assert conn.execute("SELECT count(*) FROM file_digests").fetchone()[0] == 1


@pytest.mark.usefixtures("settled_at_once")
@pytest.mark.parametrize("how", ["touch -r", "cp -p", "os.utime ns"])
def test_a_change_that_keeps_size_and_mtime_is_seen(
    db: RunStore, tmp_path: Path, hashing_calls: list[Path], how: str
) -> None:
    """`cp -p`, `rsync -t` and `touch -r` keep size and mtime: the cache used to answer with
    the old digest ("0 ran, 30 cached" over changed data). The ctime they cannot keep."""
    data, other = tmp_path / "posts.csv", tmp_path / "other.csv"
    data.write_bytes(b"id,x\n1,2\n")
    set_mtime(data, 3600)
    before = data.stat()
    assert db.file_hash(data) == blake3(b"id,x\n1,2\n").hexdigest()
    time.sleep(0.01)  # the next ctime is another clock tick
    if how == "cp -p":
        other.write_bytes(b"id,x\n1,3\n")
        os.utime(other, ns=(before.st_atime_ns, before.st_mtime_ns))
        subprocess.run(["cp", "-p", str(other), str(data)], check=True)
    else:
        data.write_bytes(b"id,x\n1,3\n")
        if how == "touch -r":
            other.write_bytes(b"")
            os.utime(other, ns=(before.st_atime_ns, before.st_mtime_ns))
            subprocess.run(["touch", "-r", str(other), str(data)], check=True)
        else:
            os.utime(data, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = data.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    assert db.file_hash(data) == blake3(b"id,x\n1,3\n").hexdigest()
    assert len(hashing_calls) == 2


@pytest.mark.usefixtures("settled_at_once")
def test_a_forged_cache_row_is_not_trusted(
    db: RunStore, tmp_path: Path, hashing_calls: list[Path]
) -> None:
    """The records live in the store: a row written by anyone but mlspec (no valid mac) is
    ignored, so a store writer cannot make changed data look unchanged."""
    data = tmp_path / "posts.csv"
    data.write_bytes(b"id,x\n1,2\n")
    set_mtime(data, 3600)
    real = db.file_hash(data)
    with sqlite3.connect(db.path) as conn:
        conn.execute("UPDATE file_digests SET blake3 = ?", ("f" * 64,))
    assert db.file_hash(data) == real and len(hashing_calls) == 2


def test_a_file_written_just_now_is_not_cached(
    db: RunStore, tmp_path: Path, hashing_calls: list[Path]
) -> None:
    data = tmp_path / "fresh.csv"
    data.write_text("a\n")
    db.file_hash(data)
    db.file_hash(data)
    assert len(hashing_calls) == 2  # could still change within the same mtime tick


def test_file_hash_of_a_missing_file_raises(db: RunStore, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        db.file_hash(tmp_path / "nope.csv")


def test_file_hash_works_when_the_records_cannot_be_opened(tmp_path: Path) -> None:
    data = tmp_path / "d.csv"
    data.write_text("x")
    (tmp_path / "not-a-db").write_text("this is not sqlite" * 100)
    db = RunStore(tmp_path / "not-a-db")
    assert db.file_hash(data) == blake3(b"x").hexdigest()


# ----------------------------------------------------------------------------- dead runs


def test_run_of_a_dead_process_becomes_interrupted(db: RunStore) -> None:
    code = (
        "import os, sys\n"
        "from mlspec.store import RunStore\n"
        "db = RunStore(sys.argv[1])\n"
        "print(db.start_run(spec_path=None, spec_name='s', spec_hash='h', backend='local'), flush=True)\n"
        "os._exit(0)\n"  # dies without finishing the run
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(db.path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    dead = out.stdout.strip()
    alive = start(db)  # this process: still running
    elsewhere = start(db)
    set_column(db, elsewhere, "hostname", "another-host")  # cannot check another host's pids

    statuses = {r.run_id: r.status for r in db.runs()}
    assert statuses == {dead: "interrupted", alive: "running", elsewhere: "running"}
    with sqlite3.connect(db.path) as conn:  # stored, not only shown
        assert conn.execute("SELECT status FROM runs WHERE run_id = ?", (dead,)).fetchone() == (
            "interrupted",
        )
    row = db.run(dead)
    assert row is not None and row.status == "interrupted"


def test_a_reused_pid_does_not_keep_a_run_alive(db: RunStore) -> None:
    run_id = start(db)
    if runs_mod._process_start(os.getpid()) is None:
        pytest.skip("no /proc: process start times are unknown")
    set_column(db, run_id, "pid_start", 1)  # our pid, but a different process start: reused
    row = db.run(run_id)
    assert row is not None and row.status == "interrupted"


def test_finished_runs_are_left_alone(db: RunStore) -> None:
    run_id = start(db)
    db.finish_run(run_id, "succeeded")
    set_column(db, run_id, "pid", 2**22 + 12345)  # no such process
    row = db.run(run_id)
    assert row is not None and row.status == "succeeded"


# ----------------------------------------------------------------------------- robustness


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite"
    RunStore(path).runs()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE schema_version SET version = ?", (runs_mod.SCHEMA_VERSION + 1,))
    with pytest.raises(RunStoreError, match="newer mlspec"):
        RunStore(path).runs()


def test_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite"
    path.write_text("hello" * 1000)
    with pytest.raises(RunStoreError, match="cannot use the run records"):
        RunStore(path).runs()


def test_two_processes_record_at_once(db: RunStore) -> None:
    db.runs()  # create it first; the workers also race to create it in the next test
    code = (
        "import sys\n"
        "from mlspec.store import RunStore\n"
        "db = RunStore(sys.argv[1])\n"
        "for i in range(20):\n"
        "    run = db.start_run(spec_path=None, spec_name=sys.argv[2], spec_hash='h', backend='local')\n"
        "    for j in range(10):\n"
        "        db.record_step(run, step_id=f's{j}', kind='k', fingerprint='f', status='succeeded', seconds=0.1)\n"
        "        db.file_hash(sys.argv[3])\n"
        "    db.finish_run(run, 'succeeded')\n"
    )
    data = db.path.parent / "d.csv"
    data.write_text("x")
    set_mtime(data, 3600)
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(db.path), name, str(data)], cwd=ROOT)
        for name in ("a", "b")
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    rows = db.runs(100)
    assert len(rows) == 40 and {r.status for r in rows} == {"succeeded"}
    assert all(len(db.steps(r.run_id)) == 10 for r in rows)


def test_two_processes_create_the_records_at_once(tmp_path: Path) -> None:
    path = tmp_path / "new" / "runs.sqlite"
    code = (
        "import sys\n"
        "from mlspec.store import RunStore\n"
        "db = RunStore(sys.argv[1])\n"
        "db.finish_run(db.start_run(spec_path=None, spec_name='s', spec_hash='h', backend='local'), 'succeeded')\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code, str(path)], cwd=ROOT) for _ in range(4)]
    assert [p.wait(timeout=120) for p in procs] == [0] * 4
    assert len(RunStore(path).runs()) == 4


def test_instance_survives_close_and_reopens(db: RunStore) -> None:
    run_id = start(db)
    db.close()
    assert db.run(run_id) is not None
    with RunStore(db.path) as other:
        assert other.run("latest") is not None


# ----------------------------------------------------------------------------- versions


def test_versions_read_metadata_only() -> None:
    v = versions()
    assert {"python", "platform", "mlspec", "polars", "numpy", "scikit-learn", "xgboost"} <= set(v)
    assert v["python"].count(".") == 2 and all(isinstance(x, str) for x in v.values())
    v["python"] = "changed"
    assert versions()["python"] != "changed"  # a copy each time
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from mlspec.store.versions import versions; versions(); "
            "print([m for m in ('polars', 'numpy', 'sklearn', 'xgboost', 'ray') if m in sys.modules])",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "[]"
