"""Kinds of feature expressions over declared columns: what `validate` can refuse for sure.

When every source declares its columns, `validate` knows each column's dtype, and an
expression that applies a function or operator to a kind polars refuses (``hour(country)``,
``price + country``, ``length(price)``) would fail the `features` step. This walk infers
the kind of every node (number, bool, text, date, datetime, or unknown) and reports only
what polars refuses for certain; an unknown kind (an undeclared column, ``None``, a
``where`` of two kinds) never gives an error. No polars import: `validate` stays light.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from mlspec.lang.expr import Binary, Call, Col, Expr, IsIn, Lit, LitValue, Unary

NUM, BOOL, TEXT, DATE, DATETIME = "number", "bool", "text", "date", "datetime"
Kind = str | None

# Declared dtype -> kind (`categorical` columns are loaded as strings).
DTYPE_KINDS: dict[str, str] = {
    "int": NUM,
    "float": NUM,
    "bool": BOOL,
    "str": TEXT,
    "categorical": TEXT,
    "date": DATE,
    "datetime": DATETIME,
}
_TEMPORAL = frozenset({DATE, DATETIME})
NOT_NUMBERS = frozenset({TEXT, DATE, DATETIME})


class KindError(Exception):
    """An operation polars refuses on the inferred kinds; the message names both."""


def _lit(value: LitValue) -> Kind:
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, int | float):
        return NUM
    return TEXT if isinstance(value, str) else None


def _need(what: str, kind: Kind, refused: frozenset[str], wants: str) -> None:
    if kind in refused:
        raise KindError(f"{what} needs {wants}; it is given {_a(kind)}")


def _a(kind: Kind) -> str:
    return {NUM: "a number", BOOL: "a boolean", TEXT: "text", DATE: "a date"}.get(
        kind or "", "a datetime"
    )


# Per function: (kinds refused for each argument position, what it wants, result kind).
_MATH = (frozenset({TEXT, DATE, DATETIME, BOOL}), "a number", NUM)
_MATH_BOOL_OK = (NOT_NUMBERS, "a number", NUM)
_DATES = (frozenset({NUM, BOOL, TEXT}), "a date or datetime", NUM)
_TIMES = (frozenset({NUM, BOOL, TEXT, DATE}), "a datetime", NUM)
_STRINGS = (frozenset({NUM, BOOL, DATE, DATETIME}), "text", None)
_FIRST_ONLY: dict[str, tuple[frozenset[str], str, Kind]] = {
    **dict.fromkeys(("abs", "sign", "floor", "ceil", "round"), _MATH),
    **dict.fromkeys(("exp", "log", "log1p", "log2", "log10"), _MATH_BOOL_OK),
    "sqrt": (frozenset({TEXT}), "a number", NUM),
    "clip": (frozenset({TEXT, BOOL}), "a number", None),
    **dict.fromkeys(("year", "month", "day", "weekday"), _DATES),
    **dict.fromkeys(("hour", "minute"), _TIMES),
    "length": (_STRINGS[0], "text", NUM),
    "lower": (_STRINGS[0], "text", TEXT),
    "upper": (_STRINGS[0], "text", TEXT),
    "contains": (_STRINGS[0], "text", BOOL),
}
_RESULTS: dict[str, Kind] = {"float": NUM, "int": NUM, "str": TEXT, "is_null": BOOL}
_ARITHMETIC = frozenset({"add", "sub", "mul", "div", "floordiv", "mod", "pow"})
_ORDERING = frozenset({"eq", "ne", "lt", "le", "gt", "ge"})


def kind_of(expr: Expr, dtypes: Mapping[str, str]) -> Kind:
    """The kind of `expr` given the declared dtypes of columns; KindError when polars would
    refuse it whatever the data."""
    return _KINDS[type(expr)](expr, dtypes)


def _col(expr: Col, dtypes: Mapping[str, str]) -> Kind:
    return DTYPE_KINDS.get(dtypes.get(expr.name, ""))


def _call(expr: Call, dtypes: Mapping[str, str]) -> Kind:
    args = [kind_of(a, dtypes) for a in expr.args]
    name = expr.func
    if name in _FIRST_ONLY:
        refused, wants, result = _FIRST_ONLY[name]
        _need(f"{name}()", args[0], refused, wants)
        return result
    if name in ("minimum", "maximum"):
        for k in args:
            _need(f"{name}()", k, _MATH[0], "numbers")
        return NUM
    if name == "where":  # polars casts its condition, and the branches to a common type
        return args[1] if args[1] == args[2] else None
    if name == "fill_null":
        return args[0] if args[0] == args[1] else None
    return _RESULTS.get(name)


def _unary(expr: Unary, dtypes: Mapping[str, str]) -> Kind:
    k = kind_of(expr.operand, dtypes)
    if expr.op == "neg":
        _need("-x", k, _MATH[0], "a number")
        return NUM
    _need("not", k, NOT_NUMBERS, "a boolean or a number")
    return BOOL


def _binary(expr: Binary, dtypes: Mapping[str, str]) -> Kind:
    left, right = kind_of(expr.left, dtypes), kind_of(expr.right, dtypes)
    sides = {left, right}
    symbol = {"add": "+", "sub": "-", "mul": "*", "div": "/", "floordiv": "//", "mod": "%"}
    if expr.op in _ARITHMETIC:
        op = symbol.get(expr.op, "**")
        if sides <= {NUM, BOOL}:
            return NUM
        if expr.op == "add" and TEXT in sides and sides <= {TEXT, BOOL, None}:
            return TEXT if sides == {TEXT} else None  # concatenation
        if expr.op == "sub" and sides <= _TEMPORAL:
            return None  # a duration
        if expr.op == "pow" and left in {NUM, BOOL, None} and TEXT not in sides:
            return None  # polars takes a number to the power of a date
        for k in (left, right):
            _need(f"'{op}'", k, NOT_NUMBERS, "numbers")
        return None
    if expr.op in _ORDERING:
        if sides == {NUM, TEXT}:
            raise KindError("a comparison of a number with text is refused")
        return BOOL
    for k in (left, right):  # and, or
        _need(f"'{expr.op}'", k, NOT_NUMBERS, "booleans or numbers")
    return BOOL


def _isin(expr: IsIn, dtypes: Mapping[str, str]) -> Kind:
    k = kind_of(expr.operand, dtypes)
    values = {_lit(v) for v in expr.values}
    if (k == NUM and values == {TEXT}) or (k == TEXT and values == {NUM}):
        raise KindError(f"'in' compares {_a(k)} with a list of {_a(values.pop())}s")
    return BOOL


_KINDS: dict[type, Callable[..., Kind]] = {
    Col: _col,
    Lit: lambda e, _d: _lit(e.value),
    Call: _call,
    Unary: _unary,
    Binary: _binary,
    IsIn: _isin,
}
