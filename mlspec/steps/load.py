"""The `load` step: read one data source into a parquet artifact.

Params: `LoadParams` (`mlspec/steps/params.py`).

Output ``data`` (the table) and metric ``rows``. With a row filter (`where:`, the feature
language), only the rows where it is true are kept, after the columns are conformed; metric
``rows.filtered_out`` counts the others. Paths resolve against ``ctx.spec_root``.
When ``columns`` is declared, every declared column must exist with a compatible dtype
(`frames.LOGICAL_DTYPES`). Formats without a date type (ndjson, sqlite) hold dates as text:
a String column declared ``date``/``datetime`` is parsed, a Date column declared
``datetime`` is widened, a Datetime column declared ``date`` whose values are all at
midnight is narrowed (a time of day is an error naming ``datetime``), and an all-null column
takes its declared dtype (`_COERCIONS`, `_LOSSY`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

from mlspec.contract.api import StepContext, StepError
from mlspec.frames import (
    LOGICAL_CANONICAL,
    LOGICAL_DTYPES,
    POLARS_ERRORS,
    base,
    closest,
    compatible,
    csv_locate,
    describe_dtype,
    polars_message,
    require_columns,
)
from mlspec.lang.expr import parse
from mlspec.lang.paths import escapes, outside
from mlspec.scoring.expressions import to_polars
from mlspec.steps.params import LoadParams

_READ_ERRORS: tuple[type[BaseException], ...] = (
    *POLARS_ERRORS,
    OSError,
    ValueError,
    UnicodeError,
    sqlite3.Error,
)

# First bytes of a file -> the format they betray. Binary formats are certain; text ones
# (after leading whitespace) are only a guess, used in hints.
_MAGIC: dict[bytes, str] = {b"PAR1": "parquet", b"SQLite format 3\x00": "sqlite"}
_TEXT_MAGIC: dict[bytes, str] = {b"{": "ndjson", b"[": "a JSON array"}

# (declared logical dtype, polars base dtype found) -> how the column is converted.
_COERCIONS: dict[tuple[str, type[pl.DataType]], Callable[[pl.Expr], pl.Expr]] = {
    ("date", pl.String): lambda c: c.str.to_date(strict=True),
    # A timestamp at midnight is what a user calls a date ("2012-01-01T00:00:00.000000").
    ("date", pl.Datetime): lambda c: c.dt.date(),
    ("datetime", pl.String): lambda c: c.str.to_datetime(time_unit="us", strict=True),
    ("datetime", pl.Date): lambda c: c.cast(pl.Datetime("us")),
    **{
        (logical, pl.Null): (lambda c, d=dtype: c.cast(d))
        for logical, dtype in LOGICAL_CANONICAL.items()
    },
}

# Coercions that lose information unless the values allow it: (declared, found) -> a check
# that is True where a value would change, and what to declare instead.
_LOSSY: dict[tuple[str, type[pl.DataType]], tuple[Callable[[pl.Expr], pl.Expr], str]] = {
    ("date", pl.Datetime): (
        lambda c: c.is_not_null() & (c != c.dt.truncate("1d")),
        "Some values have a time of day; declare the column `datetime`",
    ),
}

# What a CSV reader is told about declared columns: text stays text ("00123" is a str).
# Declared columns are read as their type, so only undeclared ones are inferred. (Inferring
# from every row, `infer_schema_length=None`, costs 10-100x the read itself.) Dates stay
# with `try_parse_dates` and the coercions below, which accept more layouts.
_CSV_OVERRIDES: dict[str, pl.DataType] = {
    "int": pl.Int64(),
    "float": pl.Float64(),
    "bool": pl.Boolean(),
    "str": pl.String(),
    "categorical": pl.String(),
}
_CSV_INFER_ROWS = 10_000


def _read_head(path: Path, n: int = 16) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(n)


def _sniff(head: bytes) -> str:
    """The format that a file's first bytes suggest: a READERS key, or a description."""
    for magic, fmt in _MAGIC.items():
        if head.startswith(magic):
            return fmt
    for magic, fmt in _TEXT_MAGIC.items():
        if head.lstrip().startswith(magic):
            return fmt
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return "binary"
    return "csv"


def _format_hint(looks: str, fmt: str) -> str:
    if looks in READERS:
        return f"the file looks like {looks}, not {fmt}: set `format: {looks}` or fix the file"
    return f"the file looks like {looks}, not {fmt}"


def _read_csv(path: Path, src: dict[str, Any]) -> pl.DataFrame:
    declared = src.get("columns") or {}
    separator = src.get("separator") or ","
    overrides = {c: _CSV_OVERRIDES[t] for c, t in declared.items() if t in _CSV_OVERRIDES}
    header = pl.scan_csv(
        path, separator=separator, infer_schema_length=0, glob=False
    ).collect_schema()
    if set(header) <= set(overrides):
        # Every column declared: read with that schema, nothing inferred (100k rows x 7
        # columns: 35-70 ms -> 11-16 ms). A value that does not parse fails as it would
        # with the override.
        return pl.scan_csv(
            path, separator=separator, schema={c: overrides[c] for c in header}, glob=False
        ).collect()
    dates = not declared or any(t in ("date", "datetime") for t in declared.values())
    lf = pl.scan_csv(
        path,
        separator=separator,
        infer_schema_length=_CSV_INFER_ROWS,  # a later row that does not fit is an error, not a guess
        try_parse_dates=dates,
        schema_overrides=overrides or None,
        glob=False,
    )
    return lf.collect()


