from __future__ import annotations

from typing import Any

import polars as pl
import pytest
from steps_fakes import FakeContext, ctx

from mlspec.contract.api import StepError
from mlspec.steps import check

DATA = pl.DataFrame(
    {
        "id": [1, 2, 2, 4, 5, 5, 5],
        "score": [0.1, None, 0.5, 3.0, -1.0, None, 0.2],
        "topic": ["a", "b", "a", "z", None, "b", "a"],
        "flag": [True, False, True, True, None, False, True],
        "label": [0, 1, 1, 0, 2, 0, 1],
    }
)


def _check(
    column: str | None, severity: str = "error", where: str = "spec.yaml:14:11", **rules: Any
) -> dict[str, Any]:
    return {"column": column, "rules": rules, "severity": severity, "where": where}


def _run(*checks: dict[str, Any], data: pl.DataFrame = DATA) -> Any:
    c = ctx({"name": "posts", "checks": list(checks)}, data)
    check.run(c)
    return c


def _rule(c: FakeContext, index: int = 0, rule: str | None = None) -> dict[str, Any]:
    rules = c.output.jsons["report.json"]["checks"][index]["rules"]
    return rules[0] if rule is None else next(r for r in rules if r["rule"] == rule)


def _error(*checks: dict[str, Any], data: pl.DataFrame = DATA) -> tuple[StepError, FakeContext]:
    c = ctx({"name": "posts", "checks": list(checks)}, data)
    with pytest.raises(StepError) as info:
        check.run(c)
    return info.value, c


# (rule, value, column, passes?, failing count, samples, rows)
CASES = [
    ("not_null", True, "id", True, 0, [], []),
    ("not_null", True, "score", False, 2, [], [1, 5]),
    ("unique", True, "topic", False, 5, ["a", "b"], [0, 1, 2, 5, 6]),
    ("unique", True, "score", True, 0, [], []),  # nulls are not duplicates
    ("unique", True, "id", False, 5, [2, 5], [1, 2, 4, 5, 6]),
    ("min", 0, "score", False, 1, [-1.0], [4]),
    ("min", -1, "score", True, 0, [], []),
    ("max", 1, "score", False, 1, [3.0], [3]),
    ("max", 3, "score", True, 0, [], []),
    ("max", 4.5, "id", False, 3, [5], [4, 5, 6]),  # distinct values, with counts
    ("allowed", ["a", "b"], "topic", False, 1, ["z"], [3]),
    ("allowed", ["a", "b", "z"], "topic", True, 0, [], []),
    ("allowed", [0, 1], "label", False, 1, [2], [4]),
    ("allowed", [0, 1, 2.0], "label", True, 0, [], []),
    ("allowed", [True], "flag", False, 2, [False], [1, 5]),
    ("allowed", [0.1, 0.5, 3.0, -1.0, 0.2], "score", True, 0, [], []),
    ("dtype", "int", "id", True, 0, [], []),
    ("dtype", "float", "id", True, 0, [], []),
    ("dtype", "str", "topic", True, 0, [], []),
    ("dtype", "bool", "flag", True, 0, [], []),
    ("dtype", "int", "score", False, 7, [], []),
]


@pytest.mark.parametrize(("rule", "value", "column", "passes", "failing", "samples", "rows"), CASES)
def test_rules(
    rule: str,
    value: Any,
    column: str,
    passes: bool,
    failing: int,
    samples: list[Any],
    rows: list[int],
) -> None:
    ch = _check(column, **{rule: value})
    if passes:
        c = _run(ch)
    else:
        err, c = _error(ch)
        assert (
            f"column '{column}'" in str(err) and rule in str(err) and "spec.yaml:14:11" in str(err)
        )
        assert "source 'posts'" in str(err)
    res = _rule(c)
    assert res["passed"] is passes
    assert res["failing"] == failing
    assert res["samples"] == samples
    assert res["rows"] == rows
    assert c.output.jsons["report.json"]["passed"] is passes
    assert c.output.metrics["failed"] == (0.0 if passes else 1.0)


