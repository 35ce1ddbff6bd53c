"""A trained model's artifact: native files under ``model/`` and ``model.json``.

- ``model/pipeline.joblib``: the fitted scikit-learn Pipeline in joblib's format, uncompressed,
  written by `dump_canonical`: the bytes must be a function of the fitted values alone,
  whatever process wrote them (see there), and a model file compresses little anyway.
- ``model/booster.ubj``: for XGBoost also the booster in XGBoost's own format (UBJSON), which
  any XGBoost version and language can load without unpickling Python objects.
- ``model.json``: what the model is and expects; see `meta`.

Unpickling runs code: `load` is for models this store produced. `validate`, `plan` and
`diff` never call it.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Sequence
from typing import Any

from sklearn.pipeline import Pipeline

from mlspec.contract.api import ArtifactReader, ArtifactWriter
from mlspec.models.estimators import Resolved

PIPELINE = "model/pipeline.joblib"
BOOSTER = "model/booster.ubj"
META = "model.json"


def meta(
    resolved: Resolved,
    objective: dict[str, Any],
    classes: Sequence[Any] | None,
    signature: dict[str, Any],
    search: dict[str, Any] | None = None,
    leakage: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The content of ``model.json``.

    ``type``, ``estimator`` (dotted class path), ``params`` (final constructor params, best
    trial included), ``calibration`` (CalibratedClassifierCV settings or null), ``task``,
    ``target``, ``classes`` (sorted train classes; index i is the model's class i; null for
    regression), ``features`` (the feature specs), ``signature`` {columns: [{name, type,
    dtype, categories}]}, ``search`` ({best_trial, score, metric} or null), ``leakage``
    ([{feature, score}] of features that alone predict the target on the train split; see
    `mlspec.evaluation.leakage`).
    """
    return {
        "type": resolved.type,
        "estimator": resolved.path,
        "params": resolved.params,
        "calibration": resolved.calibration,
        "task": objective["task"],
        "target": objective["target"],
        "classes": None if classes is None else list(classes),
        "features": [{k: v for k, v in f.items() if k != "where"} for f in objective["features"]],
        "signature": signature,
        "search": search,
        "leakage": list(leakage or []),
    }


def dump_canonical(value: Any, path: str | os.PathLike[str]) -> None:
    """Write `value` as joblib does (``joblib.load`` reads it), with bytes that depend on the
    values only, not on which process built them.

    Why: a pickle's memo is keyed by object identity, so two equal strings are written once
    and referenced (``BINGET``) when they are one object, and twice when they are two. Which
    equal strings are one object depends on the process's history (what was interned, what
    came through an unpickler: a task sent to a pool worker, a resumed run). The same fit
    then gave ``pipeline.joblib`` files differing in a few memo references, e.g. the key
    ``'dtype'`` shared or not between a FunctionTransformer's ``kw_args`` and a
    OneHotEncoder's attributes. Here every str and bytes is replaced by the first equal one
    this pickler met, so sharing follows equality. Mutable objects keep their identity
    (their sharing is part of the value); ints and floats are never memoized.

    Every writer of a model file (a native format, a bundle) goes through here.
    """
    from joblib.numpy_pickle import NumpyPickler

    class _Canonical(NumpyPickler):  # joblib's pickler is the pure-Python one: save is hookable
        def __init__(self, fp: Any) -> None:
            super().__init__(fp, protocol=pickle.DEFAULT_PROTOCOL)
            self._atoms: dict[tuple[type, Any], Any] = {}

        def save(self, obj: Any, *args: Any) -> None:
            if type(obj) is str or type(obj) is bytes:
                obj = self._atoms.setdefault((type(obj), obj), obj)
            super().save(obj, *args)

    with open(path, "wb") as fh:
        _Canonical(fh).dump(value)


def save(writer: ArtifactWriter, pipeline: Pipeline, meta: dict[str, Any]) -> None:
    dump_canonical(pipeline, writer.path(PIPELINE))
    final = pipeline[-1]
    if type(final).__module__.startswith("xgboost"):
        final.save_model(str(writer.path(BOOSTER)))  # the extension selects UBJSON
    writer.write_json(meta, META)


def load(reader: ArtifactReader) -> tuple[Pipeline, dict[str, Any]]:
    """The fitted pipeline and its ``model.json`` (the files' hashes are verified on read)."""
    import joblib

    info = reader.json(META)
    pipeline = joblib.load(reader.path(PIPELINE))
    return pipeline, info