def _read_parquet(path: Path, src: dict[str, Any]) -> pl.DataFrame:
    return pl.scan_parquet(path, glob=False).collect()


def _read_ndjson(path: Path, src: dict[str, Any]) -> pl.DataFrame:
    return pl.scan_ndjson(path, infer_schema_length=None).collect()


def _read_sqlite(path: Path, src: dict[str, Any]) -> pl.DataFrame:
    query = src.get("query")
    if not query:
        raise StepError("A sqlite source needs a `query`.", hint="add query: SELECT ... FROM ...")
    # Read-only URI: sqlite3.connect() would otherwise create an empty database.
    con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return pl.read_database(query, con, infer_schema_length=None)
    finally:
        con.close()


READERS: dict[str, Callable[[Path, dict[str, Any]], pl.DataFrame]] = {
    "csv": _read_csv,
    "parquet": _read_parquet,
    "ndjson": _read_ndjson,
    "sqlite": _read_sqlite,
}


def _resolve(ctx: StepContext, name: str, src: dict[str, Any], where: str | None) -> Path:
    rel = src.get("path")
    if not rel:
        raise StepError(f"source '{name}' has no `path`.", where=where)
    root = Path(ctx.spec_root).resolve()
    path = (root / rel).resolve()
    if not src.get("external") and (outside(rel) or escapes(root, rel) is not None):
        raise StepError(
            f"source '{name}': path '{rel}' leaves the project folder {root} (it leads to {path}).",
            where=where,
            hint="set `external: true` on the source to allow it",
        )
    if not path.exists():
        near = []
        if path.parent.is_dir():
            near = closest(path.name, [p.name for p in path.parent.iterdir()], n=3, cutoff=0.5)
        hint = (
            f"did you mean {' or '.join(repr(n) for n in near)}?"
            if near
            else "paths resolve relative to the spec's folder; make or fetch the data first"
        )
        raise StepError(
            f"source '{name}': file '{rel}' not found (looked for {path}).", where=where, hint=hint
        )
    if not path.is_file():
        raise StepError(f"source '{name}': '{rel}' is not a file ({path}).", where=where)
    return path


def _read(path: Path, fmt: str, name: str, src: dict[str, Any], where: str | None) -> pl.DataFrame:
    rel = src.get("path")
    reader = READERS.get(fmt)
    if reader is None:
        raise StepError(
            f"source '{name}': unknown format '{fmt}'.",
            where=where,
            hint="expected one of: " + ", ".join(READERS),
        )
    try:
        head = _read_head(path)
    except PermissionError:
        raise StepError(
            f"source '{name}': file '{rel}' cannot be read: permission denied.",
            where=where,
            hint=f"give the user running mlspec read access to {path}",
        ) from None
    except OSError as exc:
        raise StepError(
            f"source '{name}': file '{rel}' cannot be read: {exc.strerror or exc}.", where=where
        ) from None
    if not head:
        raise StepError(
            f"source '{name}': file '{rel}' is empty (0 bytes).",
            where=where,
            hint="regenerate or fetch the data",
        )
    looks = _sniff(head)
    if looks != fmt and (looks in _MAGIC.values() or fmt in _MAGIC.values()):
        # Binary formats announce themselves in their first bytes: no guessing needed.
        what = f"it is a {looks} file" if looks in _MAGIC.values() else f"it is not a {fmt} file"
        raise StepError(
            f"source '{name}': cannot read '{rel}' as {fmt}: {what}.",
            where=where,
            hint=_format_hint(looks, fmt),
        )
    try:
        return reader(path, src)
    except StepError as exc:
        exc.where = exc.where or where
        raise
    except _READ_ERRORS as exc:
        message = polars_message(exc)
        if looks not in (fmt, "binary"):
            hint = _format_hint(looks, fmt)
        elif fmt == "csv":
            hint = "check the file's `separator` and that every row has the same number of fields"
        elif fmt == "sqlite":
            hint = "check the `query` against the database's tables"
        else:
            hint = f"check that the file is valid {fmt}"
        if "permission denied" in message.lower():
            hint = f"give the user running mlspec read access to {path}"
        if fmt == "csv" and (row := csv_locate(path, src.get("separator") or ",", message)):
            message = f"{message.rstrip('.')}; {row}"
            if "could not parse" in message:
                hint = "fix the value, or declare the column `str` in the source's `columns` and convert it in a feature expression"
        raise StepError(
            f"source '{name}': cannot read '{rel}' as {fmt}: {message}", where=where, hint=hint
        ) from None


