"""Bad data at run time: a clear error naming the source, the column and the spec line, exit 1,
and nothing half-written in the store."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
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
    # The source declares `group: str`: validate refuses it before anything runs.
    proc = mlspec("run", str(spec))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert "spec.yaml:12:30: error: in feature 'log_income': log1p() needs a number" in proc.stderr
    # Without declared columns the dtype is known only to the run: the features step says it.
    text = spec.read_text()
    start = text.index("      columns:")
    spec.write_text(text[:start] + text[text.index("\n", start) + 1 :])
    _run_fails(spec, "step features failed", "log_income", "group")


@pytest.mark.parametrize("command", ["plan", "run", "graph"])
def test_invalid_spec_exits_2_with_diagnostics(tmp_path: Path, command: str) -> None:
    spec = _project(tmp_path, GOOD)
    spec.write_text(spec.read_text().replace("models:", "modles:"))
    proc = mlspec(command, str(spec))
    assert proc.returncode == 2
    assert "error: unknown key 'modles'" in proc.stderr and "did you mean 'models'" in proc.stderr
    assert "Traceback" not in proc.stderr


# ----------------------------------------------------------------------------- suite R5
# Bad data at train time and beyond: each a located error (exit 1, no traceback) or handled
# and reported. Full runs, not `--only +features`. Figures: docs/reliability.md, "Bad data (R5)".

R5 = pytest.mark.slow


def _run(spec: Path, *args: str) -> tuple[int, str]:
    proc = mlspec("run", str(spec), *args)
    out = proc.stdout + proc.stderr
    assert "Traceback" not in out, out
    assert proc.returncode in (0, 1), out
    return proc.returncode, out


def _people(n: int = 400, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, n)
    income = rng.uniform(500, 6000, n)
    bought = (rng.random(n) < 1 / (1 + np.exp(-(age - 45) / 10))).astype(np.int64)
    return pl.DataFrame(
        {
            "id": np.arange(n),
            "age": age,
            "income": income,
            "group": rng.choice(["a", "b", "c"], n),
            "bought": bought,
        }
    )


@R5
def test_nan_and_inf_in_a_csv_float_feature_are_named_apart(tmp_path: Path) -> None:
    df = _people().with_columns(income=pl.col("income").cast(pl.String))
    csv = df.with_columns(
        income=pl.when(pl.col("id").is_in([3, 9]))
        .then(pl.lit("NaN"))
        .when(pl.col("id") == 5)
        .then(pl.lit("inf"))
        .otherwise(pl.col("income"))
    )
    (tmp_path / "data").mkdir()
    csv.write_csv(tmp_path / "data" / "people.csv")
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC.format(path="data/people.csv"))
    code, out = _run(spec)
    assert code == 1
    assert "spec.yaml:12:5" in out  # the feature log_income
    assert "hold infinite values" in out and "Missing values (null or NaN) too" in out
    assert "impute:" in out


@R5
def test_a_file_name_with_glob_characters_is_read_as_it_is(tmp_path: Path) -> None:
    spec = _project(tmp_path, _people(), path="data/[b]c.parquet")
    code, out = _run(spec)
    assert code == 0, out


@R5
def test_a_single_class_target_points_at_the_spec(tmp_path: Path) -> None:
    spec = _project(tmp_path, _people().with_columns(bought=pl.lit(1)))
    code, out = _run(spec)
    assert code == 1
    assert "spec.yaml:17:13: target 'bought' has a single class" in out
    # ... and names the data file column it was read from
    assert "The target is column 'bought' of source 'people' (data/people.parquet)." in out


@R5
def test_a_joined_target_and_a_feature_name_their_source(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    people = _people().with_columns(
        income=pl.when(pl.col("id") % 3 == 0).then(None).otherwise(pl.col("income"))
    )
    people.drop("bought").write_parquet(tmp_path / "data" / "people.parquet")
    people.select("id", bought=pl.lit(0)).write_parquet(tmp_path / "data" / "labels.parquet")
    declared = JOINED.replace(
        "people: {{path: data/people.parquet}}",
        "people: {{path: data/people.parquet, columns: {{id: int, age: int, income: float, group: str}}}}",
    ).replace(
        "labels: {{path: data/labels.parquet}}",
        "labels: {{path: data/labels.parquet, columns: {{id: int, bought: int}}}}",
    )
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        declared.format(target="bought").replace(
            "{name: income}", "{name: log_income, expr: 'log1p(income)'}"
        )
    )
    code, out = _run(spec)
    assert code == 1
    assert "The target is column 'bought' of source 'labels' (data/labels.parquet)." in out
    people.drop("bought").with_columns(income=pl.col("income").fill_null(1.0)).write_parquet(
        tmp_path / "data" / "people.parquet"
    )
    _people().select("id", "bought").write_parquet(tmp_path / "data" / "labels.parquet")
    code, out = _run(spec)
    assert code == 0, out
    people.drop("bought").write_parquet(tmp_path / "data" / "people.parquet")
    code, out = _run(spec)
    assert code == 1
    assert "'log_income' reads column 'income' of source 'people' (data/people.parquet)." in out


@R5
def test_csv_parse_errors_give_the_row(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    lines = _people(60).write_csv().splitlines()
    lines[41] += ",1,2"
    (tmp_path / "data" / "people.csv").write_text("\n".join(lines) + "\n")
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC.format(path="data/people.csv"))
    err = _run_fails(spec, "step load.people failed", "row 41 (line 42)", "7 fields", "5")
    lines = _people(60).write_csv().splitlines()
    lines[20] = lines[20].replace(lines[20].split(",")[1], "forty", 1)
    (tmp_path / "data" / "people.csv").write_text("\n".join(lines) + "\n")
    err = _run_fails(spec, "row 20 (line 21), column 'age'", "'forty'")
    assert "spec.yaml:6:13" in err


JOINED = """\
mlspec: 1
name: joined
data:
  sources:
    people: {{path: data/people.parquet}}
    labels: {{path: data/labels.parquet}}
  joins:
    - {{left: people, right: labels, on: id, how: left}}
