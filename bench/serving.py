"""Serving speed, each figure as a ratio against its baseline measured side by side:

1. in-process one-row predict of the feed-ranking bundle: the row path (no polars frame,
   no Pipeline) against the same bundle through polars and the scikit-learn Pipelines (p50
   of each, alternating blocks of rows, every answer checked equal);
2. batch scoring of 1M rows (`Scorer.predict` on the raw rows: expressions, both models,
   scaling, combine) against the bare pipelines' predict_proba on the ready feature matrices
   (bench/batch_scoring.py's comparison, which has more: stages, the chunked file path);
3. HTTP one-row requests to `mlspec serve` from a load generator in another process
   (bench/_loadgen.py; 10% malformed), the same load against a constant-answer app on the
   same uvicorn (the generator's and HTTP stack's ceiling on this machine), and against `mlflow models serve` of
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


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process (Linux /proc), or None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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


def in_process(spec: Path, n: int = 400, block: int = 50) -> dict:
    """p50 of one-row `Scorer.predict` by the row path and by the frame + Pipeline path (the
    same bundle with the row path switched off), in alternating blocks of `block` rows (row
    by row interleaving made each path evict the other's caches: the row path measured 2x
    slower interleaved); every answer of the two is checked equal. Also the server's own
    call, `score_columns` on one row of JSON values."""
    import polars as pl

    import mlspec

    fast = mlspec.load(str(spec))
    slow = mlspec.load(str(spec))
    slow.row = None
    for m in slow.objectives.values():
        m.row = None
    posts = pl.read_parquet(spec.parent / "data/posts.parquet").head(n)
    rows = [posts[i : i + 1] for i in range(n)]
    names = [c["name"] for c in fast.signature()]
    json_rows = [
        {
            c: [v.isoformat() if c == "posted_at" and v is not None else v]
            for c, v in r.row(0, named=True).items()
            if c in names
        }
        for r in rows
    ]
    for r in rows[:20]:
        fast.predict(r), slow.predict(r)
    t_fast, t_slow, t_json = [], [], []
    for start in range(0, n, block):
        chunk = rows[start : start + block]
        for r in chunk:
            t = time.perf_counter()
            fast.predict(r)
            t_fast.append(time.perf_counter() - t)
        for r in chunk:
            t = time.perf_counter()
            slow.predict(r)
            t_slow.append(time.perf_counter() - t)
        for j in json_rows[start : start + block]:
            t = time.perf_counter()
            fast.score_columns(j, strict=True)
            t_json.append(time.perf_counter() - t)
    for r in rows:
        assert fast.predict(r).rows() == slow.predict(r).rows()
    p50f, p50s = statistics.median(t_fast) * 1e3, statistics.median(t_slow) * 1e3
    return {
        "row_path_p50_ms": round(p50f, 3),
        "pipeline_p50_ms": round(p50s, 3),
        "ratio": round(p50s / p50f, 1),
        "json_row_p50_ms": round(statistics.median(t_json) * 1e3, 3),
        "target_ms": 1.0,
        "verdict": "met" if p50f <= 1.0 else "not met",
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
            "expect": "predictions",
        }
        load(port, bodies, 200, connections)  # warm-up
        cpu = cpu_seconds(proc.pid)
        out = load(port, bodies, requests, connections)
        if cpu is not None:  # the server's own CPU a request: its ceiling with a core to itself
            used = (cpu_seconds(proc.pid) or cpu) - cpu
            out["server_cpu_ms_per_request"] = round(used / out["requests"] * 1e3, 3)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    ok = (
        out["p50_ms"] <= 5.0
        and out["throughput"] >= 1000
        and out["valid_errors"] == 0
        and out["malformed_5xx"] == 0
    )
    return {
        **out,
        "targets": "p50<=5ms, >=1000 req/s, 0 errors, 0 5xx",
        "verdict": "met" if ok else "not met",
    }


def constant(requests: int, connections: int, bodies_of: dict) -> dict:
    """The same load against a trivial app answering a constant (bench/_constant_app.py) on
    uvicorn with the same options: what the generator and the HTTP stack allow here."""
    port = free_port()
    proc = subprocess.Popen(
        [PY, str(ROOT / "bench/_constant_app.py"), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=log_file(),
        text=True,
    )
    try:
        wait_ready(port, "/", proc)
        load(port, bodies_of, 200, connections)
        return load(port, bodies_of, requests, connections)
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
    try:
        sh(str(mlflow_bin.parent / "python"), "-c", MLFLOW_SAVE, str(pipeline_file), str(model_dir))
    except subprocess.CalledProcessError as exc:  # e.g. that venv lacks the model's library
        last = (exc.stderr or "").strip().splitlines()[-1:] or ["?"]
        return {"error": f"MLflow could not save the pipeline: {last[0]}"}
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
            "expect": "predictions",
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
        print("load average:", " ".join(f"{x:.2f}" for x in os.getloadavg()), flush=True)
        print("in-process one row:", json.dumps(in_process(spec)), flush=True)
        ours = http(spec, a.requests, a.connections)
        print("http mlspec serve:", json.dumps(ours), flush=True)
        ceiling = constant(
            a.requests,
            a.connections,
            {
                "path": "/invocations",
                "valid": [{}],
                "malformed": [["application/json", "{}"]],
                "malformed_share": 0.1,
                "expect": "predictions",
            },
        )
        print("http constant app (generator + uvicorn ceiling):", json.dumps(ceiling), flush=True)
        print(
            "mlspec serve / constant app: throughput",
            round(ours["throughput"] / ceiling["throughput"], 2),
            " p50",
            round(ours["p50_ms"] / ceiling["p50_ms"], 2),
            flush=True,
        )
        print("load average:", " ".join(f"{x:.2f}" for x in os.getloadavg()), flush=True)
        theirs = mlflow(spec, work, a.requests, a.connections)
        if theirs is None:
            print("mlflow models serve: no MLflow found (set MLFLOW_BIN)")
        elif "error" in theirs:
            print("mlflow models serve:", theirs["error"], flush=True)
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
