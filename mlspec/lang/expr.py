"""The safe feature-expression language: text -> checked IR.

A spec writes a feature as ``{name: log_followers, expr: "log1p(author_followers)"}``.
The text is parsed with :mod:`ast` (``mode="eval"``), every node is checked against a
whitelist, and the result is a small immutable IR (:class:`Col`, :class:`Lit`,
:class:`Unary`, :class:`Binary`, :class:`IsIn`, :class:`Call`). Nothing is ever evaluated,
executed or imported here; the IR is compiled to polars later, in
``mlspec.scoring.expressions``. This module imports only the standard library because it runs
inside ``mlspec validate``, which must stay fast and safe on a stranger's pull request.

The language:

- columns: bare names (``followers``) or ``col("odd name")`` for names that are not
  identifiers; constants: numbers, strings, ``True``, ``False``, ``None``;
- arithmetic ``+ - * / // % **``, unary ``-`` (and a no-op ``+``), comparisons
  ``== != < <= > >=`` (chains such as ``0 < x < 5`` become and-ed comparisons), boolean
  ``and or not``, membership ``x in [...]`` / ``x not in [...]`` against a list or tuple of
  constants, and ``x is None`` / ``x is not None`` (sugar for ``is_null``);
- calls of the functions in :data:`FUNCTIONS`, by bare name and positional arguments only.
"""

from __future__ import annotations

import ast
import difflib
import keyword
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TypeAlias

__all__ = [
    "BINARY_OPERATORS",
    "ERROR_CODES",
    "FUNCTIONS",
    "MAX_DEPTH",
    "MAX_LENGTH",
    "UNARY_OPERATORS",
    "Binary",
    "Call",
    "Col",
    "Expr",
    "ExprError",
    "FunctionSpec",
    "IsIn",
    "Lit",
    "Unary",
    "canonical",
    "check_column_name",
    "columns",
    "parse",
    "walk",
]

MAX_LENGTH = 10_000
"""Longest accepted expression text, in characters; a feature is a line, not a program."""

MAX_DEPTH = 100
"""Deepest accepted IR nesting; bounds every recursive walk far below Python's limit."""

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1

# --------------------------------------------------------------------------------------
# IR
# --------------------------------------------------------------------------------------

LitValue: TypeAlias = int | float | str | bool | None


def _value_key(value: LitValue) -> tuple[str, str]:
    """Equality key that keeps 1, 1.0 and True apart (Python's == does not)."""
    return (type(value).__name__, repr(value))


@dataclass(frozen=True, slots=True)
class Col:
    """A column read by name."""

    name: str


@dataclass(frozen=True, slots=True, eq=False)
class Lit:
    """A constant: int (64-bit), float, str, bool or None."""

    value: LitValue

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Lit) and _value_key(self.value) == _value_key(other.value)

    def __hash__(self) -> int:
        return hash(("Lit", _value_key(self.value)))


@dataclass(frozen=True, slots=True)
class Unary:
    """``-x`` (op "neg") or ``not x`` (op "not")."""

    op: str
    operand: Expr


@dataclass(frozen=True, slots=True)
class Binary:
    """An arithmetic, comparison or boolean operator; ``op`` is a key of BINARY_OPERATORS."""

    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True, eq=False)
class IsIn:
    """``operand in values`` (or ``not in`` when ``negate``); values are constants."""

    operand: Expr
    values: tuple[LitValue, ...]
    negate: bool = False

    def _key(self) -> tuple[object, ...]:
        return (self.operand, tuple(_value_key(v) for v in self.values), self.negate)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, IsIn) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(("IsIn", self._key()))


@dataclass(frozen=True, slots=True)
class Call:
    """A call of a whitelisted function (a key of FUNCTIONS)."""

    func: str
    args: tuple[Expr, ...]


Expr: TypeAlias = Col | Lit | Unary | Binary | IsIn | Call

UNARY_OPERATORS: dict[str, str] = {"neg": "-", "not": "not"}
"""IR unary op -> the symbol it is written with."""

