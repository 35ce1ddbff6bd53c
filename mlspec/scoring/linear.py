"""Linear models' outputs with each row computed alike, whatever the number of rows.

scikit-learn computes a linear model's decision as ``X @ coef_.T`` with BLAS, and BLAS
picks its kernel by shape: on this project's machines a row's dot product came out with
another last bit when the row was scored alone, in a block of 2, 3, 5 or 7 rows, or at the
tail of 1,001 rows than among 5,000 (the kernel handles rows in groups of four). So the
served answer for one row, `mlspec predict`'s chunks and the combine step's test scores
could disagree in the last bit for the same row. Here the dot product of a dense row is
numpy's sum of the elementwise products along the row (``(x * w).sum()``): its order
depends on the number of features alone. A CSR matrix goes through scipy's product, which
sums each row's stored entries in order. Everything after the dot product is scikit-learn
1.9's own arithmetic (`expit` and the (1 - p, p) stack for two classes, `softmax` for
more; ``+ intercept_`` for regressors), so the values differ from scikit-learn's own by at
most a rounding of the sum, and equal each other bit for bit across batch sizes.

Every place mlspec turns a fitted linear model into scores goes through `output_fn`:
`predict.estimate` (the evaluate, combine and score steps, `mlspec predict`, the batch path)
and the one-row path (`fastpath`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

ROWS_PER_BLOCK = 32_768  # bounds the temporary product to 32k x features floats


def rowdot(X: Any, coef: np.ndarray) -> np.ndarray:
    """``X @ coef.T`` (coef: c x k, or k for one output) with every row summed in one order."""
    W = np.atleast_2d(np.asarray(coef, dtype=np.float64))
    if hasattr(X, "tocsr"):  # scipy sparse: CSR times dense sums each row's entries in order
        out = np.asarray(X.tocsr() @ W.T, dtype=np.float64)
    else:
        Z = np.ascontiguousarray(X, dtype=np.float64)
        out = np.empty((Z.shape[0], W.shape[0]), dtype=np.float64)
        for start in range(0, Z.shape[0], ROWS_PER_BLOCK):
            block = Z[start : start + ROWS_PER_BLOCK]
            for j in range(W.shape[0]):
                np.multiply(block, W[j], out=None).sum(
                    axis=1, out=out[start : start + len(block), j]
                )
    return out if np.ndim(coef) == 2 else out[:, 0]


def _logistic(est: Any) -> Callable[[Any], np.ndarray]:
    from scipy.special import expit
    from sklearn.utils.extmath import softmax

    coef, intercept = est.coef_, est.intercept_
    binary = np.size(est.classes_) <= 2

    def proba(X: Any) -> np.ndarray:
        scores = rowdot(X, coef) + intercept
        if scores.ndim > 1 and scores.shape[1] == 1:
            scores = np.reshape(scores, (-1,))
        if binary:
            prob = expit(scores, out=scores)
            return np.stack([1 - prob, prob], axis=1)
        return softmax(scores, copy=False)

    return proba


def _regressor(est: Any) -> Callable[[Any], np.ndarray]:
    coef, intercept = est.coef_, est.intercept_

    def predict(X: Any) -> np.ndarray:
        return rowdot(X, coef) + intercept

    return predict


def output_fn(est: Any) -> Callable[[Any], np.ndarray] | None:
    """What `predict_proba` (a classifier) or `predict` (a regressor) of a fitted linear model
    gives on a transformed matrix, row by row alike; None for any other estimator."""
    if not type(est).__module__.startswith("sklearn.linear_model") or not hasattr(est, "coef_"):
        return None
    name = type(est).__name__
    if name == "LogisticRegression":
        return _logistic(est)
    if name in ("LinearRegression", "Ridge", "Lasso"):  # predict is X @ coef_ + intercept_
        return _regressor(est)
    return None
