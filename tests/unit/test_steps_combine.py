from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import average_precision_score, mean_absolute_error, r2_score, roc_auc_score
from steps_fakes import FakeContext, FakeReader

from mlspec.contract.api import StepError
from mlspec.steps import combine

N = 200
RNG = np.random.default_rng(3)
Y_Q = RNG.integers(0, 2, N)
Y_E = RNG.integers(0, 2, N)
S_Q = np.clip(0.3 * Y_Q + RNG.random(N) * 0.7, 0, 1)
S_E = np.round(RNG.random(N), 1)  # many ties
ROWS = RNG.permutation(np.arange(1000, 1000 + N))  # not in order: combine sorts by row


def _preds(rows: np.ndarray, target: Any, score: np.ndarray) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "row": pl.Series(rows, dtype=pl.Int64),
            "target": target,
            "score": score,
            "label": (score > 0.5).astype(np.int64),
        }
    )


def _inputs(objectives: dict[str, tuple[pl.DataFrame, dict[str, Any]]]) -> dict[str, FakeReader]:
    inputs: dict[str, FakeReader] = {}
    for name, (preds, metrics) in objectives.items():
        inputs[f"select/{name}"] = FakeReader(
            {}, {"selection.json": {"selected": "m", "metric": "roc_auc"}}
        )
        inputs[f"eval/{name}/m"] = FakeReader(
            {"predictions": preds}, {"metrics.json": {"metrics": metrics}}
        )
        inputs[f"eval/{name}/other"] = FakeReader({}, {})  # not selected: never read
    return inputs


def _params(**kw: Any) -> dict[str, Any]:
    p: dict[str, Any] = {
        "weights": {"quality": 0.7, "engagement": 0.3},
        "scale": {"quality": "probability", "engagement": "rank"},
        "tasks": {"quality": "binary", "engagement": "binary"},
        "target": None,
        "metrics": [],
        "targets": {"quality": "is_quality", "engagement": "clicked"},
    }
    p.update(kw)
    return p


OBJECTIVES = {
    "quality": (_preds(ROWS, Y_Q, S_Q), {"roc_auc": {"value": 0.8, "low": 0.7, "high": 0.9}}),
    "engagement": (
        _preds(ROWS[::-1].copy(), Y_E[::-1].copy(), S_E[::-1].copy()),
        {"log_loss": {"value": 0.6, "low": 0.5, "high": 0.7}},
    ),
}


def _run(
    params: dict[str, Any] | None = None, objectives: dict[str, Any] | None = None
) -> FakeContext:
    c = FakeContext(params or _params(), _inputs(objectives or OBJECTIVES))
    combine.run(c)
    return c


def _by_row(rows: np.ndarray, values: np.ndarray) -> np.ndarray:
    return values[np.argsort(rows)]


def test_scores_are_aligned_by_row_and_weighted_without_normalising() -> None:
    c = _run(_params(weights={"quality": 2.0, "engagement": 2.0}))
    out = c.output.frames["scores"]
    assert out.columns == ["row", "score_engagement", "score_quality", "score"]
    assert out.schema["row"] == pl.Int64 and out["row"].is_sorted()
    np.testing.assert_array_equal(out["score_quality"].to_numpy(), _by_row(ROWS, S_Q))
    expected = 2.0 * out["score_quality"].to_numpy() + 2.0 * out["score_engagement"].to_numpy()
    np.testing.assert_array_equal(out["score"].to_numpy(), expected)  # Σ w × s, not divided by Σ w
    doc = c.output.jsons["combine.json"]
    assert doc["normalized"] is False and doc["selected"] == {"engagement": "m", "quality": "m"}
    assert doc["objectives"]["quality"]["metrics"]["roc_auc"]["value"] == 0.8


def test_weight_change_changes_the_score_not_the_scaled_columns() -> None:
    a = _run(_params(weights={"quality": 0.7, "engagement": 0.3})).output.frames["scores"]
    b = _run(_params(weights={"quality": 0.2, "engagement": 0.8})).output.frames["scores"]
    assert a.drop("score").equals(b.drop("score"))
    assert not np.allclose(a["score"].to_numpy(), b["score"].to_numpy())


def test_rank_is_the_mid_ecdf_with_average_ranks_for_ties() -> None:
    c = _run()
    scaled = c.output.frames["scores"]["score_engagement"].to_numpy()
    raw = _by_row(ROWS, S_E)
    ranks = pl.Series(raw).rank("average").to_numpy()
    np.testing.assert_allclose(scaled, (ranks - 0.5) / N)
    assert scaled.min() > 0 and scaled.max() < 1
    ref = c.output.frames["reference"]
    np.testing.assert_array_equal(ref["score_engagement"].to_numpy(), np.sort(S_E))
    fitted = c.output.jsons["combine.json"]["scaling"]["engagement"]
    assert fitted == {
        "method": "rank",
        "n": N,
        "reference": "reference.parquet",
        "column": "score_engagement",
    }


