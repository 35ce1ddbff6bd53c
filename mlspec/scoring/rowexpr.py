"""Feature expressions evaluated on ONE row in plain Python, equal to polars bit for bit.

A one-row request spends ~0.15 ms in a polars query for arithmetic that takes a
microsecond. `compile_feature` turns a feature's IR (``mlspec.lang.expr``) into a Python
function row -> value giving exactly what `expressions.feature_expr` gives on that row:
the same semantics (null propagation, domain errors -> null, polars' NaN ordering, Kleene
logic, ISO weekday; see `expressions`), the same dtype at every node (asked of polars once,
on an empty frame of the input schema), the same IEEE operations.

Where this module is not sure to agree with polars it does not guess: a node it cannot
compile makes the feature None (always computed by polars), and a value it cannot settle
(an integer result outside its dtype's range, a non-ASCII string to lower-case, a float to
format as text...) raises `Fallback`, and the caller computes that row with polars.
`ROW_FUNCTIONS` holds one entry per function of ``FUNCTIONS`` (None: always polars), so
a new function fails the tests until this table says how it is evaluated.
tests/unit/test_scoring_rowexpr.py checks every entry against polars, to the last bit.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import polars as pl

from mlspec.lang.expr import FUNCTIONS, Binary, Call, Col, Expr, IsIn, Lit, Unary, parse

Row = Mapping[str, Any]
Fn = Callable[[Row], Any]


class Fallback(Exception):
    """This row's value is not certain here: compute it with polars."""


# Value kinds: the polars dtypes a node may have on the row path, and their Python values.
_INT_RANGES: dict[type, tuple[int, int]] = {
    pl.Int8: (-(2**7), 2**7 - 1),
    pl.Int16: (-(2**15), 2**15 - 1),
    pl.Int32: (-(2**31), 2**31 - 1),
    pl.Int64: (-(2**63), 2**63 - 1),
    pl.UInt8: (0, 2**8 - 1),
    pl.UInt16: (0, 2**16 - 1),
    pl.UInt32: (0, 2**32 - 1),
    pl.UInt64: (0, 2**64 - 1),
}
_KINDS: dict[type, str] = {
    pl.Float64: "float",
    pl.Boolean: "bool",
    pl.String: "str",
    pl.Date: "date",
    pl.Null: "null",
    **{t: "int" for t in _INT_RANGES},
}
_NUMBER = frozenset({"int", "float"})
_EXACT_FLOAT = 2**53  # ints beyond this do not convert to float exactly; polars may differ


def kind_of(dtype: pl.DataType) -> str | None:
    """The value kind of a polars dtype, or None when the row path does not handle it."""
    if isinstance(dtype, pl.Datetime):
        return "datetime" if dtype.time_zone is None and dtype.time_unit == "us" else None
    return _KINDS.get(type(dtype))


class _Node:
    """A compiled node: its evaluation function, value kind and polars dtype."""

    __slots__ = ("dtype", "fn", "kind")

    def __init__(self, fn: Fn, kind: str, dtype: pl.DataType) -> None:
        self.fn, self.kind, self.dtype = fn, kind, dtype


class _Unsupported(Exception):
    """A node the row path does not compile: the whole feature goes to polars."""


# ----------------------------------------------------------------------------- values


def _check_int(v: int, dtype: pl.DataType) -> int:
    lo, hi = _INT_RANGES[type(dtype)]
    if not lo <= v <= hi:
        raise Fallback  # polars wraps or errors; not reproduced here
    return v


def _convert(src: str, out: str) -> Callable[[Any], Any]:
    """A value of kind `src` as kind `out` (polars' implicit supertype cast)."""
    if src == out or src == "null":
        return lambda v: v
    if out == "float" and src in ("int", "bool"):
        return _to_float
    if out == "int" and src == "bool":
        return int
    raise _Unsupported


def _to_float(v: Any) -> Any:
    if v is None:
        return None
    if type(v) is int and abs(v) > _EXACT_FLOAT:
        raise Fallback
    return float(v)


def _key(v: Any) -> Any:
    """polars' total order of floats: NaN above every number and equal to itself."""
    if type(v) is float and v != v:
        return (1, 0.0)
    return (0, v)


def _truthy(kind: str) -> Callable[[Any], Any]:
    """Cast to Boolean: Python truthiness for numbers (NaN is true), null stays null."""
    if kind == "bool" or kind == "null":
        return lambda v: v
    if kind in _NUMBER:
        return lambda v: None if v is None else v != 0
    raise _Unsupported


