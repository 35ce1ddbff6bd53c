"""The `profile` step: the reference that the monitors compare live data with.

Params: `ProfileParams` (`mlspec/steps/params.py`).

Inputs ``data`` (the feature table: features, then carried columns), ``split`` and
``combine``. Every feature and every ``data_drift`` or ``data_quality`` column is profiled
on the train split and on every other split a monitor names as its ``reference``; the
scores (each objective's and the combined one) on the test split, the only split that has
scores. Writes
``profile.json``::

    {"format": 2, "bins": 10, "top": 1000, "sample_rows": n, "seed": s,
     "rows": {"train": n, "test": n},
     "columns": {column: distribution},                 # on the train split
     "references": {split: {"rows": n, "columns": {column: distribution},
                            "sample": "sample_<split>.parquet"}},
     "scores": {"score" | "score_<o>": distribution},   # on the test scores
     "score_sample": "sample_scores.parquet",
     "performance": {monitor: {objective, metric, value, low, high}},  # selected model, test
     "monitors": [the monitors, as given]}

and ``sample_<split>.parquet`` / ``sample_scores.parquet``: the same seeded sample of at
most ``sample_rows`` rows of every profiled column (dtypes as in the feature table; all rows
in table order when the split is smaller). The drift statistics are computed on these
samples (`mlspec.monitor.stats`); the distributions are summaries for data quality and
the reports.

A numeric distribution is ``{"kind": "numeric", "count", "null_fraction", "min", "max",
"edges", "frequencies"}``: ``edges`` are ``[min, cuts..., max]`` where the cuts are the
distinct deciles above the minimum, and a value x falls in bin ``searchsorted(edges[1:-1],
x, side="right")`` (`bin_index`), so values outside [min, max] at serving time land in the
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
from mlspec.monitor.sampling import sample
from mlspec.steps.params import ProfileParams

BINS = 10
TOP = 1_000
SAMPLE_ROWS = 100_000
SEED = 0
SPLITS = {"train": 0, "valid": 1, "test": 2}
TRAIN = "train"
FORMAT = 2
# Monitors whose `columns` (features or columns of the joined data) are profiled.
WATCHING = ("data_drift", "data_quality")


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
        return {**out, "min": None, "max": None, "edges": [], "frequencies": []}
    lo, hi = float(finite.min()), float(finite.max())
    deciles = np.unique(np.quantile(finite, np.linspace(0, 1, BINS + 1)[1:-1]))
    cuts = [float(c) for c in deciles if c > lo]
    edges = [lo, *cuts, hi]
    counts = np.bincount(bin_index(edges, finite), minlength=len(cuts) + 1)
    return {
        **out,
        "min": lo,
        "max": hi,
        "edges": edges,
        "frequencies": [float(c) / len(finite) for c in counts],
    }


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


def kind(column: str, dtype: pl.DataType, feature_types: dict[str, str]) -> str:
    """'categorical' or 'numeric': how a column of the feature table is profiled and tested."""
    if feature_types.get(column) == "categorical" or base(dtype) in TEXT | {pl.Boolean}:
        return "categorical"
    if base(dtype) in INTEGER | FLOAT | {pl.Null}:
        return "numeric"
    raise StepError(
        f"A monitor watches column '{column}' of dtype {describe_dtype(dtype)}. Got a column that is neither numeric nor categorical instead.",
        hint="monitor a feature computed from it (e.g. hour(posted_at)) instead",
    )


def _describe(frame: pl.DataFrame, kinds: dict[str, str]) -> dict[str, Any]:
    return {
        c: categorical(frame.get_column(c))
        if kinds[c] == "categorical"
        else numeric(frame.get_column(c))
        for c in frame.columns
    }


def _splits(monitors: list[dict[str, Any]]) -> list[str]:
    named = {m.get("reference") or TRAIN for m in monitors if m.get("type") != "prediction_drift"}
    return [s for s in SPLITS if s == TRAIN or s in named]


def _inputs(
    ctx: StepContext, monitors: list[dict[str, Any]], feature_types: dict[str, str], p: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The `columns` (train) and `references` parts of the profile."""
    drift = [c for m in monitors if m.get("type") in WATCHING for c in m.get("columns") or []]
    lf = ctx.input("data").scan()
    schema = lf.collect_schema()
    require_columns(schema, drift, what="the feature table (features and carried columns)")
    wanted = list(dict.fromkeys([*(f for f in feature_types if f in schema), *drift]))
    if not wanted:
        return {}, {}
    kinds = {c: kind(c, schema[c], feature_types) for c in wanted}
    split = ctx.input("split").frame("data", columns=["split"]).get_column("split")
    frame = lf.select(wanted).collect()
    if frame.height != len(split):
        raise StepError(
            f"The split has {len(split)} rows, the feature table {frame.height}: they must be row-aligned.",
            hint="rerun the plan",
        )
    references: dict[str, Any] = {}
    for name in _splits(monitors):
        part = frame.filter(split == SPLITS[name])
        if part.height == 0:
            raise StepError(
                f"The {name} split is empty: there is nothing to profile.",
                hint="a monitor's `reference` must name a split that has rows",
            )
        file = f"sample_{name}"
        ctx.output.write_frame(sample(part, p["sample_rows"], p["seed"]), file)
        references[name] = {
            "rows": part.height,
            "columns": _describe(part, kinds),
            "sample": f"{file}.parquet",
        }
    return references[TRAIN]["columns"], references


def run(ctx: StepContext) -> None:
    params: ProfileParams = ctx.params
    p = params.to_json()
    monitors = list(params.monitors)
    feature_types = {f["name"]: f.get("type", "numeric") for f in params.features}
    columns, references = _inputs(ctx, monitors, feature_types, p)

    scores_frame = ctx.input("combine").frame("scores")
    score_columns = [c for c in scores_frame.columns if c == "score" or c.startswith("score_")]
    scores_frame = scores_frame.select(score_columns)
    ctx.output.write_frame(sample(scores_frame, p["sample_rows"], p["seed"]), "sample_scores")
    scores = {c: numeric(scores_frame.get_column(c)) for c in score_columns}

    performance: dict[str, Any] = {}
    combined = ctx.input("combine").json("combine.json")
    for m in monitors:
        if m.get("type") == "performance":
            objective, metric = m.get("objective"), m.get("metric")
            entry = ((combined.get("objectives") or {}).get(objective) or {}).get(
                "metrics", {}
            ).get(metric) or {}
            entry = entry if isinstance(entry, dict) else {}
            performance[m["name"]] = {
                "objective": objective,
                "metric": metric,
                **{k: entry.get(k) for k in ("value", "low", "high")},
            }

    ctx.output.write_json(
        {
            "format": FORMAT,
            "bins": BINS,
            "top": TOP,
            "sample_rows": p["sample_rows"],
            "seed": p["seed"],
            "rows": {
                "train": references.get(TRAIN, {}).get("rows", 0),
                "test": scores_frame.height,
            },
            "columns": columns,
            "references": references,
            "scores": scores,
            "score_sample": "sample_scores.parquet",
            "performance": performance,
            "monitors": monitors,
        },
        "profile.json",
    )
    ctx.output.metric("profile.columns", float(len(columns)))
