"""The `evaluate` step: how good one model is on the test split, and where and why.

Params: `EvaluateParams` (`mlspec/steps/params.py`).

``bootstrap`` and ``importance`` come from the objective's ``evaluation`` block: ``n = 0``
gives every metric without an interval (low and high null), ``importance: false`` skips
permutation importance (``reasons.permutation`` says so; the model's own is still reported).

Inputs ``model`` (the train step), ``data`` (features table), ``split``. Only test rows
(split == 2) are scored. Writes:

``predictions.parquet``: one row per test row, in table order: ``row`` (Int64, the row's
index in the features table), ``target`` (the target as in the table), ``score`` (Float64:
P(positive) for binary, P(predicted class) for multiclass, the prediction for regression),
``label`` (the predicted class, or the prediction for regression) and for multiclass one
``proba_<class>`` per class.

``metrics.json``::

    {objective, model, task, rows, threshold, classes, select_by,
     bootstrap: {n, seed, level},
     metrics:  {name: {value, low, high} | {value: null, reason, low: null, high: null}},
     slices:   {column: [{value, count, metrics: {name: {value} | {value: null, reason}}}]},
     fairness: {column: {demographic_parity_difference: {value}, equalized_odds_difference:
                {value} | {value: null, reason}, groups: [{group, count, positives,
                selection_rate, tpr, fpr}]}},                                   # binary only
     importance: {permutation: {feature: {mean, std}} | null, model: {feature: value} | null,
                  permutation_settings: {metric, repeats, rows, seed}, model_source, reasons},
     curves:   binary {roc: {fpr, tpr}, pr: {recall, precision}, calibration: {bins,
               mean_predicted, fraction_positive, count}}; multiclass {confusion: {labels,
               matrix}}; regression {residuals: {quantile_levels, quantiles, y, prediction}},
     unseen:   {feature: rows with a category never seen in train}}

Metric intervals are seeded percentile bootstraps (`metrics.bootstrap`); an undefined metric
(one class in the test split) has a reason instead of a value, never an error. Slice values
are sorted, nulls last as "(null)"; beyond `MAX_SLICE_VALUES` the least frequent values are
pooled into "(other)". Permutation importance runs on at most `PERMUTATION_ROWS` test rows
(sampled with the bootstrap seed) and is reported per input feature.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import polars as pl

from mlspec.contract.api import StepContext, StepError
from mlspec.evaluation import metrics as M
from mlspec.frames import jsonable, label, require_columns
from mlspec.models import persist
from mlspec.models.recipes import recipe
from mlspec.scoring import preprocess
from mlspec.scoring.predict import Predictions, predict
from mlspec.steps.params import EvaluateParams
from mlspec.steps.split import TEST

LEVEL = 0.95
MAX_SLICE_VALUES = 50
SLICE_BINS = 4  # a numeric slice column with more distinct values is cut into quartiles
PERMUTATION_ROWS = 5_000  # x 20 features x 5 repeats: 505k rows to predict, ~0.85 s (XGBoost 100 trees); 20k rows cost 4.6 s of a 24 s run
PERMUTATION_REPEATS = 5
PERMUTATION_STACK_CELLS = (
    8_000_000  # cells of permuted copies predicted in one call (64 MB of float64)
)
CURVE_POINTS = 200
CALIBRATION_BINS = 10
RESIDUAL_SAMPLE = 500
RESIDUAL_LEVELS = (0.0, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1.0)
NULL, OTHER = "(null)", "(other)"
DIGITS = 6  # curve points are rounded: a chart needs no more, and the file stays small


# ----------------------------------------------------------------------------- reading


def _read(ctx: StepContext, objective: dict[str, Any]) -> tuple[pl.DataFrame, np.ndarray]:
    """The test rows (features, target, slice and protected columns) and their row ids."""
    features = preprocess.names(objective["features"])
    extra = [*objective.get("slices", []), *objective.get("protected", [])]
    columns = list(dict.fromkeys([*features, objective["target"], *extra]))
    data = ctx.input("data")
    require_columns(data.scan().collect_schema(), columns, what="the features table")
    parts = ctx.input("split").frame(columns=["split"]).get_column("split").to_numpy()
    frame = preprocess.read_rows(data, columns, parts, TEST)
    if not frame.height:
        raise StepError(
            f"objective '{objective['name']}': the test split is empty; there is nothing to evaluate.",
            hint="raise `data.split.test`, or check the split's `by` column",
        )
    return frame, np.flatnonzero(parts == TEST).astype(np.int64)


def _take(pred: Predictions, keep: np.ndarray) -> Predictions:
    def pick(a: np.ndarray | None) -> np.ndarray | None:
        return None if a is None else a[keep]

    return Predictions(
        pred.score[keep], pred.label[keep], pick(pred.proba), pick(pred.index), pred.unseen
    )


def _rows(task: str, y: np.ndarray, pred: Predictions, classes: Sequence[Any] | None) -> M.Rows:
    return M.Rows.make(task, y, pred.score, pred.index, pred.proba, classes or ())


# ----------------------------------------------------------------------------- metrics


def _metrics(
    rows: M.Rows, names: list[str], n: int, seed: int, threads: int
) -> dict[str, dict[str, Any]]:
    point = M.values(names, rows)
    intervals = M.bootstrap(rows, names, n, seed, LEVEL, threads)  # (None, None) where undefined
    return {
        m: {**point[m].to_json(), "low": intervals[m][0], "high": intervals[m][1]} for m in names
    }


def _groups(column: pl.Series) -> tuple[list[Any], np.ndarray]:
    """Distinct values (sorted, null last, as JSON values) and each row's group code."""
    values = column.drop_nulls().unique().sort().to_list()
    codes = column.replace_strict(
        values, list(range(len(values))), default=None, return_dtype=pl.Int64
    )
    keys = [jsonable(v) for v in values]
    if column.null_count():
        keys.append(NULL)
    return keys, codes.fill_null(len(values)).to_numpy()


