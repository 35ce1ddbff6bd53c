"""Write scikit-learn's bundled breast-cancer data set to data/breast_cancer.parquet.

The data ships with scikit-learn, so no network is needed. Column names become snake_case
identifiers ("mean radius" -> "mean_radius") and the target becomes `malignant`
(1 = malignant, 0 = benign; scikit-learn's own target is the reverse).

Usage:  python examples/quickstart/make_data.py
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import polars as pl
from sklearn.datasets import load_breast_cancer

HERE = Path(__file__).resolve().parent
OUT = HERE / "data" / "breast_cancer.parquet"


def snake_case(name: str) -> str:
    """'mean concave points' -> 'mean_concave_points'."""
    return re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_")


def build() -> pl.DataFrame:
    # as_frame=True would need pandas; the arrays and feature names are the same data.
    bunch = load_breast_cancer()
    columns = {
        snake_case(name): pl.Series(snake_case(name), bunch.data[:, i], dtype=pl.Float64)
        for i, name in enumerate(bunch.feature_names)
    }
    # sklearn: 0 = malignant, 1 = benign. Here 1 = malignant.
    malignant = (1 - np.asarray(bunch.target)).astype(np.int64)
    columns["malignant"] = pl.Series("malignant", malignant, dtype=pl.Int64)
    return pl.DataFrame(list(columns.values()))


def main() -> None:
    df = build()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    tmp = OUT.with_suffix(".parquet.tmp")
    df.write_parquet(tmp)
    tmp.replace(OUT)
    rate = df["malignant"].mean()
    print(
        f"wrote {OUT.relative_to(HERE.parent.parent)}: {df.height} rows x {df.width} columns, "
        f"malignant rate {rate:.3f}"
    )


if __name__ == "__main__":
    main()
