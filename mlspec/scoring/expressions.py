"""Compile the feature-expression IR (``mlspec.lang.expr``) to polars expressions.

Kept apart from the parser so that ``mlspec validate`` never imports polars. Every IR type,
operator and function is looked up in a dispatch table; adding a function to
``FUNCTIONS`` without an entry here fails the tests (and :func:`to_polars` at run time).

Semantics, where polars and Python differ (all checked in tests/unit/test_expr_polars.py):

- Nulls propagate: an operator or function with a null input yields null, except
  ``fill_null``, ``is_null``, ``where`` (a null condition picks ``b``) and Kleene ``and``/``or``
  (``null and False`` is False, ``null or True`` is True).
- Domain errors give **null**, not NaN: ``log``/``log2``/``log10`` of x <= 0, ``log1p`` of
  x <= -1 and ``sqrt`` of x < 0 are null (plain polars gives -inf or NaN). A NaN input stays
  NaN (polars orders NaN above every number, so ``NaN > 0`` holds).
- Division follows polars: float ``/`` by zero gives inf, -inf or NaN (0/0); ``/`` of two
  integers is a float. Integer ``//`` and ``%`` by zero give **null**; float ``//`` and ``%``
  by zero give inf/NaN. ``%`` takes the sign of the divisor, as in Python.
- ``**`` always yields Float64: polars rejects negative integer exponents, so the exponent is
  cast to float.
- ``and``, ``or``, ``not`` and the condition of ``where`` cast their operands to Boolean
  (Python truthiness for numbers): on integer columns polars' ``&``/``|``/``~`` are bitwise.
- ``in`` with numbers compares with ``==`` (so ``int_col in [1.5, 2]`` works; polars' is_in
  refuses mixed int/float); with strings it uses ``is_in``.
- ``minimum``/``maximum`` are null if either side is null, and NaN if either side is NaN
  (``pl.min_horizontal`` alone would skip both).
- ``clip`` bounds may be expressions: a null bound leaves that side open, and where
  lo > hi the lower bound wins (numpy.clip would return hi).
- ``fill_null`` follows polars' supertypes: ``fill_null(int_col, "x")`` yields strings.
- ``round`` rounds half to even and keeps floats as floats; ``int`` truncates toward zero;
  ``int``/``float`` give null where a value cannot be converted ("1.5" -> int is null);
  ``str`` of a boolean is "true"/"false" (polars' spelling, not Python's).
- ``weekday`` is ISO: 1 = Monday ... 7 = Sunday. ``hour``/``minute`` need datetimes.
"""

from __future__ import annotations

import operator
from collections.abc import Callable

import polars as pl

from mlspec.lang.expr import (
    FUNCTIONS,
    Binary,
    Call,
    Col,
    Expr,
    IsIn,
    Lit,
    Unary,
    check_column_name,
)

__all__ = ["to_polars"]


def _truthy(e: pl.Expr) -> pl.Expr:
    """Python truthiness: polars' & | ~ on integers are bitwise, so cast to Boolean first."""
    return e.cast(pl.Boolean)


def _guarded(
    ok: Callable[[pl.Expr], pl.Expr], fn: Callable[[pl.Expr], pl.Expr]
) -> Callable[[pl.Expr], pl.Expr]:
    """``fn(x)`` where ``ok(x)`` holds, else null: domain errors become missing values."""
    return lambda x: pl.when(ok(x)).then(fn(x))


def _pick(
    both: Callable[[pl.Expr, pl.Expr], pl.Expr],
) -> Callable[[pl.Expr, pl.Expr], pl.Expr]:
    """minimum/maximum with numpy semantics for NaN and polars semantics for null."""

    def pick(a: pl.Expr, b: pl.Expr) -> pl.Expr:
        return (
            pl.when(a.is_null() | b.is_null())
            .then(None)
            .when(a.is_nan())
            .then(a)
            .when(b.is_nan())
            .then(b)
            .otherwise(both(a, b))
        )

    return pick


_UNARY: dict[str, Callable[[pl.Expr], pl.Expr]] = {
    "neg": operator.neg,
    "not": lambda e: ~_truthy(e),
}

_BINARY: dict[str, Callable[[pl.Expr, pl.Expr], pl.Expr]] = {
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "div": operator.truediv,
    "floordiv": operator.floordiv,
    "mod": operator.mod,
    "pow": lambda a, b: a.pow(b.cast(pl.Float64)),
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
    "and": lambda a, b: _truthy(a) & _truthy(b),
    "or": lambda a, b: _truthy(a) | _truthy(b),
}

