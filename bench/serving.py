"""Serving speed, each figure as a ratio against its baseline measured side by side:

1. in-process one-row predict of the feed-ranking bundle: the fast path against the same
   scorer going through the scikit-learn Pipeline (p50 of each, interleaved row by row);
2. batch scoring of 1M rows (`Scorer.predict` on the raw rows: expressions, both models,
   scaling, combine) against the bare pipelines' predict_proba on the ready feature matrices
   (bench/batch_scoring.py's comparison, which has more: stages, the chunked file path);
3. HTTP one-row requests to `mlspec serve` from a load generator in another process
   (bench/_loadgen.py; 10% malformed), and the same load against `mlflow models serve` of
   the quality objective's fitted pipeline when an MLflow is found (MLFLOW_BIN, default
   /tmp/mlflowvenv/bin/mlflow).

  python bench/serving.py [--rows 20000] [--batch-rows 1000000] [--requests 4000]

Loopback only; every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable


def sh(*args: str, cwd: Path | None = None) -> str:
    return subprocess.run(args, cwd=cwd, check=True, capture_output=True, text=True).stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def log_file():  # type: ignore[no-untyped-def]
    return tempfile.NamedTemporaryFile("w+", prefix="mlspec-bench-server-", suffix=".log")


def wait_ready(port: int, path: str, proc: subprocess.Popen, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            if proc.stderr:
                proc.stderr.seek(0)
            raise SystemExit(f"server exited: {proc.stderr.read() if proc.stderr else ''}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"server on {port} not ready in {seconds} s")


def load(port: int, bodies: dict, requests: int, connections: int) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump(bodies, fh)
    out = sh(
        PY,
        str(ROOT / "bench/_loadgen.py"),
        str(port),
        fh.name,
        "--requests",
        str(requests),
        "--seconds",
        "120",
        "--connections",
        str(connections),
    )
    os.unlink(fh.name)
    return json.loads(out)


def setup(work: Path, rows: int) -> Path:
    shutil.copytree(
        ROOT / "examples/feed_ranking",
        work / "feed",
        ignore=shutil.ignore_patterns("data", ".mlspec"),
    )
    sh(PY, "make_data.py", "--rows", str(rows), cwd=work / "feed")
    spec = work / "feed/spec.yaml"
    sh(PY, "-m", "mlspec", "run", str(spec))
    sh(
        PY,
        "-m",
        "mlspec",
        "models",
        "promote",
        "feed_ranking",
        "1",
        "--store",
        str(work / "feed/.mlspec"),
    )
    return spec


def in_process(spec: Path, n: int = 400) -> dict:
    import polars as pl

    import mlspec

    scorer = mlspec.load(str(spec))
    posts = pl.read_parquet(spec.parent / "data/posts.parquet").head(n)
    rows = [posts[i : i + 1] for i in range(n)]
    fast_rows = {o: m.row for o, m in scorer.objectives.items()}
    fast, slow = [], []
    for r in rows[:20]:
        scorer.predict(r)
    for r in rows:
        for o, m in scorer.objectives.items():
            m.row = fast_rows[o]
        t = time.perf_counter()
        a = scorer.predict(r)
        fast.append(time.perf_counter() - t)
        for m in scorer.objectives.values():
            m.row = None
        t = time.perf_counter()
        b = scorer.predict(r)
        slow.append(time.perf_counter() - t)
        assert a["score"].to_list() == b["score"].to_list()
    for o, m in scorer.objectives.items():
        m.row = fast_rows[o]
    p50f, p50s = statistics.median(fast) * 1e3, statistics.median(slow) * 1e3
    return {
        "fast_p50_ms": round(p50f, 3),
        "pipeline_p50_ms": round(p50s, 3),
        "ratio": round(p50s / p50f, 1),
    }


def batch(spec: Path, work: Path, batch_rows: int) -> dict:
    """bench/batch_scoring.py's in-memory comparison (3 interleaved rounds); that script also
    times each stage and the chunked `mlspec predict`."""
    from batch_scoring import in_memory  # beside this file

    big = work / "big"
    big.mkdir()
    shutil.copy(ROOT / "examples/feed_ranking/make_data.py", big)
    sh(PY, "make_data.py", "--rows", str(batch_rows), cwd=big)
    return in_memory(spec, big / "data/posts.parquet", rounds=3)


def rows_without_nulls(spec: Path, cols: list[str]):  # type: ignore[no-untyped-def]
    """The same 200 rows for both servers: MLflow's pyfunc cannot take a null in a float
    column (mlspec imputes it), so rows with one are left out of the comparison."""
    import polars as pl

    return pl.read_parquet(spec.parent / "data/posts.parquet").drop_nulls(cols).head(200)


MALFORMED_MLFLOW = [
    ["application/json", '{"dataframe_split": {"columns": ["topic"], "data": [["tech"]]}}'],
    ["application/json", '{"dataframe_split": '],
    ["text/plain", "{}"],
    ["application/json", '{"instances": [{"author_followers": NaN}]}'],
]


def http(spec: Path, requests: int, connections: int) -> dict:

    cols = ["author_followers", "topic", "length_words", "has_image", "posted_at"]
    posts = rows_without_nulls(spec, cols)
    valid = [
        {
            "dataframe_split": {
                "columns": cols,
                "data": [[r[c] if c != "posted_at" else r[c].isoformat() for c in cols]],
            }
        }
        for r in posts.select(cols).iter_rows(named=True)
    ]
    port = free_port()
    proc = subprocess.Popen(
        [PY, "-m", "mlspec", "serve", str(spec), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=log_file(),  # a pipe nobody reads would fill and block a logging server
        text=True,
    )
    try:
        wait_ready(port, "/v2/health/ready", proc)
        bodies = {
            "path": "/invocations",
            "valid": valid,
            "malformed": MALFORMED_MLFLOW,
            "malformed_share": 0.1,
        }
        load(port, bodies, 200, connections)  # warm-up
        return load(port, bodies, requests, connections)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


MLFLOW_SAVE = """
import sys, joblib, mlflow.sklearn
pipe = joblib.load(sys.argv[1])
mlflow.sklearn.save_model(pipe, sys.argv[2], serialization_format="cloudpickle")
"""


def mlflow(spec: Path, work: Path, requests: int, connections: int) -> dict | None:

    import mlspec

    mlflow_bin = Path(os.environ.get("MLFLOW_BIN", "/tmp/mlflowvenv/bin/mlflow"))
    if not mlflow_bin.is_file():
        return None
    scorer = mlspec.load(str(spec))
    quality = scorer.objectives["quality"]
    pipeline_file = scorer.folder / "objectives/quality/model/pipeline.joblib"
    model_dir = work / "mlflow_model"
    sh(str(mlflow_bin.parent / "python"), "-c", MLFLOW_SAVE, str(pipeline_file), str(model_dir))
    posts = rows_without_nulls(spec, [c["name"] for c in scorer.signature()])
    feats = scorer.features_of(scorer.prepare(posts))
    names = [f["name"] for f in quality.features]
    valid = [
        {"dataframe_split": {"columns": names, "data": [list(r)]}}
        for r in feats.select(names).iter_rows()
    ]
    port = free_port()
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": f"file://{work}/mlruns",
        "PATH": f"{mlflow_bin.parent}{os.pathsep}{os.environ.get('PATH', '')}",  # its uvicorn
    }
    proc = subprocess.Popen(
        [
            str(mlflow_bin),
            "models",
            "serve",
            "-m",
            str(model_dir),
            "-p",
            str(port),
            "-h",
            "127.0.0.1",
            "--env-manager",
            "local",
            "-w",
            "1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=log_file(),  # a pipe nobody reads would fill and block a logging server
        text=True,
        env=env,
    )
    try:
        wait_ready(port, "/ping", proc)
        bodies = {
            "path": "/invocations",
            "valid": valid,
            "malformed": MALFORMED_MLFLOW,
            "malformed_share": 0.1,
        }
        load(port, bodies, 200, connections)
        return load(port, bodies, requests, connections)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=20_000)
    ap.add_argument("--batch-rows", type=int, default=1_000_000)
    ap.add_argument("--requests", type=int, default=4000)
    ap.add_argument("--connections", type=int, default=4)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        spec = setup(work, a.rows)
        print("in-process one row:", json.dumps(in_process(spec)), flush=True)
        ours = http(spec, a.requests, a.connections)
        print("http mlspec serve:", json.dumps(ours), flush=True)
        theirs = mlflow(spec, work, a.requests, a.connections)
        if theirs is None:
            print("mlflow models serve: no MLflow found (set MLFLOW_BIN)")
        else:
            print("http mlflow models serve:", json.dumps(theirs))
            print(
                "throughput ratio mlspec/mlflow:",
                round(ours["throughput"] / theirs["throughput"], 2),
                " p99 mlspec/mlflow:",
                round(ours["p99_ms"] / theirs["p99_ms"], 2),
                flush=True,
            )
        if a.batch_rows:
            print("batch:", json.dumps(batch(spec, work, a.batch_rows)), flush=True)


if __name__ == "__main__":
    main()
