"""Batch scoring of a file, in chunks, so a file larger than memory scores in bounded memory.

Input CSV, Parquet or NDJSON (by extension), read lazily (only the signature's columns and
the kept ones) and collected in chunks of `chunk_rows` (`LazyFrame.collect_batches`); each
chunk is scored and written at once. Output Parquet (each chunk a part file, then one
streaming `sink_parquet` into the target) or CSV (chunks appended). The target appears
whole or not at all: everything is written beside it and renamed into place.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

from mlspec.scoring.scorer import InputError, Scorer

CHUNK_ROWS = 200_000
_CSV_TYPES: dict[str, pl.DataType] = {
    "int": pl.Int64(),
    "float": pl.Float64(),
    "str": pl.String(),
    "bool": pl.Boolean(),
}


def _scan(path: Path, scorer: Scorer) -> pl.LazyFrame:
    suffix = path.suffix.lower()
    readers: dict[str, Callable[[], pl.LazyFrame]] = {
        ".parquet": lambda: pl.scan_parquet(path),
        ".csv": lambda: pl.scan_csv(
            path,
            schema_overrides={
                c["name"]: _CSV_TYPES[c["type"]] for c in scorer.inputs if c["type"] in _CSV_TYPES
            },
        ),
        ".ndjson": lambda: pl.scan_ndjson(path),
        ".jsonl": lambda: pl.scan_ndjson(path),
    }
    if suffix not in readers:
        raise InputError(
            f"input file must end in .csv, .parquet, .ndjson or .jsonl. Got '{path.name}' instead.",
            "input",
            "format",
        )
    return readers[suffix]()


OUTPUTS = (".parquet", ".csv")


def score_file(
    scorer: Scorer,
    source: str | os.PathLike[str] | pl.LazyFrame,
    target: str | os.PathLike[str],
    *,
    keep: list[str] | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> int:
    """Score every row of `source` (a file, or a LazyFrame) into `target`; returns the number
    of rows. The output holds the `keep` columns of the input, then the scorer's columns, in
    input order."""
    dest = Path(target)
    src = source if isinstance(source, pl.LazyFrame) else Path(source)
    if dest.suffix.lower() not in OUTPUTS:
        raise InputError(
            f"output file must end in .parquet or .csv. Got '{dest.name}' instead.",
            "output",
            "format",
        )
    lf = src if isinstance(src, pl.LazyFrame) else _scan(src, scorer)
    keep = list(keep or [])
    try:
        schema = lf.collect_schema()
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InputError(f"cannot read {_name(src)}: {exc}", "input", "read") from None
    missing = [c for c in [*keep, *(c["name"] for c in scorer.inputs)] if c not in schema]
    if missing:
        raise InputError(
            f"{_name(src)} has no column(s) {', '.join(map(repr, missing))}; the model needs "
            + ", ".join(c["name"] for c in scorer.inputs),
            missing[0],
            "missing_column",
        )
    wanted = list(dict.fromkeys([*keep, *(c["name"] for c in scorer.inputs)]))
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = dest.parent / f".{dest.name}.tmp-{secrets.token_hex(4)}"
    staging.mkdir()
    rows = 0
    try:
        parts: list[Path] = []
        csv_out = staging / "out.csv"
        for i, chunk in enumerate(lf.select(wanted).collect_batches(chunk_size=chunk_rows)):
            scored = scorer.predict(chunk)
            out = pl.concat([chunk.select(keep), scored], how="horizontal") if keep else scored
            rows += out.height
            if dest.suffix.lower() == ".csv":
                with open(csv_out, "a", encoding="utf-8") as fh:
                    out.write_csv(fh, include_header=i == 0)
            else:
                parts.append(staging / f"part-{i:06d}.parquet")
                out.write_parquet(parts[-1])
        final = staging / "final"
        if dest.suffix.lower() == ".csv":
            if not csv_out.exists():
                _empty(scorer, keep, schema).write_csv(csv_out)
            os.replace(csv_out, final)
        elif parts:
            pl.scan_parquet(parts).sink_parquet(final)
        else:
            _empty(scorer, keep, schema).write_parquet(final)
        os.replace(final, dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return rows


def _empty(scorer: Scorer, keep: list[str], schema: Any) -> pl.DataFrame:
    cols = {k: pl.Series(k, [], dtype=schema[k]) for k in keep}
    cols.update({c: pl.Series(c, [], dtype=pl.Float64) for c in scorer.output_columns()})
    cols["version"] = pl.Series("version", [], dtype=pl.String)
    return pl.DataFrame(list(cols.values()))


def _name(src: Path | pl.LazyFrame) -> str:
    return "the input table" if isinstance(src, pl.LazyFrame) else str(src)


def publish(scores: Path, dest: Path) -> bool:
    """Copy a score step's output to `dest` unless it already holds the same bytes; True if
    it was written (through a temporary file renamed into place)."""
    same_size = dest.is_file() and dest.stat().st_size == scores.stat().st_size
    if same_size and dest.read_bytes() == scores.read_bytes():
        return False
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.parent / f".{dest.name}.tmp-{secrets.token_hex(4)}"
    try:
        shutil.copyfile(scores, tmp)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return True