BINARY_OPERATORS: dict[str, str] = {
    "add": "+",
    "sub": "-",
    "mul": "*",
    "div": "/",
    "floordiv": "//",
    "mod": "%",
    "pow": "**",
    "eq": "==",
    "ne": "!=",
    "lt": "<",
    "le": "<=",
    "gt": ">",
    "ge": ">=",
    "and": "and",
    "or": "or",
}
"""IR binary op -> the symbol it is written with (also the canonical spelling)."""

# --------------------------------------------------------------------------------------
# Functions: the single list; docs and the polars back end are generated / checked from it.
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    """What a function accepts, as data: the parser checks it, the docs print it."""

    min_args: int
    max_args: int
    summary: str
    signature: str = ""
    category: str = ""
    int_literal_args: tuple[int, ...] = ()
    """Positions that must be a non-negative integer literal (e.g. round's digits)."""


def _fn(
    signature: str,
    summary: str,
    category: str,
    *,
    optional: int = 0,
    int_literal_args: tuple[int, ...] = (),
) -> FunctionSpec:
    params = signature[signature.index("(") + 1 : -1]
    n = len([p for p in params.split(",") if p.strip()])
    return FunctionSpec(n - optional, n, summary, signature, category, int_literal_args)


FUNCTIONS: dict[str, FunctionSpec] = {
    # math
    "abs": _fn("abs(x)", "Absolute value.", "math"),
    "sign": _fn("sign(x)", "-1, 0 or 1 by the sign of x.", "math"),
    "exp": _fn("exp(x)", "e raised to x.", "math"),
    "log": _fn("log(x)", "Natural logarithm; null where x <= 0.", "math"),
    "log1p": _fn("log1p(x)", "log(1 + x), exact near 0; null where x <= -1.", "math"),
    "log2": _fn("log2(x)", "Base-2 logarithm; null where x <= 0.", "math"),
    "log10": _fn("log10(x)", "Base-10 logarithm; null where x <= 0.", "math"),
    "sqrt": _fn("sqrt(x)", "Square root; null where x < 0.", "math"),
    "floor": _fn("floor(x)", "Largest whole number <= x.", "math"),
    "ceil": _fn("ceil(x)", "Smallest whole number >= x.", "math"),
    "round": _fn(
        "round(x, digits=0)",
        "Round half to even to `digits` decimals (an integer literal >= 0).",
        "math",
        optional=1,
        int_literal_args=(1,),
    ),
    "clip": _fn("clip(x, lo, hi)", "Limit x to the range [lo, hi].", "math"),
    "minimum": _fn(
        "minimum(a, b)", "The smaller of a and b, row by row; null if either is.", "math"
    ),
    "maximum": _fn(
        "maximum(a, b)", "The larger of a and b, row by row; null if either is.", "math"
    ),
    # logic
    "where": _fn(
        "where(cond, a, b)", "a where cond is true, else b (also where cond is null).", "logic"
    ),
    # missing values
    "fill_null": _fn("fill_null(x, value)", "x with nulls replaced by value.", "null"),
    "is_null": _fn("is_null(x)", "True where x is null (missing).", "null"),
    # dates and times
    "year": _fn("year(t)", "Calendar year of a date or datetime.", "datetime"),
    "month": _fn("month(t)", "Month, 1-12.", "datetime"),
    "day": _fn("day(t)", "Day of the month, 1-31.", "datetime"),
    "weekday": _fn("weekday(t)", "ISO weekday: 1 = Monday ... 7 = Sunday.", "datetime"),
    "hour": _fn("hour(t)", "Hour, 0-23 (datetimes only).", "datetime"),
    "minute": _fn("minute(t)", "Minute, 0-59 (datetimes only).", "datetime"),
    # strings
    "length": _fn("length(s)", "Number of characters in a string.", "string"),
    "lower": _fn("lower(s)", "Lower-cased string.", "string"),
    "upper": _fn("upper(s)", "Upper-cased string.", "string"),
    "contains": _fn("contains(s, sub)", "True where s contains the text sub (no regex).", "string"),
    # casts
    "float": _fn("float(x)", "Convert to a 64-bit float; null where it cannot be.", "cast"),
    "int": _fn(
        "int(x)", "Convert to a 64-bit integer (truncating); null where it cannot be.", "cast"
    ),
    "str": _fn("str(x)", "Convert to a string.", "cast"),
}

