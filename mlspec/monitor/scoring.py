"""The one place monitoring scores data: `score_current`.

It loads the bundle's selected models and scores as the training run did (the features
from the spec's expressions, `preprocess.matrix`, `predict`, then `combine.transform` and
the weighted sum), so the scores are those the `combine` step wrote for the test split.
Deployment's bundle loader (`mlspec.load(bundle).predict(frame)`) gives the same frame;
once it is merged this function's body becomes that one call.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from mlspec.contract.api import StepError
from mlspec.monitor.errors import MonitorError


class _Folder:
    """An ArtifactReader over a bundle's folder (its files were verified against MANIFEST)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, name: str) -> Path:
        return self.root / name

    def json(self, name: str) -> Any:
        return json.loads((self.root / name).read_text("utf-8"))


def score_current(bundle: str | Path, frame: pl.DataFrame) -> pl.DataFrame:
    """For `frame` (the columns of the joined data), per objective ``score_<o>`` (scaled as
    combine scales it), ``raw_<o>`` (the model's score before scaling: P(positive), P(predicted
    class) or the prediction) and for classifiers ``label_<o>`` (the predicted class index),
    then ``score``, the combined score. MonitorError when it cannot be scored."""
    from mlspec.models import persist
    from mlspec.monitor.current import prepare
    from mlspec.scoring import preprocess
    from mlspec.scoring.combine import transform
    from mlspec.scoring.predict import predict

    root = Path(bundle)
    info = json.loads((root / "bundle.json").read_text("utf-8"))
    features = info.get("features") or []
    if not features:
        raise MonitorError(
            "the bundle has no feature expressions (it was packaged before monitoring existed)",
            "run the spec again to package a new version, and promote it",
        )
    kinds = {f["name"]: f.get("type") or "numeric" for f in features}
    current = prepare(frame, kinds, features, [])
    if current.problems:
        raise MonitorError(
            "cannot score the current data: "
            + "; ".join(f"{c}: {why}" for c, why in current.problems.items())
        )
    reference = root / (info.get("reference") or "reference.parquet")
    columns: dict[str, np.ndarray] = {}
    total = np.zeros(frame.height)
    for name, obj in sorted(info["objectives"].items()):
        pipeline, meta = persist.load(_Folder(root / obj["path"]))
        try:
            X = preprocess.matrix(current.frame, meta["features"])
            pred = predict(
                pipeline,
                X,
                meta["task"],
                meta.get("classes"),
                obj.get("threshold") or 0.5,
                meta=meta,
                what="the current data",
            )
        except StepError as exc:
            raise MonitorError(f"objective '{name}': {exc}", exc.hint) from None
        ref = None
        if obj.get("scale") == "rank":
            ref = pl.read_parquet(reference, columns=[obj["column"]]).get_column(obj["column"])
        scaled = transform(obj["scale"], obj.get("scaling") or {}, pred.score, ref)
        columns[obj["column"]] = scaled
        columns[f"raw_{name}"] = pred.score
        if pred.index is not None:
            columns[f"label_{name}"] = pred.index
        total += float(obj["weight"]) * scaled
    return pl.DataFrame({**columns, "score": total})
