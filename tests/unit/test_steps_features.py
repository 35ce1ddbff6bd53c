from __future__ import annotations

import datetime as dt
import math
from typing import Any

import polars as pl
import pytest
from steps_fakes import FakeContext, ctx

from mlspec.contract.api import StepError
from mlspec.steps import features

DATA = pl.DataFrame(
    {
        "followers": [0, 9, None, 99],
        "topic": ["news", None, "tech", "news"],
        "has_image": [True, False, None, True],
        "posted_at": [dt.datetime(2024, 1, 1, h) for h in (0, 5, 12, 23)],
        "length": [100, 900, 50, 1200],
        "label": [0, 1, 1, 0],
        "group": pl.Series(["A", "B", "A", "B"], dtype=pl.Categorical),
    }
)


def _f(name: str, expr: str | None = None, type: str = "numeric", **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "expr": expr,
        "type": type,
        "encoding": None,
        "impute": "none",
        "fill_value": None,
        "scale": "none",
        "where": f"spec.yaml:60:{len(name)}",
        **extra,
    }


def _run(
    feats: list[dict[str, Any]], carry: list[str] | None = None, data: pl.DataFrame = DATA
) -> FakeContext:
    c = ctx({"features": feats, "carry": carry or []}, data)
    features.run(c)
    return c


def _fails(
    feats: list[dict[str, Any]],
    *words: str,
    carry: list[str] | None = None,
    data: pl.DataFrame = DATA,
) -> StepError:
    with pytest.raises(StepError) as info:
        _run(feats, carry, data)
    for word in words:
        assert word in str(info.value), (word, str(info.value))
    return info.value


def test_expressions_and_passthrough() -> None:
    c = _run(
        [
            _f("log_followers", "log1p(followers)"),
            _f("hour", "hour(posted_at)"),
            _f("long_read", "where(length >= 800, 1, 0)"),
            _f("length"),
        ],
        carry=["label"],
    )
    out = c.output.frames["data"]
    assert out.columns == ["log_followers", "hour", "long_read", "length", "label"]
    assert out.schema == pl.Schema(
        {
            "log_followers": pl.Float64,
            "hour": pl.Float64,
            "long_read": pl.Float64,
            "length": pl.Float64,
            "label": pl.Int64,
        }
    )
    assert out["log_followers"].to_list()[:3] == [0.0, math.log(10), None]
    assert out["hour"].to_list() == [0.0, 5.0, 12.0, 23.0]
    assert out["long_read"].to_list() == [0.0, 1.0, 0.0, 1.0]
    assert out["label"].to_list() == [0, 1, 1, 0]
    assert c.output.metrics == {"rows": 4.0, "features": 4.0}


def test_booleans_become_zero_one() -> None:
    out = _run([_f("has_image"), _f("big", "followers > 10")]).output.frames["data"]
    assert out["has_image"].to_list() == [1.0, 0.0, None, 1.0]
    assert out["big"].to_list() == [0.0, 0.0, None, 1.0]


def test_categorical_becomes_string_with_nulls_kept() -> None:
    out = _run(
        [
            _f("topic", type="categorical"),
            _f("group", type="categorical"),
            _f("img", "has_image", type="categorical"),
            _f("n", "length // 500", type="categorical"),
        ]
    ).output.frames["data"]
    assert out.schema == pl.Schema(
        {"topic": pl.String, "group": pl.String, "img": pl.String, "n": pl.String}
    )
    assert out["topic"].to_list() == ["news", None, "tech", "news"]
    assert out["group"].to_list() == ["A", "B", "A", "B"]
    assert out["img"].to_list() == ["true", "false", None, "true"]
    assert out["n"].to_list() == ["0", "1", "0", "2"]


def test_report() -> None:
    c = _run(
        [
            _f("log_followers", "log1p(followers)"),
            _f("topic", type="categorical"),
            _f("r", "length / (followers - 9)"),
        ],
        carry=["label"],
    )
    report = c.output.jsons["report.json"]
    assert report["rows"] == 4 and report["carry"] == ["label"]
    by = {f["name"]: f for f in report["features"]}
    assert (
        by["log_followers"]["null_fraction"] == 0.25
        and by["log_followers"]["source_dtype"] == "Float64"
    )
    assert by["topic"] == {
        "name": "topic",
        "type": "categorical",
        "expr": None,
        "source_dtype": "String",
        "dtype": "String",
        "null_fraction": 0.25,
    }
    assert (
        by["r"]["nan_fraction"] == 0.0 and by["r"]["null_fraction"] == 0.25
    )  # 900/0 is inf, not NaN


