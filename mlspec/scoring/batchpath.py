"""Many rows through a pipeline's fitted transforms without the object matrix.

A categorical feature makes `preprocess.matrix` an object matrix (a Python float per numeric
cell, a str per category), and the ColumnTransformer then converts it back column by column:
on 1M feed-ranking rows that round trip cost more than the XGBoost model itself
(docs/benchmarks.md, "Scoring and serving"). `compile_batch` reads the fitted parameters of the
transformers mlspec builds (`transform.transformer`: float cast, SimpleImputer, Standard/
MinMax/Robust scaler, OneHot/Ordinal encoder, in a ColumnTransformer or one Pipeline) and
writes the transformed matrix straight from the polars features: numeric columns as float64
arrays, categories mapped to codes by polars (`replace_strict`). Each cell gets the same
float operations in the same order as scikit-learn's (elementwise, so the same bits), and
the matrix has the layout the ColumnTransformer's ``np.hstack`` gives (C order, float64), so
the final estimator sees an identical input and gives identical scores
(tests/unit/test_scoring_batchpath.py compares bit patterns). A pipeline holding anything
else (target, frequency or hashing encoding, sparse output, ...) gets None and is scored
through `preprocess.matrix` and the Pipeline, as before.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from mlspec.scoring.predict import estimate
from mlspec.scoring.preprocess import NUMERIC, check_values, kind, matrix

# One part of the output matrix: `load` takes what it needs from the features frame once
# (numeric columns, category codes), `write` fills the part's columns of one block of rows.
Load = Callable[[pl.DataFrame, Mapping[str, np.ndarray]], list[np.ndarray]]
Write = Callable[[list[np.ndarray], slice, np.ndarray], None]
# An in-place operation on one numeric column: (column, its index within the part) -> None.
Op = Callable[[np.ndarray, int], None]


@dataclass(frozen=True)
class Part:
    load: Load
    write: Write
    width: int


_MISSING_CODE, _UNKNOWN_CODE = -2, -1
# Rows per block: the output is written a block of rows at a time, about 1 MiB, so each
# column operation works in cache; column by column over the whole C-ordered matrix every
# operation would stream all of it (482 ms against 54 ms for 1M x 14).
BLOCK_BYTES = 1 << 20
MIN_BLOCK_ROWS = 64  # a very wide matrix: fewer Python calls rather than in-cache blocks


def _numeric_op(est: Any) -> Op | None:
    """A fitted numeric transformer as an in-place column operation (None: unsupported)."""
    name = type(est).__name__
    if name == "FunctionTransformer":  # the float cast: the columns are float64 already
        ok = est.func is np.asarray and (est.kw_args or {}) == {"dtype": "float64"}
        return (lambda z, j: None) if ok else None
    if name == "SimpleImputer":
        nan = isinstance(est.missing_values, float) and np.isnan(est.missing_values)
        if not nan or est.add_indicator or not est.keep_empty_features:
            return None
        stats = np.asarray(est.statistics_, dtype=np.float64)

        def impute(z: np.ndarray, j: int) -> None:
            np.copyto(z, stats[j], where=np.isnan(z))

        return impute
    if name == "StandardScaler":
        mean = est.mean_ if est.with_mean else None
        scale = est.scale_ if est.with_std else None

        def standard(z: np.ndarray, j: int) -> None:
            if mean is not None:
                z -= mean[j]
            if scale is not None:
                z /= scale[j]

        return standard
    if name == "MinMaxScaler":
        lo, hi = est.feature_range

        def minmax(z: np.ndarray, j: int) -> None:
            z *= est.scale_[j]
            z += est.min_[j]
            if est.clip:
                np.clip(z, lo, hi, out=z)

        return minmax
    if name == "RobustScaler":

        def robust(z: np.ndarray, j: int) -> None:
            if est.with_centering:
                z -= est.center_[j]
            if est.with_scaling:
                z /= est.scale_[j]

        return robust
    return None


def _numeric_part(steps: Sequence[Any], names: list[str]) -> Part | None:
    ops = [_numeric_op(est) for est in steps]
    if not ops or type(steps[0]).__name__ != "FunctionTransformer" or None in ops:
        return None  # mlspec's numeric groups start with the float cast

    def load(feats: pl.DataFrame, numeric: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        return [numeric[name] for name in names]

    def write(columns: list[np.ndarray], rows: slice, out: np.ndarray) -> None:
        for j, column in enumerate(columns):
            z = out[:, j]
            z[...] = column[rows]
            for op in ops:
                op(z, j)  # type: ignore[misc]

    return Part(load, write, len(names))


def _categories(est: Any) -> list[list[str | None]] | None:
    cats = [list(c) for c in est.categories_]
    if any(not (isinstance(k, str) or k is None) for c in cats for k in c):
        return None  # categories are str (matrix casts them) or None (a null seen in train)
    return cats


def _codes(column: pl.Series, cats: list[str | None], fill: str | None) -> np.ndarray:
    """Per row the index of its category in `cats`; `_UNKNOWN_CODE` for one never seen,
    `_MISSING_CODE` for a null when None is no category of `cats` either."""
    s = column.cast(pl.String)
    if fill is not None:
        s = s.fill_null(fill)
    at = [i for i, k in enumerate(cats) if k is not None]
    codes = s.replace_strict(
        [cats[i] for i in at], at, default=_UNKNOWN_CODE, return_dtype=pl.Int64
    )
    out = codes.to_numpy()  # (replace_strict gives a null the default too)
    if s.null_count():
        out = out.copy() if not out.flags.writeable else out
        out[s.is_null().to_numpy()] = cats.index(None) if None in cats else _MISSING_CODE
    return out


def _categorical_part(steps: Sequence[Any], names: list[str]) -> Part | None:
    *impute, enc = steps
    kind_ = type(enc).__name__
    if kind_ not in ("OneHotEncoder", "OrdinalEncoder") or len(impute) > 1:
        return None  # target, frequency, hashing: through the Pipeline
    fills: list[str | None] = [None] * len(names)
    if impute:
        imp = impute[0]
        if type(imp).__name__ != "SimpleImputer" or imp.missing_values is not None:
            return None
        if imp.add_indicator or not all(isinstance(v, str) for v in imp.statistics_):
            return None
        fills = list(imp.statistics_)
    cats = _categories(enc)
    if cats is None or getattr(enc, "_infrequent_enabled", False) or enc.dtype != np.float64:
        return None

    def load(feats: pl.DataFrame, numeric: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        return [
            _codes(feats.get_column(n), c, f) for n, c, f in zip(names, cats, fills, strict=True)
        ]

    if kind_ == "OneHotEncoder" and enc.drop is None and enc.handle_unknown == "ignore":
        offsets = np.cumsum([0, *(len(c) for c in cats)])

        def onehot(codes: list[np.ndarray], rows: slice, out: np.ndarray) -> None:
            out[...] = 0.0
            for j, all_codes in enumerate(codes):
                code = all_codes[rows]
                seen = np.flatnonzero(code >= 0)  # unseen (and a null never seen): all zeros
                out[seen, offsets[j] + code[seen]] = 1.0

        return Part(load, onehot, int(offsets[-1]))
    if kind_ == "OrdinalEncoder" and enc.handle_unknown == "use_encoded_value":
        # None is a category like any other here (encoded_missing_value is for NaN only,
        # and categories are str or None)
        unknown = float(enc.unknown_value)

        def ordinal(codes: list[np.ndarray], rows: slice, out: np.ndarray) -> None:
            for j, all_codes in enumerate(codes):
                code = all_codes[rows]
                z = out[:, j]
                z[...] = code
                z[code < 0] = unknown  # an unseen category, or a null never seen

        return Part(load, ordinal, len(names))
    return None


def _part(pipeline: Any, names: list[str], numeric: bool) -> Part | None:
    if type(pipeline).__name__ != "Pipeline" or not pipeline.steps:
        return None
    steps = [est for _, est in pipeline.steps]
    return _numeric_part(steps, names) if numeric else _categorical_part(steps, names)


class BatchModel:
    """A pipeline's many-row path: `transform` (the features frame -> the matrix the final
    estimator gets) and `final` (the fitted estimator)."""

    def __init__(self, parts: list[Part], final: Any) -> None:
        self.parts, self.final = parts, final
        self.width = sum(p.width for p in parts)

    def transform(self, feats: pl.DataFrame, numeric: Mapping[str, np.ndarray]) -> np.ndarray:
        """The matrix, C-ordered float64 as the ColumnTransformer's ``np.hstack`` makes it."""
        n = feats.height
        out = np.empty((n, self.width), dtype=np.float64)
        loaded = [p.load(feats, numeric) for p in self.parts]
        step = max(MIN_BLOCK_ROWS, BLOCK_BYTES // (8 * max(self.width, 1)))
        for start in range(0, n, step):
            rows = slice(start, min(start + step, n))
            block, at = out[rows], 0
            for part, data in zip(self.parts, loaded, strict=True):
                part.write(data, rows, block[:, at : at + part.width])
                at += part.width
        return out


def compile_batch(pipeline: Any, features: Sequence[dict[str, Any]]) -> BatchModel | None:
    """The pipeline's many-row path, or None when it holds a step this module does not know."""
    if type(pipeline).__name__ != "Pipeline" or len(pipeline.steps) != 2:
        return None
    pre, names = pipeline[0], [f["name"] for f in features]
    numeric = [kind(f) == NUMERIC for f in features]
    if type(pre).__name__ == "Pipeline":  # one group holds every feature
        groups = [(pre, list(range(len(features))))]
    elif type(pre).__name__ == "ColumnTransformer":
        if getattr(pre, "sparse_output_", True):
            return None
        groups = [
            (trans, _positions(cols, len(features)))
            for _, trans, cols in pre.transformers_
            if not (isinstance(trans, str) and trans == "drop")  # a passthrough: no Pipeline
        ]
    else:
        return None
    parts = []
    for trans, cols in groups:
        if cols is None or len({numeric[j] for j in cols}) != 1:
            return None
        part = _part(trans, [names[j] for j in cols], numeric[cols[0]])
        if part is None:
            return None
        parts.append(part)
    model = BatchModel(parts, pipeline[-1])
    expected = getattr(model.final, "n_features_in_", None)
    if expected is not None and expected != model.width:
        return None  # not the layout this module assumed: the Pipeline scores it
    return model


def _positions(cols: Any, n: int) -> list[int] | None:
    if isinstance(cols, slice):
        return list(range(n))[cols]
    if isinstance(cols, list | tuple | np.ndarray) and all(
        isinstance(c, int | np.integer) for c in cols
    ):
        return [int(c) for c in cols]
    return None


def check_numbers(
    o: Any, numeric: Mapping[str, np.ndarray], finite: dict[str, bool], what: str
) -> None:
    """`preprocess.check_values` of objective `o`'s rows (StepError: infinite values, missing
    ones its model cannot take), its message the same, from the numeric columns: one
    ``isfinite`` pass per column shared by all objectives (`finite` remembers them), and
    the counting pass only over the columns holding a value that is not finite."""
    for name, column in numeric.items():
        if name not in finite:
            finite[name] = bool(np.isfinite(column).all())
    bad = [f for f in o.features if f["name"] in numeric and not finite[f["name"]]]
    if bad:
        block = np.column_stack([numeric[f["name"]] for f in bad])
        check_values(block, bad, nan_ok=o.nan_ok, model=o.meta["type"], what=what)


# Objectives in threads at once from this many rows on; None: one after the other. The
# models and the numpy and polars work release the GIL (XGBoost's predict is one ctypes
# call), but measured on the shared 2-core machine threads were slower (1M feed-ranking
# rows: 2.95 s against 1.90 s, best of 6, load 6), and each worker thread's malloc arena
# kept ~200 MB more resident in `mlspec predict` (600 against 400 MB at 200,000-row
# chunks); the one objective they could overlap with XGBoost takes ~10% of the time.
# bench/batch_scoring.py measures both ways.
CONCURRENT_ROWS: int | None = None


def score_objectives(
    objectives: Mapping[str, Any], feats: pl.DataFrame, numeric: Mapping[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Each objective's score of the (checked) feature rows: through its `batch` path, or
    else `preprocess.matrix` and its Pipeline. One thread limit (BLAS and OpenMP: 1, as
    `predict.predict`) and one warning filter around all of them: both are process-wide
    state that threads (`CONCURRENT_ROWS`) must not set and restore concurrently."""
    from threadpoolctl import threadpool_limits

    def one(o: Any) -> np.ndarray:
        if o.batch is None:
            model, X = o.pipeline, matrix(feats, o.features)
        else:
            model, X = o.batch.final, o.batch.transform(feats, numeric)
        return estimate(model, X, o.task, o.classes, o.threshold).score

    with threadpool_limits(limits=1), warnings.catch_warnings():
        # Unseen categories are encoded as zeros by design (as predict.predict).
        warnings.filterwarnings("ignore", message="Found unknown categories")
        if CONCURRENT_ROWS is None or len(objectives) < 2 or feats.height < CONCURRENT_ROWS:
            return {name: one(o) for name, o in objectives.items()}
        with ThreadPoolExecutor(max_workers=len(objectives)) as pool:
            futures = {name: pool.submit(one, o) for name, o in objectives.items()}
            return {name: f.result() for name, f in futures.items()}
