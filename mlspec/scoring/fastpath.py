"""A one-row fast path: the fitted transforms of a pipeline applied directly with numpy.

scikit-learn's Pipeline spends ~5-20 ms on one row, nearly all of it in input validation,
feature-name checks and the ColumnTransformer's bookkeeping; the arithmetic is a few
microseconds. `compile_row` reads the fitted parameters of the transformers mlspec builds
(`transform.transformer`: float cast, SimpleImputer, Standard/MinMax/Robust scaler,
OneHot/Ordinal encoder, in a ColumnTransformer or one Pipeline) and returns a function
row -> transformed row, doing the same float operations in the same order, so the result is
the same to the last bit (tests/integration/test_scoring.py checks it row by row against the
pipeline). The final estimator then gives probabilities for that row: a linear model as every
other scoring path computes it (`linear.output_fn`: the same bits alone or among many rows,
no input validation), a binary
XGBoost model by its booster's C predictor called as `inplace_predict` calls it, with the
per-call JSON and input sniffing done once (`_xgb_dense`), other models by their own
predict_proba/predict. A pipeline holding anything else gets no fast path (None) and is
scored by the Pipeline itself. `RowModel.score` adds the input check and the score of
`predict.finish`; `onerow.RowPath` builds on it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from mlspec.scoring.linear import output_fn


def _step(est: Any) -> Callable[[np.ndarray], np.ndarray] | None:
    """The fitted transformer as a function on a 1 x m array, or None when unsupported."""
    name = type(est).__name__
    if name == "FunctionTransformer":
        if est.func is np.asarray and (est.kw_args or {}) == {"dtype": "float64"}:
            return lambda x: np.asarray(x, dtype="float64")
        return None
    if name == "SimpleImputer":
        stats = est.statistics_
        if est.missing_values is None:

            def fill_none(x: np.ndarray) -> np.ndarray:
                out = x.copy()
                for j in range(out.shape[1]):
                    if out[0, j] is None:
                        out[0, j] = stats[j]
                return out

            return fill_none
        if isinstance(est.missing_values, float) and np.isnan(est.missing_values):
            return lambda x: np.where(np.isnan(x), stats, x)
        return None
    if name == "StandardScaler":
        mean = est.mean_ if est.with_mean else None
        scale = est.scale_ if est.with_std else None

        def standard(x: np.ndarray) -> np.ndarray:
            x = x.astype(np.float64, copy=True)
            if mean is not None:
                x -= mean
            if scale is not None:
                x /= scale
            return x

        return standard
    if name == "MinMaxScaler":
        lo, hi = est.feature_range

        def minmax(x: np.ndarray) -> np.ndarray:
            x = x.astype(np.float64, copy=True)
            x *= est.scale_
            x += est.min_
            if est.clip:
                np.clip(x, lo, hi, out=x)
            return x

        return minmax
    if name == "RobustScaler":

        def robust(x: np.ndarray) -> np.ndarray:
            x = x.astype(np.float64, copy=True)
            if est.with_centering:
                x -= est.center_
            if est.with_scaling:
                x /= est.scale_
            return x

        return robust
    if name == "OneHotEncoder":
        if est.drop is not None or est.handle_unknown != "ignore":
            return None  # (sparse output: the ColumnTransformer's own choice is replayed below)
        if getattr(est, "_infrequent_enabled", False):
            return None
        cats = [list(c) for c in est.categories_]

        def onehot(x: np.ndarray) -> np.ndarray:
            parts = []
            for j, c in enumerate(cats):
                v = x[0, j]
                parts.append(np.array([[1.0 if v == k else 0.0 for k in c]]))
            return np.hstack(parts).astype(est.dtype)

        return onehot
    if name == "OrdinalEncoder":
        if getattr(est, "_infrequent_enabled", False) or est.unknown_value is None:
            return None
        index = [{k: float(i) for i, k in enumerate(c)} for c in est.categories_]

        def ordinal(x: np.ndarray) -> np.ndarray:
            unknown = float(est.unknown_value)
            row = [index[j].get(x[0, j], unknown) for j in range(len(index))]
            return np.array([row], dtype=est.dtype)

        return ordinal
    return None


def _chain(pipeline: Any) -> Callable[[np.ndarray], np.ndarray] | None:
    steps = [_step(est) for _, est in pipeline.steps]
    if any(s is None for s in steps):
        return None

    def run(x: np.ndarray) -> np.ndarray:
        for s in steps:
            x = s(x)  # type: ignore[misc]
        return x

    return run


def _parts(pre: Any, compile_chain: Callable[[Any], Any]) -> list[tuple[Any, Any]] | None:
    """A fitted ColumnTransformer's (compiled Pipeline, its columns), remainder and dropped
    parts left out; None when a part is no Pipeline or `compile_chain` cannot compile it."""
    parts = []
    for name, trans, cols in pre.transformers_:
        if name == "remainder" or trans == "drop":
            continue
        fn = compile_chain(trans) if type(trans).__name__ == "Pipeline" else None
        if fn is None:
            return None
        parts.append((fn, cols))
    return parts


def _transform(pre: Any) -> Callable[[np.ndarray], np.ndarray] | None:
    kind = type(pre).__name__
    if kind == "Pipeline":
        return _chain(pre)
    if kind != "ColumnTransformer":
        return None
    # A ColumnTransformer decides once, when fitted, whether its output is sparse (by density);
    # a model that takes sparse input may treat an absent entry unlike a 0 (XGBoost: missing),
    # so the row goes out in the same form.
    sparse = bool(getattr(pre, "sparse_output_", False))
    parts = _parts(pre, _chain)
    if parts is None:
        return None

    def run(x: np.ndarray) -> np.ndarray:
        return np.hstack([fn(x[:, cols]) for fn, cols in parts])

    if not sparse:
        return run
    from scipy import sparse as sp

    def run_sparse(x: np.ndarray) -> Any:
        return sp.csr_matrix(run(x).astype(np.float64))

    return run_sparse


# ----------------------------------------------------------------------------- fused
# The same transforms on a Python list of one row's values: each step the same float64
# operation on each value as the numpy step above on its 1 x m array ((x - mean) / scale,
# a NaN replaced by the statistic, a one-hot list), without a numpy call per step. Only
# the chains mlspec builds: [float cast, NaN imputer?, scaler?] for numbers and
# [None imputer?, one-hot or ordinal encoder] for categories; anything else: None.
Scalar = Callable[[list[Any]], list[Any]]


def _scalar_step(est: Any) -> Scalar | None:
    name = type(est).__name__
    if name == "SimpleImputer":
        stats = [float(v) if isinstance(v, float | np.floating) else v for v in est.statistics_]
        if est.missing_values is None:
            return lambda xs: [stats[j] if v is None else v for j, v in enumerate(xs)]
        return lambda xs: [stats[j] if v != v else v for j, v in enumerate(xs)]
    if name == "StandardScaler":
        mean = [float(v) for v in est.mean_] if est.with_mean else None
        scale = [float(v) for v in est.scale_] if est.with_std else None
        if mean is not None and scale is not None:
            return lambda xs: [(v - mean[j]) / scale[j] for j, v in enumerate(xs)]
        if mean is not None:
            return lambda xs: [v - mean[j] for j, v in enumerate(xs)]
        if scale is not None:
            return lambda xs: [v / scale[j] for j, v in enumerate(xs)]
        return lambda xs: xs
    if name == "MinMaxScaler" and not est.clip:
        mul, add = [float(v) for v in est.scale_], [float(v) for v in est.min_]
        return lambda xs: [v * mul[j] + add[j] for j, v in enumerate(xs)]
    if name == "RobustScaler":
        center = [float(v) for v in est.center_] if est.with_centering else None
        scale = [float(v) for v in est.scale_] if est.with_scaling else None
        if center is None or scale is None:
            return None
        return lambda xs: [(v - center[j]) / scale[j] for j, v in enumerate(xs)]
    if name == "OneHotEncoder":
        if _step(est) is None or np.dtype(est.dtype) != np.float64:
            return None
        cats = [list(c) for c in est.categories_]
        return lambda xs: [1.0 if v == k else 0.0 for j, v in enumerate(xs) for k in cats[j]]
    if name == "OrdinalEncoder":
        if _step(est) is None or np.dtype(est.dtype) != np.float64:
            return None
        unknown = float(est.unknown_value)
        index = [{k: float(i) for i, k in enumerate(c)} for c in est.categories_]
        return lambda xs: [index[j].get(v, unknown) for j, v in enumerate(xs)]
    return None


_NUMBER_STEPS = {"SimpleImputer", "StandardScaler", "MinMaxScaler", "RobustScaler"}


def _scalar_chain(pipeline: Any) -> Scalar | None:
    ests = [est for _, est in pipeline.steps]
    kinds = [type(e).__name__ for e in ests]
    if kinds and kinds[0] == "FunctionTransformer":
        if _step(ests[0]) is None or not set(kinds[1:]) <= _NUMBER_STEPS:
            return None
        if any(
            k == "SimpleImputer" and e.missing_values is None
            for k, e in zip(kinds, ests, strict=True)
        ):
            return None
        steps = [_scalar_step(e) for e in ests[1:]]
        first: Scalar = lambda xs: [float(v) for v in xs]  # noqa: E731
    elif kinds and kinds[-1] in ("OneHotEncoder", "OrdinalEncoder"):
        if any(
            k != "SimpleImputer" or e.missing_values is not None
            for k, e in zip(kinds[:-1], ests[:-1], strict=True)
        ):
            return None
        steps = [_scalar_step(e) for e in ests]
        first = lambda xs: xs  # noqa: E731
    else:
        return None
    if any(s is None for s in steps):
        return None

    def run(xs: list[Any]) -> list[Any]:
        xs = first(xs)
        for s in steps:
            xs = s(xs)  # type: ignore[misc]
        return xs

    return run


def _fused(pre: Any) -> Callable[[Sequence[Any]], Any] | None:
    """The ColumnTransformer on one row given as a list (numbers as floats, NaN for null;
    categories as str or None): the 1 x n float64 array (CSR when the transformer chose
    sparse output), equal to `_transform`'s; None when a step is not one of these."""
    if type(pre).__name__ != "ColumnTransformer":
        return None
    chains = _parts(pre, _scalar_chain)
    if chains is None:
        return None
    parts = []
    for fn, cols in chains:
        idx = (
            list(range(cols.start or 0, cols.stop, cols.step or 1))
            if isinstance(cols, slice)
            else list(cols)
        )
        if not all(isinstance(i, int | np.integer) for i in idx):
            return None
        parts.append((fn, [int(i) for i in idx]))

    def run(values: Sequence[Any]) -> np.ndarray:
        out: list[Any] = []
        for fn, idx in parts:
            out += fn([values[i] for i in idx])
        return np.array([out], dtype=np.float64)

    if not getattr(pre, "sparse_output_", False):
        return run
    from scipy import sparse as sp

    return lambda values: sp.csr_matrix(run(values))


