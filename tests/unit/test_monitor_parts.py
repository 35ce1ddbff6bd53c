"""Monitoring parts without a run: current data's column problems, alert channels."""

from __future__ import annotations

import datetime as dt
import json
import socket
from pathlib import Path

import polars as pl
import pytest

from mlspec.monitor import alerts, current
from mlspec.monitor.errors import MonitorError

FEATURES = [
    {"name": "log_followers", "expr": "log1p(author_followers)", "type": "numeric"},
    {"name": "topic", "expr": None, "type": "categorical"},
    {"name": "hour", "expr": "hour(posted_at)", "type": "numeric"},
    {"name": "n", "expr": None, "type": "numeric"},
]
KINDS = {f["name"]: f["type"] for f in FEATURES}


def test_each_column_gets_its_problem() -> None:
    raw = pl.DataFrame(
        {
            "author_followers": [1, 2, None],
            "posted_at": ["2024-01-01", "x", None],  # text: hour() cannot be computed
            "n": [None, None, None],
            "extra": [1, 2, 3],
        }
    )
    cur = current.prepare(raw, KINDS, FEATURES, [])
    assert set(cur.problems) == {"topic", "hour", "n"}
    assert "missing" in cur.problems["topic"] and "all null" in cur.problems["n"]
    assert cur.extra == ["extra"]
    assert cur.frame["log_followers"].dtype == pl.Float64


def test_another_dtype_is_named() -> None:
    raw = pl.DataFrame({"author_followers": [1], "topic": ["a"], "posted_at": [None], "n": ["x"]})
    cur = current.prepare(raw, KINDS, FEATURES, [])
    assert cur.problems["n"] == "dtype: must be numeric. Got String instead."


def test_reading_refuses_what_it_cannot_use(tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_text("a,b\n")
    (tmp_path / "bad.parquet").write_bytes(b"not parquet")
    for name, words in [
        ("empty.csv", "has no rows"),
        ("bad.parquet", "cannot read"),
        ("none.parquet", "does not exist"),
        ("x.xlsx", "must be a .parquet"),
    ]:
        with pytest.raises(MonitorError, match=words):
            current.read(tmp_path / name)


def test_jsonl_appends_and_a_dead_webhook_is_reported(tmp_path: Path) -> None:
    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    alert = {"monitor": "m", "type": "data_drift", "severity": "info", "summary": "s"}
    out = alerts.send(
        ["jsonl:out/alerts.jsonl", f"webhook:http://127.0.0.1:{port}/x", "log"], alert, tmp_path
    )
    assert [o["ok"] for o in out] == [True, False, True] and out[1]["error"]
    alerts.send(["jsonl:out/alerts.jsonl"], alert, tmp_path)
    lines = (tmp_path / "out" / "alerts.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == [alert, alert]


def test_a_folder_or_a_glob_is_every_readable_file_stacked(tmp_path: Path) -> None:
    """What `mlspec serve --log-requests` writes: Parquet parts (and a hidden temporary file
    being written, which is not read); columns missing from a part are null there."""
    log = tmp_path / "log"
    log.mkdir()
    pl.DataFrame({"a": [1, 2], "b": ["x", "y"]}).write_parquet(log / "requests-1.parquet")
    pl.DataFrame({"a": [3]}).write_parquet(log / "requests-2.parquet")
    (log / ".requests-3.parquet.tmp").write_bytes(b"half a file")
    (log / "notes.txt").write_text("not data")
    frame = current.read(log)
    assert frame.to_dict(as_series=False) == {"a": [1, 2, 3], "b": ["x", "y", None]}
    assert current.read(f"{log}/requests-*.parquet").equals(frame)
    assert current.read(log / "requests-2.parquet").height == 1

    pl.DataFrame({"a": [0.5]}).write_parquet(log / "requests-4.parquet")  # int and float stack
    assert current.read(log)["a"].to_list() == [1.0, 2.0, 3.0, 0.5]

    (tmp_path / "empty").mkdir()
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    pl.DataFrame({"a": [1]}).write_parquet(mixed / "1.parquet")
    pl.DataFrame({"a": [dt.date(2024, 1, 1)]}).write_parquet(mixed / "2.parquet")
    for target, words in [
        (tmp_path / "empty", "holds no .parquet"),
        (f"{tmp_path}/nothing-*.csv", "matches no .parquet"),
        (mixed, "do not stack: column 'a' is Date in one file and Int64 in another"),
    ]:
        with pytest.raises(MonitorError, match=words):
            current.read(target)


def test_a_data_quality_summary_counts_the_columns_it_could_not_check(tmp_path: Path) -> None:
    """It said "2 columns pass" while one of the two had not been profiled (status ERROR)."""
    from mlspec.monitor import monitors
    from mlspec.monitor.reference import Reference

    (tmp_path / "bundle.json").write_text(json.dumps({"features": [{"name": "n"}]}))
    profile = {
        "format": 2,
        "references": {
            "train": {
                "rows": 3,
                "columns": {"n": {"kind": "numeric", "min": 0.0, "max": 10.0}},
            }
        },
    }
    reference = Reference(tmp_path, 1, profile)
    cur = current.prepare(
        pl.DataFrame({"n": [1.0, 2.0, 3.0], "m": [1.0, 2.0, 3.0]}),
        {"n": "numeric", "m": "numeric"},
        [
            {"name": "n", "expr": None, "type": "numeric"},
            {"name": "m", "expr": None, "type": "numeric"},
        ],
        [],
    )
    ctx = monitors.Context(reference, cur, lambda f: f)
    m = {"name": "dq", "type": "data_quality", "columns": ["n", "m"]}
    result = monitors.data_quality(m, ctx)
    assert result.status == monitors.ERROR
    assert result.summary == "1 of 2 columns pass; 1 column(s) could not be checked: m"
