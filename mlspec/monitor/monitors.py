"""The monitor types, as a registry: ``TYPES[type](monitor, context) -> Result``.

Every type compares current data with the promoted version's reference and returns one
`Result`: ``ok``, ``fired`` (the monitor's condition holds: alerts go out) or ``error`` (it
could not be computed: a missing column, nothing to score), with one `Verdict` per column or
score it looked at. A column that cannot be tested is that column's verdict, never a crash.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import polars as pl

from mlspec.monitor import stats
from mlspec.monitor.current import Current
from mlspec.monitor.errors import MonitorError
from mlspec.monitor.reference import Reference
from mlspec.monitor.sampling import sample

OK, FIRED, ERROR, SKIPPED = "ok", "fired", "error", "skipped"
PERFORMANCE_TOLERANCE = 0.05  # performance: how much worse than the reference, by default
QUALITY_SHARE = 0.01  # data_quality: the share of bad values allowed, by default
BOOTSTRAP = 200
HISTOGRAM_BINS = 20
TOP_CATEGORIES = 12


@dataclass
class Verdict:
    """One column (or score) of one monitor."""

    column: str
    status: str  # ok | drift | error | fail
    kind: str | None = None
    test: str | None = None
    statistic: float | None = None
    threshold: float | None = None
    message: str = ""
    histogram: dict[str, Any] | None = None  # {labels, reference, current} shares


@dataclass
class Result:
    name: str
    type: str
    status: str  # ok | fired | error | skipped
    summary: str
    verdicts: list[Verdict] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    alert: dict[str, Any] = field(default_factory=dict)

    @property
    def fired(self) -> bool:
        return self.status in (FIRED, ERROR)

    def to_json(self, histograms: bool = False) -> dict[str, Any]:
        out = asdict(self)
        if not histograms:
            for v in out["verdicts"]:
                v.pop("histogram", None)
        return out


@dataclass
class Context:
    """What every monitor reads: the reference, the current data (and a sample of it)."""

    reference: Reference
    current: Current
    score: Callable[[pl.DataFrame], pl.DataFrame]  # scoring.score_current bound to the bundle
    sample_rows: int = 100_000
    seed: int = 0

    @cached_property
    def sampled(self) -> pl.DataFrame:
        """The current columns, a seeded sample of at most `sample_rows` rows."""
        return sample(self.current.frame, self.sample_rows, self.seed)

    @cached_property
    def scores(self) -> pl.DataFrame:
        """The current data's scores (MonitorError when it cannot be scored)."""
        return self.score(self.current.raw)


# ----------------------------------------------------------------------------- drift


def _values(series: pl.Series, kind: str) -> Any:
    """Non-null values as `stats.Column` wants them (NaN and ±inf dropped for numbers)."""
    if kind == stats.NUMERIC:
        x = series.cast(pl.Float64)
        return x.filter(x.is_finite().fill_null(False)).to_numpy()
    counts = series.drop_nulls().cast(pl.String).value_counts(name="n")
    return dict(counts.iter_rows())


def _histogram(col: stats.Column) -> dict[str, Any]:
    if col.kind == stats.NUMERIC:
        both = np.concatenate([col.reference, col.current])
        edges = np.histogram_bin_edges(both, HISTOGRAM_BINS)
        ref = np.histogram(col.reference, edges)[0] / max(len(col.reference), 1)
        cur = np.histogram(col.current, edges)[0] / max(len(col.current), 1)
        labels = [f"{a:.4g}–{b:.4g}" for a, b in itertools.pairwise(edges)]
        return {"labels": labels, "reference": ref.tolist(), "current": cur.tolist()}
    n_ref, n_cur = col.sizes
    keys = sorted(
        set(col.reference) | set(col.current),
        key=lambda k: -(col.reference.get(k, 0) / n_ref + col.current.get(k, 0) / n_cur),
    )[:TOP_CATEGORIES]
    return {
        "labels": [str(k) for k in keys],
        "reference": [col.reference.get(k, 0) / n_ref for k in keys],
        "current": [col.current.get(k, 0) / n_cur for k in keys],
    }


def test_column(
    name: str,
    kind: str,
    reference: pl.Series,
    current: pl.Series,
    reference_rows: int,
    test: str,
    threshold: float | None,
) -> Verdict:
    """One column's drift verdict."""
    ref, cur = _values(reference, kind), _values(current, kind)
    col = stats.Column.numeric(ref, cur) if kind == stats.NUMERIC else stats.Column(kind, ref, cur)
    n_ref, n_cur = col.sizes
    if not n_ref or not n_cur:
        side = "reference" if not n_ref else "current data"
        return Verdict(name, "error", kind, test, message=f"the {side} has no value to compare")
    chosen = stats.choose(test, col, reference_rows)
    if kind not in chosen.kinds:
        return Verdict(
            name,
            "error",
            kind,
            chosen.name,
            message=f"test '{chosen.name}' must be used with numbers. Got a {kind} column instead.",
        )
    limit = chosen.threshold if threshold is None else float(threshold)
    value = chosen.compute(col)
    drifted = chosen.drifted(value, limit)
    return Verdict(
        name,
        "drift" if drifted else "ok",
        kind,
        chosen.name,
        value,
        limit,
        f"{chosen.label} {value:.4g} {'<' if chosen.p_value else '>='} {limit:g}"
        if drifted
        else "",
        _histogram(col),
    )


