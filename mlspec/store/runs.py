"""Run records in SQLite: every run, every step it ran or found cached, and a file-hash cache.

SQLite because it is in the standard library, one file beside the store, and safe for two
processes at once: WAL mode lets readers work while one writer commits, `busy_timeout`
makes a second writer wait instead of failing, and every write is one short
``BEGIN IMMEDIATE`` transaction (taking the write lock up front, so two writers never
deadlock upgrading a read lock).

A run that was killed cannot say so; it stays 'running'. Listing checks the pid recorded
for it (same host only) and marks it 'interrupted' once that process is gone.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from mlspec.store.hashing import RACY_SECONDS, file_digest
from mlspec.store.keys import sign, store_key, verify

SCHEMA_VERSION = 1
RUN_STATUSES = ("running", "succeeded", "failed", "interrupted")
STEP_STATUSES = ("succeeded", "failed", "cached", "skipped")

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id     TEXT PRIMARY KEY,
    spec_path  TEXT,
    spec_name  TEXT,
    spec_hash  TEXT,
    git_commit TEXT,
    backend    TEXT,
    status     TEXT NOT NULL CHECK (status IN {RUN_STATUSES!r}),
    started    TEXT NOT NULL,
    finished   TEXT,
    versions   TEXT NOT NULL DEFAULT '{{}}',
    argv       TEXT NOT NULL DEFAULT '[]',
    pid        INTEGER,
    pid_start  INTEGER,
    hostname   TEXT
);
CREATE INDEX IF NOT EXISTS runs_by_start ON runs (started);
CREATE TABLE IF NOT EXISTS steps (
    run_id      TEXT NOT NULL,
    step_id     TEXT NOT NULL,
    kind        TEXT,
    fingerprint TEXT,
    parts       TEXT,
    status      TEXT NOT NULL CHECK (status IN {STEP_STATUSES!r}),
    cache_hit   INTEGER NOT NULL DEFAULT 0,
    started     TEXT,
    seconds     REAL,
    error       TEXT,
    log_path    TEXT,
    metrics     TEXT NOT NULL DEFAULT '{{}}',
    PRIMARY KEY (run_id, step_id)
);
CREATE INDEX IF NOT EXISTS steps_by_step ON steps (step_id, started);
CREATE TABLE IF NOT EXISTS file_digests (
    path     TEXT PRIMARY KEY,
    size     INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    blake3   TEXT NOT NULL,
    ino      INTEGER,
    ctime_ns INTEGER,
    mac      TEXT
);
"""
# Columns added to file_digests after schema 1 (added in place: an older mlspec still reads
# and writes the table; its rows, without a mac, are simply never trusted).
_ADDED = {"file_digests": ("ino INTEGER", "ctime_ns INTEGER", "mac TEXT")}


class RunStoreError(Exception):
    """The run records cannot be used (written by a newer mlspec, or not a database)."""


class AmbiguousRunId(LookupError):
    """A run id prefix that matches more than one run."""


@dataclass(frozen=True)
class RunRow:
    run_id: str
    spec_path: str | None
    spec_name: str | None
    spec_hash: str | None
    git_commit: str | None
    backend: str | None
    status: str
    started: str
    finished: str | None
    versions: dict[str, Any] = field(default_factory=dict)
    argv: list[str] = field(default_factory=list)
    pid: int | None = None
    hostname: str | None = None


@dataclass(frozen=True)
class StepRow:
    run_id: str
    step_id: str
    kind: str | None
    fingerprint: str | None
    parts: dict[str, Any] | None
    status: str
    cache_hit: bool
    started: str | None
    seconds: float | None
    error: str | None
    log_path: str | None
    metrics: dict[str, Any] = field(default_factory=dict)


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(t: datetime) -> str:
    return t.isoformat(timespec="microseconds")


def _dumps(value: Any) -> str:
    # allow_nan: fingerprint parts may hold a NaN from the spec; Python reads it back.
    return json.dumps(value, sort_keys=True, allow_nan=True, default=str)