_FUNCTIONS: dict[str, Callable[..., pl.Expr]] = {
    "abs": lambda x: x.abs(),
    "sign": lambda x: x.sign(),
    "exp": lambda x: x.exp(),
    "log": _guarded(lambda x: x > 0, lambda x: x.log()),
    "log1p": _guarded(lambda x: x > -1, lambda x: x.log1p()),
    "log2": _guarded(lambda x: x > 0, lambda x: x.log(2)),
    "log10": _guarded(lambda x: x > 0, lambda x: x.log10()),
    "sqrt": _guarded(lambda x: x >= 0, lambda x: x.sqrt()),
    "floor": lambda x: x.floor(),
    "ceil": lambda x: x.ceil(),
    "round": lambda x, digits=0: x.round(digits),
    "clip": lambda x, lo, hi: x.clip(lo, hi),
    "minimum": _pick(pl.min_horizontal),
    "maximum": _pick(pl.max_horizontal),
    "where": lambda cond, a, b: pl.when(_truthy(cond)).then(a).otherwise(b),
    "fill_null": lambda x, value: x.fill_null(value),
    "is_null": lambda x: x.is_null(),
    "year": lambda t: t.dt.year(),
    "month": lambda t: t.dt.month(),
    "day": lambda t: t.dt.day(),
    "weekday": lambda t: t.dt.weekday(),
    "hour": lambda t: t.dt.hour(),
    "minute": lambda t: t.dt.minute(),
    "length": lambda s: s.str.len_chars(),
    "lower": lambda s: s.str.to_lowercase(),
    "upper": lambda s: s.str.to_uppercase(),
    "contains": lambda s, sub: s.str.contains(sub, literal=True),
    "float": lambda x: x.cast(pl.Float64, strict=False),
    "int": lambda x: x.cast(pl.Int64, strict=False),
    "str": lambda x: x.cast(pl.String),
}

_missing = set(FUNCTIONS) ^ set(_FUNCTIONS)
if _missing:  # pragma: no cover - a programming error caught on import and in tests
    raise RuntimeError(f"FUNCTIONS and the polars table differ: {sorted(_missing)}")


def _col(expr: Col) -> pl.Expr:
    problem = check_column_name(expr.name)
    if problem is not None:  # parse() already refuses these; IR built by hand may not
        raise ValueError(f"A column name {problem}. Got {expr.name!r} instead.")
    return pl.col(expr.name)


def _lit(expr: Lit) -> pl.Expr:
    return pl.lit(expr.value)


def _unary(expr: Unary) -> pl.Expr:
    return _lookup(_UNARY, expr.op, "unary operator")(to_polars(expr.operand))


def _binary(expr: Binary) -> pl.Expr:
    fn = _lookup(_BINARY, expr.op, "binary operator")
    return fn(to_polars(expr.left), to_polars(expr.right))


def _is_in(expr: IsIn) -> pl.Expr:
    operand = to_polars(expr.operand)
    values = expr.values
    if not values:
        # Like is_in: null stays null, everything else is not in an empty list.
        result = pl.when(operand.is_null()).then(None).otherwise(pl.lit(False))
    elif all(isinstance(v, str) for v in values):
        result = operand.is_in(pl.Series(values, dtype=pl.String).implode())
    else:
        # == coerces int and float; is_in would refuse an int column against [1.5].
        result = pl.any_horizontal(*(operand == pl.lit(v) for v in values))
    return ~result if expr.negate else result


def _call(expr: Call) -> pl.Expr:
    fn = _lookup(_FUNCTIONS, expr.func, "function")
    literal = FUNCTIONS[expr.func].int_literal_args
    args = [
        arg.value if i in literal and isinstance(arg, Lit) else to_polars(arg)
        for i, arg in enumerate(expr.args)
    ]
    return fn(*args)


def _lookup(
    table: dict[str, Callable[..., pl.Expr]], key: str, what: str
) -> Callable[..., pl.Expr]:
    try:
        return table[key]
    except KeyError:
        raise ValueError(f"Unknown {what} {key!r} in a feature expression.") from None


_NODES: dict[type, Callable[..., pl.Expr]] = {
    Col: _col,
    Lit: _lit,
    Unary: _unary,
    Binary: _binary,
    IsIn: _is_in,
    Call: _call,
}


def to_polars(expr: Expr) -> pl.Expr:
    """Compile a parsed feature expression to a polars expression (no alias is set)."""
    try:
        compile_node = _NODES[type(expr)]
    except KeyError:
        raise TypeError(f"to_polars() needs an Expr. Got {type(expr).__name__} instead.") from None
    return compile_node(expr)


# What a feature's column is cast to, by feature type (numeric: booleans become 0/1).
FEATURE_DTYPES: dict[str, pl.DataType] = {"numeric": pl.Float64(), "categorical": pl.String()}


def feature_expr(feature: dict[str, object]) -> pl.Expr:
    """A feature's column as the `features` step computes it: its expression (or the column
    of its name), aliased to its name and cast to its type's dtype."""
    from mlspec.lang.expr import parse

    name, text = str(feature["name"]), feature.get("expr")
    ir = parse(str(text)) if text else Col(name)
    return to_polars(ir).alias(name).cast(FEATURE_DTYPES[str(feature.get("type") or "numeric")])
