"""Scores, labels and probabilities of a fitted pipeline, the same way for every step.

Classifiers were fitted on class indices into ``classes`` (sorted train classes), so
``predict_proba`` column i is ``classes[i]``. For a binary task the score is the
probability of the positive class ``classes[-1]`` and the label is positive when
``score >= threshold``; for multiclass the score is the probability of the predicted
(most probable) class; for regression score and label are the prediction.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.pipeline import Pipeline

from mlspec.scoring.linear import output_fn
from mlspec.scoring.preprocess import check_values, nan_ok, unseen


@dataclass(frozen=True)
class Predictions:
    score: np.ndarray  # float64, one per row
    label: np.ndarray  # predicted class (a value of `classes`) or value
    proba: np.ndarray | None  # (n, k) for classifiers, columns in `classes` order
    index: np.ndarray | None  # predicted class as an index into `classes` (int64)
    unseen: dict[str, int] = field(default_factory=dict)  # rows with a category unseen in train


def predict(
    pipeline: Pipeline,
    X: np.ndarray,
    task: str,
    classes: Sequence[Any] | None,
    threshold: float = 0.5,
    *,
    meta: dict[str, Any] | None = None,
    threads: int = 1,
    what: str = "the rows to score",
) -> Predictions:
    """Predict `X` (from `preprocess.matrix`). With the model's `meta` (``model.json``), the
    input is first checked (missing values the model cannot take, infinities: StepError)
    and unseen categories are counted."""
    from threadpoolctl import threadpool_limits

    found: dict[str, int] = {}
    if meta is not None:
        check_values(
            X,
            meta["features"],
            nan_ok=nan_ok(pipeline),
            model=meta["type"],
            what=what,
        )
        found = unseen(X, meta["signature"])
    with (
        threadpool_limits(limits=threads),
        warnings.catch_warnings(),
        _booster_threads(pipeline, threads),
    ):
        # Unseen categories are encoded as zeros by design and reported in `unseen`.
        warnings.filterwarnings("ignore", message="Found unknown categories")
        return estimate(pipeline, X, task, classes, threshold, found)


@contextmanager
def _booster_threads(model: Any, threads: int) -> Iterator[None]:
    """An XGBoost model predicts on its saved ``n_jobs`` (the step's threads), whatever the
    caller allows: for `threads` > 1 it runs on those while predicting. Each row's
    prediction is the same whatever the thread count."""
    final = model[-1] if isinstance(model, Pipeline) else model
    if threads <= 1 or not type(final).__module__.startswith("xgboost"):
        yield
        return
    saved = final.get_params()["n_jobs"]
    final.set_params(n_jobs=threads)
    try:
        yield
    finally:
        final.set_params(n_jobs=saved)


def estimate(
    model: Any,
    X: Any,
    task: str,
    classes: Sequence[Any] | None,
    threshold: float = 0.5,
    found: dict[str, int] | None = None,
) -> Predictions:
    """`model`'s predictions of `X`, unchecked; the caller limits the threads (`predict`
    does, the batch scorer once around all objectives)."""
    if len(X) == 0:  # scikit-learn refuses empty input; an empty test slice is no error
        k = 0 if task == "regression" else len(classes or ())
        empty = np.empty(0, dtype=np.float64)
        proba = None if task == "regression" else np.empty((0, k), dtype=np.float64)
        index = None if task == "regression" else np.empty(0, dtype=np.int64)
        label = empty if task == "regression" else np.asarray(list(classes or ()))[:0]
        return Predictions(empty, label, proba, index, found or {})
    return finish(_raw(model, X, task), task, classes, threshold, found)


def _raw(model: Any, X: Any, task: str) -> Any:
    """The model's probabilities (or predictions): a linear final estimator row by row alike
    (`linear.output_fn`: the same bits for a row however many rows come with it)."""
    final = model[-1] if isinstance(model, Pipeline) else model
    linear = output_fn(final)
    if linear is None:
        return model.predict(X) if task == "regression" else model.predict_proba(X)
    if final is not model:
        X = model[:-1].transform(X)
    return linear(X)


def finish(
    raw: Any,
    task: str,
    classes: Sequence[Any] | None,
    threshold: float = 0.5,
    found: dict[str, int] | None = None,
) -> Predictions:
    """Predictions from the model's output: the prediction (regression) or the probability
    matrix (classifiers). Shared by `predict` and the one-row fast path."""
    found = found or {}
    if task == "regression":
        value = np.asarray(raw, dtype=np.float64)
        return Predictions(value, value, None, None, found)
    proba = np.array(raw, dtype=np.float64)
    # XGBoost gives float32 rows that miss 1 by ~1e-7; scikit-learn's log_loss (1.9) warns
    # beyond sqrt(float64 eps). Renormalised in float64 every row sums to 1.
    proba /= proba.sum(axis=1, keepdims=True)
    if classes is None or proba.shape[1] != len(classes):
        raise ValueError(
            f"the model gives {proba.shape[1]} probabilities per row but has {classes!r} classes"
        )
    labels = np.asarray(list(classes))
    if task == "binary":
        score = proba[:, -1]
        index = (score >= threshold).astype(np.int64)
    else:
        index = np.argmax(proba, axis=1).astype(np.int64)
        score = proba[np.arange(len(index)), index]
    return Predictions(score, labels[index], proba, index, found)