def data_drift(m: dict[str, Any], ctx: Context) -> Result:
    split = m.get("reference") or "train"
    part = ctx.reference.split(split)
    if part is None:
        return _error(m, f"version {ctx.reference.version} has no reference for the {split} split")
    sample = ctx.reference.sample(part["sample"])
    overrides = m.get("column_tests") or {}
    verdicts = []
    for c in m.get("columns") or []:
        if c not in part["columns"] or c not in sample.columns:
            verdicts.append(
                Verdict(c, "error", message=f"not profiled in version {ctx.reference.version}")
            )
        elif c in ctx.current.problems:
            verdicts.append(Verdict(c, "error", message=ctx.current.problems[c]))
        else:
            o = overrides.get(c) or {}
            verdicts.append(
                test_column(
                    c,
                    part["columns"][c]["kind"],
                    sample.get_column(c),
                    ctx.sampled.get_column(c),
                    part["rows"],
                    o.get("test") or m.get("test") or stats.AUTO,
                    o.get("threshold", m.get("threshold")),
                )
            )
    tested = [v for v in verdicts if v.status in ("ok", "drift")]
    drifted = sum(v.status == "drift" for v in verdicts)
    share_needed = float(m.get("drift_share", 0.5))
    share = drifted / len(tested) if tested else 0.0
    errors = [v for v in verdicts if v.status == "error"]
    fired = bool(tested) and share >= share_needed
    status = FIRED if fired else ERROR if errors else OK
    summary = f"{drifted} of {len(tested)} columns drifted (share {share:.2f}, fires at >= {share_needed:g})"
    if errors:
        summary += f"; {len(errors)} column(s) could not be tested"
    return Result(
        m["name"],
        m["type"],
        status,
        summary,
        verdicts,
        {"reference": split, "drift_share": share, "dataset_drift": fired},
        m.get("alert") or {},
    )


def prediction_drift(m: dict[str, Any], ctx: Context) -> Result:
    try:
        scores = ctx.scores
    except MonitorError as exc:
        return _error(m, exc.message)
    reference = ctx.reference.sample(ctx.reference.profile["score_sample"])
    objective = m.get("objective")
    columns = (
        [f"score_{objective}"]
        if objective
        else [*sorted(c for c in reference.columns if c.startswith("score_")), "score"]
    )
    rows = int((ctx.reference.profile.get("rows") or {}).get("test") or reference.height)
    current = scores
    if current.height > ctx.sample_rows:
        current = sample(current, ctx.sample_rows, ctx.seed)
    verdicts = [
        test_column(
            c,
            stats.NUMERIC,
            reference.get_column(c),
            current.get_column(c),
            rows,
            m.get("test") or stats.AUTO,
            m.get("threshold"),
        )
        if c in reference.columns and c in current.columns
        else Verdict(c, "error", message=f"version {ctx.reference.version} has no score '{c}'")
        for c in columns
    ]
    drifted = [v.column for v in verdicts if v.status == "drift"]
    errors = [v for v in verdicts if v.status == "error"]
    status = FIRED if drifted else ERROR if errors else OK
    summary = f"drift in {', '.join(drifted)}" if drifted else "no score drifted"
    return Result(m["name"], m["type"], status, summary, verdicts, {}, m.get("alert") or {})


# ----------------------------------------------------------------------------- performance


