"""A one-row fast path: the fitted transforms of a pipeline applied directly with numpy.

scikit-learn's Pipeline spends ~5-20 ms on one row, nearly all of it in input validation,
feature-name checks and the ColumnTransformer's bookkeeping; the arithmetic is a few
microseconds. `compile_row` reads the fitted parameters of the transformers mlspec builds
(`preprocess.transformer`: float cast, SimpleImputer, Standard/MinMax/Robust scaler,
OneHot/Ordinal encoder, in a ColumnTransformer or one Pipeline) and returns a function
row -> transformed row, doing the same float operations in the same order, so the result is
the same to the last bit (tests/integration/test_scoring.py checks it row by row against the
pipeline). The final estimator is then asked for probabilities on that row; for XGBoost the
booster is called directly, as its scikit-learn wrapper does. A pipeline holding anything
else gets no fast path (None) and is scored by the Pipeline itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np


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
    parts = []
    for name, trans, cols in pre.transformers_:
        if name == "remainder" or trans == "drop":
            continue
        if type(trans).__name__ != "Pipeline":
            return None
        fn = _chain(trans)
        if fn is None:
            return None
        parts.append((fn, cols))

    def run(x: np.ndarray) -> np.ndarray:
        return np.hstack([fn(x[:, cols]) for fn, cols in parts])

    if not sparse:
        return run
    from scipy import sparse as sp

    def run_sparse(x: np.ndarray) -> Any:
        return sp.csr_matrix(run(x).astype(np.float64))

    return run_sparse


def _final(est: Any) -> Callable[[np.ndarray], np.ndarray] | None:
    """Probabilities (or the prediction, for a regressor) of the final estimator on 1 x k."""
    module = type(est).__module__
    if module.startswith("xgboost"):
        objective = getattr(est, "objective", None)
        booster = est.get_booster()
        rng = est._get_iteration_range(None)
        if objective == "binary:logistic":

            def xgb_binary(x: np.ndarray) -> np.ndarray:
                p = booster.inplace_predict(
                    data=x, iteration_range=rng, predict_type="value", missing=est.missing
                )
                return np.vstack((1 - p, p)).transpose()

            return xgb_binary
        return est.predict_proba if hasattr(est, "predict_proba") else est.predict
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


def compile_row(pipeline: Any, features: Sequence[dict[str, Any]]) -> RowModel | None:
    """The pipeline's one-row path, or None when it holds a step this module does not know."""
    if type(pipeline).__name__ != "Pipeline" or len(pipeline.steps) != 2:
        return None
    transform = _transform(pipeline[0])
    final = _final(pipeline[-1])
    if transform is None or final is None:
        return None
    return RowModel(transform, final, features)
