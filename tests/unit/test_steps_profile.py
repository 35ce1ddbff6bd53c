from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
import pytest
from steps_fakes import FakeContext, FakeReader

from mlspec.contract.api import StepError
from mlspec.monitor.sampling import sample
from mlspec.steps import profile

N = 1000
RNG = np.random.default_rng(5)
SPLIT = np.where(np.arange(N) % 5 == 0, 2, 0).astype(np.uint8)  # every 5th row is test
TRAIN = SPLIT == 0
X = RNG.normal(size=N)
X_WITH_NULLS = [None if i % 10 == 1 else float(v) for i, v in enumerate(X)]
TOPIC = [f"t{i % 97:02d}" if i % 3 else "t00" for i in range(N)]
DATA = pl.DataFrame(
    {
        "x": pl.Series(X_WITH_NULLS, dtype=pl.Float64),
        "topic": TOPIC,
        "flag": RNG.random(N) < 0.3,
        "code": np.where(np.arange(N) % 10 < 7, 0, 1),  # int, 70/30: few distinct values
        "const": np.full(N, 4),
        "group_id": np.arange(N) % 7,  # an int declared categorical
    }
)
SCORES = pl.DataFrame(
    {
        "row": np.arange(200),
        "score_quality": np.linspace(0, 1, 200),
        "score": np.linspace(0, 2, 200),
    }
)
COMBINE = {
    "objectives": {
        "quality": {
            "model": "gbt",
            "metrics": {"roc_auc": {"value": 0.83, "low": 0.8, "high": 0.86}},
        }
    }
}
FEATURES = [
    {"name": "x", "type": "numeric"},
    {"name": "topic", "type": "categorical"},
    {"name": "group_id", "type": "categorical"},
]


def _run(monitors: list[dict[str, Any]], data: pl.DataFrame = DATA) -> FakeContext:
    inputs = {
        "data": FakeReader(data),
        "split": FakeReader(
            pl.DataFrame({"split": pl.Series(SPLIT[: data.height], dtype=pl.UInt8)})
        ),
        "combine": FakeReader({"scores": SCORES}, {"combine.json": COMBINE}),
    }
    c = FakeContext({"monitors": monitors, "features": FEATURES}, inputs)
    profile.run(c)
    return c


def _drift(*columns: str) -> dict[str, Any]:
    return {
        "name": "input_drift",
        "type": "data_drift",
        "columns": list(columns),
        "test": "psi",
        "threshold": 0.2,
    }


def test_numeric_deciles_on_the_train_split() -> None:
    doc = _run([_drift("x")]).output.jsons["profile.json"]
    d = doc["columns"]["x"]
    train = np.array([v for v, t in zip(X_WITH_NULLS, TRAIN, strict=True) if t and v is not None])
    assert d["kind"] == "numeric" and d["count"] == len(train)
    assert d["null_fraction"] == pytest.approx(1 - len(train) / TRAIN.sum())
    assert len(d["edges"]) == 11 and d["edges"][0] == train.min() and d["edges"][-1] == train.max()
    np.testing.assert_allclose(d["edges"][1:-1], np.quantile(train, np.linspace(0.1, 0.9, 9)))
    assert sum(d["frequencies"]) == pytest.approx(1.0)
    counts = np.bincount(profile.bin_index(d["edges"], train), minlength=10) / len(train)
    np.testing.assert_allclose(counts, d["frequencies"])
    assert doc["rows"]["train"] == TRAIN.sum()


def test_few_distinct_values_and_constants_keep_meaningful_bins() -> None:
    cols = _run([_drift("code", "const")]).output.jsons["profile.json"]["columns"]
    assert cols["code"]["edges"] == [0.0, 1.0, 1.0]
    ones = DATA["code"].to_numpy()[TRAIN].mean()
    assert cols["code"]["frequencies"] == pytest.approx([1 - ones, ones])
    assert cols["const"]["edges"] == [4.0, 4.0] and cols["const"]["frequencies"] == [1.0]


