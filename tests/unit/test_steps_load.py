from __future__ import annotations

import datetime as dt
import os
import sqlite3
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from steps_fakes import FakeContext

from mlspec.contract.api import StepError
from mlspec.steps import load

WHERE = "spec.yaml:12:7"

FRAME = pl.DataFrame(
    {
        "id": [1, 2, 3],
        "name": ["a", "b", None],
        "score": [0.5, 1.5, None],
        "flag": [True, False, True],
    }
)


def _source(path: str, fmt: str, **extra: Any) -> dict[str, Any]:
    return {"path": path, "format": fmt, "query": None, "separator": ",", "columns": None, **extra}


def _run(root: Path, source: dict[str, Any], name: str = "posts") -> FakeContext:
    source = dict(source)
    external = source.pop("external", False)
    row_filter = source.pop("filter", None)
    params = {
        "source": source,
        "name": name,
        "where": WHERE,
        "external": external,
        "filter": row_filter,
    }
    ctx = FakeContext(params, spec_root=root)
    load.run(ctx)
    return ctx


def _fails(root: Path, source: dict[str, Any], *words: str) -> StepError:
    with pytest.raises(StepError) as info:
        _run(root, source)
    text = str(info.value)
    for word in words:
        assert word in text, (word, text)
    return info.value


def _sqlite(path: Path, rows: list[tuple[Any, ...]] | None = None) -> None:
    con = sqlite3.connect(path)
    con.execute("create table t (id integer, name text, score real, day text, empty integer)")
    con.executemany(
        "insert into t values (?, ?, ?, ?, ?)",
        rows
        if rows is not None
        else [(1, "a", 0.5, "2024-01-02", None), (2, "b", None, "2024-01-03", None)],
    )
    con.commit()
    con.close()


# ---------------------------------------------------------------------------------- formats


def test_parquet(tmp_path: Path) -> None:
    FRAME.write_parquet(tmp_path / "d.parquet")
    ctx = _run(tmp_path, _source("d.parquet", "parquet"))
    assert ctx.output.frames["data"].equals(FRAME)
    assert ctx.output.metrics == {"rows": 3.0}


def test_csv(tmp_path: Path) -> None:
    FRAME.write_csv(tmp_path / "d.csv")
    out = _run(tmp_path, _source("d.csv", "csv")).output.frames["data"]
    assert out.equals(FRAME)