def _binned(column: pl.Series) -> pl.Series:
    """A numeric column with more than SLICE_BINS distinct values, cut at the quantiles of
    the test rows (to 4 significant digits) into SLICE_BINS bins named by their rank and interval ("q2 (0.25, 0.5]");
    any other
    column as is (one slice per value)."""
    if not column.dtype.is_numeric() or column.n_unique() <= SLICE_BINS:
        return column
    quantiles = (column.quantile(k / SLICE_BINS, "linear") for k in range(1, SLICE_BINS))
    breaks = sorted({float(f"{q:.4g}") for q in quantiles if q is not None})  # readable edges
    edges = [float("-inf"), *breaks, float("inf")]
    names = [f"q{i + 1} ({edges[i]:g}, {edges[i + 1]:g}]" for i in range(len(edges) - 1)]
    # The bin of x is the first break >= x: bins are right-closed, (lo, hi].
    index = pl.Series(breaks, dtype=pl.Float64).search_sorted(
        column.cast(pl.Float64).fill_null(0.0), side="left"
    )
    labels = index.replace_strict(list(range(len(names))), names, return_dtype=pl.String)
    return labels.set(column.is_null(), None).rename(column.name)


def _slices(
    frame: pl.DataFrame, rows: M.Rows, columns: Sequence[str], names: list[str]
) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for column in columns:
        keys, codes = _groups(_binned(frame.get_column(column)))
        counts = np.bincount(codes, minlength=len(keys))
        if len(keys) > MAX_SLICE_VALUES:  # keep the most frequent; ties by value order
            keep = np.sort(np.argsort(-counts, kind="stable")[: MAX_SLICE_VALUES - 1])
            mapping = np.full(len(keys), len(keep))
            mapping[keep] = np.arange(len(keep))
            keys, codes = [keys[k] for k in keep] + [OTHER], mapping[codes]
        order = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[order], np.arange(len(keys) + 1))
        entries = []
        for g, key in enumerate(keys):
            index = order[bounds[g] : bounds[g + 1]]
            part = rows.take(index, what=f"the slice {column} = {key}")
            entries.append(
                {
                    "value": key,
                    "count": len(index),
                    "metrics": {m: v.to_json() for m, v in M.values(names, part).items()},
                }
            )
        out[column] = entries
    return out


def _fairness(
    frame: pl.DataFrame, rows: M.Rows, columns: Sequence[str]
) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    label_ = rows.need_label()
    for column in columns:
        keys, codes = _groups(frame.get_column(column))
        groups = M.group_rates(rows.y, label_, codes)
        for g in groups:
            g["group"] = keys[g["group"]]
        dp = M.demographic_parity_difference(label_, codes)
        eo = M.equalized_odds_difference(rows.y, label_, codes)
        out[column] = {
            "demographic_parity_difference": {"value": dp},
            "equalized_odds_difference": {"value": eo}
            if eo is not None
            else {"value": None, "reason": "no group has both positive and negative rows"},
            "groups": groups,
        }
    return out