_COL_FUNCTION = "col"
_ALIASES = {
    "ln": "log",
    "if_else": "where",
    "iif": "where",
    "coalesce": "fill_null",
    "isnull": "is_null",
    "isna": "is_null",
    "len": "length",
    "min": "minimum",
    "max": "maximum",
    "to_lowercase": "lower",
    "to_uppercase": "upper",
}

_OPERATOR_HINT = (
    "allowed operators: + - * / // % ** == != < <= > >= and or not in 'not in' "
    "'is None' 'is not None'"
)

# --------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------

ERROR_CODES = ("expr-syntax", "expr-unknown-function", "expr-arity", "expr-unsupported")


class ExprError(Exception):
    """A rejected expression; ``offset`` is a 0-based character offset into its text."""

    def __init__(
        self, message: str, offset: int = 0, code: str = "expr-syntax", hint: str = ""
    ) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.code = code
        self.hint = hint

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[object, ...]:
        # Keeps the error picklable (process pools, Ray) despite the keyword fields.
        return (ExprError, (self.message, self.offset, self.code, self.hint))


def _suggest(name: str) -> str:
    """A did-you-mean hint, or the list of functions when nothing is close."""
    if name in _ALIASES:
        return f"did you mean {_ALIASES[name]!r}?"
    candidates = [*FUNCTIONS, _COL_FUNCTION]
    close = difflib.get_close_matches(name, candidates, n=1)
    if close:
        return f"did you mean {close[0]!r}?"
    return "supported functions: " + ", ".join(sorted(candidates))


def check_column_name(name: str) -> str | None:
    """Why ``name`` cannot be a column reference, or None when it can.

    polars reads ``"*"`` as every column and ``"^...$"`` as a regex, so such a name would
    silently select other columns.
    """
    if name == "":
        return "must not be empty"
    if name == "*":
        return "must not be '*' (polars reads it as every column)"
    if name.startswith("^") and name.endswith("$"):
        return "must not start with '^' and end with '$' (polars reads it as a regex)"
    return None


# --------------------------------------------------------------------------------------
# Parser
# --------------------------------------------------------------------------------------

_NEWLINE = re.compile(r"\r\n|\r|\n")
_LEADING_SPACE = " \t\f\r\n"

_BINOPS: dict[type[ast.operator], str] = {
    ast.Add: "add",
    ast.Sub: "sub",
    ast.Mult: "mul",
    ast.Div: "div",
    ast.FloorDiv: "floordiv",
    ast.Mod: "mod",
    ast.Pow: "pow",
}
_CMPOPS: dict[type[ast.cmpop], str] = {
    ast.Eq: "eq",
    ast.NotEq: "ne",
    ast.Lt: "lt",
    ast.LtE: "le",
    ast.Gt: "gt",
    ast.GtE: "ge",
}
_BOOLOPS: dict[type[ast.boolop], str] = {ast.And: "and", ast.Or: "or"}
_REJECTED_OPERATOR_HINTS: dict[type[ast.AST], str] = {
    ast.BitAnd: "use 'and' for a logical and",
    ast.BitOr: "use 'or' for a logical or",
    ast.Invert: "use 'not' for a logical not",
}
_REJECTED_NODES: dict[type[ast.AST], tuple[str, str]] = {
    ast.Attribute: ("Attribute access is", ""),
    ast.Subscript: ("Subscripts are", ""),
    ast.Lambda: ("Lambda expressions are", ""),
    ast.ListComp: ("Comprehensions are", ""),
    ast.SetComp: ("Comprehensions are", ""),
    ast.DictComp: ("Comprehensions are", ""),
    ast.GeneratorExp: ("Generator expressions are", ""),
    ast.Starred: ("Starred expressions are", ""),
    ast.JoinedStr: ("f-strings are", "write the text as a plain string"),
    ast.FormattedValue: ("f-strings are", "write the text as a plain string"),
    ast.NamedExpr: ("Assignment expressions (:=) are", ""),
    ast.IfExp: ("Conditional expressions are", "use where(cond, a, b)"),
    ast.Dict: ("Dict literals are", ""),
    ast.Set: ("Set literals are", "write a list after 'in': x in [1, 2]"),
    ast.List: ("Lists are", "lists are only allowed after 'in': x in [1, 2]"),
    ast.Tuple: ("Tuples are", "tuples are only allowed after 'in': x in (1, 2)"),
    ast.Await: ("'await' is", ""),
    ast.Yield: ("'yield' is", ""),
    ast.YieldFrom: ("'yield from' is", ""),
    ast.Slice: ("Slices are", ""),
}
_DEFAULT_HINT = (
    "a feature expression may use columns, constants, operators and the supported functions"
)


