"""Monitoring parts without a run: current data's column problems, alert channels."""

from __future__ import annotations

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