def test_max_null_fraction() -> None:
    c = _run(_check("score", max_null_fraction=0.3))
    res = _rule(c)
    assert res["passed"] is True and res["failing"] == 2 and res["actual"] == pytest.approx(2 / 7)
    err, c = _error(_check("score", max_null_fraction=0.2))
    res = _rule(c)
    assert res["passed"] is False and res["rows"] == [1, 5]
    assert "max_null_fraction" in str(err) and "28.57%" in str(err)


def test_rows() -> None:
    c = _run(_check(None, rows={"min": 7, "max": 7}))
    assert _rule(c) == {
        "rule": "rows",
        "expected": {"min": 7, "max": 7},
        "passed": True,
        "actual": 7,
        "failing": 0,
        "samples": [],
        "rows": [],
    }
    err, c = _error(_check(None, rows={"min": 100}))
    assert "has 7 rows, expected at least 100" in str(err)
    err, _ = _error(_check(None, rows={"min": 0, "max": 5}))
    assert "between 0 and 5" in str(err)


def test_several_rules_in_one_check() -> None:
    c = _run(_check("id", not_null=True, min=1, max=5, dtype="int"))
    rules = c.output.jsons["report.json"]["checks"][0]["rules"]
    assert [r["rule"] for r in rules] == ["dtype", "not_null", "min", "max"]
    assert all(r["passed"] for r in rules)


def test_every_failing_check_is_listed() -> None:
    err, c = _error(
        _check("score", not_null=True, where="spec.yaml:1:1"),
        _check("topic", allowed=["a", "b"], where="spec.yaml:2:1"),
        _check("id", unique=True, min=0, where="spec.yaml:3:1"),
    )
    text = str(err)
    assert "3 data check(s) of source 'posts' failed" in text
    for part in (
        "spec.yaml:1:1",
        "spec.yaml:2:1",
        "spec.yaml:3:1",
        "not_null",
        "allowed",
        "unique",
        "'z'",
    ):
        assert part in text
    assert err.where == "spec.yaml:1:1"
    assert len(err.details["failed"]) == 3
    report = c.output.jsons["report.json"]
    assert report["passed"] is False
    assert [ch["passed"] for ch in report["checks"]] == [False, False, False]
    assert set(c.output.frames) == set()  # the report, nothing else


def test_warn_severity_does_not_fail() -> None:
    c = _run(_check("score", severity="warn", not_null=True), _check("id", not_null=True))
    assert len(c.warnings) == 1
    assert (
        "score" in c.warnings[0]
        and "not_null" in c.warnings[0]
        and "spec.yaml:14:11" in c.warnings[0]
    )
    report = c.output.jsons["report.json"]
    assert report["passed"] is True
    assert report["checks"][0]["passed"] is False and report["checks"][0]["severity"] == "warn"
    assert c.output.metrics["warned"] == 1.0 and c.output.metrics["failed"] == 0.0


def test_warn_and_error_together() -> None:
    err, c = _error(_check("score", severity="warn", not_null=True), _check("topic", not_null=True))
    assert len(c.warnings) == 1 and "score" in c.warnings[0]
    assert "topic" in str(err) and "'score'" not in str(err)


def test_failing_dtype_skips_the_value_rules() -> None:
    err, c = _error(_check("topic", dtype="int", min=0))
    res_min = _rule(c, rule="min")
    assert res_min["passed"] is None and "skipped" in res_min
    assert "must be int, got String" in str(err)


def test_missing_column() -> None:
    err, _ = _error(
        _check("scor", not_null=True), _check("topik", unique=True, where="spec.yaml:9:9")
    )
    text = str(err)
    assert (
        "'scor'" in text
        and "'topik'" in text
        and "did you mean 'score'" in text
        and "'topic'" in text
    )
    assert err.where == "spec.yaml:14:11"


