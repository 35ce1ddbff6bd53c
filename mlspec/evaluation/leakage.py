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


def _keys(column: pl.Series, categorical: bool) -> np.ndarray:
    """A column as integer lookup keys (equal keys, equal values): categories as they are,
    numbers as quantile-bin codes (or as they are, with at most `BINS` distinct values);
    nulls a key of their own (for binned numbers, NaN shares it)."""
    if categorical or not column.dtype.is_numeric():
        text = column.cast(pl.String).fill_null("\x00null")
        return text.cast(pl.Categorical).to_physical().to_numpy().astype(np.int64)
    values = column.cast(pl.Float64)
    raw = values.fill_null(np.nan).to_numpy()
    null = values.is_null().to_numpy()
    finite = raw[np.isfinite(raw)]
    if np.unique(finite).size <= BINS:
        _, keys = np.unique(raw, return_inverse=True)  # NaN is one value of its own
        return np.where(null, keys.max(initial=0) + 1, keys).astype(np.int64)
    edges = np.unique(np.quantile(finite, np.linspace(0, 1, BINS + 1)[1:-1]))
    keys = np.searchsorted(edges, raw, side="right")
    return np.where(np.isnan(raw), edges.size + 1, keys).astype(np.int64)


def _lookup(table: np.ndarray, values: np.ndarray, keys: np.ndarray, default: float) -> np.ndarray:
    """`values[i]` where `keys` equals `table[i]` (`table` sorted, unique), else `default`."""
    at = np.minimum(np.searchsorted(table, keys), max(table.size - 1, 0))
    hit = table.size > 0 and table[at] == keys
    return np.where(hit, values[at] if table.size else default, default)


def _score(keys: np.ndarray, y: np.ndarray, half: int, classify: bool) -> float:
    k_fit, k_test, y_fit, truth = keys[:half], keys[half:], y[:half], y[half:]
    if classify:
        # Majority class per key; ties to the smallest class, so the rule is deterministic.
        y_fit, truth = y_fit.astype(np.int64), truth.astype(np.int64)
        classes = int(y_fit.max(initial=0)) + 1
        pairs, counts = np.unique(k_fit * classes + y_fit, return_counts=True)
        key, cls = pairs // classes, pairs % classes
        order = np.lexsort((cls, -counts, key))
        first = order[np.r_[True, key[order][1:] != key[order][:-1]]] if order.size else order
        default = int(np.argmax(np.bincount(y_fit)))
        p = _lookup(key[first], cls[first], k_test, default)
        acc = float(np.mean(p == truth))
        base = float(np.mean(truth == default))
        return 0.0 if base >= 1.0 else (acc - base) / (1.0 - base)
    table, inverse = np.unique(k_fit, return_inverse=True)
    means = np.bincount(inverse, weights=y_fit) / np.bincount(inverse)
    p = _lookup(table, means, k_test, float(np.mean(y_fit)))
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