@pytest.mark.parametrize("method", ["probability", "rank", "minmax"])
def test_transform_reproduces_the_step_for_serving(method: str) -> None:
    c = _run(_params(scale={"quality": method, "engagement": "rank"}))
    doc = c.output.jsons["combine.json"]
    fitted = dict(doc["scaling"]["quality"])
    assert fitted.pop("method") == method
    ref = c.output.frames["reference"]["score_quality"].to_numpy()
    again = combine.transform(method, fitted, _by_row(ROWS, S_Q), ref)
    np.testing.assert_array_equal(again, c.output.frames["scores"]["score_quality"].to_numpy())
    outside = combine.transform(method, fitted, [-5.0, 5.0], ref)
    if method != "probability":
        assert list(outside) == [0.0, 1.0]  # unseen extremes stay in [0, 1]


def test_minmax_records_min_max_and_a_constant_maps_to_half() -> None:
    c = _run(_params(scale={"quality": "minmax", "engagement": "minmax"}))
    fitted = c.output.jsons["combine.json"]["scaling"]["quality"]
    assert fitted == {"method": "minmax", "min": float(S_Q.min()), "max": float(S_Q.max())}
    scaled = c.output.frames["scores"]["score_quality"].to_numpy()
    assert scaled.min() == 0.0 and scaled.max() == 1.0
    const = {**OBJECTIVES, "engagement": (_preds(ROWS, Y_E, np.full(N, 3.0)), {})}
    out = _run(_params(scale={"quality": "minmax", "engagement": "minmax"}), const).output.frames[
        "scores"
    ]
    assert set(out["score_engagement"].to_list()) == {0.5}


def test_probability_is_refused_for_multiclass_and_out_of_range_scores() -> None:
    with pytest.raises(StepError, match="rank") as info:
        _run(_params(tasks={"quality": "multiclass", "engagement": "binary"}))
    assert "combine.scale.quality" in str(info.value)
    bad = {**OBJECTIVES, "quality": (_preds(ROWS, Y_Q, S_Q * 3 - 1), {})}
    with pytest.raises(StepError, match=r"\[0, 1\]"):
        _run(objectives=bad)


def test_objectives_on_different_rows_are_an_error() -> None:
    shifted = {**OBJECTIVES, "engagement": (_preds(ROWS + 1, Y_E, S_E), {})}
    with pytest.raises(StepError, match="different test rows"):
        _run(objectives=shifted)


def test_binary_target_metrics_match_sklearn_with_intervals() -> None:
    c = _run(_params(target="is_quality", metrics=["roc_auc", "pr_auc"]))
    doc = c.output.jsons["combine.json"]
    out = c.output.frames["scores"]
    y, s = out["target"].to_numpy(), out["score"].to_numpy()
    np.testing.assert_array_equal(y, _by_row(ROWS, Y_Q))
    for name, fn in (("roc_auc", roc_auc_score), ("pr_auc", average_precision_score)):
        m = doc["metrics"][name]
        assert m["value"] == pytest.approx(fn(y, s))
        assert m["low"] <= m["value"] <= m["high"]
        assert c.output.metrics[f"combined.{name}"] == m["value"]
    assert doc["target"] == "is_quality"


def test_regression_metrics_and_undefined_metrics() -> None:
    y = RNG.normal(size=N)
    objs = {"reach": (_preds(ROWS, y, y + RNG.normal(size=N) * 0.1), {})}
    p = _params(
        weights={"reach": 1.0},
        scale={"reach": "minmax"},
        tasks={"reach": "regression"},
        target="views",
        metrics=["mae", "r2"],
        targets={"reach": "views"},
    )
    c = _run(p, objs)
    out = c.output.frames["scores"]
    doc = c.output.jsons["combine.json"]
    assert doc["metrics"]["mae"]["value"] == pytest.approx(
        mean_absolute_error(out["target"], out["score"])
    )
    assert doc["metrics"]["r2"]["value"] == pytest.approx(r2_score(out["target"], out["score"]))
    one = {**OBJECTIVES, "quality": (_preds(ROWS, np.ones(N, dtype=np.int64), S_Q), {})}
    c = _run(_params(target="is_quality", metrics=["roc_auc"]), one)
    m = c.output.jsons["combine.json"]["metrics"]["roc_auc"]
    assert m["value"] is None and "one class" in m["reason"]
    assert c.warnings and "roc_auc is undefined" in c.warnings[0]


def test_a_target_that_is_no_objectives_target_is_an_error() -> None:
    with pytest.raises(StepError, match="not the target of any objective") as info:
        _run(_params(target="took", metrics=["roc_auc"]))
    assert "clicked, is_quality" in (info.value.hint or "")


def test_deterministic() -> None:
    a, b = _run(), _run()
    assert a.output.jsons == b.output.jsons
    assert all(a.output.frames[k].equals(b.output.frames[k]) for k in a.output.frames)
