"""The `check` step: evaluate a source's data checks in one lazy polars query.

Params: `CheckParams` (`mlspec/steps/params.py`).

Input ``data`` (the source's load step). Output ``report.json``: per check and rule,
whether it passed, how many rows fail, and up to 5 offending values and row indices.
A failing ``error`` check raises StepError (after the report is written) listing every
failing check; a failing ``warn`` check is reported with ``ctx.warn``. When a check's
``dtype`` rule fails, its other rules are reported as skipped (they would compare values of
the wrong type). Metrics: ``rows``, ``checks``, ``failed``, ``warned``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from mlspec.contract.api import StepContext, StepError
from mlspec.frames import (
    INTEGER,
    LOGICAL_DTYPES,
    NUMERIC,
    TEXT,
    base,
    collect,
    compatible,
    describe_dtype,
    jsonable,
    require_columns,
    schema_of,
)
from mlspec.steps.params import CheckParams

SAMPLES = 5
_COUNT = "__count__"
_ROW = pl.int_range(pl.len(), dtype=pl.Int64)  # the row index, computed in the query

COLUMN_RULES = ("dtype", "not_null", "unique", "min", "max", "allowed", "max_null_fraction")
TABLE_RULES = ("rows",)
RULES = COLUMN_RULES + TABLE_RULES
# Rules whose offending values repeat: reported as distinct values with counts ('B' (5 rows)).
COUNTED = frozenset({"allowed", "min", "max"})


@dataclass
class _Rule:
    """One rule of one check, planned: the offending-row mask, or a static result."""

    check: int
    rule: str
    expected: Any
    mask: pl.Expr | None = None  # True where a row offends
    values: bool = True  # whether offending values are worth sampling (not for nulls)
    distinct: bool = False  # sample distinct values (unique)
    counted: bool = False  # distinct offending values with their counts, most frequent first
    result: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"c{self.check}_{self.rule}"


# --------------------------------------------------------------------------------------
# masks, by rule: each gets (column expr, rule value, column dtype) -> offending-row mask
# --------------------------------------------------------------------------------------


def _allowed_mask(col: pl.Expr, values: list[Any], dtype: pl.DataType) -> pl.Expr:
    kind = base(dtype)
    if kind is pl.Null:
        return pl.lit(False)
    if kind is pl.Boolean:
        member = col.is_in(pl.Series(values, dtype=pl.Boolean).implode())
    elif kind in TEXT:
        member = col.cast(pl.String).is_in(pl.Series(values, dtype=pl.String).implode())
    elif kind in INTEGER and all(isinstance(v, int) for v in values):
        member = col.cast(pl.Int64).is_in(pl.Series(values, dtype=pl.Int64).implode())
    else:  # a float column, or float values: compare as floats
        member = col.cast(pl.Float64).is_in(
            pl.Series([float(v) for v in values], dtype=pl.Float64).implode()
        )
    return col.is_not_null() & ~member


_MASKS: dict[str, Callable[[pl.Expr, Any, pl.DataType], pl.Expr]] = {
    "not_null": lambda c, v, d: c.is_null(),
    "unique": lambda c, v, d: c.is_duplicated() & c.is_not_null(),
    "min": lambda c, v, d: c < v,
    "max": lambda c, v, d: c > v,
    "allowed": _allowed_mask,
    "max_null_fraction": lambda c, v, d: c.is_null(),
}

# What kind of value each value-comparing rule needs from the column, as data.
_VALUE_KINDS: dict[type[pl.DataType], tuple[str, Callable[[Any], bool]]] = {
    **{
        t: ("numbers", lambda v: isinstance(v, int | float) and not isinstance(v, bool))
        for t in NUMERIC
    },
    **{t: ("strings", lambda v: isinstance(v, str)) for t in TEXT},
    pl.Boolean: ("booleans", lambda v: isinstance(v, bool)),
}


def _applicable(rule: str, value: Any, dtype: pl.DataType) -> str | None:
    """Why a rule cannot be evaluated on a column of this dtype, or None when it can."""
    kind = base(dtype)
    if rule in ("min", "max"):
        if kind not in NUMERIC:
            return f"rule '{rule}' needs a numeric column. Got {describe_dtype(dtype)} instead."
        if not isinstance(value, int | float) or isinstance(value, bool):
            return f"rule '{rule}' needs a number. Got {value!r} instead."
    if rule == "allowed":
        if kind is pl.Null:
            return None
        if kind not in _VALUE_KINDS:
            return f"rule 'allowed' cannot compare a {describe_dtype(dtype)} column."
        what, ok = _VALUE_KINDS[kind]
        if not isinstance(value, list) or not value:
            return f"rule 'allowed' needs a list of values. Got {value!r} instead."
        bad = [v for v in value if not ok(v)]
        if bad:
            return (
                f"rule 'allowed' on a {describe_dtype(dtype)} column needs {what}. "
                f"Got {bad[0]!r} instead."
            )
    if rule == "dtype" and value not in LOGICAL_DTYPES:
        return f"rule 'dtype' must be one of {', '.join(LOGICAL_DTYPES)}. Got {value!r} instead."
    if rule == "max_null_fraction" and not (isinstance(value, int | float) and 0 <= value <= 1):
        return f"rule 'max_null_fraction' must be a number in [0, 1]. Got {value!r} instead."
    return None


# --------------------------------------------------------------------------------------
# planning, evaluation, reporting
# --------------------------------------------------------------------------------------


def _plan(checks: list[dict[str, Any]], schema: pl.Schema, source: str) -> list[_Rule]:
    """Every rule of every check, in order; StepError for what cannot be evaluated."""
    wanted = [c["column"] for c in checks if c.get("column") is not None]
    missing_where = next(
        (c.get("where") for c in checks if c.get("column") not in (None, *schema)), None
    )
    require_columns(schema, wanted, what=f"source '{source}'", where=missing_where)

    problems: list[str] = []
    planned: list[_Rule] = []
    for i, check in enumerate(checks):
        column = check.get("column")
        where = check.get("where")
        # A rule set to false or null is not set (the planner usually leaves those out).
        rules = {
            k: v for k, v in (check.get("rules") or {}).items() if v is not None and v is not False
        }
        unknown = [r for r in rules if r not in RULES]
        for r in unknown:
            problems.append(
                f"{where or f'check {i}'}: unknown rule '{r}' (expected one of {', '.join(RULES)})."
            )
        dtype = schema[column] if column is not None else None
        dtype_rule = rules.get("dtype")
        dtype_fails = (
            dtype is not None and dtype_rule in LOGICAL_DTYPES and not compatible(dtype, dtype_rule)
        )
        for rule in RULES:
            if rule not in rules:
                continue
            value = rules[rule]
            item = _Rule(i, rule, value)
            planned.append(item)
            if rule == "rows":
                continue
            if column is None:
                problems.append(f"{where or f'check {i}'}: rule '{rule}' needs a `column`.")
                continue
            why = _applicable(rule, value, dtype)
            if why is not None and not (dtype_fails and rule != "dtype"):
                problems.append(
                    f"{where or f'check {i}'}: check on column '{column}' of source '{source}': {why}"
                )
                continue
            if rule == "dtype":
                item.result = {"actual": describe_dtype(dtype), "passed": not dtype_fails}
            elif dtype_fails:
                item.result = {
                    "skipped": f"column is {describe_dtype(dtype)}, not {rules['dtype']}",
                    "passed": None,
                }
            else:
                col = pl.col(column)
                item.mask = _MASKS[rule](col, value, dtype)
                item.values = rule not in ("not_null", "max_null_fraction")
                item.distinct = rule == "unique"
                item.counted = rule in COUNTED
    if problems:
        raise StepError(
            f"{len(problems)} check(s) of source '{source}' cannot be evaluated:\n  "
            + "\n  ".join(problems),
            where=next((c.get("where") for c in checks if c.get("where")), None),
            hint="fix the check in the spec, or the column's data type",
            details={"problems": problems},
        )
    return planned


def _exprs(item: _Rule, column: str) -> list[pl.Expr]:
    assert item.mask is not None
    m = item.mask.fill_null(False)
    out = [
        m.sum().cast(pl.Int64).alias(f"{item.key}_n"),
        _ROW.filter(m).head(SAMPLES).implode().alias(f"{item.key}_r"),
    ]
    if item.values and not item.counted:
        v = pl.col(column).filter(m)
        v = v.unique(maintain_order=True) if item.distinct else v
        out.append(v.head(SAMPLES).implode().alias(f"{item.key}_v"))
    return out


def _counted(lf: pl.LazyFrame, item: _Rule, column: str) -> list[tuple[Any, int]]:
    """The distinct offending values of a failed rule with their counts, most frequent first
    (ties by value): a second, small query, run only when the rule failed."""
    assert item.mask is not None
    counts = (
        lf.filter(item.mask.fill_null(False))
        .group_by(column)
        .agg(pl.len().alias(_COUNT))
        .sort([_COUNT, column], descending=[True, False], nulls_last=True)
        .head(SAMPLES)
    )
    return [(v, int(k)) for v, k in collect(counts, what="counting failed values").iter_rows()]


def _finish(item: _Rule, row: dict[str, Any], n: int) -> dict[str, Any]:
    """The report entry of one rule, from the query's single result row."""
    out: dict[str, Any] = {"rule": item.rule, "expected": jsonable(item.expected)}
    if item.rule == "rows":
        lo = (item.expected or {}).get("min") or 0
        hi = (item.expected or {}).get("max")
        ok = n >= lo and (hi is None or n <= hi)
        return {
            **out,
            "passed": ok,
            "actual": n,
            "failing": 0 if ok else n,
            "samples": [],
            "rows": [],
        }
    if item.mask is None:  # dtype, or skipped
        res = dict(item.result)
        passed = res.pop("passed")
        failing = None if passed is None else (0 if passed else n)
        return {**out, "passed": passed, **res, "failing": failing, "samples": [], "rows": []}
    failing = int(row[f"{item.key}_n"])
    samples = jsonable(row.get(f"{item.key}_v") or [])
    counted = row.get(f"{item.key}_c")
    if counted:
        samples = jsonable([value for value, _ in counted])
        out["counts"] = [k for _, k in counted]
    rows = list(row[f"{item.key}_r"] or [])
    if item.rule == "max_null_fraction":
        fraction = failing / n if n else 0.0
        ok = fraction <= float(item.expected)
        return {
            **out,
            "passed": ok,
            "actual": fraction,
            "failing": failing,
            "samples": [],
            "rows": rows,
        }
    return {**out, "passed": failing == 0, "failing": failing, "samples": samples, "rows": rows}


