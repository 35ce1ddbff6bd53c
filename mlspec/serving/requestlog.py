"""Request logging for monitoring: the rows a server scored, sampled, as Parquet files.

Opt-in: ``mlspec serve SPEC --log-requests DIR [--log-sample RATE] [--log-seed N]``. The
request path only draws the sampler and appends references (the request's validated
columns and the answered score arrays) to a buffer; a background thread turns the buffer
into one Parquet file every ``flush_seconds`` or as soon as ``flush_rows`` rows wait, written
under a hidden temporary name and renamed (a reader never sees half a file). Each flush is
a new file, named so that files sort by time (``requests-<UTC time>-<pid>-<n>.parquet``),
so files rotate by construction and several worker processes never write the same one.
`close` (on a clean shutdown: the ASGI lifespan's shutdown) writes what is left; a killed
process loses at most the rows of the last ``flush_seconds``.

Sampling is per row: row i (in the order the server scored them) is kept when the i-th draw
of ``random.Random(seed)`` is below ``sample``, so a fixed seed and request order log the
same rows. Each file holds the signature's input columns (typed as the scorer types a
request), ``raw_<o>``, ``score_<o>`` and ``score`` as answered, ``version`` (the served
version) and ``served_at`` (UTC, microseconds). `mlspec monitor SPEC --current DIR` reads
the folder. When writing fails (a full disk), rows wait in memory up to ``10 × flush_rows``,
then new ones are dropped and counted (`dropped`); the first error is said on stderr.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

LOGGED = ("version", "served_at")  # columns a request log adds besides the scores
FLUSH_ROWS = 10_000
FLUSH_SECONDS = 30.0
# (the scorer that answered, the request's columns, the answered scores, time.time())
Entry = tuple[Any, Mapping[str, Sequence[Any]], Mapping[str, Any], float]
ENV = "MLSPEC_SERVE_LOG"  # the options as JSON, for uvicorn's worker processes


class RequestLog:
    """A buffer of scored rows and the thread that writes it; `record` is the one hook."""

    def __init__(
        self,
        folder: str | Path,
        sample: float = 1.0,
        seed: int = 0,
        flush_seconds: float = FLUSH_SECONDS,
        flush_rows: int = FLUSH_ROWS,
    ) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.sample, self.seed = float(sample), int(seed)
        self.flush_seconds, self.flush_rows = float(flush_seconds), int(flush_rows)
        self.written = self.dropped = self.files = 0
        self.last_error: str | None = None
        self._rng = random.Random(self.seed)
        self._pending: list[Entry] = []
        self._rows = 0
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._closed = False
        self._thread = threading.Thread(target=self._loop, daemon=True, name="mlspec-request-log")
        self._thread.start()

    # ------------------------------------------------------------------ request path

    def record(
        self, scorer: Any, columns: Mapping[str, Sequence[Any]], scores: Mapping[str, Any]
    ) -> None:
        """Keep the sampled rows of one scored request: its validated input columns (JSON
        values, as the scorer accepted them) and the answered score arrays."""
        n = len(scores["score"])
        if self.sample < 1.0:
            draw = self._rng.random
            keep = [i for i in range(n) if draw() < self.sample]
            if not keep:
                return
            if len(keep) < n:
                columns = {k: [v[i] for i in keep] for k, v in columns.items()}
                scores = {k: np.asarray(v)[keep] for k, v in scores.items()}
                n = len(keep)
        with self._lock:
            if self._closed or self._rows >= 10 * self.flush_rows:
                self.dropped += n
                return
            self._pending.append((scorer, columns, scores, time.time()))
            self._rows += n
            full = self._rows >= self.flush_rows
        if full:
            self._wake.set()

    # ------------------------------------------------------------------ writer

    def _loop(self) -> None:
        while not self._closed:
            self._wake.wait(self.flush_seconds)
            self._wake.clear()
            if not self.flush():  # a failed write waits a whole period, whatever fills up
                self._stop.wait(self.flush_seconds)

    def flush(self) -> bool:
        """Write the buffered rows as one file (nothing when the buffer is empty); False
        when the write failed (the rows stay buffered)."""
        with self._write_lock:
            with self._lock:
                batch, rows = self._pending, self._rows
                self._pending, self._rows = [], 0
            if not batch:
                return True
            try:
                self._write(_frame(batch))
                self.written += rows
                return True
            except Exception as exc:  # keep serving; put the rows back and say so once
                with self._lock:
                    self._pending[:0] = batch
                    self._rows += rows
                if self.last_error is None:
                    print(f"mlspec serve: cannot write the request log: {exc}", file=sys.stderr)
                self.last_error = str(exc)
                return False

    def _write(self, frame: pl.DataFrame) -> None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        name = f"requests-{stamp}-{os.getpid()}-{self.files:06d}.parquet"
        tmp = self.folder / f".{name}.tmp"
        try:
            frame.write_parquet(tmp)
            os.replace(tmp, self.folder / name)
        except BaseException:
            with contextlib.suppress(OSError):  # no half file left behind (a full disk)
                tmp.unlink()
            raise
        self.files += 1

    def close(self) -> None:
        """Stop the writer and write every buffered row (a clean shutdown loses nothing)."""
        with self._lock:
            self._closed = True
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=30)
        self.flush()
        if self.dropped:
            print(
                f"mlspec serve: {self.dropped} sampled rows were not logged ({self.last_error})",
                file=sys.stderr,
            )


def _frame(batch: list[Entry]) -> pl.DataFrame:
    """One frame of buffered requests: inputs typed by their scorer (one query per served
    version), then scores, version and time."""
    parts = []
    start = 0
    while start < len(batch):
        scorer = batch[start][0]
        end = start
        while end < len(batch) and batch[end][0] is scorer:
            end += 1
        parts.append(_part(scorer, batch[start:end]))
        start = end
    return pl.concat(parts, how="diagonal_relaxed") if len(parts) > 1 else parts[0]


def _part(scorer: Any, batch: list[Entry]) -> pl.DataFrame:
    names = [c["name"] for c in scorer.signature()]
    merged: dict[str, list[Any]] = {c: [] for c in names}
    lengths = []
    for _, columns, scores, _ in batch:
        for c in names:
            merged[c].extend(columns[c])
        lengths.append(len(scores["score"]))
    frame = scorer.frame_from_columns(merged)
    outputs = [k for k in batch[0][2] if k not in merged]
    extra = [
        *(
            pl.Series(k, np.concatenate([s[k] for _, _, s, _ in batch]), pl.Float64)
            for k in outputs
        ),
        pl.Series("version", [scorer.version] * len(frame), pl.String),
        pl.Series("served_at", np.repeat([t for *_, t in batch], lengths) * 1e6)
        .cast(pl.Int64)
        .cast(pl.Datetime("us", "UTC")),
    ]
    return frame.with_columns(s for s in extra if s.name not in merged)


def from_env() -> RequestLog | None:
    """The request log of one uvicorn worker process (`mlspec serve` sets ``ENV``)."""
    value = os.environ.get(ENV)
    return RequestLog(**json.loads(value)) if value else None
