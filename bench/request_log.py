"""Request logging's cost on the request path (`mlspec serve --log-requests`), side by side.

1. HTTP: two `mlspec serve` processes of the same feed-ranking version, one plain and one
   logging every scored row (``--log-sample 1``, the worst case), loaded in alternating
   rounds by the same load generator (bench/_loadgen.py, one-row MLflow requests, 10%
   malformed); the figure is the median over rounds of each server's p50 (and p99), and their
   ratio. The logging server flushes a Parquet file every 10,000 rows during the rounds.
2. In process: the hook alone (`RequestLog.record` of one scored row) against the one-row
   score it follows (`Scorer.columns`), p50 of each; and one flush of 10,000 rows (what the
   background thread does, off the request path).

  python bench/request_log.py [--rows 20000] [--rounds 6] [--requests 2500]

Loopback only; every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from serving import PY, free_port, load, log_file, rows_without_nulls, setup, wait_ready

COLS = ["author_followers", "topic", "length_words", "has_image", "posted_at"]
MALFORMED = [
    ["application/json", '{"dataframe_split": '],
    ["text/plain", "{}"],
]


def start(spec: Path, port: int, log: Path | None) -> subprocess.Popen:
    extra = [] if log is None else ["--log-requests", str(log), "--log-sample", "1"]
    return subprocess.Popen(
        [PY, "-m", "mlspec", "serve", str(spec), "--port", str(port), *extra],
        stdout=subprocess.DEVNULL,
        stderr=log_file(),
        text=True,
    )


def http(spec: Path, work: Path, rounds: int, requests: int, connections: int) -> dict:
    posts = rows_without_nulls(spec, COLS)
    valid = [
        {"dataframe_records": [{c: r[c] if c != "posted_at" else r[c].isoformat() for c in COLS}]}
        for r in posts.select(COLS).iter_rows(named=True)
    ]
    bodies = {"path": "/invocations", "valid": valid, "malformed": MALFORMED}
    bodies["malformed_share"] = 0.1
    ports = {"plain": free_port(), "logging": free_port()}
    logdir = work / "requestlog"
    procs = {
        "plain": start(spec, ports["plain"], None),
        "logging": start(spec, ports["logging"], logdir),
    }
    out: dict[str, list[dict]] = {"plain": [], "logging": []}
    try:
        for name, proc in procs.items():
            wait_ready(ports[name], "/v2/health/ready", proc)
            load(ports[name], bodies, 300, connections)  # warm-up
        for k in range(rounds):
            order = ["plain", "logging"] if k % 2 == 0 else ["logging", "plain"]
            for name in order:
                out[name].append(load(ports[name], bodies, requests, connections))
    finally:
        for proc in procs.values():
            proc.terminate()
            proc.wait(timeout=60)
    logged = sum(1 for _ in logdir.glob("*.parquet"))
    summary = {
        name: {
            "p50_ms": round(statistics.median(r["p50_ms"] for r in runs), 3),
            "p99_ms": round(statistics.median(r["p99_ms"] for r in runs), 3),
            "throughput": round(statistics.median(r["throughput"] for r in runs), 1),
            "valid_errors": sum(r["valid_errors"] for r in runs),
        }
        for name, runs in out.items()
    }
    return {
        **summary,
        "log_files": logged,
        "p50_ratio": round(summary["logging"]["p50_ms"] / summary["plain"]["p50_ms"], 3),
        "p99_ratio": round(summary["logging"]["p99_ms"] / summary["plain"]["p99_ms"], 3),
    }


def in_process(spec: Path, work: Path, n: int = 2000) -> dict:
    import polars as pl

    import mlspec
    from mlspec.serving.requestlog import RequestLog

    scorer = mlspec.load(str(spec))
    posts = rows_without_nulls(spec, COLS).select(COLS)
    records = [
        {c: [r[c] if c != "posted_at" else r[c].isoformat()] for c in COLS}
        for r in posts.iter_rows(named=True)
    ]
    log = RequestLog(work / "inproc", flush_seconds=3600, flush_rows=10**9)
    score_t, hook_t = [], []
    for i in range(n):
        columns = records[i % len(records)]
        t = time.perf_counter()
        frame = scorer.frame_from_columns(columns)
        out = scorer.columns(frame, strict=True)
        t1 = time.perf_counter()
        log.record(scorer, columns, out)
        t2 = time.perf_counter()
        score_t.append(t1 - t)
        hook_t.append(t2 - t1)
    for i in range(10_000 - n):  # a full buffer of one-row requests
        log.record(scorer, records[i % len(records)], out)
    t = time.perf_counter()
    log.flush()
    flush_s = time.perf_counter() - t
    log.close()
    rows = pl.read_parquet(work / "inproc" / "*.parquet").height
    return {
        "score_p50_us": round(statistics.median(score_t) * 1e6, 1),
        "hook_p50_us": round(statistics.median(hook_t) * 1e6, 2),
        "hook_share_of_score": round(statistics.median(hook_t) / statistics.median(score_t), 4),
        "flush_10k_rows_ms": round(flush_s * 1e3, 1),
        "rows_written": rows,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=20_000)
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--requests", type=int, default=2500)
    ap.add_argument("--connections", type=int, default=4)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        spec = setup(work, a.rows)
        inproc = in_process(spec, work)
        print("in-process:", json.dumps(inproc), flush=True)
        figures = http(spec, work, a.rounds, a.requests, a.connections)
        print("http:", json.dumps(figures), flush=True)
    ratio = figures["p50_ratio"]
    print(
        f"verdict: logging every row costs p50 x{ratio} over HTTP "
        f"({figures['logging']['p50_ms']} vs {figures['plain']['p50_ms']} ms), "
        f"the hook {inproc['hook_p50_us']} us of a {inproc['score_p50_us']} us one-row score; "
        + ("noticeable" if ratio > 1.05 else "not noticeable (within 5%)")
    )


if __name__ == "__main__":
    main()