def _conform(
    df: pl.DataFrame, declared: dict[str, str], name: str, where: str | None
) -> pl.DataFrame:
    """Check the declared columns; apply the lossless coercions of `_COERCIONS`."""
    require_columns(df.schema, declared, what=f"source '{name}'", where=where)
    unknown = sorted({t for t in declared.values() if t not in LOGICAL_DTYPES})
    if unknown:
        raise StepError(
            f"source '{name}': unknown dtype(s) {unknown} in `columns`.",
            where=where,
            hint="expected one of: " + ", ".join(LOGICAL_DTYPES),
        )
    problems: list[str] = []
    fixes: dict[str, pl.Series] = {}
    for column, logical in declared.items():
        dtype = df.schema[column]
        if compatible(dtype, logical):
            continue
        coerce = _COERCIONS.get((logical, base(dtype)))
        lossy = _LOSSY.get((logical, base(dtype)))
        if coerce is not None and lossy is not None:
            changed = df.select(lossy[0](pl.col(column)).sum()).item()
            if changed:
                problems.append(
                    f"column '{column}' of source '{name}' must be {logical}. Got {describe_dtype(dtype)} "
                    f"instead. {lossy[1]} ({changed} row(s))."
                )
                continue
        if coerce is not None:
            try:
                fixes[column] = df.select(coerce(pl.col(column))).to_series()
                continue
            except POLARS_ERRORS as exc:
                problems.append(
                    f"column '{column}' of source '{name}' must be {logical}. Got {describe_dtype(dtype)} "
                    f"instead, whose values do not all parse as {logical} ({polars_message(exc)})."
                )
                continue
        problems.append(
            f"column '{column}' of source '{name}' must be {logical}. Got {describe_dtype(dtype)} instead."
        )
    if problems:
        raise StepError(
            " ".join(problems) if len(problems) == 1 else "\n  " + "\n  ".join(problems),
            where=where,
            hint="fix the data, or change the declared dtype in `columns`",
            details={"problems": problems},
        )
    return df.with_columns(**fixes) if fixes else df


def _reference(
    ctx: StepContext, path: Path, name: str, src: dict[str, Any], where: str | None
) -> bool:
    """A Parquet source that already fits its declared columns is referenced, not copied.

    Reads only the footer (schema, row count): the artifact points at the file by path and
    content hash, and every reader verifies that hash.
    """
    try:
        if _sniff(_read_head(path)) != "parquet":
            return False
        lf = pl.scan_parquet(path, glob=False)
        schema = lf.collect_schema()
        rows = lf.select(pl.len()).collect().item()
    except _READ_ERRORS:
        return False  # let the full read report the problem
    declared = src.get("columns") or {}
    require_columns(schema, declared, what=f"source '{name}'", where=where)
    if rows == 0 or not all(
        t in LOGICAL_DTYPES and compatible(schema[c], t) for c, t in declared.items()
    ):
        return False  # the full read reports or converts
    ctx.output.reference(path, "data")
    ctx.output.metric("rows", float(rows))
    ctx.log.info("referenced %s: %d rows x %d columns at %s", name, rows, len(schema), path)
    return True


def _filter(
    ctx: StepContext, df: pl.DataFrame, text: str, name: str, where: str | None
) -> pl.DataFrame:
    """The rows where the source's `where:` holds (null counts as false), counted."""
    try:
        kept = df.filter(to_polars(parse(text)).fill_null(False))
    except pl.exceptions.PolarsError as exc:
        raise StepError(
            f"source '{name}': the row filter `{text}` cannot be applied: {str(exc).splitlines()[0]}",
            where=where,
            hint="the filter must be true or false per row, over the source's columns",
        ) from None
    dropped = df.height - kept.height
    ctx.output.metric("rows.filtered_out", float(dropped))
    if dropped:
        ctx.log.info("source %s: the row filter kept %d of %d rows", name, kept.height, df.height)
    return kept


def run(ctx: StepContext) -> None:
    p: LoadParams = ctx.params
    name, where = p.name, p.where
    src: dict[str, Any] = {**p.source, "external": p.external}
    fmt = src.get("format") or "csv"

    path = _resolve(ctx, name, src, where)
    if fmt == "parquet" and not p.filter and _reference(ctx, path, name, src, where):
        return
    df = _read(path, fmt, name, src, where)
    if df.height == 0:
        raise StepError(
            f"source '{name}': '{src.get('path')}' holds no rows.",
            where=where,
            hint="the data is empty; regenerate it"
            + (" or check the `query`" if fmt == "sqlite" else ""),
        )
    if src.get("columns"):
        df = _conform(df, src["columns"], name, where)
    if p.filter:
        df = _filter(ctx, df, p.filter, name, where)
        if df.height == 0:
            raise StepError(
                f"source '{name}': the row filter `{p.filter}` keeps no row.",
                where=where,
                hint="check the filter's condition against the data",
            )
    ctx.output.write_frame(df, "data")
    ctx.output.metric("rows", float(df.height))
    ctx.log.info("loaded %s: %d rows x %d columns from %s", name, df.height, df.width, path)
