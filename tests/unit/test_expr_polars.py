"""Compiled feature expressions, evaluated on a small frame and checked against values
worked out by hand or with numpy."""

from __future__ import annotations

import math
from datetime import date, datetime

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlspec.lang.expr import FUNCTIONS, Binary, Call, Col, Lit, Unary, columns, parse
from mlspec.scoring import expressions as expr_polars
from mlspec.scoring.expressions import to_polars

NAN = float("nan")
INF = float("inf")

DAYS = [date(2024, 2, 29), date(2023, 1, 1), None, date(2000, 12, 31), date(1999, 6, 15)]
TIMES = [
    datetime(2024, 3, 3, 13, 45, 10),
    datetime(2023, 1, 1, 0, 0, 0),
    None,
    datetime(2000, 12, 31, 23, 59, 59),
    datetime(1999, 6, 15, 7, 5, 0),
]

DF = pl.DataFrame(
    {
        "i": [3, 0, -2, None, 7],
        "j": [2, 5, 0, 1, None],
        "f": [1.5, 0.0, -2.5, None, NAN],
        "h": [1.26, -0.34, 2.5, 0.5, None],
        "s": ["Ab", "h\u00e9llo", None, "xyz", ""],
        "n": ["1.5", "x", None, "-2", "nan"],
        "b": [True, False, None, True, False],
        "d": DAYS,
        "t": TIMES,
        "odd name": [1, 2, 3, 4, 5],
    }
)


def run(text: str, df: pl.DataFrame = DF) -> list[object]:
    return df.select(to_polars(parse(text)).alias("out"))["out"].to_list()


def same(actual: list[object], expected: list[object]) -> bool:
    """Element-wise equality where None is None, NaN is NaN and floats are close."""
    if len(actual) != len(expected):
        return False
    for a, e in zip(actual, expected, strict=True):
        if a is None or e is None:
            if a is not e:
                return False
        elif isinstance(e, float) and math.isnan(e):
            if not (isinstance(a, float) and math.isnan(a)):
                return False
        elif isinstance(e, float):
            if not (isinstance(a, int | float) and math.isclose(a, e, rel_tol=1e-12)):
                return False
        elif a != e or type(a) is not type(e):
            return False
    return True


def check(text: str, expected: list[object]) -> None:
    actual = run(text)
    assert same(actual, expected), f"{text}: got {actual}, expected {expected}"


# --- operators ------------------------------------------------------------------------