def _xgb_dense(est: Any, booster: Any, rng: tuple[int, int]) -> Callable[[np.ndarray], Any] | None:
    """P(positive) of one dense float64 row from the booster's C predictor, as
    `Booster.inplace_predict` calls it, with its per-call Python work (JSON of the
    arguments, input sniffing, the output view) done once; None when this xgboost lacks
    the functions (inplace_predict is then used)."""
    try:
        import ctypes

        from xgboost.core import _LIB, _check_call, c_bst_ulong, make_jcargs
        from xgboost.data import array_interface
    except ImportError:  # pragma: no cover - another xgboost layout
        return None
    args = make_jcargs(
        type=0,
        training=False,
        iteration_begin=int(rng[0]),
        iteration_end=int(rng[1]),
        missing=est.missing,
        strict_shape=False,
        cache_id=0,
    )
    handle, n_features = booster.handle, booster.num_features()
    predict = _LIB.XGBoosterPredictFromDense

    def one(x: np.ndarray) -> Any:
        if x.shape != (1, n_features) or x.dtype != np.float64 or not x.flags.c_contiguous:
            return None
        preds = ctypes.POINTER(ctypes.c_float)()
        shape = ctypes.POINTER(c_bst_ulong)()
        dims = c_bst_ulong()
        _check_call(
            predict(
                handle,
                array_interface(x),
                args,
                None,
                ctypes.byref(shape),
                ctypes.byref(dims),
                ctypes.byref(preds),
            )
        )
        if dims.value != 1 or shape[0] != 1:
            return None
        return np.float32(preds[0])

    return one