features:
  - {{name: age}}
  - {{name: income}}
objectives:
  buys:
    task: binary
    target: {target}
    models: [{{name: lr, type: logistic_regression}}]
"""


def _joined(tmp_path: Path, labels: pl.DataFrame, target: str = "bought") -> Path:
    (tmp_path / "data").mkdir(exist_ok=True)
    people = _people()
    people.drop("bought").write_parquet(tmp_path / "data" / "people.parquet")
    labels.write_parquet(tmp_path / "data" / "labels.parquet")
    spec = tmp_path / "spec.yaml"
    spec.write_text(JOINED.format(target=target))
    return spec


@R5
def test_a_left_join_matching_nothing_is_reported_as_such(tmp_path: Path) -> None:
    labels = _people().select(id=pl.col("id") + 10_000, bought=pl.col("bought"))
    code, out = _run(_joined(tmp_path, labels))
    assert code == 1
    assert "spec.yaml:8:7: join 0 (people + labels): no row of the left side found a match" in out
    assert "spec.yaml:15:13: target 'bought' has 400 missing value(s)" in out or "missing" in out


@R5
def test_duplicate_right_side_join_keys_are_warned(tmp_path: Path) -> None:
    labels = _people().select("id", "bought")
    code, out = _run(_joined(tmp_path, pl.concat([labels, labels.head(7)])))
    assert code == 0, out
    assert "14 rows of 'labels' share their key (id)" in out  # 7 pairs


@R5
def test_a_renamed_column_names_the_closest(tmp_path: Path) -> None:
    spec = _project(tmp_path, _people().rename({"bought": "purchased"}))
    code, out = _run(spec)
    assert code == 1
    assert "bought" in out and "purchased" in out and "spec.yaml" in out


@R5
def test_a_renamed_copy_of_the_target_is_warned_as_leakage(tmp_path: Path) -> None:
    df = _people()
    spec = _project(tmp_path, df.with_columns(income=pl.col("bought") * 1000.0))
    code, out = _run(spec)
    assert code == 0, out
    assert "possible target leakage in objective 'buys': feature 'log_income'" in out
    report = next((tmp_path / ".mlspec").glob("objects/*/*/report.html")).read_text()
    assert "possible target leakage" in report and "log_income" in report


@R5
def test_ten_thousand_columns_run(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    wide = pl.DataFrame({f"c{i}": rng.normal(size=200) for i in range(10_000)})
    df = pl.concat([_people(200), wide], how="horizontal")
    spec = _project(tmp_path, df)
    code, out = _run(spec)
    assert code == 0, out


@R5
def test_a_100k_level_categorical_is_encoded_for_its_width_and_warned(tmp_path: Path) -> None:
    n = 100_000
    df = _people(n).with_columns(group=pl.format("g{}", pl.col("id")))  # one level per row
    spec = _project(tmp_path, df)
    code, out = _run(spec)
    assert code == 0, out
    assert "categorical feature 'group' has" in out and "encoded with `target`" in out
