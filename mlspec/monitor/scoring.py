"""The one place monitoring scores data: `score_current`, through the bundle API.

It loads the promoted bundle with `scoring.scorer.load_bundle` (what `mlspec.load`, `predict`
and `serve` use: the manifest verified before anything is unpickled) and scores with the
`Scorer`: its casts, feature expressions, Pipelines and scales, so a monitored score is the
score the server answers and the combine step wrote for the test split.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from mlspec.monitor.errors import MonitorError


def score_current(
    bundle: str | Path, frame: pl.DataFrame, version: str | None = None
) -> pl.DataFrame:
    """For `frame` (the columns of the joined data): per objective ``raw_<o>`` (the model's
    score), ``score_<o>`` (scaled as combine scales it) and for classifiers ``label_<o>``
    (the predicted class index) and ``proba_<o>_<k>`` (the probability of class k, in the
    order of the objective's classes); then ``score``, the combined score. MonitorError when
    the bundle cannot be loaded or the data cannot be scored."""
    from mlspec.scoring.bundle import BundleError
    from mlspec.scoring.scorer import InputError, load_bundle

    try:
        scorer = load_bundle(bundle, version=version)
        predictions = scorer.predictions(frame)
    except BundleError as exc:
        raise MonitorError(exc.message, exc.hint) from None
    except InputError as exc:
        raise MonitorError(f"cannot score the current data: {exc.message}") from None
    scaled, total = scorer.combine({o: p.score for o, p in predictions.items()})
    columns: dict[str, object] = {}
    for name, p in sorted(predictions.items()):
        columns[f"raw_{name}"] = p.score
        columns[f"score_{name}"] = scaled[name]
        if p.index is not None and p.proba is not None:
            columns[f"label_{name}"] = p.index
            columns |= {f"proba_{name}_{k}": p.proba[:, k] for k in range(p.proba.shape[1])}
    return pl.DataFrame({**columns, "score": total})
