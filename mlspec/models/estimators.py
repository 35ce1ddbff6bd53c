"""Model type -> a seeded scikit-learn Pipeline (preprocessing + estimator).

One registry: the estimator class comes from the static model table
(`MODEL_TYPES[type].estimator(task).path`, imported by name), and `models.recipes.RECIPES` holds the few
things mlspec adds to a type. Everything else follows from the estimator's own parameter
names: ``random_state`` is set to the seed and ``n_jobs`` to the step's threads wherever the
estimator has them and the user's params do not set them.

Decisions, each for a reason:

- Every classifier must give probabilities (scores are combined as probabilities). Two do
  not: RidgeClassifier never has ``predict_proba``, and ``SVC(probability=True)`` is
  deprecated since scikit-learn 1.9, whose replacement is ``CalibratedClassifierCV(SVC(),
  ensemble=False)``. Both are wrapped in ``CalibratedClassifierCV(method="sigmoid", cv=3,
  ensemble=False)``: Platt scaling fitted on 3-fold out-of-fold decision values, then one
  estimator refitted on all rows. An integer cv means unshuffled StratifiedKFold, so the
  result is deterministic. An svm's ``probability`` param is ignored (with a warning).
- LogisticRegression gets ``max_iter=1000`` (lbfgs often needs more than 100) and no
  ``n_jobs``: it has had no effect since scikit-learn 1.8 and warns (FutureWarning).
- XGBoost gets ``tree_method="hist"`` (fast, and byte-identical across thread counts). So
  its fit may use more threads than the step's (`fit`'s `cores`: idle cores of a local
  run, re-read after every boosting round); the model is saved with the step's ``n_jobs``,
  and a test holds the files byte-identical to a fit on the step's threads alone.
- Classifiers are fitted on class indices 0..k-1 (see `preprocess.target`): XGBoost
  requires them, and every model's ``predict_proba`` columns then follow ``classes``.
- Whether an estimator takes NaN comes from its scikit-learn tags (``allow_nan``): HistGB,
  random forests, extra trees and XGBoost do; the dummy baseline ignores its features.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from importlib import import_module
from typing import Any

from sklearn.pipeline import Pipeline

from mlspec.contract.api import StepError
from mlspec.frames import closest
from mlspec.lang.model_types import MODEL_TYPES
from mlspec.models.recipes import recipe
from mlspec.scoring.encoders import sparse_ok
from mlspec.scoring.transform import transformer

# Packages estimators are imported from by name (the model table's dotted paths): part of
# the code closure of every step that builds a model (see steps/kinds.py).
DYNAMIC_IMPORTS = ("sklearn", "xgboost")

CALIBRATION: dict[str, Any] = {"method": "sigmoid", "cv": 3, "ensemble": False}


@dataclass(frozen=True)
class Resolved:
    """A model as it will be built: the class path and the final constructor params."""

    type: str
    task: str
    path: str
    params: dict[str, Any]
    calibration: dict[str, Any] | None
    ignored: tuple[str, ...] = ()

    def notes(self) -> list[str]:
        return [
            f"model type '{self.type}': param '{p}' is ignored; mlspec calibrates probabilities itself ({self.calibration})"
            for p in self.ignored
        ]


def resolve(model: dict[str, Any], task: str, seed: int, threads: int) -> Resolved:
    """Check the model against the table and fill in seeds, threads and defaults."""
    mtype = model["type"]
    entry = MODEL_TYPES.get(mtype)
    if entry is None:
        near = closest(mtype, MODEL_TYPES)
        raise StepError(
            f"model '{model.get('name', mtype)}': unknown model type '{mtype}'.",
            hint=f"did you mean {' or '.join(map(repr, near))}?"
            if near
            else "known types: " + ", ".join(sorted(MODEL_TYPES)),
        )
    est = entry.estimator(task)
    if est is None:
        can = [t for t in ("binary", "multiclass", "regression") if entry.estimator(t) is not None]
        raise StepError(
            f"model type '{mtype}' does not support task {task}; it supports {', '.join(can)}.",
            hint="pick another model type for this objective",
        )
    user = dict(model.get("params") or {})
    unknown = sorted(set(user) - est.params)
    if unknown:
        hints = [
            f"for '{p}' did you mean {' or '.join(map(repr, closest(p, est.params)))}?"
            for p in unknown
            if closest(p, est.params)
        ]
        raise StepError(
            f"model '{model.get('name', mtype)}' ({est.path}) has no parameter(s) {', '.join(map(repr, unknown))}.",
            hint="; ".join(hints) or "see the estimator's documentation for its parameters",
        )
    r = recipe(mtype)
    classifier = task != "regression"
    ignored = tuple(sorted(p for p in user if p in r.ignored)) if classifier and r.calibrate else ()
    params = {**r.defaults, **{k: v for k, v in user.items() if k not in ignored}}
    if "random_state" in est.params:
        params.setdefault("random_state", seed)
    if r.threads and "n_jobs" in est.params:
        params.setdefault("n_jobs", threads)
    calibration = dict(CALIBRATION) if classifier and r.calibrate else None
    return Resolved(mtype, task, est.path, dict(sorted(params.items())), calibration, ignored)


@cache
def estimator_class(path: str) -> type:
    module, _, name = path.rpartition(".")
    return getattr(import_module(module), name)


def estimator(resolved: Resolved) -> Any:
    est = estimator_class(resolved.path)(**resolved.params)
    if resolved.calibration is not None:
        from sklearn.calibration import CalibratedClassifierCV

        est = CalibratedClassifierCV(est, **resolved.calibration)
    return est


def build(objective: dict[str, Any], model: dict[str, Any], seed: int, threads: int) -> Pipeline:
    """The unfitted Pipeline: ``features`` (see `transform.transformer`) then ``model``."""
    resolved = resolve(model, objective["task"], seed, threads)
    return assemble(objective, resolved)


def assemble(objective: dict[str, Any], resolved: Resolved) -> Pipeline:
    """Features then model; one-hot and hashing stay sparse for a model that takes sparse input."""
    est = estimator(resolved)
    features = transformer(objective["features"], sparse=sparse_ok(est))
    return Pipeline([("features", features), ("model", est)])


def _first_line(exc: BaseException | str) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def fit(
    pipeline: Pipeline,
    X: Any,
    y: Any,
    *,
    threads: int,
    what: str,
    warn: Callable[[str], None] | None = None,
    eval_set: tuple[Any, Any] | None = None,
    cores: Callable[[], int] | None = None,
) -> Pipeline:
    """Fit with at most `threads` BLAS/OpenMP threads; a library's ValueError (a bad param
    value, too few rows for the calibration folds) becomes a StepError, and its warnings
    (convergence, ...) are passed on once each through `warn` ("Category: first line").

    `eval_set` (rows, target) is what early stopping watches: the feature transform is
    fitted on `X` alone and applied to it, so the estimator sees both in its own space.

    `cores` (idle cores the scheduler lends, see `StepContext.cores`) lets an XGBoost fit
    with mlspec's ``n_jobs`` use them, re-read after every round; ``n_jobs`` is put back
    before the model is saved."""
    from threadpoolctl import threadpool_limits

    lending = _lends(pipeline[-1], threads, cores) and _cells(X) >= LEND_MIN_CELLS
    # XGBoost runs min(nthread, omp_get_max_threads()) threads: a lent fit must not have
    # OpenMP capped at the step's threads, or it stays on them whatever `nthread` says
    # (seen: the default spec's fit on one thread of two idle cores, 2.0 s against 1.4 s).
    limits: Any = {"blas": threads, "openmp": os.cpu_count() or threads} if lending else threads
    with (
        threadpool_limits(limits=limits),
        warnings.catch_warnings(record=True) as caught,
        _lend_cores(pipeline[-1], threads, cores if lending else None),
    ):
        warnings.simplefilter("always")
        try:
            if eval_set is None:
                pipeline.fit(X, y)
            else:
                features = pipeline[:-1].fit(X, y)  # fits the shared transformer in place
                watched = [(features.transform(eval_set[0]), eval_set[1])]
                pipeline[-1].fit(features.transform(X), y, eval_set=watched, verbose=False)
        except ValueError as exc:  # includes InvalidParameterError and XGBoostError
            raise StepError(
                f"{what} failed: {_first_line(exc)}",
                hint="check the model's params and that the train split has enough rows of every class",
            ) from None
    if warn is not None:
        for message in dict.fromkeys(
            f"{w.category.__name__}: {_first_line(w.message)}" for w in caught
        ):
            warn(message)
    return pipeline


# Below this many matrix cells a fit stays on the step's threads: a second OpenMP thread that
# sleeps between parallel regions (OMP_WAIT_POLICY=PASSIVE) costs more wake-ups than it saves
# (XGBoost, 200 trees, 20 features, best of 3, 1 vs 2 threads: 2k rows 0.07 vs 0.25 s, 20k
# rows 0.68 vs 0.75 s, 50k rows 1.26 vs 1.08 s, 160k rows 2.15 vs 1.5 s).
LEND_MIN_CELLS = 1_000_000


def _cells(X: Any) -> int:
    shape = getattr(X, "shape", None) or (len(X), 1)
    return int(shape[0]) * int(shape[1] if len(shape) > 1 else 1)


def _lends(est: Any, threads: int, cores: Callable[[], int] | None) -> bool:
    """Will the fit of `est` follow the lent `cores`? An XGBoost estimator whose ``n_jobs``
    is the step's threads and that has no callbacks of the user's."""
    return (
        cores is not None
        and type(est).__module__.startswith("xgboost")
        and est.get_params().get("n_jobs") == threads
        and not est.get_params().get("callbacks")
    )


@contextmanager
def _lend_cores(est: Any, threads: int, cores: Callable[[], int] | None) -> Iterator[None]:
    """While fitting, an XGBoost estimator (`_lends`) runs on ``cores()`` threads, updated
    after each boosting round (`_Cores`); `cores` None: as it is."""
    if cores is None:
        yield
        return
    est.set_params(n_jobs=max(threads, cores()), callbacks=[_cores_callback(threads, cores)])
    try:
        yield
    finally:
        est.set_params(n_jobs=threads, callbacks=None)


def _cores_callback(threads: int, cores: Callable[[], int]) -> Any:
    from xgboost.callback import TrainingCallback

    class _Cores(TrainingCallback):
        """After each round, the booster's thread count follows the cores lent now."""

        def __init__(self) -> None:
            super().__init__()
            self.now = -1

        def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
            n = max(threads, cores())
            if n != self.now:
                model.set_param("nthread", n)
                self.now = n
            return False

    return _Cores()


def early_stopping(model: dict[str, Any]) -> bool:
    """Does the model stop early on a watched set (XGBoost's ``early_stopping_rounds``)?
    The watched set is the valid split, which `validate` requires (`early-stopping`)."""
    return model.get("type") == "xgboost" and (model.get("params") or {}).get(
        "early_stopping_rounds"
    ) not in (None, 0)


def best_iteration(pipeline: Pipeline) -> int | None:
    """The boosting round early stopping kept, or None."""
    try:
        return int(pipeline[-1].best_iteration)
    except (AttributeError, TypeError, ValueError):
        return None
