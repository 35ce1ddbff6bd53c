from __future__ import annotations

import datetime as dt
import decimal
from pathlib import Path

import polars as pl
import pytest

from mlspec.contract.api import StepError
from mlspec.frames import (
    LOGICAL_DTYPES,
    closest,
    compatible,
    describe_dtype,
    jsonable,
    label,
    names_hint,
    require_columns,
)


def test_logical_dtypes_match_the_schema() -> None:
    import json
    from pathlib import Path

    schema = json.loads((Path(__file__).parents[2] / "schemas" / "mlspec.schema.json").read_text())
    assert set(LOGICAL_DTYPES) == set(schema["$defs"]["dtype"]["enum"])


@pytest.mark.parametrize(
    ("dtype", "ok", "bad"),
    [
        (pl.Int8(), {"int", "float"}, {"str", "bool", "date", "datetime", "categorical"}),
        (pl.UInt64(), {"int", "float"}, {"str"}),
        (pl.Float32(), {"float"}, {"int"}),
        (pl.String(), {"str", "categorical"}, {"int", "float", "bool"}),
        (pl.Categorical(), {"str", "categorical"}, {"int"}),
        (pl.Enum(["a"]), {"str", "categorical"}, {"bool"}),
        (pl.Boolean(), {"bool"}, {"int", "float"}),
        (pl.Date(), {"date"}, {"datetime"}),
        (pl.Datetime("ms", "UTC"), {"datetime"}, {"date"}),
    ],
)
def test_compatible(dtype: pl.DataType, ok: set[str], bad: set[str]) -> None:
    assert all(compatible(dtype, x) for x in ok)
    assert not any(compatible(dtype, x) for x in bad)


def test_describe_dtype() -> None:
    assert describe_dtype(pl.Int64()) == "Int64"
    assert describe_dtype(pl.Datetime("us")) == "Datetime"
    assert describe_dtype(pl.Datetime("us", "UTC")) == "Datetime(UTC)"
    assert describe_dtype(pl.Enum(["a", "b"])) == "Enum"
    assert describe_dtype(pl.List(pl.Int64)) == "List(Int64)"


def test_closest_and_hint() -> None:
    assert closest("post_idd", ["post_id", "topic"]) == ["post_id"]
    assert closest("POST_ID", ["post_id"]) == ["post_id"]
    assert names_hint(["zzz"], ["a", "b"]) == "available columns: 'a', 'b'"
    assert "and 5 more" in names_hint(["zzz"], [f"c{i}" for i in range(25)])


def test_require_columns() -> None:
    require_columns({"a": pl.Int64}, ["a"], what="x")
    with pytest.raises(StepError) as info:
        require_columns({"alpha": pl.Int64}, ["alpah", "b"], what="source 's'", where="f:1:1")
    assert str(info.value).startswith("f:1:1: source 's' has no columns 'alpah', 'b'.")
    assert "did you mean 'alpha'" in str(info.value)


def test_jsonable() -> None:
    assert jsonable([1, 1.5, float("nan"), float("inf"), None, "x", True]) == [
        1,
        1.5,
        "nan",
        "inf",
        None,
        "x",
        True,
    ]
    assert jsonable(dt.date(2024, 1, 2)) == "2024-01-02"
    assert jsonable(dt.datetime(2024, 1, 2, 3)) == "2024-01-02T03:00:00"
    assert jsonable(decimal.Decimal("1.5")) == 1.5
    assert jsonable({1: dt.timedelta(seconds=2)}) == {"1": 2.0}
    assert [label(v) for v in (None, True, 1, "a", 1.5)] == ["null", "true", "1", "a", "1.5"]


def test_csv_locate_finds_the_row_of_a_ragged_line_and_of_an_unparsable_value(
    tmp_path: Path,
) -> None:
    from mlspec.frames import csv_locate

    f = tmp_path / "a.csv"
    f.write_text("a,b\n1,2\n3,4,5\n")
    assert (
        csv_locate(f, ",", "found more fields")
        == "row 2 (line 3) has 3 fields where the header has 2"
    )
    f.write_text("a,b\n1,2\n3,x\n")
    message = "could not parse `x` as dtype `i64` at column 'b' (column number 2)"
    assert (
        csv_locate(f, ",", message) == "row 2 (line 3), column 'b': 'x' is not a value of dtype i64"
    )
    f.write_text("a,b\n1,2\n")
    assert csv_locate(f, ",", "something else") is None
