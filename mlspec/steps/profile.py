"""The `profile` step: the reference distributions that the monitors compare live data with.

Params: `ProfileParams` (`mlspec/steps/params.py`).

Inputs ``data`` (the feature table: features, then carried columns), ``split`` and
``combine``. Writes ``profile.json``::

    {"bins": 10, "top": 50, "rows": {"train": n, "test": n},
     "columns": {column: distribution},        # data_drift columns, on the train split
     "scores": {"score" | "score_<o>": distribution},  # prediction_drift, on the test scores
     "performance": {monitor: {objective, metric, value}},  # the selected model's test metric
     "monitors": [the monitors, as given]}

A numeric distribution is ``{"kind": "numeric", "count", "null_fraction", "edges",
"frequencies"}``: ``edges`` are ``[min, cuts..., max]`` where the cuts are the distinct
deciles above the minimum, and a value x falls in bin ``searchsorted(edges[1:-1], x,
side="right")`` (`bin_index`), so values outside [min, max] at serving time land in the
first or last bin. Frequencies are over non-null values. NaN and ±inf count as null.

A categorical distribution (categorical features, strings, booleans) is ``{"kind":
"categorical", "count", "null_fraction", "distinct", "frequencies": {category: f}, "other":
f}`` with the `TOP` most frequent categories (ties by name) and the rest summed in "other".
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from mlspec.contract.api import StepContext, StepError
from mlspec.frames import FLOAT, INTEGER, TEXT, base, describe_dtype, label, require_columns
from mlspec.steps.params import ProfileParams

BINS = 10
TOP = 50
TRAIN, TEST = 0, 2


def bin_index(edges: list[float], values: Any) -> np.ndarray:
    """The bin of each value under a numeric distribution's `edges` (see the module doc)."""
    return np.searchsorted(
        np.asarray(edges[1:-1], dtype=np.float64),
        np.asarray(values, dtype=np.float64),
        side="right",
    )


def numeric(values: pl.Series) -> dict[str, Any]:
    total = len(values)
    x = values.cast(pl.Float64)
    finite = x.filter(x.is_finite().fill_null(False)).to_numpy()
    out: dict[str, Any] = {
        "kind": "numeric",
        "count": len(finite),
        "null_fraction": (total - len(finite)) / total if total else 0.0,
    }
    if not len(finite):
        return {**out, "edges": [], "frequencies": []}
    lo, hi = float(finite.min()), float(finite.max())
    deciles = np.unique(np.quantile(finite, np.linspace(0, 1, BINS + 1)[1:-1]))
    cuts = [float(c) for c in deciles if c > lo]
    edges = [lo, *cuts, hi]
    counts = np.bincount(bin_index(edges, finite), minlength=len(cuts) + 1)
    return {**out, "edges": edges, "frequencies": [float(c) / len(finite) for c in counts]}


def categorical(values: pl.Series) -> dict[str, Any]:
    total = len(values)
    present = values.drop_nulls()
    n = len(present)
    counts = present.value_counts(name="n")
    keyed = sorted(
        ((label(v), int(c)) for v, c in counts.iter_rows()), key=lambda kv: (-kv[1], kv[0])
    )
    top = keyed[:TOP]
    rest = sum(c for _, c in keyed[TOP:])
    return {
        "kind": "categorical",
        "count": n,
        "null_fraction": (total - n) / total if total else 0.0,
        "distinct": len(keyed),
        "frequencies": {k: c / n for k, c in top},
        "other": rest / n if n else 0.0,
    }


def _kind(column: str, dtype: pl.DataType, feature_types: dict[str, str]) -> str:
    if feature_types.get(column) == "categorical" or base(dtype) in TEXT | {pl.Boolean}:
        return "categorical"
    if base(dtype) in INTEGER | FLOAT | {pl.Null}:
        return "numeric"
    raise StepError(
        f"A data_drift monitor watches column '{column}' of dtype {describe_dtype(dtype)}. Got a column that is neither numeric nor categorical instead.",
        hint="monitor a feature computed from it (e.g. hour(posted_at)) instead",
    )


def _columns(
    ctx: StepContext, monitors: list[dict[str, Any]], feature_types: dict[str, str]
) -> tuple[dict[str, Any], int]:
    wanted = list(
        dict.fromkeys(
            c for m in monitors if m.get("type") == "data_drift" for c in m.get("columns") or []
        )
    )
    if not wanted:
        return {}, 0
    lf = ctx.input("data").scan()
    schema = lf.collect_schema()
    require_columns(schema, wanted, what="the feature table (features and carried columns)")
    split = ctx.input("split").frame("data", columns=["split"]).get_column("split")
    frame = lf.select(wanted).collect()
    if frame.height != len(split):
        raise StepError(
            f"The split has {len(split)} rows, the feature table {frame.height}: they must be row-aligned.",
            hint="rerun the plan",
        )
    train = frame.filter(split == TRAIN)
    if train.height == 0:
        raise StepError("The train split is empty: there is nothing to profile.")
    out = {}
    for c in wanted:
        kind = _kind(c, schema[c], feature_types)
        out[c] = (
            categorical(train.get_column(c))
            if kind == "categorical"
            else numeric(train.get_column(c))
        )
    return out, train.height


def _score_column(monitor: dict[str, Any]) -> str:
    return f"score_{monitor['objective']}" if monitor.get("objective") else "score"


def run(ctx: StepContext) -> None:
    p: ProfileParams = ctx.params
    monitors = list(p.monitors)
    feature_types = {f["name"]: f.get("type", "numeric") for f in p.features}
    columns, train_rows = _columns(ctx, monitors, feature_types)

    scores: dict[str, Any] = {}
    performance: dict[str, Any] = {}
    test_rows = 0
    needs_scores = [m for m in monitors if m.get("type") == "prediction_drift"]
    if needs_scores:
        frame = ctx.input("combine").frame("scores")
        test_rows = frame.height
        wanted = list(dict.fromkeys(_score_column(m) for m in needs_scores))
        require_columns(frame.schema, wanted, what="the combined scores")
        scores = {c: numeric(frame.get_column(c)) for c in wanted}
    for m in monitors:
        if m.get("type") == "performance":
            combined = ctx.input("combine").json("combine.json")
            objective, metric = m.get("objective"), m.get("metric")
            entry = ((combined.get("objectives") or {}).get(objective) or {}).get(
                "metrics", {}
            ).get(metric) or {}
            performance[m["name"]] = {
                "objective": objective,
                "metric": metric,
                "value": entry.get("value") if isinstance(entry, dict) else None,
            }

    ctx.output.write_json(
        {
            "bins": BINS,
            "top": TOP,
            "rows": {"train": train_rows, "test": test_rows},
            "columns": columns,
            "scores": scores,
            "performance": performance,
            "monitors": monitors,
        },
        "profile.json",
    )
    ctx.output.metric("profile.columns", float(len(columns)))
