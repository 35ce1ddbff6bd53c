"""Target leakage: a feature that alone predicts the target is named; honest ones and ids are not."""

from __future__ import annotations

import numpy as np
import polars as pl
from test_models_store import FRAME, SPLIT, feature, objective, put, store, train_model

from mlspec.evaluation.leakage import suspects
from mlspec.models import persist
from mlspec.store import ArtifactStore

__all__ = ["store"]  # the fixture

RNG = np.random.default_rng(0)
N = 4000
Y = RNG.integers(0, 2, N)
FRAME_L = pl.DataFrame(
    {
        "copy": Y * 3.5 + 1,  # the target renamed and rescaled
        "noisy": Y + RNG.normal(0, 1.0, N),  # informative, far from perfect
        "row_id": np.arange(N),  # one value per row: no lookup generalises
        "label": np.where(Y == 1, "yes", "no"),  # a categorical copy
    }
)
FEATURES = [
    feature("copy"),
    feature("noisy"),
    feature("row_id"),
    feature("label", "categorical"),
]


def test_copies_of_the_target_are_named_and_honest_features_are_not() -> None:
    found = suspects(FRAME_L, FEATURES, Y, "binary")
    assert [s["feature"] for s in found] == ["copy", "label"]
    assert all(s["score"] == 1.0 for s in found)


def test_regression_copy_is_named() -> None:
    y = RNG.normal(size=N)
    frame = pl.DataFrame({"twice": 2 * y, "other": RNG.normal(size=N)})
    found = suspects(frame, [feature("twice"), feature("other")], y, "regression")
    assert [s["feature"] for s in found] == ["twice"]


def test_the_train_step_warns_and_records_it(store: ArtifactStore) -> None:
    frame = FRAME.with_columns(leak=pl.col("malignant") * 10)
    inputs = {"data": put(store, {"data": frame}), "split": put(store, {"data": SPLIT})}
    obj = objective("binary", [feature("f0"), feature("leak")])
    ctx, reader = train_model(store, "binary", "logistic_regression", inputs=inputs, obj=obj)
    assert any("target leakage" in w and "'leak'" in w for w in ctx.warnings), ctx.warnings
    _, info = persist.load(reader)
    assert [s["feature"] for s in info["leakage"]] == ["leak"]
