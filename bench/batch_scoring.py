"""Batch scoring of 1M rows against the bare pipelines' predict on the same rows (issue 14:
target <= 1.2x), measured side by side in interleaved rounds:

- ``scorer``: `Scorer.predict` on the raw rows (casts, the 6 feature expressions, both
  objectives' transforms and models, scaling, combined score, output frame);
- ``scorer_threads``: the same with the objectives in threads at once
  (`batchpath.CONCURRENT_ROWS`; off by default);
- ``bare_matrices`` (the strict baseline, the verdict's): each objective's fitted
  `pipeline.predict_proba` on its feature matrix built beforehand, untimed
  (`preprocess.matrix`, what the training steps feed the same pipelines);
- ``bare_pandas``: the same pipelines on a pandas frame of the same features, built
  beforehand, untimed (how a user holding a DataFrame would call them).

Each round runs the four in a rotated order; the ratio of a round is scorer / baseline of
that round, and the verdict is on the median of the rounds' strict ratios. The scorer's raw
scores are checked equal to the bare pipelines' (P(positive), as `predict.finish` takes it
from predict_proba) to the bit first.

Then `mlspec predict` (the chunked file path) in a subprocess on a Parquet file of the same
rows and on one `--file-times` as long: wall time and peak RSS (``ru_maxrss``), to show
that memory follows the chunk size, not the file.

  python bench/batch_scoring.py [--rows 20000] [--batch-rows 1000000] [--rounds 5] [--stages]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from serving import PY, ROOT, setup, sh

TARGET = 1.2


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def in_memory(spec: Path, posts: Path, rounds: int) -> dict:
    import numpy as np
    import polars as pl

    import mlspec
    from mlspec.scoring import batchpath
    from mlspec.scoring.linear import output_fn
    from mlspec.scoring.predict import finish
    from mlspec.scoring.preprocess import matrix

    warnings.filterwarnings("ignore", message="X has feature names")  # fitted on numpy
    df = pl.read_parquet(posts)
    scorer = mlspec.load(str(spec))
    feats = scorer.features_of(scorer.prepare(df))
    names = {o: [f["name"] for f in m.features] for o, m in scorer.objectives.items()}
    Xs = {o: matrix(feats, m.features) for o, m in scorer.objectives.items()}
    frames = {o: feats.select(names[o]).to_pandas() for o in scorer.objectives}
    ours = scorer.predict(df)
    for o, m in scorer.objectives.items():  # the same work, the same answer
        bare = finish(m.pipeline.predict_proba(Xs[o]), m.task, m.classes, m.threshold).score
        mine = ours[f"raw_{o}"].to_numpy()
        if output_fn(m.pipeline[-1]) is None:
            assert mine.tobytes() == bare.tobytes(), o
        else:  # a linear model's dot product in a fixed order, not BLAS's (scoring/linear.py)
            np.testing.assert_allclose(mine, bare, rtol=1e-13, atol=1e-15, err_msg=o)

    def scorer_one_by_one() -> None:
        scorer.predict(df)

    def scorer_threads() -> None:
        saved, batchpath.CONCURRENT_ROWS = batchpath.CONCURRENT_ROWS, 20_000
        try:
            scorer.predict(df)
        finally:
            batchpath.CONCURRENT_ROWS = saved

    def bare_matrices() -> None:
        for o, m in scorer.objectives.items():
            m.pipeline.predict_proba(Xs[o])

    def bare_pandas() -> None:
        for o, m in scorer.objectives.items():
            m.pipeline.predict_proba(frames[o])

    runs = {
        "scorer": scorer_one_by_one,
        "scorer_threads": scorer_threads,
        "bare_matrices": bare_matrices,
        "bare_pandas": bare_pandas,
    }
    times: dict[str, list[float]] = {k: [] for k in runs}
    order = list(runs)
    for r in range(rounds):
        for k in order[r % len(order) :] + order[: r % len(order)]:
            t = time.perf_counter()
            runs[k]()
            times[k].append(time.perf_counter() - t)
    out: dict = {"rows": df.height, "rounds": rounds}
    for k, v in times.items():
        out[f"{k}_s"] = {"min": round(min(v), 3), "median": round(statistics.median(v), 3)}
    for ours_k in ("scorer", "scorer_threads"):
        for base in ("bare_matrices", "bare_pandas"):
            ratios = [a / b for a, b in zip(times[ours_k], times[base], strict=True)]
            out[f"{ours_k}/{base}"] = {
                "median_of_rounds": round(statistics.median(ratios), 3),
                "of_mins": round(min(times[ours_k]) / min(times[base]), 3),
            }
    out["raw_scores_equal_bits"] = True
    return out


def stages(spec: Path, posts: Path, rounds: int) -> dict:
    """Where the time of `Scorer.predict` goes, per stage (best of `rounds`): the batch path,
    and the Pipeline path it replaced (object matrix, check_values, ColumnTransformer)."""
    import polars as pl

    import mlspec
    from mlspec.scoring.batchpath import check_numbers
    from mlspec.scoring.predict import finish
    from mlspec.scoring.preprocess import check_values, matrix, numeric_columns

    df = pl.read_parquet(posts)
    scorer = mlspec.load(str(spec))
    best: dict[str, float] = {}

    def timed(name: str, fn, *args, **kw):  # type: ignore[no-untyped-def]
        t = time.perf_counter()
        out = fn(*args, **kw)
        best[name] = min(best.get(name, float("inf")), time.perf_counter() - t)
        return out

    def frame(cols: dict, n: int) -> pl.DataFrame:
        version = pl.Series("version", ["1"]).new_from_index(0, n)
        return pl.DataFrame([*(pl.Series(k, v) for k, v in cols.items()), version])

    for _ in range(rounds):
        timed("total: Scorer.predict", scorer.predict, df)
        feats = timed("prepare + expressions", lambda: scorer.features_of(scorer.prepare(df)))
        wanted = {f["name"]: f for m in scorer.objectives.values() for f in m.features}
        numeric = timed("batch: numeric columns", numeric_columns, feats, list(wanted.values()))
        finite: dict[str, bool] = {}
        raw = {}
        for o, m in scorer.objectives.items():
            timed(f"batch: value checks {o}", check_numbers, m, numeric, finite, "the rows")
            Z = timed(f"batch: transform {o}", m.batch.transform, feats, numeric)
            proba = timed(f"model predict_proba {o}", m.batch.final.predict_proba, Z)
            raw[o] = timed(f"finish {o}", finish, proba, m.task, m.classes, m.threshold).score
            X = timed(f"pipeline path: object matrix {o}", matrix, feats, m.features)
            timed(
                f"pipeline path: check_values {o}",
                check_values,
                X,
                m.features,
                nan_ok=m.nan_ok,
                model=m.meta["type"],
                what="the rows",
            )
            timed(f"pipeline path: ColumnTransformer {o}", m.pipeline[0].transform, X)
        scaled, score = timed("scaling + weighted sum", scorer.combine, raw)
        timed("output frame", frame, {**raw, **scaled, "score": score}, df.height)
        timed("pipeline path: version as a list of n str", pl.Series, "v", ["1"] * df.height)
    return {k: round(v, 3) for k, v in best.items()}


# Runs `mlspec predict` and reports its own peak RSS: VmHWM of the process after exec (the
# ru_maxrss that os.wait4 gives would carry the forking parent's peak over the exec).
CHILD = """
import os, sys
from mlspec.cli import main
code = main()
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")]
print("PEAK_KB", hwm[0].split()[1] if hwm else "0", file=sys.stderr, flush=True)
os._exit(code)
"""


def predict_file(spec: Path, source: Path, work: Path, chunk: int) -> dict:
    """`mlspec predict` in its own process: wall time (with start-up: validating the spec,
    verifying and loading the bundle) and peak RSS."""
    dest = work / f"out-{source.stem}-{chunk}.parquet"
    args = [PY, "-c", CHILD, "predict", str(spec), "--input", str(source)]
    args += ["--output", str(dest), "--chunk-rows", str(chunk)]
    t = time.perf_counter()
    proc = subprocess.run(args, capture_output=True, text=True, cwd=spec.parent)
    wall = time.perf_counter() - t
    peak = [ln for ln in proc.stderr.splitlines() if ln.startswith("PEAK_KB")]
    if proc.returncode != 0 or not peak:
        raise SystemExit(f"mlspec predict failed: {proc.stderr}")
    dest.unlink()
    return {
        "file": source.name,
        "chunk_rows": chunk,
        "wall_s": round(wall, 2),
        "peak_rss_mb": round(int(peak[0].split()[1]) / 1024),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=20_000, help="training rows")
    ap.add_argument("--batch-rows", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--chunk-rows", type=int, default=200_000)
    ap.add_argument("--file-times", type=int, default=3, help="0: skip the file runs")
    ap.add_argument("--stages", action="store_true", help="also time each stage")
    a = ap.parse_args()
    print("load average at start:", load(), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        spec = setup(work, a.rows)
        big = work / "big"
        big.mkdir()
        shutil.copy(ROOT / "examples/feed_ranking/make_data.py", big)
        sh(PY, "make_data.py", "--rows", str(a.batch_rows), cwd=big)
        posts = big / "data/posts.parquet"
        if a.stages:
            print("stages:", json.dumps(stages(spec, posts, a.rounds)), flush=True)
        result = in_memory(spec, posts, a.rounds)
        print("batch in memory:", json.dumps(result), flush=True)
        if a.file_times:
            import polars as pl

            longer = work / f"posts_x{a.file_times}.parquet"
            frame = pl.read_parquet(posts)
            pl.concat([frame] * a.file_times).write_parquet(longer)
            del frame
            for source, chunk in (
                (posts, a.chunk_rows),
                (longer, a.chunk_rows),
                (posts, a.batch_rows),  # the whole file as one chunk
            ):
                print(
                    "mlspec predict:",
                    json.dumps(predict_file(spec, source, work, chunk)),
                    flush=True,
                )
        strict = result["scorer/bare_matrices"]["median_of_rounds"]
        print("load average at end:", load())
        print(
            f"verdict: batch scoring {strict}x the bare pipelines on ready matrices "
            f"(median of {a.rounds} rounds; target <= {TARGET}x): "
            + ("met" if strict <= TARGET else "NOT met")
        )


if __name__ == "__main__":
    main()