def performance(m: dict[str, Any], ctx: Context) -> Result:
    from mlspec.evaluation import metrics as M
    from mlspec.lang.metrics_table import METRICS

    name, metric = m["objective"], m["metric"]
    obj = ctx.reference.objectives.get(name)
    if obj is None:
        return _error(m, f"version {ctx.reference.version} has no objective '{name}'")
    target = obj["target"]
    if target not in ctx.current.raw.columns:
        return Result(
            m["name"],
            m["type"],
            SKIPPED,
            f"no labels: the current data has no column '{target}'",
            alert=m.get("alert") or {},
        )
    try:
        scores = ctx.scores
    except MonitorError as exc:
        return _error(m, exc.message)
    y = ctx.current.raw.get_column(target)
    keep = y.is_not_null().to_numpy()
    raw = scores.get_column(f"raw_{name}").to_numpy()[keep]
    task, classes = obj["task"], obj.get("classes") or []
    try:
        y_true = (
            y.filter(y.is_not_null()).cast(pl.Float64).to_numpy()
            if task == "regression"
            else M.encode(y.drop_nulls().to_list(), classes)
        )
    except ValueError as exc:
        return _error(m, f"labels in '{target}': {exc}")
    label = scores.get_column(f"label_{name}").to_numpy()[keep] if task != "regression" else None
    proba = (
        scores.select(f"proba_{name}_{k}" for k in range(len(classes))).to_numpy()[keep]
        if task != "regression"
        else None
    )
    rows = M.Rows.make(task, y_true, raw, label, proba, classes, "the current data")
    value = M.values([metric], rows)[metric]
    if value.value is None:
        return _error(m, f"{metric} has no value on the current data: {value.reason}")
    low, high = M.bootstrap(rows, [metric], BOOTSTRAP, ctx.seed)[metric]
    better = METRICS[metric].higher_is_better
    floor = m.get("floor")
    ref = ((ctx.reference.profile.get("performance") or {}).get(m["name"]) or {}).get("value")
    if floor is not None:
        bound, against = float(floor), f"floor {float(floor):.4g}"
    elif ref is not None:
        tol = PERFORMANCE_TOLERANCE if m.get("threshold") is None else float(m["threshold"])
        bound = ref - tol if better else ref + tol
        against = f"reference {ref:.4g} {'-' if better else '+'} tolerance {tol:g}"
    else:
        return _error(
            m, f"version {ctx.reference.version} has no reference {metric}; give a `floor`"
        )
    worse = value.value < bound if better else value.value > bound
    word = "below" if better else "above"
    summary = f"{metric} {value.value:.4g} [{low:.4g}, {high:.4g}] " + (
        f"is {word} {against}" if worse else f"within {against}"
    )
    v = Verdict(
        metric,
        "fail" if worse else "ok",
        statistic=value.value,
        threshold=bound,
        message=summary,
    )
    details = {"value": value.value, "low": low, "high": high, "reference": ref, "bound": bound}
    details["rows"] = int(keep.sum())
    return Result(
        m["name"], m["type"], FIRED if worse else OK, summary, [v], details, m.get("alert") or {}
    )


# ----------------------------------------------------------------------------- data quality


def _quality(c: str, d: dict[str, Any], values: pl.Series, limit: float) -> Verdict:
    n = len(values)
    if d["kind"] == stats.NUMERIC:
        x = values.cast(pl.Float64)
        present = x.filter(x.is_finite().fill_null(False))
    else:
        present = values.drop_nulls()
    null_share = 1 - len(present) / n
    shares = {"null": max(0.0, null_share - float(d.get("null_fraction") or 0.0))}
    if len(present) and d["kind"] == stats.NUMERIC and d.get("min") is not None:
        outside = ((present < d["min"]) | (present > d["max"])).sum()
        shares["out_of_range"] = outside / len(present)
    if len(present) and d["kind"] == stats.CATEGORICAL and not d.get("other"):
        known = pl.Series(list(d["frequencies"]), dtype=pl.String)
        shares["unseen"] = (~present.cast(pl.String).is_in(known)).sum() / len(present)
    bad = {k: v for k, v in shares.items() if v > limit}
    message = "; ".join(f"{k} share {v:.4g} > {limit:g}" for k, v in bad.items())
    worst = max(shares.values())
    return Verdict(c, "fail" if bad else "ok", d["kind"], "quality", worst, limit, message)


def data_quality(m: dict[str, Any], ctx: Context) -> Result:
    split = m.get("reference") or "train"
    part = ctx.reference.split(split)
    if part is None:
        return _error(m, f"version {ctx.reference.version} has no reference for the {split} split")
    features = [f["name"] for f in ctx.reference.bundle_info.get("features") or []]
    columns = m.get("columns") or [c for c in features if c in part["columns"]]
    limit = QUALITY_SHARE if m.get("threshold") is None else float(m["threshold"])
    verdicts = []
    for c in columns:
        if c not in part["columns"]:
            verdicts.append(
                Verdict(c, "error", message=f"not profiled in version {ctx.reference.version}")
            )
        elif c in ctx.current.problems:
            verdicts.append(Verdict(c, "fail", message=ctx.current.problems[c]))
        else:
            verdicts.append(_quality(c, part["columns"][c], ctx.current.frame.get_column(c), limit))
    failed = [v.column for v in verdicts if v.status == "fail"]
    errors = [v for v in verdicts if v.status == "error"]
    status = FIRED if failed else ERROR if errors else OK
    passed = len(verdicts) - len(failed) - len(errors)
    summary = (
        f"{len(failed)} of {len(verdicts)} columns fail: {', '.join(failed)}"
        if failed
        else f"{passed} of {len(verdicts)} columns pass"
        if errors
        else f"{len(verdicts)} columns pass"
    )
    if errors:
        summary += f"; {len(errors)} column(s) could not be checked: " + ", ".join(
            v.column for v in errors
        )
    details = {"extra_columns": ctx.current.extra, "rows": ctx.current.raw.height}
    return Result(m["name"], m["type"], status, summary, verdicts, details, m.get("alert") or {})


def _error(m: dict[str, Any], message: str) -> Result:
    return Result(m["name"], m["type"], ERROR, message, alert=m.get("alert") or {})


TYPES: dict[str, Callable[[dict[str, Any], Context], Result]] = {
    "data_drift": data_drift,
    "prediction_drift": prediction_drift,
    "performance": performance,
    "data_quality": data_quality,
}


def run_all(monitors: list[dict[str, Any]], ctx: Context) -> list[Result]:
    return [TYPES[m["type"]](m, ctx) for m in monitors]
