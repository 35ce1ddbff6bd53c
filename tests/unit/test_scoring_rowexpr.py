"""The one-row evaluator of feature expressions gives what polars gives, to the last bit:
on every edge case of test_expr_polars.py and on random values, for every function and
operator it evaluates (the rest must fall back to polars, never answer differently)."""

from __future__ import annotations

import math
import struct
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlspec.lang.expr import FUNCTIONS, parse
from mlspec.scoring import rowexpr
from mlspec.scoring.expressions import feature_expr, to_polars
from mlspec.scoring.rowexpr import ROW_FUNCTIONS, Fallback, compile_feature
from tests.unit.test_expr_polars import DF, FUNCTION_CASES, OPERATOR_CASES

EXTRA = [
    "i / 0",
    "i // -1",
    "i % j",
    "f ** 2",
    "h ** 0.5",
    "f ** -1",
    "exp(h * 100)",
    "round(h * 3)",
    "round(i)",
    "ceil(h)",
    "floor(h)",
    "sign(i)",
    "abs(h)",
    "maximum(f, h)",
    "minimum(h, 0)",
    "clip(h, f, 1)",
    "where(f, i, h)",
    "where(is_null(s), 'none', s)",
    "fill_null(i, 2.5)",
    "f == h",
    "f > 1 or h < 0",
    "not f",
    "-f",
    "int(h * 1e20)",
    "float(b)",
    "int(b)",
    "str(s)",
    "length(lower(s))",
    "upper(s) + lower(s)",
    "contains(s, s)",
    "weekday(d) + hour(t)",
    "s in []",
    "h in [0.5, 1]",
    "i + 9223372036854775807",
    "log2(h)",
    "log10(h)",
    "sqrt(h) + log(h) + log1p(h)",
]
TEXTS = [t for t, _ in OPERATOR_CASES] + [t for t, _ in FUNCTION_CASES] + EXTRA


def bits(v: Any) -> Any:
    """A value compared to the last bit: floats by their IEEE bytes (so -0.0 != 0.0, and
    NaN == NaN), everything else with its type."""
    if isinstance(v, float):
        return ("float", struct.pack("<d", v))
    return (type(v).__name__, v)


def row_values(df: pl.DataFrame, text: str) -> list[Any]:
    """The row evaluator on each row of `df`; None marks a Fallback (polars computes it)."""
    fn = rowexpr._Compiler(df.schema).node(parse(text)).fn
    out = []
    for row in df.iter_rows(named=True):
        try:
            out.append(("value", bits(fn(row))))
        except Fallback:
            out.append(None)
    return out


def polars_values(df: pl.DataFrame, text: str) -> list[Any]:
    return [("value", bits(v)) for v in df.select(to_polars(parse(text)).alias("o"))["o"].to_list()]


@pytest.mark.parametrize("text", TEXTS)
def test_rows_equal_polars_on_the_edge_cases(text: str) -> None:
    try:
        got = row_values(DF, text)
    except rowexpr._Unsupported:
        return  # the whole expression goes to polars
    want = polars_values(DF, text)
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        assert g is None or g == w, (text, i, g, w)


def test_the_row_path_takes_most_of_the_edge_cases() -> None:
    """Fallbacks are for what is unsure, not the common case."""
    compiled = 0
    for text in TEXTS:
        try:
            row_values(DF, text)
            compiled += 1
        except rowexpr._Unsupported:
            pass
    assert compiled >= 0.8 * len(TEXTS)


def test_every_function_has_a_row_entry() -> None:
    """A function added to FUNCTIONS needs an entry here (None: always polars)."""
    assert set(ROW_FUNCTIONS) == set(FUNCTIONS)
    for name, entry in ROW_FUNCTIONS.items():
        assert entry is None or callable(entry), name


def test_features_equal_feature_expr() -> None:
    features = [
        {"name": "a", "expr": "log1p(i)", "type": "numeric"},
        {"name": "b", "expr": "where(i >= 3, 1, 0)", "type": "numeric"},
        {"name": "s", "type": "categorical"},
        {"name": "c", "expr": "i", "type": "categorical"},
        {"name": "e", "expr": "b", "type": "numeric"},
        {"name": "g", "expr": "hour(t)", "type": "numeric"},
    ]
    for f in features:
        fn = compile_feature(f, DF.schema)
        assert fn is not None, f
        want = DF.select(feature_expr(f))[f["name"]].to_list()
        got = [fn(r) for r in DF.iter_rows(named=True)]
        assert [bits(g) for g in got] == [bits(w) for w in want], f
    assert compile_feature({"name": "x", "expr": "round(h, 2)"}, DF.schema) is None