class _Parser:
    """Converts one parsed ``ast`` tree to IR, turning node positions into char offsets."""

    def __init__(self, text: str, lead: int) -> None:
        self.text = text  # the text given to ast.parse (leading whitespace removed)
        self.lead = lead  # characters removed in front, added back to every offset
        self.line_starts = [0] + [m.end() for m in _NEWLINE.finditer(text)]

    # -- positions -------------------------------------------------------------------

    def _char(self, lineno: int | None, col_byte: int | None) -> int:
        """ast positions are (1-based line, UTF-8 byte column); return a char offset."""
        if lineno is None or col_byte is None:
            return self.lead
        index = min(max(lineno - 1, 0), len(self.line_starts) - 1)
        start = self.line_starts[index]
        end = self.line_starts[index + 1] if index + 1 < len(self.line_starts) else len(self.text)
        line = self.text[start:end].encode("utf-8", "surrogatepass")
        column = len(line[: max(col_byte, 0)].decode("utf-8", "ignore"))
        return self.lead + start + column

    def offset(self, node: ast.AST) -> int:
        return self._char(getattr(node, "lineno", None), getattr(node, "col_offset", None))

    def snippet(self, node: ast.AST, limit: int = 40) -> str:
        start = self.offset(node) - self.lead
        end = self._char(getattr(node, "end_lineno", None), getattr(node, "end_col_offset", None))
        piece = self.text[start : max(end - self.lead, start)]
        return piece if len(piece) <= limit else piece[: limit - 3] + "..."

    def error(self, node: ast.AST, message: str, code: str, hint: str = "") -> ExprError:
        return ExprError(message, self.offset(node), code, hint)

    def reject(self, node: ast.AST) -> ExprError:
        what, hint = _REJECTED_NODES.get(type(node), (f"{type(node).__name__} nodes are", ""))
        if isinstance(node, ast.Attribute | ast.Subscript) and self._is_name_path(node):
            hint = f"to read a column named {self.snippet(node, 200)!r}, write col({_quote(self.snippet(node, 200))})"
        return self.error(
            node,
            f"{what} not allowed in a feature expression. Got {self.snippet(node)!r} instead.",
            "expr-unsupported",
            hint or _DEFAULT_HINT,
        )

    @staticmethod
    def _is_name_path(node: ast.AST) -> bool:
        """True for ``a.b.c`` / ``x[0]``: likely a column name that needs col("...")."""
        while isinstance(node, ast.Attribute | ast.Subscript):
            if isinstance(node, ast.Subscript) and not isinstance(
                node.slice, ast.Constant | ast.Name
            ):
                return False
            node = node.value
        return isinstance(node, ast.Name)

    # -- conversion ------------------------------------------------------------------

    def convert(self, node: ast.AST, depth: int) -> Expr:
        if depth > MAX_DEPTH:
            raise self.error(
                node,
                f"The expression must nest at most {MAX_DEPTH} levels deep. Got more instead.",
                "expr-unsupported",
                "simplify the expression",
            )
        handler = _HANDLERS.get(type(node))
        if handler is None:
            raise self.reject(node)
        return handler(self, node, depth)

    def _name(self, node: ast.Name, depth: int) -> Expr:
        return Col(node.id)

    def _constant(self, node: ast.Constant, depth: int) -> Expr:
        value = node.value
        if value is None or isinstance(value, bool | str | float):
            return Lit(value)
        if isinstance(value, int):
            return self._int(node, value)
        kind = {bytes: "Bytes literals are", complex: "Complex numbers are"}.get(
            type(value), "This constant is"
        )
        raise self.error(
            node,
            f"{kind} not allowed in a feature expression. Got {self.snippet(node)!r} instead.",
            "expr-unsupported",
            "constants may be numbers, strings, True, False or None",
        )

    def _int(self, node: ast.AST, value: int) -> Lit:
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise self.error(
                node,
                f"Integer constants must fit in 64 bits. Got {self.snippet(node)!r} instead.",
                "expr-unsupported",
                "write a float such as 1e20 for very large numbers",
            )
        return Lit(value)

    def _unary(self, node: ast.UnaryOp, depth: int) -> Expr:
        if isinstance(node.op, ast.UAdd):  # a level like any other: 500 of them recursed
            return self.convert(node.operand, depth + 1)
        if isinstance(node.op, ast.USub):
            inner = node.operand
            # Fold "-<number>" into one constant, so that -9223372036854775808 fits, lists
            # after 'in' may hold negative numbers and canonical text stays short.
            if isinstance(inner, ast.Constant) and type(inner.value) in (int, float):
                value = -inner.value
                return self._int(node, value) if isinstance(value, int) else Lit(value)
            operand = self.convert(inner, depth + 1)
            if isinstance(operand, Lit) and type(operand.value) in (int, float):
                value = -operand.value  # type: ignore[operator]
                return self._int(node, value) if isinstance(value, int) else Lit(value)
            return Unary("neg", operand)
        if isinstance(node.op, ast.Not):
            return Unary("not", self.convert(node.operand, depth + 1))
        raise self._bad_operator(node, node.op, "~")

    def _bad_operator(self, node: ast.AST, op: ast.AST, symbol: str) -> ExprError:
        hint = _REJECTED_OPERATOR_HINTS.get(type(op), _OPERATOR_HINT)
        return self.error(
            node,
            f"The operator {symbol!r} is not allowed in a feature expression. Got {self.snippet(node)!r} instead.",
            "expr-unsupported",
            hint,
        )

    def _binop(self, node: ast.BinOp, depth: int) -> Expr:
        op = _BINOPS.get(type(node.op))
        if op is None:
            symbol = {
                ast.BitAnd: "&",
                ast.BitOr: "|",
                ast.BitXor: "^",
                ast.LShift: "<<",
                ast.RShift: ">>",
                ast.MatMult: "@",
            }.get(type(node.op), type(node.op).__name__)
            raise self._bad_operator(node, node.op, symbol)
        return Binary(op, self.convert(node.left, depth + 1), self.convert(node.right, depth + 1))

    def _boolop(self, node: ast.BoolOp, depth: int) -> Expr:
        op = _BOOLOPS[type(node.op)]
        # "a and b and c" is one node with n values; it becomes n-1 nested binaries.
        inner = depth + len(node.values) - 1
        values = [self.convert(v, inner) for v in node.values]
        result = values[0]
        for value in values[1:]:
            result = Binary(op, result, value)
        return result

    def _compare(self, node: ast.Compare, depth: int) -> Expr:
        pairs = len(node.ops)
        # A chain "a < b < c" becomes (a < b) and (b < c): pairs-1 "and" levels above.
        inner = depth + pairs
        left = self.convert(node.left, inner)
        parts: list[Expr] = []
        for index, (op, right_node) in enumerate(zip(node.ops, node.comparators, strict=True)):
            right: Expr | None = None
            if isinstance(op, ast.In | ast.NotIn):
                part: Expr = IsIn(
                    left, self._in_values(right_node, inner), isinstance(op, ast.NotIn)
                )
            elif isinstance(op, ast.Is | ast.IsNot):
                part = self._is_none(node, left, op, right_node)
            else:
                name = _CMPOPS[type(op)]
                if (
                    isinstance(right_node, ast.Constant)
                    and right_node.value is None
                    and name in ("eq", "ne")
                ):
                    raise self.error(
                        node,
                        f"Comparing with None yields null, never True. Got {self.snippet(node)!r} instead.",
                        "expr-unsupported",
                        "write 'x is None' or 'x is not None' (or is_null(x))",
                    )
                right = self.convert(right_node, inner)
                part = Binary(name, left, right)
            parts.append(part)
            if index + 1 < pairs:
                # The right side is the next comparison's left side; a list there is rejected.
                left = right if right is not None else self.convert(right_node, inner)
        result = parts[0]
        for part in parts[1:]:
            result = Binary("and", result, part)
        return result

    def _is_none(self, node: ast.Compare, left: Expr, op: ast.cmpop, right_node: ast.expr) -> Expr:
        """``x is None`` / ``x is not None``: sugar for is_null, the only use of 'is'."""
        if not (isinstance(right_node, ast.Constant) and right_node.value is None):
            raise self.error(
                node,
                f"'is' must be followed by None. Got {self.snippet(node)!r} instead.",
                "expr-unsupported",
                "use == to compare values; write 'x is None' or 'x is not None' to test for nulls",
            )
        test = Call("is_null", (left,))
        return Unary("not", test) if isinstance(op, ast.IsNot) else test

    def _in_values(self, node: ast.expr, depth: int) -> tuple[LitValue, ...]:
        if not isinstance(node, ast.List | ast.Tuple):
            raise self.error(
                node,
                f"The right side of 'in' must be a list or tuple of constants. Got {self.snippet(node)!r} instead.",
                "expr-unsupported",
                'write for example: topic in ["news", "sport"]',
            )
        values: list[LitValue] = []
        kinds: set[str] = set()
        for element in node.elts:
            item = (
                self.convert(element, depth + 1) if not isinstance(element, ast.Starred) else None
            )
            if not isinstance(item, Lit) or item.value is None:
                raise self.error(
                    element,
                    "The values after 'in' must be constants (numbers, strings or booleans). "
                    f"Got {self.snippet(element)!r} instead.",
                    "expr-unsupported",
                    "use 'x is None' to test for nulls" if isinstance(item, Lit) else "",
                )
            kinds.add(_kind(item.value))
            values.append(item.value)
        if len(kinds) > 1:
            raise self.error(
                node,
                "The values after 'in' must all be of one type (strings, numbers or booleans). "
                f"Got {' and '.join(sorted(kinds))} instead.",
                "expr-unsupported",
            )
        return tuple(values)

    def _call(self, node: ast.Call, depth: int) -> Expr:
        func = node.func
        if not isinstance(func, ast.Name):
            tail = func.attr if isinstance(func, ast.Attribute) else ""
            raise self.error(
                node,
                "Only supported functions can be called, by their bare name. "
                f"Got {self.snippet(func)!r} instead.",
                "expr-unsupported",
                _suggest(tail) if tail else _DEFAULT_HINT,
            )
        name = func.id
        if node.keywords:
            keyword_node = node.keywords[0]
            raise self.error(
                keyword_node,
                f"{name}() arguments must be given by position. Got {self.snippet(keyword_node)!r} instead.",
                "expr-unsupported",
                f"usage: {FUNCTIONS[name].signature}" if name in FUNCTIONS else "",
            )
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise self.reject(arg)
        if name == _COL_FUNCTION:
            return self._col(node)
        spec = FUNCTIONS.get(name)
        if spec is None:
            raise self.error(
                func,
                f"Unknown function {name!r}: a call must name a supported function.",
                "expr-unknown-function",
                _suggest(name),
            )
        count = len(node.args)
        if not spec.min_args <= count <= spec.max_args:
            raise self.error(
                node,
                f"{name}() takes {_arity(spec)}. Got {count} instead.",
                "expr-arity",
                f"usage: {spec.signature}",
            )
        args = tuple(self.convert(arg, depth + 1) for arg in node.args)
        for position in spec.int_literal_args:
            if position < count:
                arg = args[position]
                if not (isinstance(arg, Lit) and type(arg.value) is int and arg.value >= 0):
                    raise self.error(
                        node.args[position],
                        f"Argument {position + 1} of {name}() must be an integer literal >= 0. "
                        f"Got {self.snippet(node.args[position])!r} instead.",
                        "expr-unsupported",
                        f"usage: {spec.signature}",
                    )
        return Call(name, args)

    def _col(self, node: ast.Call) -> Expr:
        if len(node.args) != 1:
            raise self.error(
                node,
                f"col() takes exactly 1 argument. Got {len(node.args)} instead.",
                "expr-arity",
                'usage: col("column name")',
            )
        arg = node.args[0]
        if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
            raise self.error(
                arg,
                f"col() must be given a string literal. Got {self.snippet(arg)!r} instead.",
                "expr-unsupported",
                'usage: col("column name")',
            )
        problem = check_column_name(arg.value)
        if problem is not None:
            raise self.error(
                arg,
                f"A column name {problem}. Got {self.snippet(arg)!r} instead.",
                "expr-unsupported",
            )
        return Col(arg.value)