def _process_start(pid: int) -> int | None:
    """Start time of a process (Linux clock ticks since boot), to tell a reused pid apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    try:  # the command name (field 2) may hold spaces and parentheses: split after the last ')'
        return int(stat.rsplit(")", 1)[1].split()[19])
    except (IndexError, ValueError):
        return None


def _alive(pid: int, pid_start: int | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    if pid_start is not None:
        now_start = _process_start(pid)
        if now_start is not None and now_start != pid_start:
            return False  # the pid was reused by another process
    return True


class RunStore:
    """The run records at `path` (``<store>/runs.sqlite``); created on first use.

    One connection per instance (opened lazily, reopened after a fork) guarded by a lock, so
    an instance may be shared by threads.
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout_s: float = 30.0) -> None:
        self.path = Path(path)
        self.timeout_s = timeout_s
        self._conn_: sqlite3.Connection | None = None
        self._pid = -1
        self._lock = threading.RLock()
        self._secret: bytes | None = None

    def __repr__(self) -> str:
        return f"RunStore({str(self.path)!r})"

    # ------------------------------------------------------------------ connection

    def _conn(self) -> sqlite3.Connection:
        if self._conn_ is not None and self._pid == os.getpid():
            return self._conn_
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            self.path, timeout=self.timeout_s, isolation_level=None, check_same_thread=False
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.timeout_s * 1000)}")
            self._set_wal(conn)
            conn.execute("PRAGMA synchronous = NORMAL")  # with WAL: consistent, and fast
            self._migrate(conn)
        except BaseException as exc:
            conn.close()
            if isinstance(exc, sqlite3.DatabaseError) and not isinstance(
                exc, sqlite3.OperationalError
            ):
                raise RunStoreError(f"{self.path}: cannot use the run records: {exc}") from exc
            raise
        self._conn_, self._pid = conn, os.getpid()
        return conn

    def _set_wal(self, conn: sqlite3.Connection) -> None:
        deadline = time.monotonic() + self.timeout_s
        while True:
            try:
                conn.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def _migrate(self, conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _SCHEMA.split(";"):  # not executescript: it would commit first
                if statement.strip():
                    conn.execute(statement)
            for table, columns in _ADDED.items():
                have = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
                for column in columns:
                    if column.split()[0] not in have:
                        conn.execute(f"ALTER TABLE {table} ADD COLUMN {column}")
            row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
            version = row[0] if row else None
            if version is None:
                conn.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
            elif version > SCHEMA_VERSION:
                raise RunStoreError(
                    f"{self.path} was written by a newer mlspec (run-record schema {version}, this one "
                    f"reads {SCHEMA_VERSION}); upgrade mlspec or use another --store"
                )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One short write transaction, holding the write lock from its start."""
        with self._lock:
            conn = self._conn()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _query(self, sql: str, args: Iterable[Any] = ()) -> list[dict[str, Any]]:
        with self._lock:
            conn = self._conn()
            cur = conn.execute(sql, tuple(args))
            names = [d[0] for d in cur.description]
            return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    def close(self) -> None:
        with self._lock:
            if self._conn_ is not None and self._pid == os.getpid():
                self._conn_.close()
            self._conn_ = None

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ runs

    def start_run(
        self,
        *,
        spec_path: str | os.PathLike[str] | None,
        spec_name: str | None,
        spec_hash: str | None,
        backend: str | None,
        git_commit: str | None = None,
        versions: dict[str, Any] | None = None,
        argv: list[str] | None = None,
    ) -> str:
        """Record a new run as 'running' (with this process's pid and host); returns its id.

        Ids sort by start time: ``20261122-031500-<6 hex>`` (UTC).
        """
        pid = os.getpid()
        for _ in range(10):
            started = _now()
            run_id = f"{started:%Y%m%d-%H%M%S}-{os.urandom(3).hex()}"
            try:
                with self._write() as conn:
                    conn.execute(
                        "INSERT INTO runs (run_id, spec_path, spec_name, spec_hash, git_commit, backend, status, "
                        "started, versions, argv, pid, pid_start, hostname) VALUES (?,?,?,?,?,?,'running',?,?,?,?,?,?)",
                        (
                            run_id,
                            None if spec_path is None else str(spec_path),
                            spec_name,
                            spec_hash,
                            git_commit,
                            backend,
                            _iso(started),
                            _dumps(versions or {}),
                            _dumps(list(argv or [])),
                            pid,
                            _process_start(pid),
                            platform.node(),
                        ),
                    )
                return run_id
            except sqlite3.IntegrityError:
                continue  # the same second and the same 24 random bits: draw again
        raise RunStoreError("could not allocate a run id")

    def finish_run(self, run_id: str, status: str) -> None:
        """Close a run: 'succeeded', 'failed' or 'interrupted'."""
        if status not in RUN_STATUSES or status == "running":
            raise ValueError(
                f"run status must be one of succeeded, failed, interrupted; not {status!r}"
            )
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE runs SET status = ?, finished = ? WHERE run_id = ?",
                (status, _iso(_now()), run_id),
            )
            if cur.rowcount == 0:
                raise LookupError(f"no run '{run_id}' in {self.path}")

    def detach_run(self, run_id: str) -> None:
        """A run whose steps go on without this process (jobs queued on a batch scheduler): it
        stays 'running' and is not read as 'interrupted' when this process ends."""
        with self._write() as conn:
            conn.execute("UPDATE runs SET pid = NULL, pid_start = NULL WHERE run_id = ?", (run_id,))

    def record_step(
        self,
        run_id: str,
        *,
        step_id: str,
        kind: str | None,
        fingerprint: str | None,
        status: str,
        parts: dict[str, Any] | None = None,
        cache_hit: bool = False,
        started: str | None = None,
        seconds: float | None = None,
        error: str | None = None,
        log_path: str | os.PathLike[str] | None = None,
        metrics: dict[str, Any] | None = None,
    ) -> None:
        """Record what happened to one step in a run (recording it again replaces it).

        `started` defaults to now minus `seconds`, since steps are recorded when they end.
        """
        if status not in STEP_STATUSES:
            raise ValueError(
                f"step status must be one of {', '.join(STEP_STATUSES)}; not {status!r}"
            )
        if started is None:
            started = _iso(_now() - timedelta(seconds=seconds or 0.0))
        with self._write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO steps (run_id, step_id, kind, fingerprint, parts, status, cache_hit, started, "
                "seconds, error, log_path, metrics) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    run_id,
                    step_id,
                    kind,
                    fingerprint,
                    None if parts is None else _dumps(parts),
                    status,
                    int(bool(cache_hit)),
                    started,
                    None if seconds is None else float(seconds),
                    error,
                    None if log_path is None else str(log_path),
                    _dumps(metrics or {}),
                ),
            )

    def _run_row(self, r: dict[str, Any]) -> RunRow:
        if (
            r["status"] == "running"
            and r["pid"] is not None
            and r["hostname"] == platform.node()
            and not _alive(r["pid"], r["pid_start"])
        ):
            with (
                contextlib.suppress(sqlite3.Error),
                self._write() as conn,
            ):  # read-only: report it anyway
                conn.execute(
                    "UPDATE runs SET status = 'interrupted' WHERE run_id = ? AND status = 'running'",
                    (r["run_id"],),
                )
            r = {**r, "status": "interrupted"}
        return RunRow(
            run_id=r["run_id"],
            spec_path=r["spec_path"],
            spec_name=r["spec_name"],
            spec_hash=r["spec_hash"],
            git_commit=r["git_commit"],
            backend=r["backend"],
            status=r["status"],
            started=r["started"],
            finished=r["finished"],
            versions=json.loads(r["versions"] or "{}"),
            argv=json.loads(r["argv"] or "[]"),
            pid=r["pid"],
            hostname=r["hostname"],
        )

    def runs(self, limit: int = 20, *, spec_name: str | None = None) -> list[RunRow]:
        """The newest runs first (optionally of one spec); dead 'running' ones become 'interrupted'."""
        where, args = ("WHERE spec_name = ?", [spec_name]) if spec_name is not None else ("", [])
        rows = self._query(
            f"SELECT * FROM runs {where} ORDER BY started DESC, run_id DESC LIMIT ?",
            [*args, int(limit)],
        )
        return [self._run_row(r) for r in rows]

    def run(self, ref: str) -> RunRow | None:
        """A run by id, by a unique prefix of its id, or 'latest'. None if nothing matches.

        Raises `AmbiguousRunId` when a prefix matches several runs.
        """
        ref = ref.strip()
        if not ref:
            return None
        if ref == "latest":
            rows = self._query("SELECT * FROM runs ORDER BY started DESC, run_id DESC LIMIT 1")
        else:
            rows = self._query("SELECT * FROM runs WHERE run_id = ?", [ref])
            if not rows:
                rows = self._query(
                    "SELECT * FROM runs WHERE substr(run_id, 1, ?) = ? ORDER BY run_id DESC LIMIT 6",
                    [len(ref), ref],
                )
        if len(rows) > 1:
            shown = ", ".join(r["run_id"] for r in rows[:5])
            raise AmbiguousRunId(
                f"run id '{ref}' matches several runs ({shown}{', ...' if len(rows) > 5 else ''}); give more of it"
            )
        return self._run_row(rows[0]) if rows else None

    # ------------------------------------------------------------------ steps

    @staticmethod
    def _step_row(r: dict[str, Any]) -> StepRow:
        return StepRow(
            run_id=r["run_id"],
            step_id=r["step_id"],
            kind=r["kind"],
            fingerprint=r["fingerprint"],
            parts=None if r["parts"] is None else json.loads(r["parts"]),
            status=r["status"],
            cache_hit=bool(r["cache_hit"]),
            started=r["started"],
            seconds=r["seconds"],
            error=r["error"],
            log_path=r["log_path"],
            metrics=json.loads(r["metrics"] or "{}"),
        )

    def steps(self, run_id: str) -> list[StepRow]:
        """The steps of one run, in the order they were recorded."""
        return [
            self._step_row(r)
            for r in self._query("SELECT * FROM steps WHERE run_id = ? ORDER BY rowid", [run_id])
        ]

    def last_step(
        self,
        step_id: str,
        statuses: Iterable[str] = ("succeeded", "cached"),
        *,
        spec_name: str | None = None,
    ) -> StepRow | None:
        """The most recent record of `step_id` with one of `statuses` (for "why will it run?")."""
        wanted = tuple(statuses)
        marks = ",".join("?" * len(wanted))
        sql = f"SELECT s.* FROM steps s JOIN runs r ON r.run_id = s.run_id WHERE s.step_id = ? AND s.status IN ({marks})"
        args: list[Any] = [step_id, *wanted]
        if spec_name is not None:
            sql += " AND r.spec_name = ?"
            args.append(spec_name)
        rows = self._query(sql + " ORDER BY s.started DESC, s.rowid DESC LIMIT 1", args)
        return self._step_row(rows[0]) if rows else None

    # ------------------------------------------------------------------ file hashes

    def file_hash(self, path: str | os.PathLike[str]) -> str:
        """BLAKE3 of a file, hashed once per (path, size, mtime, inode, ctime) across processes.

        Size and mtime alone are what `cp -p`, `rsync -t` and `touch -r` preserve; a change
        made that way still gets a new ctime (no tool sets it) and usually a new inode, so it
        is hashed again. A file modified within `RACY_SECONDS` may change again without its
        stat changing ("racy clean", as git calls it): it is hashed, but not remembered.

        Each row is authenticated with the store key (`keys`): the records live in the store,
        and a forged row would make a changed file look unchanged. Without a key, or if the
        records cannot be written (a read-only store), the file is hashed every time.
        """
        p = Path(path).absolute()
        st = p.stat()
        key = str(p)
        secret = self._key()
        try:
            rows = self._query(
                "SELECT size, mtime_ns, ino, ctime_ns, blake3, mac FROM file_digests WHERE path = ?",
                [key],
            )
        except (sqlite3.Error, RunStoreError, OSError):
            rows = None
        if rows and secret is not None:
            r = rows[0]
            stat = (st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns)
            if (r["size"], r["mtime_ns"], r["ino"], r["ctime_ns"]) == stat and verify(
                secret, _row_text(key, stat, r["blake3"]), r["mac"]
            ):
                return str(r["blake3"])
        digest, _ = file_digest(p)
        after = p.stat()
        stat = (st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns)
        stable = (after.st_size, after.st_mtime_ns, after.st_ino, after.st_ctime_ns) == stat
        settled = time.time() - max(after.st_mtime, after.st_ctime) >= RACY_SECONDS
        if rows is not None and secret is not None and stable and settled:
            with contextlib.suppress(sqlite3.Error, RunStoreError, OSError), self._write() as conn:
                conn.execute(
                    "INSERT OR REPLACE INTO file_digests (path, size, mtime_ns, ino, ctime_ns, blake3, mac) "
                    "VALUES (?,?,?,?,?,?,?)",
                    (key, *stat, digest, sign(secret, _row_text(key, stat, digest))),
                )
        return digest

    def _key(self) -> bytes | None:
        """The store key, if this machine has one (looking never creates it)."""
        if self._secret is None:
            self._secret = store_key(self.path.parent)
        return self._secret


def _row_text(path: str, stat: tuple[int, int, int, int], digest: str) -> str:
    return "\0".join(map(str, (path, *stat, digest)))