_float = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 0.5, -0.5, 1.5, 2.5, -2.5, 1e-300, 1e300, -1.0]),
)
_int = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63 - 1), st.integers(min_value=-10, max_value=10)
)
_text = st.one_of(st.text(max_size=6), st.sampled_from(["", "a", "Ab", "\u0130", "\u03a3x"]))
RANDOM_TEXTS = [
    "x + y",
    "x - y",
    "x * y",
    "x / y",
    "x ** y",
    "x < y",
    "x == y",
    "x >= y",
    "x and y",
    "x or y",
    "not x",
    "-x",
    "n + m",
    "n - m",
    "n * m",
    "n / m",
    "n // m",
    "n % m",
    "n ** 2",
    "n < x",
    "n == x",
    "-n",
    "abs(n)",
    "abs(x)",
    "sign(x)",
    "sign(n)",
    "exp(x)",
    "log(x)",
    "log1p(x)",
    "log2(x)",
    "log10(x)",
    "sqrt(x)",
    "log(n)",
    "floor(x)",
    "ceil(x)",
    "round(x)",
    "clip(x, y, 1)",
    "clip(n, -5, m)",
    "minimum(x, y)",
    "maximum(x, n)",
    "where(x, y, n)",
    "fill_null(x, n)",
    "int(x)",
    "float(n)",
    "str(n)",
    "n in [1, 2.5, -3]",
    "x in [0, 1.5]",
    "length(s)",
    "lower(s)",
    "upper(s)",
    "contains(s, t)",
    "s < t",
    "s + t",
]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), _float),
            st.one_of(st.none(), _float),
            st.one_of(st.none(), _int),
            st.one_of(st.none(), _int),
            st.one_of(st.none(), _text),
            st.one_of(st.none(), _text),
        ),
        min_size=1,
        max_size=8,
    ),
    st.sampled_from(RANDOM_TEXTS),
)
def test_rows_equal_polars_on_random_values(rows: list[tuple], text: str) -> None:
    df = pl.DataFrame(
        rows,
        schema={
            "x": pl.Float64,
            "y": pl.Float64,
            "n": pl.Int64,
            "m": pl.Int64,
            "s": pl.String,
            "t": pl.String,
        },
        orient="row",
    )
    try:
        want = polars_values(df, text)
    except pl.exceptions.PolarsError:
        return  # polars refuses these values (e.g. an overflow): the row path must not answer
    try:
        got = row_values(df, text)
    except rowexpr._Unsupported:
        return
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        assert g is None or g == w, (text, df.row(i), g, w)


@settings(max_examples=200, deadline=None)
@given(
    st.datetimes(
        min_value=__import__("datetime").datetime(1900, 1, 1),
        max_value=__import__("datetime").datetime(2200, 1, 1),
    ),
    st.sampled_from(["T", " "]),
    st.integers(min_value=0, max_value=6),
)
def test_iso_texts_parse_as_polars_parses_them(moment: Any, sep: str, digits: int) -> None:
    from mlspec.scoring.onerow import _parse_date, _parse_datetime

    text = moment.strftime(f"%Y-%m-%d{sep}%H:%M:%S")
    if digits:
        text += "." + f"{moment.microsecond:06d}"[:digits]
    want = pl.Series([text]).str.to_datetime(time_unit="us", strict=True)[0]
    assert _parse_datetime(text) == want
    day = moment.strftime("%Y-%m-%d")
    assert _parse_date(day) == pl.Series([day]).str.to_date(strict=True)[0]


def test_math_is_the_same_libm() -> None:
    """A smoke check of the premise: Python's math and polars agree on a hard input."""
    x = 0.7853981633974483
    got = pl.DataFrame({"x": [x]}).select(pl.col("x").exp())["x"][0]
    assert struct.pack("<d", got) == struct.pack("<d", math.exp(x))
