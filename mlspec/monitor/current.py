"""Current data: read a file with polars and compute the profiled columns from it.

The current file has the columns of the joined data (what the spec's features read), like
a request to the served model; labels (the objectives' targets) are optional. Every
profiled column is computed as the `features` step computes it (numeric features cast to
Float64, categorical ones to String); a column that cannot be computed is not an error of
the run but a *problem* of that column (missing input, another dtype, all null), which the
monitors report as that column's verdict.
"""

from __future__ import annotations

import glob
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from mlspec.frames import NUMERIC_FEATURE_SOURCES, POLARS_ERRORS, base, describe_dtype
from mlspec.lang.expr import Col, ExprError, columns, parse
from mlspec.monitor.errors import MonitorError
from mlspec.monitor.stats import NUMERIC
from mlspec.scoring.expressions import to_polars

READERS = {
    ".parquet": pl.read_parquet,
    ".csv": pl.read_csv,
    ".ndjson": pl.read_ndjson,
    ".jsonl": pl.read_ndjson,
    ".json": pl.read_json,
}


def files(pattern: str | Path) -> list[Path]:
    """The files `--current` names: a file, every readable file of a folder (a request log,
    `mlspec serve --log-requests`), or the readable files a glob pattern matches."""
    p = Path(pattern)
    if p.is_dir():
        found = sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in READERS)
        if not found:
            raise MonitorError(
                f"--current folder '{p}' holds no .parquet, .csv, .ndjson/.jsonl or .json file",
                "give a folder that `mlspec serve --log-requests` wrote to, or a file",
            )
        return found
    if not p.exists() and glob.has_magic(str(pattern)):
        found = sorted(Path(f) for f in glob.glob(str(pattern)) if Path(f).is_file())
        readable = [f for f in found if f.suffix.lower() in READERS]
        if not readable:
            raise MonitorError(
                f"--current pattern '{pattern}' matches no .parquet, .csv, .ndjson/.jsonl or .json file"
            )
        return readable
    if p.suffix.lower() not in READERS:
        raise MonitorError(
            f"--current must be a .parquet, .csv, .ndjson/.jsonl or .json file, a folder or a glob pattern. Got '{p.name}' instead."
        )
    if not p.is_file():
        raise MonitorError(f"--current file '{p}' does not exist")
    return [p]


def _read_one(p: Path) -> pl.DataFrame:
    try:
        return READERS[p.suffix.lower()](p)
    except (*POLARS_ERRORS, OSError, ValueError) as exc:
        raise MonitorError(
            f"cannot read the current data '{p}': {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
        ) from None


def read(path: str | Path) -> pl.DataFrame:
    """The current data (every file of a folder or pattern, stacked; a column missing
    from some files is null there); MonitorError for a missing, unreadable or empty input."""
    frames = [_read_one(p) for p in files(path)]
    frame = frames[0] if len(frames) == 1 else _stack(frames, path)
    if frame.height == 0:
        raise MonitorError(
            f"the current data '{path}' has no rows", "monitor a file that holds at least one row"
        )
    return frame


def _stack(frames: list[pl.DataFrame], path: str | Path) -> pl.DataFrame:
    """The frames one under the other by column name. A column whose files disagree on its
    type is refused unless every type is a number (then the common one: int and float give
    float), so a date never silently becomes a number or text."""
    dtypes: dict[str, set[pl.DataType]] = {}
    for f in frames:
        for name, dtype in f.schema.items():
            dtypes.setdefault(name, set()).add(dtype)
    for name, kinds in dtypes.items():
        kinds = {k for k in kinds if k != pl.Null}
        if len(kinds) > 1 and not all(k.is_numeric() for k in kinds):
            raise MonitorError(
                f"the files of '{path}' do not stack: column '{name}' is "
                + " in one file and ".join(sorted(describe_dtype(k) for k in kinds))
                + " in another",
                "give files whose shared columns have the same types",
            )
    return pl.concat(frames, how="diagonal_relaxed")


@dataclass
class Current:
    """The profiled columns computed from current data, and what went wrong per column."""

    frame: pl.DataFrame  # one column per usable profiled column
    raw: pl.DataFrame  # the file as read (labels are taken from here)
    problems: dict[str, str] = field(default_factory=dict)  # column -> why it is unusable
    extra: list[str] = field(default_factory=list)  # columns of the file nothing reads


def _expr(name: str, spec: dict[str, Any] | None) -> tuple[pl.Expr, frozenset[str]]:
    text = (spec or {}).get("expr")
    ir = parse(text) if text else Col(name)
    return to_polars(ir), columns(ir)


def _compute(
    raw: pl.DataFrame, exprs: dict[str, pl.Expr], problems: dict[str, str]
) -> pl.DataFrame:
    """All columns in one query (polars runs them in parallel); when it fails, column by
    column, so that the column that cannot be computed is named."""
    try:
        return raw.select([e.alias(n) for n, e in exprs.items()])
    except POLARS_ERRORS:
        pass
    out = []
    for name, expr in exprs.items():
        try:
            out.append(raw.select(expr.alias(name)).get_column(name))
        except POLARS_ERRORS as exc:
            problems[name] = f"cannot be computed: {str(exc).splitlines()[0]}"
    return pl.DataFrame(out)


def prepare(
    raw: pl.DataFrame, kinds: dict[str, str], features: list[dict[str, Any]], known: list[str]
) -> Current:
    """Compute every column of `kinds` (column -> NUMERIC | CATEGORICAL) from `raw`. `known`:
    columns that are not extra though nothing computed reads them (labels, a request log's
    scores)."""
    by_name = {f["name"]: f for f in features}
    problems: dict[str, str] = {}
    read_columns: set[str] = set(known)
    exprs: dict[str, pl.Expr] = {}
    for name in kinds:
        try:
            expr, reads = _expr(name, by_name.get(name))
        except ExprError as exc:
            problems[name] = f"its expression does not parse: {exc.message}"
            continue
        read_columns |= reads
        missing = sorted(reads - set(raw.columns))
        if missing:
            problems[name] = "missing: the current data has no column " + ", ".join(
                f"'{c}'" for c in missing
            )
            continue
        exprs[name] = expr
    computed = _compute(raw, exprs, problems)
    casts = []
    for name, dtype in computed.schema.items():
        if kinds[name] == NUMERIC and base(dtype) not in NUMERIC_FEATURE_SOURCES:
            problems[name] = f"dtype: must be numeric. Got {describe_dtype(dtype)} instead."
            continue
        casts.append(pl.col(name).cast(pl.Float64 if kinds[name] == NUMERIC else pl.String))
    frame = computed.select(casts)
    usable = frame.select(
        (pl.col(c).is_finite() if kinds[c] == NUMERIC else pl.col(c).is_not_null())
        .fill_null(False)
        .any()
        for c in frame.columns
    )
    for name, (ok,) in usable.to_dict(as_series=False).items():
        if not ok:
            problems[name] = "all null: no value to compare"
    extra = [c for c in raw.columns if c not in read_columns and c not in kinds]
    return Current(frame, raw, problems, extra)