_DEFAULT_NAN = math.inf - math.inf  # the NaN the FPU makes for 0/0 (polars' value, sign and all)


def _div(a: float, b: float) -> float:
    if b == 0.0:
        if a != a:
            return a  # the operand's NaN, as the hardware passes it on
        if a == 0.0:
            return _DEFAULT_NAN
        return math.copysign(math.inf, a) * math.copysign(1.0, b)
    return a / b


def _floordiv_int(a: int, b: int) -> int | None:
    return None if b == 0 else a // b


def _mod_int(a: int, b: int) -> int | None:
    return None if b == 0 else a % b


def _pow(a: float, b: float) -> float:
    try:
        return math.pow(a, b)
    except (OverflowError, ValueError):
        raise Fallback from None


# ----------------------------------------------------------------------------- operators

# op -> (kinds of the operands) -> value function of (a, b), both non-null and converted to
# the operands' common kind; None where the kinds are not handled.
_ARITH: dict[str, Callable[[str], Callable[[Any, Any], Any] | None]] = {
    "add": lambda k: (lambda a, b: a + b) if k in ("int", "float", "str") else None,
    "sub": lambda k: (lambda a, b: a - b) if k in _NUMBER else None,
    "mul": lambda k: (lambda a, b: a * b) if k in _NUMBER else None,
    "div": lambda k: _div if k == "float" else None,
    "floordiv": lambda k: _floordiv_int if k == "int" else None,
    "mod": lambda k: _mod_int if k == "int" else None,
    "pow": lambda k: _pow if k == "float" else None,
}
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
}


def _and(a: Any, b: Any) -> Any:
    if a is False or b is False:
        return False
    if a is None or b is None:
        return None
    return True


def _or(a: Any, b: Any) -> Any:
    if a is True or b is True:
        return True
    if a is None or b is None:
        return None
    return False


_LOGIC: dict[str, Callable[[Any, Any], Any]] = {"and": _and, "or": _or}


def _common(a: _Node, b: _Node) -> str:
    """The kind both operands are compared or computed in (polars' supertype)."""
    kinds = {a.kind, b.kind} - {"null"}
    if len(kinds) <= 1:
        return kinds.pop() if kinds else "null"
    if kinds <= {"int", "float"}:
        return "float"
    raise _Unsupported


# ----------------------------------------------------------------------------- functions