OPERATOR_CASES = [
    ("i + j", [5, 5, -2, None, None]),
    ("i - j", [1, -5, -2, None, None]),
    ("i * j", [6, 0, 0, None, None]),
    ("-i", [-3, 0, 2, None, -7]),
    ("+i", [3, 0, -2, None, 7]),
    # / always gives floats; a non-zero float over zero is +-inf.
    ("i / j", [1.5, 0.0, -INF, None, None]),
    ("f / 0", [INF, NAN, -INF, None, NAN]),
    # integer // and % by zero are null; floats follow IEEE.
    ("i // j", [1, 0, None, None, None]),
    ("i % j", [1, 0, None, None, None]),
    ("f // 0", [INF, NAN, -INF, None, NAN]),
    ("f % 0", [NAN, NAN, NAN, None, NAN]),
    # floor division and modulo round toward -inf, as in Python.
    ("i // 3", [3 // 3, 0 // 3, -2 // 3, None, 7 // 3]),
    ("i % 3", [3 % 3, 0 % 3, -2 % 3, None, 7 % 3]),
    ("i % -3", [3 % -3, 0 % -3, -2 % -3, None, 7 % -3]),
    # ** is always a float; negative integer exponents work.
    ("i ** 2", [9.0, 0.0, 4.0, None, 49.0]),
    ("2 ** i", [8.0, 1.0, 0.25, None, 128.0]),
    ("i ** -1", [1 / 3, INF, -0.5, None, 1 / 7]),
    ("s + '!'", ["Ab!", "h\u00e9llo!", None, "xyz!", "!"]),
    ("i == 0", [False, True, False, None, False]),
    ("i != 0", [True, False, True, None, True]),
    ("i < 3", [False, True, True, None, False]),
    ("i <= 3", [True, True, True, None, False]),
    ("i > 0", [True, False, False, None, True]),
    ("i >= 0", [True, True, False, None, True]),
    ("s == 'xyz'", [False, False, None, True, False]),
    ("0 < i < 5", [True, False, False, None, False]),
    # (-3 <= 7) and (7 <= 3) and (3 != null) is False: False wins over null.
    ("-3 <= i <= 3 != j", [True, True, True, None, False]),
    # Kleene logic: null and False is False, null or True is True.
    ("b and i > 0", [True, False, False, None, False]),
    ("b or i > 0", [True, False, None, True, True]),
    ("not b", [False, True, None, False, True]),
    # and/or/not use truthiness on numbers (polars' & | ~ would be bitwise).
    ("i and j", [True, False, False, None, None]),
    ("i or j", [True, True, True, True, True]),
    ("not i", [False, True, False, None, False]),
    ("i in [3, 7.0]", [True, False, False, None, True]),
    ("f in [0, 1.5]", [True, True, False, None, False]),
    ("i not in [0, -2]", [True, False, False, None, True]),
    ("s in ['Ab', 'xyz']", [True, False, None, True, False]),
    ("s not in ('Ab',)", [False, True, None, True, True]),
    ("b in [True]", [True, False, None, True, False]),
    ("i in []", [False, False, False, None, False]),
    ("i not in []", [True, True, True, None, True]),
    ("i is None", [False, False, False, True, False]),
    ("f is not None", [True, True, True, False, True]),
    ("col('odd name') * 10", [10, 20, 30, 40, 50]),
]


@pytest.mark.parametrize(("text", "expected"), OPERATOR_CASES)
def test_operators(text: str, expected: list[object]) -> None:
    check(text, expected)


def test_every_operator_is_covered() -> None:
    used = {
        node.op for text, _ in OPERATOR_CASES for node in _walk(parse(text)) if hasattr(node, "op")
    }
    assert used >= set(expr_polars._BINARY) | set(expr_polars._UNARY)


def _walk(expr: object) -> list[object]:
    from mlspec.lang.expr import walk

    return list(walk(expr))  # type: ignore[arg-type]


# --- functions ------------------------------------------------------------------------

FUNCTION_CASES = [
    ("abs(i)", [3, 0, 2, None, 7]),
    ("abs(f)", [1.5, 0.0, 2.5, None, NAN]),
    ("sign(f)", [1.0, 0.0, -1.0, None, NAN]),
    ("exp(f)", [math.exp(1.5), 1.0, math.exp(-2.5), None, NAN]),
    # Domain errors are null, NaN stays NaN.
    ("log(f)", [math.log(1.5), None, None, None, NAN]),
    ("log(i)", [math.log(3), None, None, None, math.log(7)]),
    ("log1p(f)", [math.log1p(1.5), 0.0, None, None, NAN]),
    ("log1p(i)", [math.log1p(3), 0.0, None, None, math.log1p(7)]),
    ("log2(i)", [math.log2(3), None, None, None, math.log2(7)]),
    ("log10(i * 10)", [math.log10(30), None, None, None, math.log10(70)]),
    ("sqrt(f)", [math.sqrt(1.5), 0.0, None, None, NAN]),
    ("sqrt(i)", [math.sqrt(3), 0.0, None, None, math.sqrt(7)]),
    ("floor(f)", [1.0, 0.0, -3.0, None, NAN]),
    ("ceil(f)", [2.0, 0.0, -2.0, None, NAN]),
    ("floor(i)", [3, 0, -2, None, 7]),
    # round: half to even (2.5 -> 2, 0.5 -> 0), floats stay floats.
    ("round(h)", [1.0, -0.0, 2.0, 0.0, None]),
    ("round(h, 1)", [1.3, -0.3, 2.5, 0.5, None]),
    ("round(f)", [2.0, 0.0, -2.0, None, NAN]),
    ("clip(i, 0, 5)", [3, 0, 0, None, 5]),
    ("clip(f, -1, 1)", [1.0, 0.0, -1.0, None, NAN]),
    # Bounds may be columns: a null bound leaves that side open (row 5), and where
    # lo > hi the lower bound wins (row 2: clip(0, 5, 4) is 5; numpy.clip would give 4).
    ("clip(i, j, 4)", [3, 5, 0, None, 4]),
    ("minimum(i, j)", [2, 0, -2, None, None]),
    ("maximum(i, j)", [3, 5, 0, None, None]),
    ("minimum(i, f)", [1.5, 0.0, -2.5, None, NAN]),
    ("maximum(f, i)", [3.0, 0.0, -2.0, None, NAN]),
    ("maximum(f, 0)", [1.5, 0.0, 0.0, None, NAN]),
    # A null condition takes the else branch.
    ("where(i > 0, 'pos', 'other')", ["pos", "other", "other", "other", "pos"]),
    ("where(b, i, j)", [3, 5, 0, None, None]),
    ("where(i, 1.0, 0.0)", [1.0, 0.0, 1.0, 0.0, 1.0]),
    ("fill_null(i, 0)", [3, 0, -2, 0, 7]),
    ("fill_null(f, -1.0)", [1.5, 0.0, -2.5, -1.0, NAN]),
    ("fill_null(j, i)", [2, 5, 0, 1, 7]),
    ("is_null(f)", [False, False, False, True, False]),
    ("year(d)", [d.year if d else None for d in DAYS]),
    ("month(d)", [d.month if d else None for d in DAYS]),
    ("day(d)", [d.day if d else None for d in DAYS]),
    ("weekday(d)", [d.isoweekday() if d else None for d in DAYS]),
    ("weekday(t)", [t.isoweekday() if t else None for t in TIMES]),
    ("year(t)", [t.year if t else None for t in TIMES]),
    ("hour(t)", [t.hour if t else None for t in TIMES]),
    ("minute(t)", [t.minute if t else None for t in TIMES]),
    ("length(s)", [2, 5, None, 3, 0]),
    ("lower(s)", ["ab", "h\u00e9llo", None, "xyz", ""]),
    ("upper(s)", ["AB", "H\u00c9LLO", None, "XYZ", ""]),
    ("contains(s, 'l')", [False, True, None, False, False]),
    ("contains(s, '.')", [False, False, None, False, False]),
    ("float(n)", [1.5, None, None, -2.0, NAN]),
    ("float(i)", [3.0, 0.0, -2.0, None, 7.0]),
    ("int(f)", [1, 0, -2, None, None]),
    ("int(n)", [None, None, None, -2, None]),
    ("str(i)", ["3", "0", "-2", None, "7"]),
    ("str(b)", ["true", "false", None, "true", "false"]),
]


@pytest.mark.parametrize(("text", "expected"), FUNCTION_CASES)
def test_functions(text: str, expected: list[object]) -> None:
    check(text, expected)


def test_every_function_is_covered() -> None:
    called = {
        node.func
        for text, _ in FUNCTION_CASES
        for node in _walk(parse(text))
        if isinstance(node, Call)
    }
    assert called == set(FUNCTIONS)
    assert set(expr_polars._FUNCTIONS) == set(FUNCTIONS)


# --- against numpy --------------------------------------------------------------------

_finite = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(_finite, _finite), min_size=1, max_size=20),
    st.sampled_from(["+", "-", "*", "/", "<", "<=", ">", ">=", "==", "!="]),
)
def test_float_operators_match_numpy(pairs: list[tuple[float, float]], symbol: str) -> None:
    x = np.array([p[0] for p in pairs])
    y = np.array([p[1] for p in pairs])
    frame = pl.DataFrame({"x": x, "y": y})
    numpy_op = {
        "+": np.add,
        "-": np.subtract,
        "*": np.multiply,
        "/": np.true_divide,
        "<": np.less,
        "<=": np.less_equal,
        ">": np.greater,
        ">=": np.greater_equal,
        "==": np.equal,
        "!=": np.not_equal,
    }[symbol]
    with np.errstate(all="ignore"):
        expected = numpy_op(x, y).tolist()
    assert same(run(f"x {symbol} y", frame), expected)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=20))