def test_categorical_top_categories_and_other() -> None:
    cols = _run([_drift("topic", "flag", "group_id")]).output.jsons["profile.json"]["columns"]
    t = cols["topic"]
    distinct = len(set(np.array(TOPIC)[TRAIN]))
    assert t["kind"] == "categorical" and t["distinct"] == distinct == len(t["frequencies"])
    assert max(t["frequencies"], key=t["frequencies"].get) == "t00"
    assert sum(t["frequencies"].values()) == pytest.approx(1.0) and t["other"] == 0
    assert set(cols["flag"]["frequencies"]) == {"true", "false"}
    assert cols["group_id"]["kind"] == "categorical" and cols["group_id"]["distinct"] == 7


def test_scores_and_performance_references() -> None:
    monitors = [
        {"name": "score_drift", "type": "prediction_drift", "objective": None, "threshold": 0.1},
        {"name": "q_drift", "type": "prediction_drift", "objective": "quality", "threshold": 0.1},
        {
            "name": "q_auc",
            "type": "performance",
            "objective": "quality",
            "metric": "roc_auc",
            "threshold": 0.05,
        },
    ]
    doc = _run(monitors).output.jsons["profile.json"]
    assert set(doc["scores"]) == {"score", "score_quality"}
    assert doc["scores"]["score"]["edges"][-1] == 2.0 and doc["rows"]["test"] == 200
    assert doc["performance"] == {
        "q_auc": {
            "objective": "quality",
            "metric": "roc_auc",
            "value": 0.83,
            "low": 0.8,
            "high": 0.86,
        }
    }
    assert set(doc["columns"]) == {"x", "topic", "group_id"} and doc["monitors"] == monitors


def test_unknown_column_has_a_did_you_mean() -> None:
    with pytest.raises(StepError) as info:
        _run([_drift("topik")])
    assert "topik" in str(info.value) and "topic" in (info.value.hint or "")


def test_unsupported_dtype_is_an_error() -> None:
    data = DATA.with_columns(when=pl.Series([[1]] * N))
    with pytest.raises(StepError, match="neither numeric nor categorical"):
        _run([_drift("when")], data)


def test_deterministic_and_no_monitors() -> None:
    monitors = [_drift("x", "topic"), {"name": "s", "type": "prediction_drift", "objective": None}]
    a, b = _run(monitors).output, _run(monitors).output
    assert a.jsons == b.jsons and set(a.frames) == {"sample_train", "sample_scores"}
    assert all(a.frames[k].equals(b.frames[k]) for k in a.frames)
    assert set(_run([]).output.jsons["profile.json"]["columns"]) == {"x", "topic", "group_id"}


def test_samples_are_seeded_and_capped() -> None:
    frame = DATA.with_row_index("i")
    s1, s2 = sample(frame, 100, 0), sample(frame, 100, 0)
    assert s1.height == 100 and s1.equals(s2) and s1["i"].is_sorted()
    assert not s1.equals(sample(frame, 100, 1)) and sample(frame, 10**6, 0).equals(frame)


def test_data_quality_columns_are_profiled_like_drift_columns() -> None:
    """A data_quality monitor's `columns` may name columns of the joined data that are no
    feature (`code`, `flag`): they are profiled, or `mlspec monitor` says "not profiled"."""
    quality = {"name": "dq", "type": "data_quality", "columns": ["code", "flag", "x"]}
    cols = _run([quality]).output.jsons["profile.json"]["columns"]
    assert {"code", "flag", "x"} <= set(cols)
    assert cols["code"]["kind"] == "numeric" and cols["flag"]["kind"] == "categorical"


def test_the_plan_hands_data_quality_columns_to_the_profile_step(tmp_path: Any) -> None:
    from mlspec.compile.planner import compile_plan
    from mlspec.lang.validate import load_spec

    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "mlspec: 1\nname: t\ndata: {sources: {s: {path: s.csv}}}\nfeatures: [{name: a}]\n"
        "objectives: {o: {task: binary, target: y, models: [{name: m, type: dummy}]}}\n"
        "monitors: [{name: dq, type: data_quality, columns: [a, country]}]\n"
    )
    step = compile_plan(load_spec(spec)).step("profile")
    assert step.columns[("data",)] == ("a", "country")