def _strict(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Null in, null out."""

    def run(*args: Any) -> Any:
        if any(a is None for a in args):
            return None
        return fn(*args)

    return run


def _float_fn(fn: Callable[[float], float]) -> Callable[[list[str], str], Any]:
    """A math function of a float, with the argument converted as polars casts it."""

    def compile_(kinds: list[str], out: str) -> Any:
        if out != "float" or kinds[0] not in _NUMBER:
            return None
        conv = _convert(kinds[0], "float")
        return _strict(lambda x: fn(conv(x)))

    return compile_


def _guarded(ok: Callable[[float], bool], fn: Callable[[float], float]) -> Callable[[float], Any]:
    """``fn(x)`` where ``ok`` holds by polars' ordering (NaN above all: NaN passes), else null."""

    def run(x: float) -> Any:
        if x != x:
            return x
        return fn(x) if ok(x) else None

    return run


_LN2, _LN10 = math.log(2.0), math.log(10.0)


def _exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def _integral(fn: Callable[[float], int]) -> Callable[[list[str], str], Any]:
    """floor/ceil: whole floats keep their sign (floor(-0.5) is -1.0, ceil(-0.5) is -0.0)."""

    def on_float(x: float) -> float:
        if not math.isfinite(x):
            return x
        return math.copysign(float(fn(x)), x)

    def compile_(kinds: list[str], out: str) -> Any:
        if kinds[0] == out == "int":
            return lambda x: x
        if kinds[0] == out == "float":
            return _strict(on_float)
        return None

    return compile_


def _round(kinds: list[str], out: str, literals: Sequence[Any] = ()) -> Any:
    digits = literals[1] if len(literals) > 1 else 0
    if kinds[0] == out == "int" and digits == 0:
        return lambda x, *_: x
    if kinds[0] == out == "float" and digits == 0:  # half to even; other digits: polars
        return _strict(lambda x, *_: x if not math.isfinite(x) else math.copysign(round(x, 0), x))
    return None


def _abs(kinds: list[str], out: str) -> Any:
    if kinds[0] != out or out not in _NUMBER:
        return None
    return _strict(abs)  # int overflow (abs of the minimum) is caught by the node's range


def _sign(kinds: list[str], out: str) -> Any:
    if kinds[0] != out or out not in _NUMBER:
        return None
    if out == "int":
        return _strict(lambda x: (x > 0) - (x < 0))
    return _strict(lambda x: x if x != x or x == 0.0 else math.copysign(1.0, x))


def _clip(kinds: list[str], out: str) -> Any:
    if out not in _NUMBER or any(k not in (out, "null") for k in kinds):
        return None

    def clip(x: Any, lo: Any, hi: Any) -> Any:
        # polars: below lo -> lo, else above hi -> hi (so where lo > hi, x < lo gives lo)
        if x is None:
            return None
        if any(type(v) is float and v != v for v in (x, lo, hi)):
            raise Fallback
        if lo is not None and x < lo:
            return lo
        if hi is not None and x > hi:
            return hi
        return x

    return clip


def _pick(smaller: bool) -> Callable[[list[str], str], Any]:
    def compile_(kinds: list[str], out: str) -> Any:
        if out not in _NUMBER:
            return None
        ca, cb = _convert(kinds[0], out), _convert(kinds[1], out)

        def pick(a: Any, b: Any) -> Any:
            if a is None or b is None:
                return None
            a, b = ca(a), cb(b)
            if a != a:
                return a
            if b != b:
                return b
            if a == b and a == 0 and math.copysign(1, a) != math.copysign(1, b):
                raise Fallback  # -0.0 against 0.0: which one polars keeps is not promised
            return (a if a <= b else b) if smaller else (a if a >= b else b)

        return pick

    return compile_


def _where(kinds: list[str], out: str) -> Any:
    truth = _truthy(kinds[0])
    ca, cb = _convert(kinds[1], out), _convert(kinds[2], out)
    return lambda c, a, b: ca(a) if truth(c) else cb(b)


def _fill_null(kinds: list[str], out: str) -> Any:
    ca, cb = _convert(kinds[0], out), _convert(kinds[1], out)
    return lambda x, v: cb(v) if x is None else ca(x)


def _part(get: Callable[[Any], int], kinds_ok: tuple[str, ...]) -> Callable[[list[str], str], Any]:
    def compile_(kinds: list[str], out: str) -> Any:
        if kinds[0] not in kinds_ok or out != "int":
            return None
        return _strict(get)

    return compile_


def _ascii(fn: Callable[[str], str]) -> Callable[[list[str], str], Any]:
    """Case mapping of ASCII text (Unicode case rules may differ between Rust and Python)."""

    def run(s: str) -> str:
        if not s.isascii():
            raise Fallback
        return fn(s)

    def compile_(kinds: list[str], out: str) -> Any:
        return _strict(run) if kinds[0] == out == "str" else None

    return compile_


def _to_int(x: float) -> int | None:
    if not math.isfinite(x) or not -(2.0**62) < x < 2.0**62:
        if x != x or math.isinf(x):
            return None
        raise Fallback  # near the Int64 bounds
    return int(x)


def _cast_int(kinds: list[str], out: str) -> Any:
    if out != "int":
        return None
    src = kinds[0]
    if src in ("int", "null"):
        return lambda x: x
    if src == "bool":
        return _strict(int)
    if src == "float":
        return _strict(_to_int)
    return None


def _cast_float(kinds: list[str], out: str) -> Any:
    if out != "float" or kinds[0] not in ("int", "float", "bool", "null"):
        return None
    return _convert(kinds[0], "float")


def _cast_str(kinds: list[str], out: str) -> Any:
    if out != "str":
        return None
    return _TO_STR.get(kinds[0])


_TO_STR: dict[str, Callable[[Any], Any]] = {
    "str": lambda s: s,
    "null": lambda s: s,
    "int": _strict(str),
    "bool": _strict(lambda b: "true" if b else "false"),
}


def _contains(kinds: list[str], out: str) -> Any:
    if kinds != ["str", "str"]:
        return None
    return _strict(lambda s, sub: sub in s)


def _simple(fn: Callable[..., Any]) -> Callable[[list[str], str], Any]:
    return lambda kinds, out: fn


# function name -> compile(kinds of the arguments, kind of the result) -> value function of
# the evaluated arguments (or None: this node goes to polars). None in the table: the
# function is always computed by polars.
RowCompiler = Callable[..., Any]
ROW_FUNCTIONS: dict[str, RowCompiler | None] = {
    "abs": _abs,
    "sign": _sign,
    "exp": _float_fn(_exp),
    "log": _float_fn(_guarded(lambda x: x > 0, math.log)),
    "log1p": _float_fn(_guarded(lambda x: x > -1, math.log1p)),
    # polars' log(base) and log10 are ln(x) / ln(base), not libm's log2/log10
    "log2": _float_fn(_guarded(lambda x: x > 0, lambda x: math.log(x) / _LN2)),
    "log10": _float_fn(_guarded(lambda x: x > 0, lambda x: math.log(x) / _LN10)),
    "sqrt": _float_fn(_guarded(lambda x: x >= 0, math.sqrt)),
    "floor": _integral(math.floor),
    "ceil": _integral(math.ceil),
    "round": _round,
    "clip": _clip,
    "minimum": _pick(True),
    "maximum": _pick(False),
    "where": _where,
    "fill_null": _fill_null,
    "is_null": _simple(lambda x: x is None),
    "year": _part(lambda t: t.year, ("date", "datetime")),
    "month": _part(lambda t: t.month, ("date", "datetime")),
    "day": _part(lambda t: t.day, ("date", "datetime")),
    "weekday": _part(lambda t: t.isoweekday(), ("date", "datetime")),
    "hour": _part(lambda t: t.hour, ("datetime",)),
    "minute": _part(lambda t: t.minute, ("datetime",)),
    "length": lambda kinds, out: _strict(len) if kinds[0] == "str" and out == "int" else None,
    "lower": _ascii(str.lower),
    "upper": _ascii(str.upper),
    "contains": _contains,
    "float": _cast_float,
    "int": _cast_int,
    "str": _cast_str,
}

_missing = set(FUNCTIONS) ^ set(ROW_FUNCTIONS)
if _missing:  # pragma: no cover - a programming error caught on import and in tests
    raise RuntimeError(f"FUNCTIONS and the row table differ: {sorted(_missing)}")


# ----------------------------------------------------------------------------- compiler


class _Compiler:
    """Compiles IR nodes against an input schema, asking polars for each node's dtype."""

    def __init__(self, schema: Mapping[str, pl.DataType]) -> None:
        self.empty = pl.LazyFrame(schema=dict(schema))

    def dtype(self, expr: Expr) -> pl.DataType:
        from mlspec.scoring.expressions import to_polars

        try:
            return self.empty.select(to_polars(expr).alias("x")).collect_schema()["x"]
        except Exception:  # polars refuses the expression on this schema: polars decides
            raise _Unsupported from None

    def node(self, expr: Expr) -> _Node:
        dtype = self.dtype(expr)
        kind = kind_of(dtype)
        if kind is None:
            raise _Unsupported
        fn = _NODES[type(expr)](self, expr, kind, dtype)
        if kind == "int":
            inner = fn

            def fn(row: Row) -> Any:
                v = inner(row)
                return v if v is None else _check_int(v, dtype)

        return _Node(fn, kind, dtype)


def _col(c: _Compiler, expr: Col, kind: str, dtype: pl.DataType) -> Fn:
    name = expr.name
    return lambda row: row[name]


def _lit(c: _Compiler, expr: Lit, kind: str, dtype: pl.DataType) -> Fn:
    value = expr.value
    if kind == "float" and not isinstance(value, float):
        value = _to_float(value)
    return lambda row: value


def _unary(c: _Compiler, expr: Unary, kind: str, dtype: pl.DataType) -> Fn:
    inner = c.node(expr.operand)
    f = inner.fn
    if expr.op == "neg":
        if inner.kind != kind or kind not in _NUMBER:
            raise _Unsupported
        return lambda row: None if (v := f(row)) is None else -v
    if expr.op == "not":
        truth = _truthy(inner.kind)
        return lambda row: None if (v := truth(f(row))) is None else not v
    raise _Unsupported


def _binary(c: _Compiler, expr: Binary, kind: str, dtype: pl.DataType) -> Fn:
    a, b = c.node(expr.left), c.node(expr.right)
    fa, fb = a.fn, b.fn
    op = expr.op
    if op in _LOGIC:
        ta, tb, logic = _truthy(a.kind), _truthy(b.kind), _LOGIC[op]
        return lambda row: logic(ta(fa(row)), tb(fb(row)))
    if op in _COMPARE:
        common = _common(a, b)
        if common not in ("int", "float", "str", "bool"):
            raise _Unsupported
        ca, cb, cmp = _convert(a.kind, common), _convert(b.kind, common), _COMPARE[op]
        if common == "float":

            def compare(row: Row) -> Any:
                x, y = fa(row), fb(row)
                if x is None or y is None:
                    return None
                return cmp(_key(ca(x)), _key(cb(y)))

            return compare

        def compare_plain(row: Row) -> Any:
            x, y = fa(row), fb(row)
            if x is None or y is None:
                return None
            return cmp(x, y)

        return compare_plain
    # arithmetic: computed in the result's kind (div and pow: in floats)
    work = "float" if op in ("div", "pow") else kind
    value = _ARITH[op](work)
    if value is None:
        raise _Unsupported
    ca, cb = _convert(a.kind, work), _convert(b.kind, work)

    def arith(row: Row) -> Any:
        x, y = fa(row), fb(row)
        if x is None or y is None:
            return None
        return value(ca(x), cb(y))  # type: ignore[misc]

    return arith


def _is_in(c: _Compiler, expr: IsIn, kind: str, dtype: pl.DataType) -> Fn:
    inner = c.node(expr.operand)
    f, negate, values = inner.fn, expr.negate, expr.values
    if values and all(isinstance(v, str) for v in values):
        if inner.kind != "str":
            raise _Unsupported
        members = frozenset(values)
        test: Callable[[Any], Any] = lambda v: v in members  # noqa: E731
    elif not values:
        test = lambda v: False  # noqa: E731
    else:
        if inner.kind not in _NUMBER or not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in values
        ):
            raise _Unsupported
        # polars: any(operand == v), each == in the pair's supertype
        pairs = [
            (_convert(inner.kind, k), v if k == "int" else _to_float(v))
            for v in values
            for k in ["float" if inner.kind == "float" or isinstance(v, float) else "int"]
        ]
        test = lambda v: any(_key(conv(v)) == _key(w) for conv, w in pairs)  # noqa: E731

    def is_in(row: Row) -> Any:
        v = f(row)
        if v is None:
            return None
        return test(v) != negate

    return is_in


