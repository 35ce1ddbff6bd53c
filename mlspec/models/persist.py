"""A trained model's artifact: native files under ``model/`` and ``model.json``.

- ``model/pipeline.joblib``: the fitted scikit-learn Pipeline, ``joblib.dump(compress=0)``.
  Uncompressed because the bytes must be the same run after run (they are: two fits with the
  same seed give one sha256; tests check it), and a model file compresses little anyway.
- ``model/booster.ubj``: for XGBoost also the booster in XGBoost's own format (UBJSON), which
  any XGBoost version and language can load without unpickling Python objects.
- ``model.json``: what the model is and expects; see `meta`.

Unpickling runs code: `load` is for models this store produced. `validate`, `plan` and
`diff` never call it.
"""

from __future__ import annotations

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
) -> dict[str, Any]:
    """The content of ``model.json``.

    ``type``, ``estimator`` (dotted class path), ``params`` (final constructor params, best
    trial included), ``calibration`` (CalibratedClassifierCV settings or null), ``task``,
    ``target``, ``classes`` (sorted train classes; index i is the model's class i; null for
    regression), ``features`` (the feature specs), ``signature`` {columns: [{name, type,
    dtype, categories}]}, ``search`` ({best_trial, score, metric} or null).
    """
    return {
        "type": resolved.type,
        "estimator": resolved.path,
        "params": resolved.params,
        "calibration": resolved.calibration,
        "task": objective["task"],
        "target": objective["target"],
        "classes": None if classes is None else list(classes),
        "features": [dict(f) for f in objective["features"]],
        "signature": signature,
        "search": search,
    }


def save(writer: ArtifactWriter, pipeline: Pipeline, meta: dict[str, Any]) -> None:
    import joblib

    joblib.dump(pipeline, writer.path(PIPELINE), compress=0)
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