def _describe(source: str, check: dict[str, Any], res: dict[str, Any]) -> str:
    where = check.get("where") or "check"
    column = check.get("column")
    subject = f"source '{source}'" + (f", column '{column}'" if column else "")
    rule = res["rule"]
    if rule == "rows":
        detail = f"has {res['actual']} rows, expected {_bounds(res['expected'])}"
    elif rule == "dtype":
        detail = f"must be {res['expected']}, got {res['actual']}"
    elif rule == "max_null_fraction":
        detail = f"{res['failing']} nulls ({res['actual']:.2%}) exceed the allowed {float(res['expected']):.2%}"
    else:
        expected = "" if rule in ("not_null", "unique") else f" {res['expected']}"
        detail = f"{res['failing']} row(s) fail {rule}{expected}"
    extra = []
    if res.get("samples") and res.get("counts"):
        shown = ", ".join(
            f"{v!r} ({k} row{'s' if k != 1 else ''})"
            for v, k in zip(res["samples"], res["counts"], strict=True)
        )
        extra.append(f"values {shown}")
    elif res.get("samples"):
        extra.append("values " + ", ".join(repr(v) for v in res["samples"]))
    if res.get("rows"):
        extra.append("rows " + ", ".join(str(r) for r in res["rows"]))
    tail = f" ({'; '.join(extra)})" if extra else ""
    return f"{where}: {subject}: {rule}: {detail}{tail}"