@pytest.mark.parametrize(
    ("column", "rules", "words"),
    [
        ("topic", {"min": 0}, ["needs a numeric column", "String"]),
        ("flag", {"max": 1}, ["needs a numeric column", "Boolean"]),
        ("topic", {"allowed": [1, 2]}, ["needs strings", "Got 1"]),
        ("label", {"allowed": ["0", "1"]}, ["needs numbers", "Got '0'"]),
        ("label", {"allowed": [True]}, ["needs numbers", "Got True"]),
        ("flag", {"allowed": [1]}, ["needs booleans"]),
        ("id", {"dtype": "integer"}, ["must be one of"]),
        ("id", {"bogus": 1}, ["unknown rule 'bogus'"]),
        (None, {"not_null": True}, ["needs a `column`"]),
    ],
)
def test_rules_that_cannot_apply(
    column: str | None, rules: dict[str, Any], words: list[str]
) -> None:
    err, _ = _error(
        {"column": column, "rules": rules, "severity": "warn", "where": "spec.yaml:5:5"}
    )
    for word in words:
        assert word in str(err), (word, str(err))


def test_categorical_and_dates() -> None:
    import datetime as dt

    data = pl.DataFrame(
        {
            "c": pl.Series(["x", "y", "w"], dtype=pl.Categorical),
            "e": pl.Series(["x", "y", "x"], dtype=pl.Enum(["x", "y"])),
            "d": [dt.date(2024, 1, 1), dt.date(2024, 1, 1), None],
        }
    )
    _err, c = _error(
        _check("c", allowed=["x", "y"]),
        _check("e", allowed=["x"]),
        _check("d", unique=True),
        data=data,
    )
    assert _rule(c, 0)["samples"] == ["w"]
    assert _rule(c, 1)["samples"] == ["y"]
    assert _rule(c, 2)["samples"] == ["2024-01-01"]  # dates as ISO text in the JSON report


def test_nan_and_samples_capped() -> None:
    data = pl.DataFrame({"x": [float("nan")] + [float(i) for i in range(20)]})
    _err, c = _error(_check("x", max=5), data=data)
    res = _rule(c)
    assert res["failing"] == 15  # NaN and 6..19
    assert res["samples"] == [6.0, 7.0, 8.0, 9.0, 10.0]  # each once; NaN sorts last
    assert res["counts"] == [1] * 5
    assert res["rows"] == [0, 7, 8, 9, 10]


def test_all_null_column() -> None:
    data = pl.DataFrame({"x": pl.Series([None, None], dtype=pl.Null)})
    c = _run(_check("x", min=0, allowed=[1]), data=data)
    assert all(r["passed"] for r in c.output.jsons["report.json"]["checks"][0]["rules"])
    err, _ = _error(_check("x", not_null=True), data=data)
    assert "2 row(s) fail not_null" in str(err)


def test_one_query() -> None:
    # Every rule of every check is computed in a single collect of the input's LazyFrame.
    collects = 0
    original = pl.LazyFrame.collect

    def counting(self: pl.LazyFrame, *args: Any, **kwargs: Any) -> pl.DataFrame:
        nonlocal collects
        collects += 1
        return original(self, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pl.LazyFrame, "collect", counting)
        _run(
            _check("id", not_null=True, min=0),
            _check("topic", max_null_fraction=0.5),
            _check(None, rows={"min": 1}),
        )
    assert collects == 1


def test_rules_set_to_false_or_null_are_ignored() -> None:
    c = _run(_check("score", not_null=False, unique=False, min=None))
    assert c.output.jsons["report.json"]["checks"][0]["rules"] == []


def test_a_failed_allowed_check_lists_distinct_values_with_counts() -> None:
    """Issue 13.18: not 'B', 'B', 'B', 'B', 'B' but each value once, most frequent first."""
    data = pl.DataFrame({"grade": ["A", "B", "B", "C", "B", "D", "C", "B", "B", "A"]})
    err, c = _error(_check("grade", allowed=["A"]), data=data)
    res = _rule(c)
    assert res["failing"] == 8
    assert res["samples"] == ["B", "C", "D"] and res["counts"] == [5, 2, 1]
    assert "values 'B' (5 rows), 'C' (2 rows), 'D' (1 row)" in str(err)
