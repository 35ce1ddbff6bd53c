"""`validate` refuses an expression on declared columns only when polars refuses it too."""

from __future__ import annotations

import datetime as dt
import itertools

import polars as pl
import pytest

from mlspec.lang.expr import FUNCTIONS, parse
from mlspec.lang.expr_types import KindError, kind_of
from mlspec.scoring.expressions import to_polars

DTYPES = {"i": "int", "f": "float", "b": "bool", "s": "str", "c": "categorical"}
DTYPES |= {"d": "date", "t": "datetime"}
# The columns as the load step conforms them (`categorical` is loaded as a string).
FRAME = pl.DataFrame(
    {
        "i": [1, 2],
        "f": [0.5, 1.5],
        "b": [True, False],
        "s": ["a", "b"],
        "c": ["x", "y"],
        "d": [dt.date(2024, 1, 1), dt.date(2024, 1, 2)],
        "t": [dt.datetime(2024, 1, 1, 3), dt.datetime(2024, 1, 2, 4)],
    }
)
ONE = [f"{fn}({{x}})" for fn, spec in FUNCTIONS.items() if spec.min_args == 1]
TWO = [
    "{x} + {y}",
    "{x} - {y}",
    "{x} * {y}",
    "{x} / {y}",
    "{x} // {y}",
    "{x} % {y}",
    "{x} ** {y}",
    "{x} < {y}",
    "{x} == {y}",
    "{x} and {y}",
    "{x} or {y}",
    "minimum({x}, {y})",
    "maximum({x}, {y})",
    "where({x}, {y}, {y})",
    "fill_null({x}, {y})",
    "contains({x}, {y})",
    "clip({x}, {y}, {y})",
]
LITERALS = ["1", "0.5", "'a'", "True"]
CASES = [
    t.format(x=x)
    for t in [*ONE, "-{x}", "not {x}", "{x} in [1, 2]", "{x} in ['a']"]
    for x in [*DTYPES, *LITERALS]
]
CASES += [
    t.format(x=x, y=y) for t in TWO for x, y in itertools.product([*DTYPES, "1", "'a'"], repeat=2)
]


def _polars_refuses(text: str) -> bool:
    try:
        FRAME.select(to_polars(parse(text)).alias("v"))
    except Exception:  # any polars error is a refusal
        return True
    return False


def test_no_expression_polars_computes_is_refused() -> None:
    """The property that matters: every refusal is one polars would make (no false alarm)."""
    wrong = []
    for text in CASES:
        try:
            kind_of(parse(text), DTYPES)
        except KindError:
            if not _polars_refuses(text):
                wrong.append(text)
    assert not wrong, wrong


@pytest.mark.parametrize(
    "text",
    [
        "hour(s)",
        "hour(d)",
        "year(i)",
        "length(f)",
        "lower(b)",
        "f + s",
        "s * 2",
        "-c",
        "abs(b)",
        "log(t)",
        "i > 'a'",
        "i in ['a']",
        "minimum(d, 1)",
        "contains(i, 'a')",
        "round(s)",
        "not d",
        "sqrt(length(i))",
    ],
)
def test_what_the_features_step_failed_on_is_refused(text: str) -> None:
    assert _polars_refuses(text)
    with pytest.raises(KindError):
        kind_of(parse(text), DTYPES)


def test_kinds_of_results() -> None:
    assert kind_of(parse("s + c"), DTYPES) == "text"
    assert kind_of(parse("hour(t) + year(d)"), DTYPES) == "number"
    assert kind_of(parse("t - t"), DTYPES) is None  # a duration: not judged
    assert kind_of(parse("undeclared + 1"), DTYPES) is None  # not declared: not judged
    assert kind_of(parse("where(b, s, 'z')"), DTYPES) == "text"
