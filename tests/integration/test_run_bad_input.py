"""Bad data at run time: a clear error naming the source, the column and the spec line, exit 1,
and nothing half-written in the store."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import mlspec

SPEC = """\
mlspec: 1
name: bad_input
data:
  sources:
    people:
      path: {path}
      columns: {{id: int, age: int, income: float, group: str, bought: int}}
      checks:
        - {{column: age, min: 0, max: 120}}
features:
  - {{name: age}}
  - {{name: log_income, expr: "log1p(income)"}}
  - {{name: group, type: categorical}}
objectives:
  buys:
    task: binary
    target: bought
    models: [{{name: lr, type: logistic_regression}}]
"""

GOOD = pl.DataFrame(
    {
        "id": list(range(40)),
        "age": [20 + i % 50 for i in range(40)],
        "income": [1000.0 * (i + 1) for i in range(40)],
        "group": ["a", "b"] * 20,
        "bought": [i % 2 for i in range(40)],
    }
)


def _project(
    tmp_path: Path,
    frame: pl.DataFrame | None,
    path: str = "data/people.parquet",
    raw: bytes | None = None,
) -> Path:
    (tmp_path / "data").mkdir(exist_ok=True)
    if frame is not None:
        frame.write_parquet(tmp_path / path)
    if raw is not None:
        (tmp_path / path).write_bytes(raw)
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC.format(path=path))
    return spec


def _run_fails(spec: Path, *words: str) -> str:
    proc = mlspec("run", str(spec), "--only", "+features")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    err = proc.stderr
    assert "Traceback" not in err, err
    for word in words:
        assert word in err, f"{word!r} not in:\n{err}"
    assert "resume: mlspec run" in err
    store = spec.parent / ".mlspec"
    # Nothing half-written: every visible artifact is whole (its manifest verifies).
    for manifest in store.glob("objects/*/*/manifest.json"):
        m = json.loads(manifest.read_text())
        for name in m["files"]:
            assert (manifest.parent / name).is_file() or m["files"][name].get("external")
    return err


def test_missing_file(tmp_path: Path) -> None:
    spec = _project(tmp_path, None)
    _run_fails(
        spec, "step load.people failed", "source 'people'", "spec.yaml:6:13", "data/people.parquet"
    )


def test_wrong_format(tmp_path: Path) -> None:
    spec = _project(tmp_path, None, raw=b"id,age\n1,2\n")
    _run_fails(spec, "source 'people'", "parquet", "format:")


def test_missing_column_names_the_closest(tmp_path: Path) -> None:
    spec = _project(tmp_path, GOOD.rename({"income": "incme"}))
    _run_fails(spec, "source 'people'", "income", "incme")


def test_wrong_dtype(tmp_path: Path) -> None:
    spec = _project(tmp_path, GOOD.with_columns(pl.col("age").cast(pl.String)))
    _run_fails(spec, "column 'age' of source 'people' must be int", "String")


def test_empty_data(tmp_path: Path) -> None:
    spec = _project(tmp_path, GOOD.head(0))
    _run_fails(spec, "source 'people'", "no rows")


def test_failing_check_reports_the_rows(tmp_path: Path) -> None:
    spec = _project(
        tmp_path,
        GOOD.with_columns(pl.when(pl.col("id") < 3).then(-5).otherwise(pl.col("age")).alias("age")),
    )
    err = _run_fails(spec, "step check.people failed", "age", "min", "3", "spec.yaml:9:11")
    assert "-5" in err


def test_expression_on_wrong_dtype(tmp_path: Path) -> None:
    spec = _project(tmp_path, GOOD)
    spec.write_text(spec.read_text().replace('expr: "log1p(income)"', 'expr: "log1p(group)"'))
    _run_fails(spec, "step features failed", "log_income", "group")


@pytest.mark.parametrize("command", ["plan", "run", "graph"])
def test_invalid_spec_exits_2_with_diagnostics(tmp_path: Path, command: str) -> None:
    spec = _project(tmp_path, GOOD)
    spec.write_text(spec.read_text().replace("models:", "modles:"))
    proc = mlspec(command, str(spec))
    assert proc.returncode == 2
    assert "error: unknown key 'modles'" in proc.stderr and "did you mean 'models'" in proc.stderr
    assert "Traceback" not in proc.stderr
