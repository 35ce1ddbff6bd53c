"""Target leakage: a feature that alone predicts the target almost perfectly on the train split.

A renamed copy of the target, or a column written after the outcome, trains a model that is
perfect on paper and useless in production. The rule (stated in specs/README.md, "Target
leakage"), cheap enough for every train step:

- a sample of at most `SAMPLE` train rows (seeded), halved into a fitting and a scoring half;
- per feature, a one-feature lookup model fitted on the first half: numeric values cut into at
  most `BINS` quantile bins, categorical values as they are, nulls a value of their own; each
  bin predicts its majority class (classification) or its mean (regression); a value the
  first half never saw predicts the overall majority / mean;
- its score on the second half: for classification the accuracy's gain over always
  predicting the majority class, ``(acc - base) / (1 - base)``; for regression R².
- a feature scoring at least `THRESHOLD` is named in a warning.

Scoring on rows the lookup did not see keeps identifiers (one value per row) from scoring:
their values are unseen in the second half.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

SAMPLE = 20_000
BINS = 32
THRESHOLD = 0.98
MIN_ROWS = 40  # fewer train rows: no verdict


def _keys(column: pl.Series, categorical: bool) -> pl.Series:
    """A column as lookup keys: categories as strings, numbers as quantile-bin codes."""
    if categorical or not column.dtype.is_numeric():
        return column.cast(pl.String).fill_null("\x00null")
    values = column.cast(pl.Float64)
    finite = values.filter(values.is_finite())
    if finite.n_unique() <= BINS:
        return values.cast(pl.String).fill_null("\x00null")
    edges = np.unique(np.quantile(finite.to_numpy(), np.linspace(0, 1, BINS + 1)[1:-1]))
    raw = values.fill_null(np.nan).to_numpy()
    keys = np.searchsorted(edges, raw, side="right").astype(str).astype(object)
    keys[np.isnan(raw)] = "\x00null"
    return pl.Series(keys, dtype=pl.String)


def _score(keys: pl.Series, y: np.ndarray, half: int, classify: bool) -> float:
    fit = pl.DataFrame({"k": keys[:half], "y": y[:half]})
    test = pl.DataFrame({"k": keys[half:], "y": y[half:]})
    if classify:
        # Majority class per key; ties to the smallest class, so the rule is deterministic.
        table = (
            fit.group_by("k", "y")
            .len()
            .sort(["k", "len", "y"], descending=[False, True, False])
            .group_by("k", maintain_order=True)
            .first()
            .select("k", pl.col("y").alias("p"))
        )
        counts = np.bincount(y[:half].astype(np.int64))
        default = int(np.argmax(counts))
        p = test.join(table, on="k", how="left").get_column("p").fill_null(default).to_numpy()
        truth = test.get_column("y").to_numpy()
        acc = float(np.mean(p == truth))
        base = float(np.mean(truth == default))
        return 0.0 if base >= 1.0 else (acc - base) / (1.0 - base)
    table = fit.group_by("k").agg(pl.col("y").mean().alias("p"))
    p = (
        test.join(table, on="k", how="left")
        .get_column("p")
        .fill_null(float(np.mean(y[:half])))
        .to_numpy()
    )
    truth = test.get_column("y").to_numpy()
    ss = float(np.sum((truth - truth.mean()) ** 2))
    return 0.0 if ss == 0.0 else 1.0 - float(np.sum((truth - p) ** 2)) / ss


def suspects(
    frame: pl.DataFrame,
    features: Sequence[dict[str, Any]],
    y: np.ndarray,
    task: str,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """``[{"feature", "score"}]`` of the features at or above `THRESHOLD`, best first.

    `frame` holds the train split's features, `y` its target as `preprocess.target` gives it
    (class indices, or floats for regression).
    """
    n = frame.height
    if n < MIN_ROWS:
        return []
    order = np.random.default_rng(seed).permutation(n)[:SAMPLE]
    half = len(order) // 2
    ys = np.asarray(y)[order]
    classify = task != "regression"
    out = []
    for f in features:
        if f["name"] not in frame.columns:
            continue
        column = frame.get_column(f["name"])[order]
        score = _score(_keys(column, f.get("type") == "categorical"), ys, half, classify)
        if score >= THRESHOLD:
            out.append({"feature": f["name"], "score": round(score, 4)})
    return sorted(out, key=lambda s: (-s["score"], s["feature"]))


def message(objective: str, suspect: dict[str, Any]) -> str:
    what = "predicts" if suspect["score"] >= 0.999 else "almost predicts"
    return (
        f"possible target leakage in objective '{objective}': feature '{suspect['feature']}' alone "
        f"{what} the target on the train split (score {suspect['score']:.3f} on held-out rows, "
        "1 = perfect); check that it is known before the outcome and is not the target renamed"
    )
