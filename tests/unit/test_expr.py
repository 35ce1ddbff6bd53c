"""The feature-expression parser: what it accepts, what it refuses and where it points."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlspec.lang.expr import (
    BINARY_OPERATORS,
    ERROR_CODES,
    FUNCTIONS,
    MAX_DEPTH,
    MAX_LENGTH,
    Binary,
    Call,
    Col,
    Expr,
    ExprError,
    IsIn,
    Lit,
    Unary,
    canonical,
    columns,
    parse,
    walk,
)


def error(text: str) -> ExprError:
    with pytest.raises(ExprError) as info:
        parse(text)
    assert info.value.code in ERROR_CODES
    assert 0 <= info.value.offset <= max(len(text), MAX_LENGTH)
    return info.value


# --- the module stays light -----------------------------------------------------------


def test_module_imports_only_the_standard_library() -> None:
    code = (
        "import sys, mlspec.lang.expr as m; "
        "bad = [n for n in ('polars', 'numpy', 'yaml', 'sklearn') if n in sys.modules]; "
        "print(','.join(bad))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
    assert out.stdout.strip() == ""


# --- columns and constants ------------------------------------------------------------


def test_bare_name_is_a_column() -> None:
    assert parse("followers") == Col("followers")


def test_col_reads_odd_names() -> None:
    assert parse('col("odd name")') == Col("odd name")
    assert parse("col('a.b') + 1") == Binary("add", Col("a.b"), Lit(1))
    assert parse('col("x")') == parse("x")


def test_function_names_used_bare_are_columns() -> None:
    assert parse("year + log") == Binary("add", Col("year"), Col("log"))


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("True", True),
        ("False", False),
        ("None", None),
        ("42", 42),
        ("1_000", 1000),
        ("0x10", 16),
        ("2.5", 2.5),
        ("1e999", float("inf")),
        ("-1e999", float("-inf")),
        ("'text'", "text"),
        ('"a" "b"', "ab"),
        ("-3", -3),
        ("--3", 3),
        ("+3", 3),
        ("-9223372036854775808", -(2**63)),
        ("9223372036854775807", 2**63 - 1),
    ],
)
def test_literals(text: str, value: object) -> None:
    assert parse(text) == Lit(value)  # type: ignore[arg-type]


def test_lit_equality_keeps_types_apart() -> None:
    assert Lit(1) != Lit(True)
    assert Lit(1) != Lit(1.0)
    assert Lit(0.0) != Lit(-0.0)
    assert len({Lit(1), Lit(True), Lit(1.0)}) == 3
    assert IsIn(Col("x"), (1,)) != IsIn(Col("x"), (True,))


def test_negating_a_non_literal_stays_unary() -> None:
    assert parse("-x") == Unary("neg", Col("x"))
    assert parse("-True") == Unary("neg", Lit(True))
    assert parse("-1 ** 2") == Unary("neg", Binary("pow", Lit(1), Lit(2)))
    assert parse("(-1) ** 2") == Binary("pow", Lit(-1), Lit(2))


# --- operators ------------------------------------------------------------------------


@pytest.mark.parametrize(("op", "symbol"), sorted(BINARY_OPERATORS.items()))
def test_every_binary_operator(op: str, symbol: str) -> None:
    assert parse(f"a {symbol} b") == Binary(op, Col("a"), Col("b"))


def test_unary_operators() -> None:
    assert parse("not a") == Unary("not", Col("a"))
    assert parse("not not a") == Unary("not", Unary("not", Col("a")))
    assert parse("+a") == Col("a")


def test_precedence_follows_python() -> None:
    assert parse("a + b * c") == Binary("add", Col("a"), Binary("mul", Col("b"), Col("c")))
    assert parse("a or b and c") == Binary("or", Col("a"), Binary("and", Col("b"), Col("c")))
    assert parse("a and b and c") == Binary("and", Binary("and", Col("a"), Col("b")), Col("c"))


def test_chained_comparison_becomes_and() -> None:
    assert parse("0 < x < 5") == Binary(
        "and", Binary("lt", Lit(0), Col("x")), Binary("lt", Col("x"), Lit(5))
    )
    assert parse("a <= b == c != d") == Binary(
        "and",
        Binary("and", Binary("le", Col("a"), Col("b")), Binary("eq", Col("b"), Col("c"))),
        Binary("ne", Col("c"), Col("d")),
    )


def test_membership() -> None:
    assert parse('topic in ["a", "b"]') == IsIn(Col("topic"), ("a", "b"), False)
    assert parse("n not in (1, -2, 3.5)") == IsIn(Col("n"), (1, -2, 3.5), True)
    assert parse("flag in [True]") == IsIn(Col("flag"), (True,), False)
    assert parse("n in []") == IsIn(Col("n"), (), False)
    assert parse("x < y in [1]") == Binary(
        "and", Binary("lt", Col("x"), Col("y")), IsIn(Col("y"), (1,), False)
    )


def test_is_none_is_sugar_for_is_null() -> None:
    assert parse("x is None") == Call("is_null", (Col("x"),))
    assert parse("x is not None") == Unary("not", Call("is_null", (Col("x"),)))


# --- functions ------------------------------------------------------------------------


def _args(name: str, count: int) -> list[str]:
    literal = FUNCTIONS[name].int_literal_args
    return ["2" if i in literal else f"c{i}" for i in range(count)]


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_function_parses_with_min_and_max_arguments(name: str) -> None:
    spec = FUNCTIONS[name]
    for count in {spec.min_args, spec.max_args}:
        args = _args(name, count)
        expr = parse(f"{name}({', '.join(args)})")
        assert isinstance(expr, Call)
        assert expr.func == name
        assert len(expr.args) == count


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_function_checks_its_arity(name: str) -> None:
    spec = FUNCTIONS[name]
    for count in (spec.min_args - 1, spec.max_args + 1):
        if count < 0:
            continue
        text = f"1 + {name}({', '.join(_args(name, count))})"
        err = error(text)
        assert err.code == "expr-arity"
        assert err.offset == 4
        assert f"Got {count} instead." in err.message
        assert err.hint == f"usage: {spec.signature}"


def test_function_table_is_consistent() -> None:
    required = set(
        [
            "log",
            "log1p",
            "exp",
            "sqrt",
            "abs",
            "clip",
            "where",
            "round",
            "floor",
            "ceil",
            "minimum",
            "maximum",
            "fill_null",
            "is_null",
            "year",
            "month",
            "day",
            "weekday",
            "hour",
            "length",
            "lower",
            "upper",
            "float",
            "int",
            "str",
        ]
    )
    assert required <= set(FUNCTIONS)
    for name, spec in FUNCTIONS.items():
        assert 0 <= spec.min_args <= spec.max_args
        assert spec.signature.startswith(f"{name}(")
        assert spec.summary and spec.category
        assert all(0 <= i < spec.max_args for i in spec.int_literal_args)
    assert (FUNCTIONS["round"].min_args, FUNCTIONS["round"].max_args) == (1, 2)
    assert (FUNCTIONS["clip"].min_args, FUNCTIONS["clip"].max_args) == (3, 3)


def test_round_digits_must_be_a_literal() -> None:
    assert parse("round(x)") == Call("round", (Col("x"),))
    assert parse("round(x, 2)") == Call("round", (Col("x"), Lit(2)))
    for bad, offset in [("round(x, y)", 9), ("round(x, -1)", 9), ("round(x, 1.5)", 9)]:
        err = error(bad)
        assert (err.code, err.offset) == ("expr-unsupported", offset)


# --- columns() and canonical() --------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 + 2", set()),
        ("a", {"a"}),
        ("log1p(author_followers)", {"author_followers"}),
        ('where(a > 0, col("b c"), fill_null(d, a))', {"a", "b c", "d"}),
        ("x in [1, 2] and not y is None", {"x", "y"}),
        ("0 < x < y", {"x", "y"}),
    ],
)
def test_columns(text: str, expected: set[str]) -> None:
    assert columns(parse(text)) == frozenset(expected)


def test_walk_visits_every_node() -> None:
    expr = parse("a + log(b)")
    assert [type(node).__name__ for node in walk(expr)] == ["Binary", "Col", "Call", "Col"]


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("a+b", "a + b"),
        ("a+b", "(a) + (b)"),
        ("log1p( x )", "log1p(x)"),
        ("col('x') * 2", "x*2"),
        ("x in ('a', 'b')", 'x in ["a", "b"]'),
        ("abs(x)", "abs(  x)  # comment"),
        ("a\n", "  a"),
    ],
)
def test_canonical_ignores_layout(left: str, right: str) -> None:
    assert canonical(parse(left)) == canonical(parse(right))


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("1", "1.0"),
        ("1", "True"),
        ("a - b - c", "a - (b - c)"),
        ("-1 ** 2", "(-1) ** 2"),
        ("x in [1, 2]", "x in [2, 1]"),
        ("x in [1]", "x not in [1]"),
    ],
)
def test_canonical_tells_different_expressions_apart(left: str, right: str) -> None:
    assert canonical(parse(left)) != canonical(parse(right))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a+b*c", "(a + (b * c))"),
        ("0<x<5", "((0 < x) and (x < 5))"),
        ("-x", "(-x)"),
        ("not x", "(not x)"),
        ("-1", "(-1)"),
        ("1e999", "1e999"),
        ("x is None", "is_null(x)"),
        ("x not in ('a',)", '(x not in ["a"])'),
        ("round(x, 2)", "round(x, 2)"),
        ("col('odd name')", 'col("odd name")'),
        ("col('if')", 'col("if")'),
        ("'caf\u00e9 \U0001f600 \"q\"'", '"caf\\xe9 \\U0001f600 \\"q\\""'),
    ],
)
def test_canonical_text(text: str, expected: str) -> None:
    assert canonical(parse(text)) == expected
    assert canonical(parse(expected)) == expected
    assert parse(expected) == parse(text)


# --- errors: codes, offsets, hints ----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "offset"),
    [
        ("a +", 0),
        ("log(x", 3),
        ("a = 1", 2),
        ("  a +", 2),
        ("\u00e9 + (", 4),
        ("(a +\n (b", 6),
        ("1 2", 2),
        ("", 0),
        ("   ", 0),
        ("a\x00", 0),
    ],
)
def test_syntax_errors(text: str, offset: int) -> None:
    err = error(text)
    assert err.code == "expr-syntax"
    assert err.offset == offset
    assert err.message


def test_unknown_function_suggests_a_close_name() -> None:
    err = error("1 + lgo1p(x)")
    assert (err.code, err.offset) == ("expr-unknown-function", 4)
    assert err.hint == "did you mean 'log1p'?"
    assert error("if_else(a, b, c)").hint == "did you mean 'where'?"
    assert error("len(s)").hint == "did you mean 'length'?"
    assert error("zzzz(x)").hint.startswith("supported functions: abs,")


@pytest.mark.parametrize(
    ("text", "offset", "snippet"),
    [
        ("x + a.b", 4, "'a.b'"),
        ("x + y[0]", 4, "'y[0]'"),
        ("lambda: 1", 0, "'lambda: 1'"),
        ("[a for a in b]", 0, None),
        ("{a for a in b}", 0, None),
        ("{a: 1 for a in b}", 0, None),
        ("abs(a for a in b)", 3, None),
        ("abs(*a)", 4, None),
        ("f'{a}'", 0, None),
        ("(a := 1)", 1, None),
        ("a if b else c", 0, None),
        ("{'a': 1}", 0, None),
        ("{1, 2}", 0, None),
        ("[1, 2]", 0, None),
        ("(1, 2)", 0, None),
        ("x in y", 5, None),
        ("x in [y]", 6, None),
        ("x in [1, 'a']", 5, None),
        ("x in [None]", 6, None),
        ("x is 1", 0, None),
        ("x == None", 0, None),
        ("a & b", 0, None),
        ("a | b", 0, None),
        ("a ^ b", 0, None),
        ("a @ b", 0, None),
        ("a << 1", 0, None),
        ("~a", 0, None),
        ("1j", 0, None),
        ("b'x'", 0, None),
        ("...", 0, None),
        ("9223372036854775808", 0, None),
        ("round(x, digits=2)", 9, None),
        ("np.log(x)", 0, None),
        ("x.log()", 0, None),
        ("(lambda: 1)()", 0, None),
        ("col(x)", 4, None),
        ("col('*')", 4, None),
        ("col('^a.*$')", 4, None),
        ("col('')", 4, None),
        ("(yield)", 1, None),
        ("await x", 0, None),
    ],
)
def test_unsupported(text: str, offset: int, snippet: str | None) -> None:
    err = error(text)
    assert err.code == "expr-unsupported"
    assert err.offset == offset
    if snippet is not None:
        assert f"Got {snippet} instead." in err.message


def test_col_arity() -> None:
    err = error("col('a', 'b')")
    assert (err.code, err.offset) == ("expr-arity", 0)


def test_offsets_count_characters_not_bytes() -> None:
    # "é" is 2 bytes in UTF-8; ast reports byte columns, offsets must be characters.
    err = error("\u00e9\u00e9 + a.b")
    assert err.offset == 5
    err = error("col('\U0001f600') + lgo(x)")
    assert err.offset == 11


def test_offsets_span_lines() -> None:
    text = "(a +\n  b.c)"
    assert error(text).offset == text.index("b.c")
    text = "(a +\r\n  zz(x))"
    assert error(text).offset == text.index("zz")


def test_hints() -> None:
    assert error("a.b").hint == "to read a column named 'a.b', write col(\"a.b\")"
    assert error("a if b else c").hint == "use where(cond, a, b)"
    assert error("a & b").hint == "use 'and' for a logical and"
    assert error("a ^ b").hint.startswith("allowed operators:")
    assert error("np.log(x)").hint == "did you mean 'log'?"
    assert "is None" in error("x == None").hint


def test_error_is_picklable_and_prints_its_message() -> None:
    err = error("lgo(x)")
    copy = pickle.loads(pickle.dumps(err))
    assert (copy.message, copy.offset, copy.code, copy.hint) == (
        err.message,
        err.offset,
        err.code,
        err.hint,
    )
    assert str(err) == err.message


def test_non_string_input() -> None:
    with pytest.raises(ExprError) as info:
        parse(5)  # type: ignore[arg-type]
    assert info.value.code == "expr-syntax"
    assert "Got int instead." in info.value.message


# --- hostile input --------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os')",
        "__import__('os').system('touch pwned')",
        "().__class__",
        "().__class__.__bases__[0].__subclasses__()",
        "open('pwned', 'w')",
        "eval('1')",
        "exec('x = 1')",
        "getattr(x, 'y')",
        "globals()",
        "a.b",
        "x[0]",
        "lambda: 1",
        "[c for c in ().__class__.__mro__]",
        "(lambda: open('pwned', 'w'))()",
        "log.__globals__",
        "col.__globals__",
    ],
)
def test_hostile_input_is_refused_without_running_anything(
    text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    err = error(text)
    assert err.code in ("expr-unsupported", "expr-unknown-function")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "text",
    [
        "(" * 1000 + "x" + ")" * 1000,
        "-" * 5000 + "x",
        "-" * 9999 + "1",
        "not " * 2000 + "x",
        "+".join(["a"] * 4999),
        "**".join(["a"] * 3000),
        " and ".join(["a"] * 1500),
        " < ".join(["a"] * 2000),
        "abs(" * 1000 + "x" + ")" * 1000,
        "[" * 1000 + "]" * 1000,
        "a." * 3000 + "b",
        "x in [" + ", ".join(["1"] * 3000) + "]" + "+a" * 100,
    ],
)
def test_deep_nesting_is_an_expr_error(text: str) -> None:
    assert len(text) <= MAX_LENGTH
    err = error(text)
    assert err.code == "expr-unsupported"


def test_depth_limit_is_exact() -> None:
    ok = "abs(" * (MAX_DEPTH - 1) + "x" + ")" * (MAX_DEPTH - 1)
    assert columns(parse(ok)) == {"x"}
    too_deep = "abs(" * MAX_DEPTH + "x" + ")" * MAX_DEPTH
    err = error(too_deep)
    assert err.code == "expr-unsupported"
    assert err.offset == too_deep.index("x")
    assert canonical(parse(ok)).count("(") == MAX_DEPTH - 1


def test_long_flat_lists_are_fine() -> None:
    text = "x in [" + ", ".join(str(i) for i in range(1500)) + "]"
    expr = parse(text)
    assert isinstance(expr, IsIn) and len(expr.values) == 1500


def test_length_limit() -> None:
    at_limit = "'" + "x" * (MAX_LENGTH - 2) + "'"
    assert parse(at_limit) == Lit("x" * (MAX_LENGTH - 2))
    err = error(at_limit + " ")
    assert err.code == "expr-unsupported"
    huge = "'" + "x" * (1 << 20) + "'"
    err = error(huge)
    assert err.code == "expr-unsupported"
    assert f"Got {len(huge)} instead." in err.message


@pytest.mark.parametrize(
    "text", ["'\ud800'", "'\\N{NOT A NAME}'", "1" * 5000, "'\\d'", "\ufeffa", "a\u00a0+ b"]
)
def test_odd_text_gives_expr_errors_or_values(text: str) -> None:
    try:
        parse(text)
    except ExprError as err:
        assert err.code in ERROR_CODES


def test_invalid_escape_does_not_warn(recwarn: pytest.WarningsRecorder) -> None:
    assert parse("'\\d'") == Lit("\\d")
    assert not [w for w in recwarn if issubclass(w.category, SyntaxWarning | DeprecationWarning)]


# --- properties -----------------------------------------------------------------------


def _parse_or_error(text: str) -> None:
    try:
        expr = parse(text)
    except ExprError as err:
        assert err.code in ERROR_CODES
        assert isinstance(err.offset, int) and 0 <= err.offset <= len(text)
        return
    assert isinstance(expr, Col | Lit | Unary | Binary | IsIn | Call)
    assert parse(canonical(expr)) == expr


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text())
def test_random_text_parses_or_raises_expr_error(text: str) -> None:
    _parse_or_error(text)


_ALPHABET = "abxy01 .,()[]{}'\"+-*/%<>=!~&|^@:;_\\\n" + "é"
_TOKENS = [
    *FUNCTIONS,
    *[
        "col",
        "not",
        "and",
        "or",
        "in",
        "is",
        "None",
        "True",
        "lambda",
        "if",
        "else",
        "for",
        "**",
        "//",
        "==",
        "1e999",
        "-",
        "(",
        ")",
        ",",
        "[",
        "]",
        "'s'",
    ],
]


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.text(alphabet=_ALPHABET, max_size=40),
        st.lists(st.sampled_from([*_TOKENS, *_ALPHABET]), max_size=20).map(" ".join),
        st.lists(st.sampled_from([*_TOKENS, *_ALPHABET]), max_size=20).map("".join),
    )
)
def test_expression_like_text_parses_or_raises_expr_error(text: str) -> None:
    _parse_or_error(text)


# Random IR -> canonical text -> parse gives the same IR back.
def _parseable(expr: Expr) -> bool:
    # "x == None" is refused on purpose (it is always null), so no text gives this IR.
    return not (isinstance(expr, Binary) and expr.op in ("eq", "ne") and expr.right == Lit(None))


_names = st.one_of(
    st.sampled_from(["a", "b", "x_1", "year", "log", "col", "if", "None", "a.b", "odd name"]),
    st.text(min_size=1, max_size=8).filter(
        lambda s: s != "*" and not (s[0] == "^" and s[-1] == "$")
    ),
)
_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False),
    st.text(max_size=8),
)
_leaves = st.one_of(st.builds(Col, _names), st.builds(Lit, _values))
_in_values = st.one_of(
    st.lists(st.text(max_size=4), max_size=4),
    st.lists(st.integers(-5, 5) | st.floats(allow_nan=False), max_size=4),
    st.lists(st.booleans(), max_size=2),
).map(tuple)


def _calls(children: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
    def build(name: str, data: st.DataObject) -> Expr:
        spec = FUNCTIONS[name]
        count = data.draw(st.integers(spec.min_args, spec.max_args))
        args = [
            Lit(data.draw(st.integers(0, 6))) if i in spec.int_literal_args else data.draw(children)
            for i in range(count)
        ]
        return Call(name, tuple(args))

    return st.builds(build, st.sampled_from(sorted(FUNCTIONS)), st.data())


def _not_negated_number(expr: Unary) -> bool:
    # parse() folds "-<number>" into one literal, so such IR has no text of its own.
    operand = expr.operand
    return not (isinstance(operand, Lit) and type(operand.value) in (int, float))


_exprs = st.recursive(
    _leaves,
    lambda children: st.one_of(
        st.builds(Unary, st.sampled_from(["neg", "not"]), children).filter(_not_negated_number),
        st.builds(Binary, st.sampled_from(sorted(BINARY_OPERATORS)), children, children).filter(
            _parseable
        ),
        st.builds(IsIn, children, _in_values, st.booleans()),
        _calls(children),
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_exprs)
def test_canonical_round_trips(expr: Expr) -> None:
    text = canonical(expr)
    assert parse(text) == expr
    assert canonical(parse(text)) == text