_HANDLERS = {
    ast.Name: _Parser._name,
    ast.Constant: _Parser._constant,
    ast.UnaryOp: _Parser._unary,
    ast.BinOp: _Parser._binop,
    ast.BoolOp: _Parser._boolop,
    ast.Compare: _Parser._compare,
    ast.Call: _Parser._call,
}


def _kind(value: LitValue) -> str:
    if isinstance(value, bool):
        return "booleans"
    if isinstance(value, int | float):
        return "numbers"
    return "strings"


def _arity(spec: FunctionSpec) -> str:
    plural = "" if spec.max_args == 1 else "s"
    if spec.min_args == spec.max_args:
        return f"exactly {spec.max_args} argument{plural}"
    return f"{spec.min_args} to {spec.max_args} arguments"


def parse(text: str) -> Expr:
    """Parse and check one feature expression; raise ExprError for anything not allowed.

    Never evaluates the text. Input is bounded (MAX_LENGTH characters, MAX_DEPTH levels) so
    that hostile text fails with an ExprError rather than a RecursionError or MemoryError.
    """
    if not isinstance(text, str):
        raise ExprError(
            f"A feature expression must be a string. Got {type(text).__name__} instead.",
            0,
            "expr-syntax",
            'quote it in YAML: expr: "log1p(x)"',
        )
    if len(text) > MAX_LENGTH:
        raise ExprError(
            f"A feature expression must be at most {MAX_LENGTH} characters long. "
            f"Got {len(text)} instead.",
            MAX_LENGTH,
            "expr-unsupported",
            "split it into several features",
        )
    stripped = text.lstrip(_LEADING_SPACE)
    lead = len(text) - len(stripped)
    if not stripped.strip():
        raise ExprError(
            "A feature expression must not be empty. Got an empty string instead.",
            0,
            "expr-syntax",
            'write for example: expr: "log1p(followers)"',
        )
    parser = _Parser(stripped, lead)
    try:
        with warnings.catch_warnings():
            # Invalid escapes like "\d" warn; under -W error they would become errors.
            warnings.simplefilter("ignore")
            tree = ast.parse(stripped, mode="eval")
    except SyntaxError as exc:
        offset = parser._char(exc.lineno, 0) + max((exc.offset or 1) - 1, 0)
        offset = min(max(offset, 0), len(text))
        if "too many nested" in (exc.msg or ""):
            raise ExprError(
                f"The expression must nest at most {MAX_DEPTH} levels deep. Got more instead.",
                offset,
                "expr-unsupported",
                "simplify the expression",
            ) from None
        message = (exc.msg or "invalid syntax").rstrip(".")
        hint = _OPERATOR_HINT if message.startswith("invalid syntax") else ""
        # Python's bare "invalid syntax" (maybe with ". Perhaps you forgot a comma?") is not
        # repeated after our own "Invalid syntax".
        detail = message.removeprefix("invalid syntax").lstrip(". ")
        text = f"Invalid syntax: {detail}" if detail else "Invalid syntax"
        text += "" if text.endswith(("?", "!")) else "."
        raise ExprError(text, offset, "expr-syntax", hint) from None
    except (RecursionError, MemoryError):
        # CPython's parser gives up on very deep input (e.g. 5000 unary minus signs).
        raise ExprError(
            f"The expression must nest at most {MAX_DEPTH} levels deep. Got more instead.",
            0,
            "expr-unsupported",
            "simplify the expression",
        ) from None
    except (ValueError, UnicodeError) as exc:  # null bytes, lone surrogates
        raise ExprError(
            f"Invalid characters in the expression: {exc}.", 0, "expr-syntax", ""
        ) from None
    return parser.convert(tree.body, 1)