def _final(est: Any) -> Callable[[np.ndarray], np.ndarray] | None:
    """Probabilities (or the prediction, for a regressor) of the final estimator on 1 x k."""
    module = type(est).__module__
    if module.startswith("xgboost"):
        objective = getattr(est, "objective", None)
        booster = est.get_booster()
        rng = est._get_iteration_range(None)
        if objective == "binary:logistic":
            direct = _xgb_dense(est, booster, rng)

            def xgb_binary(x: np.ndarray) -> np.ndarray:
                if direct is not None and isinstance(x, np.ndarray):
                    p1 = direct(x)
                    if p1 is not None:  # as inplace_predict's float32 array of one
                        return np.array([[np.float32(1) - p1, p1]], dtype=np.float32)
                p = booster.inplace_predict(
                    data=x, iteration_range=rng, predict_type="value", missing=est.missing
                )
                return np.vstack((1 - p, p)).transpose()

            return xgb_binary
        return est.predict_proba if hasattr(est, "predict_proba") else est.predict
    linear = output_fn(est)  # row by row alike: equal to the batch's bits (scoring/linear.py)
    if linear is not None:
        return linear
    return est.predict_proba if hasattr(est, "predict_proba") else est.predict


class RowModel:
    """A pipeline's one-row path: `matrix` (as `preprocess.matrix` builds a row) and `output`
    (what the pipeline's predict_proba, or predict for a regressor, gives on it)."""

    def __init__(
        self,
        transform: Callable[[np.ndarray], np.ndarray],
        final: Callable[[np.ndarray], np.ndarray],
        features: Sequence[dict[str, Any]],
    ) -> None:
        self.transform, self.final = transform, final
        self.numeric = [(f.get("type") or "numeric") == "numeric" for f in features]
        self.all_numeric = all(self.numeric)
        self.fused: Callable[[Sequence[Any]], Any] | None = None  # values -> transformed row

    def matrix(self, values: Sequence[Any]) -> np.ndarray:
        """1 x k: floats (NaN for null) for numeric features, str or None for categorical."""
        if self.all_numeric:
            return np.array([[np.nan if v is None else float(v) for v in values]])
        x = np.empty((1, len(values)), dtype=object)
        for j, v in enumerate(values):
            x[0, j] = (np.nan if v is None else float(v)) if self.numeric[j] else v
        return x

    def output(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.final(self.transform(x)))

    def score(self, values: Sequence[Any], o: Any, what: str) -> float:
        """The objective's score of one row of feature values (`o`: the scorer's
        ObjectiveModel), checked as `predict.predict` checks its input (StepError)."""
        from mlspec.scoring.predict import finish
        from mlspec.scoring.preprocess import check_values

        if not all(
            v is not None and math.isfinite(v)
            for v, n in zip(values, self.numeric, strict=True)
            if n
        ):
            x = self.matrix(values)
            check_values(x, o.features, nan_ok=o.nan_ok, model=o.meta["type"], what=what)
        if self.fused is not None:
            row = [
                (math.nan if v is None else float(v)) if n else v
                for v, n in zip(values, self.numeric, strict=True)
            ]
            out = np.asarray(self.final(self.fused(row)))
        else:
            out = self.output(self.matrix(values))
        if o.task == "binary" and out.shape == (1, 2):
            # finish(): float64 row renormalised, P(positive) = p1 / (p0 + p1)
            p0, p1 = float(out[0, 0]), float(out[0, 1])
            return p1 / (p0 + p1)
        return float(finish(out, o.task, o.classes, o.threshold).score[0])


def compile_row(pipeline: Any, features: Sequence[dict[str, Any]]) -> RowModel | None:
    """The pipeline's one-row path, or None when it holds a step this module does not know."""
    if type(pipeline).__name__ != "Pipeline" or len(pipeline.steps) != 2:
        return None
    transform = _transform(pipeline[0])
    if transform is None:
        return None
    final = _final(pipeline[-1])
    if final is None:
        return None
    row = RowModel(transform, final, features)
    row.fused = _fused(pipeline[0])
    return row