def _call(c: _Compiler, expr: Call, kind: str, dtype: pl.DataType) -> Fn:
    compile_fn = ROW_FUNCTIONS[expr.func]
    if compile_fn is None:
        raise _Unsupported
    literal = FUNCTIONS[expr.func].int_literal_args
    nodes = [None if i in literal else c.node(a) for i, a in enumerate(expr.args)]
    kinds = [n.kind if n is not None else "literal" for n in nodes]
    if literal:
        lits = [a.value if isinstance(a, Lit) else None for a in expr.args]
        value = compile_fn(kinds, kind, lits)
    else:
        value = compile_fn(kinds, kind)
    if value is None:
        raise _Unsupported
    fns = [n.fn for n in nodes if n is not None]
    if len(fns) == 1:
        f0 = fns[0]
        return lambda row: value(f0(row))
    if len(fns) == 2:
        f0, f1 = fns
        return lambda row: value(f0(row), f1(row))
    return lambda row: value(*(f(row) for f in fns))


_NODES: dict[type, Callable[..., Fn]] = {
    Col: _col,
    Lit: _lit,
    Unary: _unary,
    Binary: _binary,
    IsIn: _is_in,
    Call: _call,
}

# The cast each feature type ends with (expressions.FEATURE_DTYPES), by value kind.
_FINAL: dict[str, dict[str, Callable[[Any], Any]]] = {
    "numeric": {
        "float": lambda v: v,
        "int": _to_float,
        "bool": lambda v: None if v is None else float(v),
        "null": lambda v: None,
    },
    "categorical": {"str": lambda v: v, **{k: _TO_STR[k] for k in ("int", "bool", "null")}},
}


def compile_feature(feature: Mapping[str, Any], schema: Mapping[str, pl.DataType]) -> Fn | None:
    """The feature's value on one row (a mapping of input column -> Python value, typed as
    `schema`), as `expressions.feature_expr` computes it; None when polars must compute it."""
    name, text = str(feature["name"]), feature.get("expr")
    ir = parse(str(text)) if text else Col(name)
    try:
        node = _Compiler(schema).node(ir)
    except _Unsupported:
        return None
    final = _FINAL[str(feature.get("type") or "numeric")].get(node.kind)
    if final is None:
        return None
    f = node.fn
    return lambda row: final(f(row))


__all__ = ["ROW_FUNCTIONS", "Fallback", "compile_feature", "kind_of"]