# --------------------------------------------------------------------------------------
# Walks over the IR
# --------------------------------------------------------------------------------------


def _children(expr: Expr) -> tuple[Expr, ...]:
    if isinstance(expr, Unary):
        return (expr.operand,)
    if isinstance(expr, Binary):
        return (expr.left, expr.right)
    if isinstance(expr, IsIn):
        return (expr.operand,)
    if isinstance(expr, Call):
        return expr.args
    return ()


def walk(expr: Expr) -> Iterator[Expr]:
    """Every node of ``expr``, parents before children (iterative: no recursion limit)."""
    stack = [expr]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(_children(node)))


def columns(expr: Expr) -> frozenset[str]:
    """Every column the expression reads: what the front end checks against the data."""
    return frozenset(node.name for node in walk(expr) if isinstance(node, Col))


def _quote(text: str) -> str:
    """A double-quoted Python string literal using only printable ASCII.

    repr() is avoided on purpose: its choice of escapes depends on the Unicode database of
    the running Python, and canonical text must not change between Python versions.
    """
    out = ['"']
    for char in text:
        code = ord(char)
        if char in '"\\':
            out.append("\\" + char)
        elif 0x20 <= code < 0x7F:
            out.append(char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif code <= 0xFF:
            out.append(f"\\x{code:02x}")
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


def _canonical_value(value: LitValue) -> str:
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, str):
        return _quote(value)
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        text = "1e999" if value > 0 else "-1e999"
    else:
        text = repr(value)
    # A negative number is parenthesised: "-1 ** 2" would read as -(1 ** 2).
    return f"({text})" if text.startswith("-") else text


