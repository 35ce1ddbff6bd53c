"""Polars helpers shared by steps and scoring: dtypes, column checks, error wording.

Constraints are data: which physical polars dtypes satisfy a logical dtype of the spec
(``int``, ``float``, ``str``, ...) is one table, read by `load` (declared columns), `check`
(the ``dtype`` rule) and `features` (what a numeric feature may be computed from).
"""

from __future__ import annotations

import datetime as dt
import decimal
import difflib
import math
import os
import re
from collections.abc import Iterable, Sequence
from typing import Any

import polars as pl

from mlspec.contract.api import StepError

# --------------------------------------------------------------------------------------
# dtype groups and the logical dtypes of the spec
# --------------------------------------------------------------------------------------

INTEGER: frozenset[type[pl.DataType]] = frozenset(
    getattr(pl, n)
    for n in (
        "Int8",
        "Int16",
        "Int32",
        "Int64",
        "Int128",
        "UInt8",
        "UInt16",
        "UInt32",
        "UInt64",
        "UInt128",
    )
    if hasattr(pl, n)
)
FLOAT: frozenset[type[pl.DataType]] = frozenset(
    getattr(pl, n) for n in ("Float16", "Float32", "Float64") if hasattr(pl, n)
)
TEXT: frozenset[type[pl.DataType]] = frozenset({pl.String, pl.Categorical, pl.Enum})

LOGICAL_DTYPES: dict[str, frozenset[type[pl.DataType]]] = {
    "int": INTEGER,
    "float": FLOAT | INTEGER,
    "str": TEXT,
    "bool": frozenset({pl.Boolean}),
    "date": frozenset({pl.Date}),
    "datetime": frozenset({pl.Datetime}),
    "categorical": TEXT,
}
"""Logical dtype of the spec -> the polars dtypes (base types) that satisfy it."""

LOGICAL_CANONICAL: dict[str, pl.DataType] = {
    "int": pl.Int64(),
    "float": pl.Float64(),
    "str": pl.String(),
    "bool": pl.Boolean(),
    "date": pl.Date(),
    "datetime": pl.Datetime("us"),
    "categorical": pl.String(),
}
"""The dtype that an all-null column (polars dtype Null) becomes when declared so."""

NUMERIC: frozenset[type[pl.DataType]] = INTEGER | FLOAT | frozenset({pl.Null})
"""Dtypes that min/max rules and numeric comparisons accept."""

NUMERIC_FEATURE_SOURCES: frozenset[type[pl.DataType]] = (
    INTEGER | FLOAT | frozenset({pl.Boolean, pl.Null, pl.Decimal})
)
"""Dtypes that a numeric feature may hold before it is cast to Float64 (bool -> 0/1)."""


def base(dtype: pl.DataType) -> type[pl.DataType]:
    return dtype.base_type()


def compatible(dtype: pl.DataType, logical: str) -> bool:
    """Does a polars dtype satisfy a logical dtype of the spec?"""
    return base(dtype) in LOGICAL_DTYPES[logical]


def describe_dtype(dtype: pl.DataType) -> str:
    """A short name for messages: Int64, String, Datetime, Datetime(UTC), List(Int64)."""
    kind = base(dtype)
    if kind is pl.Datetime:
        tz = getattr(dtype, "time_zone", None)
        return f"Datetime({tz})" if tz else "Datetime"
    if kind is pl.Enum:
        return "Enum"
    return str(dtype) if kind in (pl.List, pl.Array, pl.Struct) else kind.__name__


# --------------------------------------------------------------------------------------
# did-you-mean
# --------------------------------------------------------------------------------------


def closest(word: str, choices: Iterable[str], n: int = 3, cutoff: float = 0.6) -> list[str]:
    """The choices nearest to `word` (difflib), best first; case-insensitive fallback."""
    options = sorted(set(choices))
    found = difflib.get_close_matches(word, options, n=n, cutoff=cutoff)
    if not found:
        lower = {o.lower(): o for o in options}
        found = [
            lower[m]
            for m in difflib.get_close_matches(word.lower(), list(lower), n=n, cutoff=cutoff)
        ]
    return found


def names_hint(missing: Sequence[str], available: Sequence[str]) -> str:
    """'did you mean ...?' for each missing name, else the available names (shortened)."""
    parts = []
    for name in missing:
        near = closest(name, available)
        if near:
            parts.append(f"for '{name}' did you mean {' or '.join(repr(x) for x in near)}?")
    if parts:
        return "; ".join(parts)
    shown = list(available)[:20]
    more = f" (and {len(available) - 20} more)" if len(available) > 20 else ""
    return "available columns: " + ", ".join(repr(c) for c in shown) + more