def test_carry_same_name_as_passthrough_feature() -> None:
    out = _run(
        [_f("topic", type="categorical"), _f("length")], carry=["topic", "label"]
    ).output.frames["data"]
    assert out.columns == ["topic", "length", "label"]


def test_carry_clashing_with_an_expression_feature() -> None:
    _fails([_f("label", "length > 3")], "feature 'label'", "also needed", carry=["label"])


def test_missing_carry_column() -> None:
    _fails([_f("length")], "has no column 'lable'", "did you mean 'label'", carry=["lable"])


def test_missing_feature_column() -> None:
    err = _fails(
        [_f("x", "log1p(folowers)")],
        "feature 'x'",
        "log1p(folowers)",
        "'folowers'",
        "did you mean 'followers'",
    )
    assert err.where == "spec.yaml:60:1"
    _fails([_f("topik", type="categorical")], "'topik'", "did you mean 'topic'")


def test_expression_error_names_feature_expr_dtypes_and_where() -> None:
    err = _fails([_f("bad", "log1p(topic)")], "feature 'bad'", "log1p(topic)", "topic: String")
    assert err.where == "spec.yaml:60:3"


def test_string_arithmetic_error() -> None:
    _fails(
        [_f("bad", "topic * 2 + followers")], "feature 'bad'", "topic: String", "followers: Int64"
    )


def test_numeric_feature_from_text() -> None:
    err = _fails([_f("topic")], "feature 'topic' is numeric but topic gives String")
    assert err.hint is not None and "categorical" in err.hint


def test_numeric_feature_from_datetime() -> None:
    _fails([_f("posted_at")], "is numeric but posted_at gives Datetime")


def test_unparsable_expression() -> None:
    _fails([_f("x", "followers +")], "feature 'x'", "Invalid syntax")
    _fails([_f("x", "__import__('os')")], "feature 'x'")


def test_duplicate_feature_names() -> None:
    _fails([_f("length"), _f("length", "length * 2")], "'length' appear more than once")


def test_failure_found_at_collect(monkeypatch: pytest.MonkeyPatch) -> None:
    # A polars error raised only when the query runs is traced back to its feature.
    c = ctx({"features": [_f("ok", "length"), _f("bad", "int(topic) + length")], "carry": []}, DATA)
    original = pl.LazyFrame.collect
    calls = {"n": 0}

    def flaky(self: pl.LazyFrame, *args: Any, **kwargs: Any) -> pl.DataFrame:
        calls["n"] += 1
        if "bad" in self.collect_schema():
            raise pl.exceptions.ComputeError("conversion failed")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(pl.LazyFrame, "collect", flaky)
    with pytest.raises(StepError) as info:
        features.run(c)
    assert "feature 'bad'" in str(info.value) and "conversion failed" in str(info.value)
    assert "topic: String" in str(info.value)


def test_literal_feature_broadcasts() -> None:
    out = _run([_f("one", "1"), _f("length")]).output.frames["data"]
    assert out["one"].to_list() == [1.0] * 4


# ------------------------------------------------------------------------ table or view

PASSTHROUGH = [
    _f("followers"),
    _f("topic", type="categorical"),
    _f("has_image"),
    _f("length", "length"),
]


def test_columns_of_a_table_are_a_view_with_the_tables_frame_and_report() -> None:
    """Only columns of a stored table: a view; readers get what the table would have held."""
    view = _run(PASSTHROUGH, carry=["label", "group"])
    table = _run([*PASSTHROUGH, _f("twice", "length * 2")], carry=["label", "group"])
    assert "data" in view.output.views and "data" not in table.output.views
    recipe = view.output.views["data"]
    assert recipe["kind"] == "features" and recipe["inputs"] == {"data": "fake"}
    assert all("where" not in f for f in recipe["params"]["features"])  # no spec locations
    assert view.output.frames["data"].equals(table.output.frames["data"].drop("twice"))
    assert view.output.frames["data"].schema["followers"] == pl.Float64
    rep_view, rep_table = view.output.jsons["report.json"], table.output.jsons["report.json"]
    assert rep_view["rows"] == rep_table["rows"] == 4
    assert rep_view["features"] == rep_table["features"][:-1]


def test_columns_of_a_view_are_a_table() -> None:
    """Over a view (a join), readers would redo the join each time: the features are stored."""
    from steps_fakes import FakeReader

    joined = FakeReader(DATA, {"data.view.json": {"kind": "join"}})
    c = FakeContext({"features": PASSTHROUGH, "carry": []}, {"data": joined})
    features.run(c)
    assert "data" not in c.output.views and c.output.frames["data"].height == 4