# ----------------------------------------------------------------------------- importance


def _model_importance(
    pipeline: Any, features: Sequence[dict[str, Any]]
) -> tuple[dict[str, float] | None, str]:
    """The model's own importance per input feature (encoded columns summed), and its source or why not."""
    est = pipeline[-1] if hasattr(pipeline, "steps") else pipeline
    calibrated = getattr(est, "calibrated_classifiers_", None)
    if calibrated:  # CalibratedClassifierCV(ensemble=False): the one refitted model
        est = calibrated[0].estimator
    if getattr(est, "feature_importances_", None) is not None:
        source, raw = (
            "feature_importances_",
            np.abs(np.asarray(est.feature_importances_, dtype=np.float64)),
        )
    elif getattr(est, "coef_", None) is not None:
        coef = np.atleast_2d(np.asarray(est.coef_, dtype=np.float64))
        source, raw = "coef_", np.abs(coef).mean(axis=0)  # mean |coef| over classes
    else:
        return None, f"{type(est).__name__} has no importance of its own"
    raw = np.nan_to_num(raw)  # a model without a single split reports NaN for every feature
    owners = _owners(pipeline, len(features), len(raw))
    if owners is None:
        return (
            None,
            f"cannot map the model's {len(raw)} encoded columns back to the {len(features)} features",
        )
    sums = np.bincount(owners, weights=raw, minlength=len(features))
    return {f["name"]: float(sums[j]) for j, f in enumerate(features)}, source


def _owners(pipeline: Any, n_features: int, width: int) -> np.ndarray | None:
    """For each column the estimator sees, the index of the input feature it comes from."""
    from sklearn.compose import ColumnTransformer

    first = pipeline[0] if hasattr(pipeline, "steps") and len(pipeline.steps) > 1 else None
    if first is None:
        return np.arange(width) if width == n_features else None
    if not isinstance(first, ColumnTransformer):  # one transformer for every feature
        per = _widths(first, n_features, width)
        return None if per is None else np.repeat(np.arange(n_features), per)
    owners = np.full(width, -1)
    for name, trans, cols in first.transformers_:
        sl = first.output_indices_.get(name)
        if sl is None or sl.stop == sl.start or trans == "drop":
            continue
        cols = list(np.arange(n_features)[cols]) if not isinstance(cols, list) else cols
        per = _widths(trans, len(cols), sl.stop - sl.start)
        if per is None:
            return None
        owners[sl] = np.repeat(np.asarray(cols, dtype=np.int64), per)
    return owners if (owners >= 0).all() else None


def _widths(trans: Any, n_in: int, n_out: int) -> list[int] | None:
    """How many output columns each input column of one transformer becomes."""
    if n_out == n_in:
        return [1] * n_in
    last = trans[-1] if hasattr(trans, "steps") else trans
    cats = getattr(last, "categories_", None)
    if cats is not None and sum(len(c) for c in cats) == n_out:  # one-hot: one column per category
        return [len(c) for c in cats]
    return None


def _shuffles(n: int, repeats: int, seed: int) -> list[np.ndarray]:
    """The row order of a permuted column in each repeat, drawn as scikit-learn's
    `permutation_importance` draws them: a RandomState seeded with a draw from `seed`, the
    same for every feature, shuffling an index in place, and each repeat shuffling the
    previous repeat's column again (so repeat r reads rows ``order[r-1][index]``)."""
    state = np.random.RandomState(np.random.RandomState(seed).randint(np.iinfo(np.int32).max + 1))
    index, order, out = np.arange(n), np.arange(n), []
    for _ in range(repeats):
        state.shuffle(index)
        order = order[index]
        out.append(order)
    return out