def require_columns(
    schema: pl.Schema | dict[str, Any],
    wanted: Iterable[str],
    *,
    what: str,
    where: str | None = None,
) -> None:
    """StepError naming every column of `wanted` absent from `schema`, with the closest names.

    `what` says whose columns they are, e.g. "source 'posts'" or "the joined table".
    """
    names = list(schema)
    missing = [c for c in dict.fromkeys(wanted) if c not in schema]
    if not missing:
        return
    listed = ", ".join(f"'{c}'" for c in missing)
    plural = "s" if len(missing) > 1 else ""
    raise StepError(
        f"{what} has no column{plural} {listed}.",
        where=where,
        hint=names_hint(missing, names),
        details={"missing": missing, "available": names},
    )


# --------------------------------------------------------------------------------------
# errors and values
# --------------------------------------------------------------------------------------

POLARS_ERRORS: tuple[type[BaseException], ...] = (pl.exceptions.PolarsError,)


def polars_message(exc: BaseException) -> str:
    """The first meaningful line of a polars error (its plan dump and context are dropped)."""
    text = str(exc).strip()
    for line in text.splitlines():
        line = line.strip()
        if line:
            return line.rstrip(":")
    return type(exc).__name__


def collect(
    lf: pl.LazyFrame, *, what: str, where: str | None = None, hint: str | None = None
) -> pl.DataFrame:
    """Collect a LazyFrame; a polars error becomes a StepError saying what was being done."""
    try:
        return lf.collect()
    except POLARS_ERRORS as exc:
        raise StepError(f"{what} failed: {polars_message(exc)}", where=where, hint=hint) from None


def schema_of(lf: pl.LazyFrame, *, what: str, where: str | None = None) -> pl.Schema:
    try:
        return lf.collect_schema()
    except POLARS_ERRORS as exc:
        raise StepError(f"{what} failed: {polars_message(exc)}", where=where) from None


def jsonable(value: Any) -> Any:
    """A value that json.dumps writes as strict JSON (dates as ISO text, NaN as text)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)  # 'nan', 'inf', '-inf'
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, decimal.Decimal):
        return jsonable(float(value))
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return str(value)


def label(value: Any) -> str:
    """A JSON object key for a class value (None -> 'null')."""
    value = jsonable(value)
    return (
        "null" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
    )


_UNPARSED = re.compile(r"could not parse `(.*?)` as dtype .*? at column '(.*?)'", re.S)
CSV_SCAN_ROWS = 10_000_000  # an error's row is looked for this far (only after a failed read)


def csv_locate(path: str | os.PathLike[str], separator: str, message: str) -> str | None:
    """Where a CSV that polars could not read goes wrong: 'row 51 (line 52): 7 fields where
    the header has 5', or the first row holding a value polars named as unparsable. None when
    nothing is found. polars says what failed but not on which row; Python's csv module reads
    the file again, only after a failure, so a good file pays nothing."""
    import csv

    bad = _UNPARSED.search(message)
    try:
        with open(path, newline="", encoding="utf-8", errors="replace") as fh:
            reader = csv.reader(fh, delimiter=separator, strict=True)
            header = next(reader, None)
            if header is None:
                return None
            column = header.index(bad.group(2)) if bad and bad.group(2) in header else None
            for row in reader:
                n = reader.line_num
                if n > CSV_SCAN_ROWS:
                    return None
                if len(row) != len(header) and row:
                    return f"row {n - 1} (line {n}) has {len(row)} fields where the header has {len(header)}"
                if bad and column is not None and row[column] == bad.group(1):
                    return f"row {n - 1} (line {n}), column '{bad.group(2)}': {bad.group(1)!r} is not a {_dtype_word(message)}"
    except csv.Error as exc:
        return f"line {reader.line_num}: {exc}"
    except (OSError, UnicodeError):
        return None
    return None


def _dtype_word(message: str) -> str:
    m = re.search(r"as dtype `(.*?)`", message)
    return f"value of dtype {m.group(1)}" if m else "valid value"


def positive_last(classes: list[Any], positive: Any, name: str, what: str) -> list[Any]:
    """Two sorted classes with the positive one last (its probability is the score).

    `positive` (the objective's) is matched by value, or by its text when the column holds
    text (``positive: 1`` names the class '1'); None keeps the sorted order."""
    if positive is None:
        return classes
    match = [c for c in classes if c == positive and type(c) is type(positive)] or [
        c for c in classes if str(c) == str(positive)
    ]
    if not match:
        raise StepError(
            f"positive must be one of the classes of '{name}' in {what}. Got {positive!r} instead (classes: {', '.join(repr(c) for c in classes)}).",
            hint="set the objective's `positive:` to one of those values",
        )
    return [c for c in classes if c != match[0]] + [match[0]]