def test_log_and_sqrt_match_numpy_with_null_outside_the_domain(values: list[float]) -> None:
    x = np.array(values)
    frame = pl.DataFrame({"x": x})
    with np.errstate(all="ignore"):
        for text, fn, ok in [
            ("log(x)", np.log, x > 0),
            ("log1p(x)", np.log1p, x > -1),
            ("sqrt(x)", np.sqrt, x >= 0),
        ]:
            expected = [
                float(v) if (good or math.isnan(raw)) else None
                for v, good, raw in zip(fn(x).tolist(), ok.tolist(), values, strict=True)
            ]
            assert same(run(text, frame), expected), text


def test_floor_division_modulo_and_power_match_numpy() -> None:
    x = np.array([7.5, -7.5, 3.0, -0.5, 2.0])
    y = np.array([2.0, 2.0, -4.0, 3.0, 0.5])
    frame = pl.DataFrame({"x": x, "y": y})
    assert same(run("x // y", frame), np.floor_divide(x, y).tolist())
    assert same(run("x % y", frame), np.mod(x, y).tolist())
    with np.errstate(invalid="ignore"):
        assert same(run("x ** y", frame), np.power(x, y).tolist())
    assert same(run("clip(x, -1, 2.5)", frame), np.clip(x, -1, 2.5).tolist())
    assert same(run("minimum(x, y)", frame), np.minimum(x, y).tolist())
    assert same(run("exp(y)", frame), np.exp(y).tolist())