def test_csv_separator_and_dates(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text(
        "id;day;at\n1;2024-01-02;2024-01-02 10:00:00\n2;2024-02-03;2024-02-03 11:30:00\n"
    )
    out = _run(tmp_path, _source("d.csv", "csv", separator=";")).output.frames["data"]
    assert out.schema == pl.Schema({"id": pl.Int64, "day": pl.Date, "at": pl.Datetime("us")})
    assert out["day"][1] == dt.date(2024, 2, 3)


def test_csv_dtypes_use_every_row(tmp_path: Path) -> None:
    # A float after many integers: inference on the first 100 rows would say Int64 and fail.
    lines = ["x"] + [str(i) for i in range(500)] + ["0.5"]
    (tmp_path / "d.csv").write_text("\n".join(lines) + "\n")
    out = _run(tmp_path, _source("d.csv", "csv")).output.frames["data"]
    assert out.schema["x"] == pl.Float64
    assert out.height == 501


def test_csv_declared_str_keeps_text(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("zip,n\n00123,1\n04567,2\n")
    out = _run(tmp_path, _source("d.csv", "csv", columns={"zip": "str", "n": "int"})).output.frames[
        "data"
    ]
    assert out["zip"].to_list() == ["00123", "04567"]


@pytest.mark.parametrize("undeclared", [False, True])
def test_csv_with_declared_columns_reads_their_dtypes(tmp_path: Path, undeclared: bool) -> None:
    """All columns declared: read with that schema (nothing inferred); else the rest is inferred."""
    extra = ",note" if undeclared else ""
    rows = [
        f"{i},{i / 4},{'yes' if i % 2 else 'no'},{str(i % 2 == 0).lower()}{',x' if undeclared else ''}"
        for i in range(12_000)
    ]
    (tmp_path / "d.csv").write_text("\n".join([f"id,score,seg,flag{extra}", *rows]) + "\n")
    cols = {"id": "int", "score": "float", "seg": "categorical", "flag": "bool"}
    out = _run(tmp_path, _source("d.csv", "csv", columns=cols)).output.frames["data"]
    want = {"id": pl.Int64, "score": pl.Float64, "seg": pl.String, "flag": pl.Boolean}
    assert {c: out.schema[c] for c in cols} == want and out.height == 12_000
    assert out.columns == [*cols, *(["note"] if undeclared else [])]
    assert out["flag"].sum() == 6_000 and out["score"][5] == 1.25


@pytest.mark.parametrize("undeclared", [False, True])
def test_csv_value_that_does_not_parse_as_declared(tmp_path: Path, undeclared: bool) -> None:
    """A bad value past the inference window fails in both paths, naming the source."""
    rows = [f"{i},a" for i in range(11_000)] + ["12x,b"]
    (tmp_path / "d.csv").write_text("\n".join(["id,seg", *rows]) + "\n")
    cols = {"id": "int"} if undeclared else {"id": "int", "seg": "str"}
    _fails(
        tmp_path,
        _source("d.csv", "csv", columns=cols),
        "source 'posts'",
        "cannot read 'd.csv' as csv",
        "12x",
    )


def test_ndjson(tmp_path: Path) -> None:
    FRAME.write_ndjson(tmp_path / "d.ndjson")
    out = _run(tmp_path, _source("d.ndjson", "ndjson")).output.frames["data"]
    assert out.equals(FRAME)


def test_ndjson_dates_as_text_are_parsed_when_declared(tmp_path: Path) -> None:
    (tmp_path / "d.ndjson").write_text(
        '{"id": 1, "day": "2024-01-02", "at": "2024-01-02T10:00:00"}\n'
        '{"id": 2, "day": null, "at": "2024-01-03T00:00:00"}\n'
    )
    cols = {"id": "int", "day": "date", "at": "datetime"}
    out = _run(tmp_path, _source("d.ndjson", "ndjson", columns=cols)).output.frames["data"]
    assert out.schema["day"] == pl.Date
    assert out.schema["at"] == pl.Datetime("us")
    assert out["day"].to_list() == [dt.date(2024, 1, 2), None]


def test_text_that_is_not_a_date_fails(tmp_path: Path) -> None:
    (tmp_path / "d.ndjson").write_text('{"day": "2024-01-02"}\n{"day": "soon"}\n')
    _fails(
        tmp_path,
        _source("d.ndjson", "ndjson", columns={"day": "date"}),
        "column 'day' of source 'posts' must be date. Got String instead",
        WHERE,
    )


def test_sqlite(tmp_path: Path) -> None:
    _sqlite(tmp_path / "d.sqlite")
    src = _source(
        "d.sqlite",
        "sqlite",
        query="select * from t order by id",
        columns={"id": "int", "name": "str", "score": "float", "day": "date", "empty": "int"},
    )
    out = _run(tmp_path, src).output.frames["data"]
    assert out.schema == pl.Schema(
        {"id": pl.Int64, "name": pl.String, "score": pl.Float64, "day": pl.Date, "empty": pl.Int64}
    )
    assert out["score"].to_list() == [0.5, None]


def test_sqlite_without_declared_columns(tmp_path: Path) -> None:
    _sqlite(tmp_path / "d.db")
    out = _run(tmp_path, _source("d.db", "sqlite", query="select id, name from t")).output.frames[
        "data"
    ]
    assert out.to_dict(as_series=False) == {"id": [1, 2], "name": ["a", "b"]}


def test_sqlite_bad_query(tmp_path: Path) -> None:
    _sqlite(tmp_path / "d.sqlite")
    _fails(
        tmp_path,
        _source("d.sqlite", "sqlite", query="select * from nope"),
        "no such table: nope",
        "query",
    )


def test_sqlite_needs_a_query(tmp_path: Path) -> None:
    _sqlite(tmp_path / "d.sqlite")
    _fails(tmp_path, _source("d.sqlite", "sqlite"), "needs a `query`", WHERE)


def test_sqlite_empty_result(tmp_path: Path) -> None:
    _sqlite(tmp_path / "d.sqlite")
    _fails(
        tmp_path,
        _source("d.sqlite", "sqlite", query="select * from t where id > 99"),
        "no rows",
        "query",
    )


# ---------------------------------------------------------------------------- declared columns


def test_declared_columns_pass_with_compatible_dtypes(tmp_path: Path) -> None:
    df = pl.DataFrame(
        {
            "i": pl.Series([1, 2], dtype=pl.Int32),
            "f": pl.Series([1, 2], dtype=pl.UInt8),  # float accepts integers
            "s": ["a", "b"],
            "c": pl.Series(["x", "y"], dtype=pl.Categorical),
            "e": pl.Series(["x", "y"], dtype=pl.Enum(["x", "y"])),
            "b": [True, False],
            "d": [dt.date(2024, 1, 1), dt.date(2024, 1, 2)],
            "t": [dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 2)],
        }
    )
    df.write_parquet(tmp_path / "d.parquet")
    cols = {
        "i": "int",
        "f": "float",
        "s": "categorical",
        "c": "str",
        "e": "categorical",
        "b": "bool",
        "d": "date",
        "t": "datetime",
    }
    out = _run(tmp_path, _source("d.parquet", "parquet", columns=cols)).output.frames["data"]
    assert out.equals(df)


def test_declared_date_widens_to_datetime(tmp_path: Path) -> None:
    pl.DataFrame({"d": [dt.date(2024, 1, 1)]}).write_parquet(tmp_path / "d.parquet")
    out = _run(tmp_path, _source("d.parquet", "parquet", columns={"d": "datetime"})).output.frames[
        "data"
    ]
    assert out["d"].to_list() == [dt.datetime(2024, 1, 1)]


@pytest.mark.parametrize(
    ("values", "declared", "got"),
    [
        (["1", "2"], "int", "String"),
        ([1.5, 2.0], "int", "Float64"),
        (["a", "b"], "float", "String"),
        ([1, 2], "str", "Int64"),
        ([1, 0], "bool", "Int64"),
        ([True, False], "int", "Boolean"),
        ([dt.datetime(2024, 1, 1, 10, 30), None], "date", "Datetime"),  # a time of day
        ([1, 2], "categorical", "Int64"),
    ],
)
def test_declared_dtype_mismatch(
    tmp_path: Path, values: list[Any], declared: str, got: str
) -> None:
    pl.DataFrame({"x": values}).write_parquet(tmp_path / "d.parquet")
    err = _fails(
        tmp_path,
        _source("d.parquet", "parquet", columns={"x": declared}),
        f"column 'x' of source 'posts' must be {declared}. Got {got} instead.",
    )
    assert err.where == WHERE


def test_declared_mismatches_are_all_listed(tmp_path: Path) -> None:
    pl.DataFrame({"x": ["a"], "y": ["b"]}).write_parquet(tmp_path / "d.parquet")
    _fails(
        tmp_path,
        _source("d.parquet", "parquet", columns={"x": "int", "y": "bool"}),
        "column 'x' of source 'posts' must be int",
        "column 'y' of source 'posts' must be bool",
    )


def test_declared_column_missing(tmp_path: Path) -> None:
    pl.DataFrame({"post_id": [1], "topic": ["a"]}).write_parquet(tmp_path / "d.parquet")
    err = _fails(
        tmp_path,
        _source("d.parquet", "parquet", columns={"postid": "int", "topik": "str", "zzz": "int"}),
        "source 'posts'",
        "'postid'",
        "'topik'",
        "'zzz'",
        "did you mean 'post_id'",
        "'topic'",
        WHERE,
    )
    assert err.details["missing"] == ["postid", "topik", "zzz"]


def test_unknown_declared_dtype(tmp_path: Path) -> None:
    FRAME.write_parquet(tmp_path / "d.parquet")
    _fails(
        tmp_path,
        _source("d.parquet", "parquet", columns={"id": "integer"}),
        "unknown dtype",
        "integer",
    )


# ------------------------------------------------------------------------------- bad inputs


def test_empty_data(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("a,b\n")
    _fails(tmp_path, _source("d.csv", "csv"), "source 'posts'", "no rows", WHERE)
    FRAME.head(0).write_parquet(tmp_path / "d.parquet")
    _fails(tmp_path, _source("d.parquet", "parquet"), "no rows")


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_bytes(b"")
    _fails(tmp_path, _source("d.csv", "csv"), "empty (0 bytes)")


def test_missing_file(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    FRAME.write_parquet(tmp_path / "data" / "posts.parquet")
    err = _fails(
        tmp_path, _source("data/post.parquet", "parquet"), "not found", "data/post.parquet", WHERE
    )
    assert err.hint is not None and "posts.parquet" in err.hint
    err = _fails(tmp_path, _source("nowhere/x.csv", "csv"), "not found")
    assert err.hint is not None and "relative to the spec" in err.hint


def test_missing_sqlite_file_is_not_created(tmp_path: Path) -> None:
    _fails(tmp_path, _source("d.sqlite", "sqlite", query="select 1"), "not found")
    assert not (tmp_path / "d.sqlite").exists()


def test_directory(tmp_path: Path) -> None:
    (tmp_path / "d.parquet").mkdir()
    _fails(tmp_path, _source("d.parquet", "parquet"), "is not a file")


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    FRAME.write_csv(tmp_path / "d.csv")

    def denied(path: Path, n: int = 16) -> bytes:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(load, "_read_head", denied)
    err = _fails(tmp_path, _source("d.csv", "csv"), "cannot be read", "permission denied")
    assert err.hint is not None and "read access" in err.hint


_UNREADABLE_PROBE = """
import sys
from pathlib import Path
from mlspec.steps import load
from mlspec.contract.api import StepError
from tests.unit.steps_fakes import FakeContext
root = Path(sys.argv[1])
ctx = FakeContext({"name": "d", "source": {"path": "d.csv", "format": "csv", "columns": None}}, spec_root=root)
try:
    load.run(ctx)
except StepError as exc:
    print(str(exc))
    sys.exit(0)
sys.exit("no StepError")
"""


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_unreadable_file_for_real(tmp_path: Path) -> None:
    """A real permission error. Root reads any file, so as root the read runs without the
    capabilities that let it (util-linux's setpriv drops CAP_DAC_OVERRIDE/READ_SEARCH)."""
    import shutil
    import subprocess
    import sys

    path = tmp_path / "d.csv"
    FRAME.write_csv(path)
    path.chmod(0)
    prefix: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        assert setpriv, "setpriv (util-linux) is needed to test permissions as root"
        drop = "-dac_override,-dac_read_search"
        prefix = [setpriv, "--bounding-set", drop, f"--inh-caps={drop}"]
    root = Path(__file__).resolve().parents[2]
    try:
        proc = subprocess.run(
            [*prefix, sys.executable, "-c", _UNREADABLE_PROBE, str(tmp_path)],
            capture_output=True,
            text=True,
            cwd=root,
            env={**os.environ, "PYTHONPATH": str(root)},
        )
    finally:
        path.chmod(0o644)
    assert proc.returncode == 0, proc.stderr
    assert "permission denied" in proc.stdout.lower()


def test_csv_named_parquet(tmp_path: Path) -> None:
    FRAME.write_csv(tmp_path / "d.parquet")
    err = _fails(tmp_path, _source("d.parquet", "parquet"), "cannot read 'd.parquet' as parquet")
    assert err.hint is not None and "format: csv" in err.hint
    assert "Traceback" not in str(err) and "Resolved plan" not in str(err)


def test_parquet_named_csv(tmp_path: Path) -> None:
    FRAME.write_parquet(tmp_path / "d.csv")
    err = _fails(tmp_path, _source("d.csv", "csv"), "cannot read 'd.csv' as csv", "parquet file")
    assert err.hint is not None and "format: parquet" in err.hint


def test_csv_read_as_ndjson(tmp_path: Path) -> None:
    FRAME.write_csv(tmp_path / "d.ndjson")
    _fails(tmp_path, _source("d.ndjson", "ndjson"), "cannot read 'd.ndjson' as ndjson")


def test_ndjson_read_as_sqlite(tmp_path: Path) -> None:
    FRAME.write_ndjson(tmp_path / "d.sqlite")
    _fails(
        tmp_path,
        _source("d.sqlite", "sqlite", query="select 1"),
        "cannot read 'd.sqlite' as sqlite",
    )


def test_garbage_parquet(tmp_path: Path) -> None:
    (tmp_path / "d.parquet").write_bytes(b"PAR1" + b"\x00" * 40)
    _fails(tmp_path, _source("d.parquet", "parquet"), "cannot read 'd.parquet' as parquet")


def test_unknown_format(tmp_path: Path) -> None:
    FRAME.write_csv(tmp_path / "d.txt")
    _fails(tmp_path, _source("d.txt", "excel"), "unknown format 'excel'")


def test_path_leaving_the_project(tmp_path: Path) -> None:
    root = tmp_path / "project"
    root.mkdir()
    FRAME.write_parquet(tmp_path / "outside.parquet")
    _fails(root, _source("../outside.parquet", "parquet"), "leaves the project")
    out = _run(root, _source("../outside.parquet", "parquet", external=True)).output.frames["data"]
    assert out.height == 3


def test_a_midnight_timestamp_declared_date_is_a_date(tmp_path: Path) -> None:
    """Issue 13.7: '2012-01-01T00:00:00.000000' in a column declared `date` loads as a date;
    a time of day says to declare `datetime`."""
    (tmp_path / "d.csv").write_text(
        "d,x\n2012-01-01T00:00:00.000000,1\n2012-01-02T00:00:00.000000,2\n"
    )
    c = _run(tmp_path, _source("d.csv", "csv", columns={"d": "date", "x": "int"}))
    frame = c.output.frames["data"]
    assert frame.schema["d"] == pl.Date
    assert frame["d"].to_list() == [dt.date(2012, 1, 1), dt.date(2012, 1, 2)]
    (tmp_path / "t.csv").write_text("d,x\n2012-01-01T10:30:00,1\n2012-01-02T00:00:00,2\n")
    _fails(
        tmp_path,
        _source("t.csv", "csv", columns={"d": "date", "x": "int"}),
        "time of day; declare the column `datetime` (1 row(s))",
    )


def test_a_row_filter_keeps_the_rows_where_it_holds(tmp_path: Path) -> None:
    """Issue 13.9: `where:` in the feature language; null counts as false; counted."""
    FRAME.write_parquet(tmp_path / "f.parquet")
    c = _run(tmp_path, {**_source("f.parquet", "parquet"), "filter": "score > 1 or name == 'a'"})
    assert c.output.frames["data"]["id"].to_list() == [1, 2]
    assert c.output.metrics["rows.filtered_out"] == 1.0
    _fails(tmp_path, {**_source("f.parquet", "parquet"), "filter": "score > 100"}, "keeps no row")