def _canonical_col(name: str) -> str:
    if name.isascii() and name.isidentifier() and not keyword.iskeyword(name):
        return name
    return f"col({_quote(name)})"


def canonical(expr: Expr) -> str:
    """A stable text form: equal for "a+b" and "a + b", and parses back to the same IR.

    Every operator is fully parenthesised, strings use ASCII escapes and lists keep their
    source order. Used for fingerprints, so any change here invalidates cached features.
    """
    if isinstance(expr, Col):
        return _canonical_col(expr.name)
    if isinstance(expr, Lit):
        return _canonical_value(expr.value)
    if isinstance(expr, Unary):
        symbol = UNARY_OPERATORS[expr.op]
        space = " " if symbol.isalpha() else ""
        return f"({symbol}{space}{canonical(expr.operand)})"
    if isinstance(expr, Binary):
        return f"({canonical(expr.left)} {BINARY_OPERATORS[expr.op]} {canonical(expr.right)})"
    if isinstance(expr, IsIn):
        values = ", ".join(_canonical_value(v) for v in expr.values)
        op = "not in" if expr.negate else "in"
        return f"({canonical(expr.operand)} {op} [{values}])"
    if isinstance(expr, Call):
        return f"{expr.func}({', '.join(canonical(a) for a in expr.args)})"
    raise TypeError(f"canonical() needs an Expr. Got {type(expr).__name__} instead.")