def _permuted_copies(X: np.ndarray, shuffles: Sequence[np.ndarray], columns: range) -> np.ndarray:
    """One matrix holding, per column in `columns` and per shuffle, a copy of `X` with that
    column in the shuffled order: block (c, r) is rows ``[(c * R + r) * n, ... + n)``."""
    n = len(X)
    out = np.empty((len(columns) * len(shuffles) * n, X.shape[1]), dtype=X.dtype)
    for i, c in enumerate(columns):
        for r, order in enumerate(shuffles):
            block = out[(i * len(shuffles) + r) * n : (i * len(shuffles) + r + 1) * n]
            block[:] = X
            block[:, c] = X[order, c]
    return out


def _block_scores(pred: Predictions, rows: M.Rows, metric: str, higher: bool) -> list[float]:
    """The signed metric (larger is better) of each block of ``rows.n`` predictions."""
    n, out = rows.n, []
    for b in range(len(pred.score) // n):
        part = slice(b * n, (b + 1) * n)
        proba = None if pred.proba is None else pred.proba[part]
        index = None if pred.index is None else pred.index[part]
        v = M.value(
            metric, M.Rows.make(rows.task, rows.y, pred.score[part], index, proba, rows.classes)
        )
        if v.value is None:
            raise M.Undefined(v.reason or "undefined")
        out.append(v.value if higher else -v.value)
    return out


def _permutation_scores(
    pipeline: Any,
    X: np.ndarray,
    rows: M.Rows,
    metric: str,
    classes: Sequence[Any] | None,
    threshold: float,
    seed: int,
    threads: int,
) -> tuple[float, np.ndarray]:
    """The baseline score and the (features, repeats) scores of the permuted copies.

    The same numbers as scikit-learn's ``permutation_importance`` with ``random_state=seed``
    (a test checks it), but the copies are predicted together, `PERMUTATION_STACK_CELLS`
    cells per call, instead of one call per feature and repeat (pipeline, threadpool limits
    and DMatrix cost each call ~3-10 ms beyond the prediction): 101 calls on 5k rows took
    1.7-1.9 s, three calls on the same rows 1.0-1.1 s (20 features, XGBoost 100 trees of
    depth 6, 2 threads, best of 3, interleaved). What is left is the prediction itself
    (~1.6 us per row). Each row's prediction does not depend on the rows predicted with it.
    """
    higher = M.METRICS[metric].higher_is_better
    shuffles = _shuffles(len(X), PERMUTATION_REPEATS, seed)

    def scores(matrix: np.ndarray) -> list[float]:
        pred = predict(pipeline, matrix, rows.task, classes, threshold, threads=threads)
        return _block_scores(pred, rows, metric, higher)

    baseline = scores(X)[0]
    per_call = max(1, PERMUTATION_STACK_CELLS // max(1, X.size * len(shuffles)))
    found: list[float] = []
    for start in range(0, X.shape[1], per_call):
        found += scores(
            _permuted_copies(X, shuffles, range(start, min(start + per_call, X.shape[1])))
        )
    return baseline, np.asarray(found, dtype=np.float64).reshape(X.shape[1], len(shuffles))


def _permutation(
    pipeline: Any,
    X: np.ndarray,
    rows: M.Rows,
    objective: dict[str, Any],
    classes: Sequence[Any] | None,
    threshold: float,
    seed: int,
    threads: int,
    uses_features: bool = True,
) -> tuple[dict[str, Any] | None, dict[str, Any], str | None]:
    metric = objective["select_by"]
    n = len(X)
    take = (
        np.sort(np.random.default_rng(seed).choice(n, PERMUTATION_ROWS, replace=False))
        if n > PERMUTATION_ROWS
        else np.arange(n)
    )
    settings = {"metric": metric, "repeats": PERMUTATION_REPEATS, "rows": len(take), "seed": seed}
    sub = rows.take(take, what="the rows sampled for permutation importance")
    why = M.reason(metric, sub)
    if why is not None:
        return None, settings, f"{metric} is undefined: {why}"
    if not uses_features:
        # A model that ignores its features (the baseline): its predictions do not change when a feature is shuffled: every drop is exactly 0,
        # what the shuffled copies would give, without predicting them.
        drop = np.zeros((X.shape[1], PERMUTATION_REPEATS), dtype=np.float64)
    else:
        try:
            baseline, permuted = _permutation_scores(
                pipeline, X[take], sub, metric, classes, threshold, seed, threads
            )
        except M.Undefined as exc:
            return None, settings, f"{metric} is undefined on a shuffled copy: {exc.reason}"
        # As scikit-learn: importances_mean / importances_std over repeats.
        drop = baseline - permuted
    names = preprocess.names(objective["features"])
    return (
        {
            f: {"mean": float(np.mean(drop[j])), "std": float(np.std(drop[j]))}
            for j, f in enumerate(names)
        },
        settings,
        None,
    )


# ----------------------------------------------------------------------------- curves


def _round(values: np.ndarray) -> list[float]:
    return [float(v) for v in np.round(np.asarray(values, dtype=np.float64), DIGITS)]


def _thin(n: int, most: int = CURVE_POINTS) -> np.ndarray:
    """At most `most` evenly spread indices of 0..n-1, first and last included."""
    return (
        np.arange(n)
        if n <= most
        else np.unique(np.linspace(0, n - 1, most).round().astype(np.int64))
    )


def _binary_curves(rows: M.Rows) -> dict[str, Any]:
    from sklearn.metrics import precision_recall_curve, roc_curve

    y, score = rows.y, rows.score
    out: dict[str, Any] = {}
    one_class = M.reason("roc_auc", rows)
    if one_class is None:
        fpr, tpr, _ = roc_curve(y, score)
        keep = _thin(len(fpr))
        out["roc"] = {"fpr": _round(fpr[keep]), "tpr": _round(tpr[keep])}
    else:
        out["roc"] = {"reason": one_class}
    no_pos = M.reason("pr_auc", rows)
    if no_pos is None:
        precision, recall, _ = precision_recall_curve(y, score)
        keep = _thin(len(precision))
        out["pr"] = {"recall": _round(recall[keep]), "precision": _round(precision[keep])}
    else:
        out["pr"] = {"reason": no_pos}
    bins = np.minimum(
        (np.clip(score, 0, 1) * CALIBRATION_BINS).astype(np.int64), CALIBRATION_BINS - 1
    )
    count = np.bincount(bins, minlength=CALIBRATION_BINS)
    mean_p = np.bincount(bins, weights=score, minlength=CALIBRATION_BINS)
    positives = np.bincount(bins, weights=(y == 1), minlength=CALIBRATION_BINS)
    used = count > 0
    out["calibration"] = {
        "bins": CALIBRATION_BINS,
        "mean_predicted": _round(mean_p[used] / count[used]),
        "fraction_positive": _round(positives[used] / count[used]),
        "count": [int(c) for c in count[used]],
    }
    return out


def _multiclass_curves(rows: M.Rows) -> dict[str, Any]:
    k = len(rows.classes)
    matrix = np.bincount(rows.y * k + rows.need_label(), minlength=k * k).reshape(k, k)
    return {"confusion": {"labels": [label(c) for c in rows.classes], "matrix": matrix.tolist()}}


def _regression_curves(rows: M.Rows, seed: int) -> dict[str, Any]:
    residual = rows.y - rows.score
    n = rows.n
    take = (
        np.sort(np.random.default_rng(seed).choice(n, RESIDUAL_SAMPLE, replace=False))
        if n > RESIDUAL_SAMPLE
        else np.arange(n)
    )
    return {
        "residuals": {
            "quantile_levels": list(RESIDUAL_LEVELS),
            "quantiles": _round(np.quantile(residual, RESIDUAL_LEVELS)),
            "y": _round(rows.y[take]),
            "prediction": _round(rows.score[take]),
        }
    }


CURVES: dict[str, Callable[[M.Rows, int], dict[str, Any]]] = {
    "binary": lambda rows, seed: _binary_curves(rows),
    "multiclass": lambda rows, seed: _multiclass_curves(rows),
    "regression": _regression_curves,
}


# ----------------------------------------------------------------------------- output


def _predictions(
    frame: pl.DataFrame,
    row_ids: np.ndarray,
    objective: dict[str, Any],
    pred: Predictions,
    classes: Sequence[Any] | None,
) -> pl.DataFrame:
    target = frame.get_column(objective["target"]).rename("target")
    columns = [
        pl.Series("row", row_ids, dtype=pl.Int64),
        target,
        pl.Series("score", pred.score, dtype=pl.Float64),
    ]
    if objective["task"] == "regression":
        columns.append(pl.Series("label", pred.score, dtype=pl.Float64))
    else:
        labels = pl.Series("label", pred.label)
        try:
            labels = labels.cast(target.dtype)
        except pl.exceptions.PolarsError:
            labels = labels.cast(pl.String)
        columns.append(labels)
    if objective["task"] == "multiclass" and pred.proba is not None:
        columns += [
            pl.Series(f"proba_{label(c)}", pred.proba[:, j], dtype=pl.Float64)
            for j, c in enumerate(classes or ())
        ]
    return pl.DataFrame(columns)


def run(ctx: StepContext) -> None:
    p: EvaluateParams = ctx.params
    objective = p.objective
    task = objective["task"]
    model_name = p.model_name
    # Predictions and metrics do not depend on the thread count: idle cores are used.
    resamples, seed, threads = int(p.bootstrap), int(p.seed), ctx.cores()
    threshold = float(objective.get("threshold") if objective.get("threshold") is not None else 0.5)
    names = list(dict.fromkeys([*objective.get("metrics", []), objective["select_by"]]))
    for m in names:
        if task not in M.metric(m).tasks:
            raise StepError(
                f"metric '{m}' does not fit task {task}; it needs {' or '.join(sorted(M.metric(m).tasks))}."
            )

    pipeline, meta = persist.load(ctx.input("model"))
    classes = meta.get("classes")
    features = meta.get("features") or objective["features"]
    everything, row_ids = _read(ctx, {**objective, "features": features})
    X_all = preprocess.matrix(everything, features)
    pred_all = predict(
        pipeline, X_all, task, classes, threshold, meta=meta, threads=threads, what="the test split"
    )
    # Every test row is predicted; with `missing_target: drop` the metrics read those with one.
    frame, _, dropped = preprocess.labelled(everything, objective)
    if dropped:
        keep = preprocess.has_target(everything, objective).to_numpy()
        ctx.warn(
            f"{objective['name']}/{model_name}: {dropped} test row(s) without a target left out of the metrics (missing_target: drop)"
        )
        X, pred = X_all[keep], _take(pred_all, keep)
    else:
        X, pred = X_all, pred_all
    y, _ = preprocess.target(frame, objective, classes=classes, what="the test split")
    for feature, count in sorted(pred.unseen.items()):
        ctx.warn(
            f"{objective['name']}/{model_name}: feature '{feature}' has {count} test row(s) with a category unseen in train (encoded as unknown)."
        )
    rows = _rows(task, y, pred, classes)

    metrics = _metrics(rows, names, resamples, seed, threads)
    fairness: dict[str, Any] = {}
    if task == "binary":
        fairness = _fairness(frame, rows, objective.get("protected", []))
    elif objective.get("protected"):
        ctx.warn(
            f"{objective['name']}: fairness metrics need a binary task; the protected columns are not evaluated."
        )
    if p.importance:
        permutation, settings, why_not = _permutation(
            pipeline,
            X,
            rows,
            {**objective, "features": features},
            classes,
            threshold,
            seed,
            threads,
            recipe(meta["type"]).uses_features,
        )
    else:
        permutation, settings, why_not = (
            None,
            None,
            "turned off in the spec (evaluation.importance: false)",
        )
    own, source = _model_importance(pipeline, features)
    reasons = {
        k: v
        for k, v in (("permutation", why_not), ("model", None if own is not None else source))
        if v
    }

    document = {
        "objective": objective["name"],
        "model": model_name,
        "task": task,
        "rows": rows.n,
        "rows_without_target": dropped,
        "threshold": threshold if task == "binary" else None,
        "classes": None if classes is None else [jsonable(c) for c in classes],
        "select_by": objective["select_by"],
        "bootstrap": {"n": resamples, "seed": seed, "level": LEVEL},
        "metrics": metrics,
        "slices": _slices(frame, rows, objective.get("slices", []), names),
        "fairness": fairness,
        "importance": {
            "permutation": permutation,
            "permutation_settings": settings,
            "model": own,
            "model_source": source if own is not None else None,
            "reasons": reasons,
        },
        "curves": CURVES[task](rows, seed),
        "unseen": dict(sorted(pred.unseen.items())),
        "leakage": meta.get("leakage") or [],  # found by the train step (evaluation.leakage)
    }
    ctx.output.write_frame(
        _predictions(everything, row_ids, objective, pred_all, classes), "predictions"
    )
    ctx.output.write_json(document, "metrics.json")
    for m, entry in metrics.items():
        if entry["value"] is not None and math.isfinite(entry["value"]):
            ctx.output.metric(m, entry["value"])