def _bounds(rows: dict[str, Any]) -> str:
    lo, hi = (rows or {}).get("min") or 0, (rows or {}).get("max")
    return f"at least {lo}" if hi is None else f"between {lo} and {hi}"


def run(ctx: StepContext) -> None:
    p: CheckParams = ctx.params
    source, checks = p.name, list(p.checks)
    lf = ctx.input("data").scan()
    schema = schema_of(lf, what=f"reading source '{source}'")
    planned = _plan(checks, schema, source)

    exprs: list[pl.Expr] = [pl.len().cast(pl.Int64).alias("__rows__")]
    for item in planned:
        if item.mask is not None:
            exprs.extend(_exprs(item, checks[item.check]["column"]))
    row = collect(lf.select(exprs), what=f"checking source '{source}'").row(0, named=True)
    n = int(row["__rows__"])
    for item in planned:
        if item.counted and row.get(f"{item.key}_n"):
            row[f"{item.key}_c"] = _counted(lf, item, checks[item.check]["column"])

    report_checks: list[dict[str, Any]] = []
    for i, check in enumerate(checks):
        results = [_finish(item, row, n) for item in planned if item.check == i]
        report_checks.append(
            {
                "index": i,
                "column": check.get("column"),
                "severity": check.get("severity", "error"),
                "passed": all(r["passed"] is not False for r in results),
                "rules": results,
            }
        )
    failed = [(c, r) for c in report_checks for r in c["rules"] if r["passed"] is False]
    errors = [
        _describe(source, checks[c["index"]], r) for c, r in failed if c["severity"] != "warn"
    ]
    warnings = [
        _describe(source, checks[c["index"]], r) for c, r in failed if c["severity"] == "warn"
    ]
    report = {
        "source": source,
        "rows": n,
        "passed": not errors,
        "checks": report_checks,
    }
    ctx.output.write_json(report, "report.json")
    ctx.output.metric("rows", float(n))
    ctx.output.metric("checks", float(len(checks)))
    ctx.output.metric("failed", float(len(errors)))
    ctx.output.metric("warned", float(len(warnings)))
    for message in warnings:
        ctx.warn(message)
    if errors:
        first = next(c for c, r in failed if c["severity"] != "warn")
        n_checks = len({c["index"] for c, _ in failed if c["severity"] != "warn"})
        rules = f" ({len(errors)} rules)" if len(errors) != n_checks else ""
        raise StepError(
            f"{n_checks} data check(s) of source '{source}' failed{rules}:\n  "
            + "\n  ".join(errors),
            where=checks[first["index"]].get("where"),
            hint="fix the data, or relax the check (severity: warn reports without failing)",
            details={
                "failed": [{"check": c["index"], **r} for c, r in failed if c["severity"] != "warn"]
            },
        )