# --- use in frames --------------------------------------------------------------------


def test_literal_only_expressions_broadcast() -> None:
    out = DF.with_columns(to_polars(parse("1 + 2")).alias("three"))["three"].to_list()
    assert out == [3] * DF.height


def test_works_lazily_and_reads_only_its_columns() -> None:
    expr = parse("log1p(fill_null(i, 0)) + length(s)")
    assert columns(expr) == {"i", "s"}
    lazy = DF.lazy().select(sorted(columns(expr))).select(to_polars(expr).alias("out"))
    expected = [math.log1p(3) + 2, 0.0 + 5, None, 0.0 + 3, math.log1p(7) + 0]
    assert same(lazy.collect()["out"].to_list(), expected)


def test_regex_like_column_names_never_reach_polars() -> None:
    with pytest.raises(ValueError, match="regex"):
        to_polars(Col("^i$"))
    with pytest.raises(ValueError, match="every column"):
        to_polars(Col("*"))


def test_bad_ir_is_refused() -> None:
    with pytest.raises(TypeError, match="Got str instead"):
        to_polars("i")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unary operator 'bogus'"):
        to_polars(Unary("bogus", Col("i")))
    with pytest.raises(ValueError, match="binary operator 'bogus'"):
        to_polars(Binary("bogus", Col("i"), Lit(1)))
    with pytest.raises(ValueError, match="function 'bogus'"):
        to_polars(Call("bogus", ()))


def test_type_errors_surface_as_polars_errors_at_evaluation() -> None:
    # The parser knows no types; a string function on a number fails when run.
    expr = to_polars(parse("length(i)"))
    with pytest.raises(pl.exceptions.PolarsError):
        DF.select(expr)
    with pytest.raises(pl.exceptions.PolarsError):
        DF.select(to_polars(parse("hour(d)")))
