"""Cold `mlspec run` (one objective, one XGBoost model) against a hand-written polars + xgboost
script with the same params and split fractions, on 1M rows x 20 features.

Issue (models): <= 1.10x. Whole processes, interleaved, same files, same thread count (2).
The hand-written script reads, splits, fits, predicts the test rows and computes ROC AUC.
Two mlspec runs are timed in the same rounds: one asking for the same work (the objective's
`evaluation: {bootstrap: 0, importance: false}`), which the target is read against, and one
with the default evaluation (200-resample intervals for every metric, permutation
importance). Both write every artifact, the package and the report.

    python bench/train_speed.py [--rows 1000000] [--repeat 2]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).parent))
from _timing import PYTHON, against_script, median, step_seconds

HAND_WRITTEN = r"""
import sys
import numpy as np
import polars as pl
import xgboost as xgb
from sklearn.metrics import roc_auc_score

df = pl.read_parquet(f"{sys.argv[1]}/data/rows.parquet")
features = [f"x{i}" for i in range(20)]
X = df.select(features).to_numpy()
y = df["y"].to_numpy()
order = np.random.default_rng(0).permutation(len(y))
n_test = round(0.2 * len(y))
test, train = order[:n_test], order[n_test:]
model = xgb.XGBClassifier(n_estimators=100, max_depth=6, learning_rate=0.1, tree_method="hist", n_jobs=2, random_state=0)
model.fit(X[train], y[train])
print(roc_auc_score(y[test], model.predict_proba(X[test])[:, 1]))
"""


def make_data(root: Path, rows: int) -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(rows, 20))
    logits = X[:, :5] @ np.array([1.0, -0.8, 0.6, 0.4, -0.3]) + 0.5 * X[:, 5] * X[:, 6]
    y = (rng.uniform(size=rows) < 1 / (1 + np.exp(-logits))).astype(np.int64)
    (root / "data").mkdir(parents=True, exist_ok=True)
    pl.DataFrame({**{f"x{i}": X[:, i] for i in range(20)}, "y": y}).write_parquet(
        root / "data" / "rows.parquet"
    )


# The script computes one test metric: no intervals, no importance. The like-for-like spec
# asks mlspec for the same (the defaults are 200 bootstrap resamples and permutation importance).
LEAN = "    evaluation: {bootstrap: 0, importance: false}\n"


def lean(spec: str) -> str:
    anchor = "    target: y\n"
    assert spec.count(anchor) == 1, "bench/xgb/spec.yaml changed: update the like-for-like variant"
    return spec.replace(anchor, anchor + LEAN)


def report(
    label: str,
    times: list[float],
    theirs: list[float],
    per_run: list[dict[str, float]],
    target: float | None,
) -> None:
    parts = {k: median([r[k] for r in per_run]) for k in per_run[0]}
    outside = median([total - sum(r.values()) for total, r in zip(times, per_run, strict=True)])
    ratio = median(times) / median(theirs)
    verdict = (
        ""
        if target is None
        else f"  (target <= {target:.2f}x: {'met' if ratio <= target else 'MISSED'})"
    )
    print(f"{label:44s} median {median(times):6.2f} s   ratio {ratio:.2f}x{verdict}")
    print(
        "  per part (median): "
        + ", ".join(f"{k} {v:.2f} s" for k, v in parts.items())
        + f", outside steps {outside:.2f} s"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    runs, theirs, root = against_script(
        "xgb", HAND_WRITTEN, make_data, args.rows, args.repeat, variants={"lean": lean}
    )
    per_run = {
        label: [step_seconds(root / f"store-{label}-{i}") for i in range(args.repeat)]
        for label in runs
    }
    proc = subprocess.run(
        [
            PYTHON,
            "-m",
            "mlspec",
            "run",
            str(root / "spec.yaml"),
            "--store",
            str(root / "store-mlspec-0"),
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    shutil.rmtree(root)
    steps = json.loads(proc.stdout)["steps"]
    print(
        f"rows {args.rows:,} x 20 features, xgboost 100 trees depth 6, 2 threads, repeats {args.repeat}"
    )
    print(f"{'hand-written polars + xgboost (test ROC AUC)':44s} median {median(theirs):6.2f} s")
    report("mlspec run, same work (evaluation off)", runs["lean"], theirs, per_run["lean"], 1.10)
    report("mlspec run, default evaluation", runs["mlspec"], theirs, per_run["mlspec"], None)
    print("  (default: 200-resample intervals and permutation importance, which the script skips)")
    print(
        "rerun: "
        + ", ".join(
            f"{k} {'cached' if v['cache_hit'] else 'ran'}"
            for k, v in steps.items()
            if k.startswith(("train", "evaluate"))
        )
    )


if __name__ == "__main__":
    main()
