"""Where a joined column comes from (`mlspec.lang.joins`), and `Spec.origin`'s wording."""

from __future__ import annotations

from mlspec.lang.joins import column_origins, joined_columns


def test_keys_appear_once_and_clashing_names_get_the_suffix() -> None:
    cols = joined_columns(["id", "x", "y"], ["id", "x", "z"], ["id"], "left", "_r")
    assert cols == ["id", "x", "y", "x_r", "z"]


def test_semi_and_anti_joins_add_no_column() -> None:
    for how in ("semi", "anti"):
        assert joined_columns(["id", "x"], ["id", "z"], ["id"], how, "_r") == ["id", "x"]


def test_origins_follow_renames_through_several_joins() -> None:
    origins = column_origins(
        {"a": ["id", "x"], "b": ["id", "x", "t"], "c": ["id", "x"]},
        [("a", "b", ["id"], "left", "_b"), ("a", "c", ["id"], "inner", "_c")],
    )
    assert origins == {
        "id": ("a", "id"),
        "x": ("a", "x"),
        "x_b": ("b", "x"),
        "t": ("b", "t"),
        "x_c": ("c", "x"),
    }


def test_tracking_stops_at_a_source_that_declares_no_columns() -> None:
    origins = column_origins(
        {"a": ["id", "x"], "b": None, "c": ["id", "w"]},
        [("a", "b", ["id"], "left", "_r"), ("a", "c", ["id"], "left", "_r")],
    )
    assert origins == {"id": ("a", "id"), "x": ("a", "x")}
    assert column_origins({"a": None}, []) == {}
    assert column_origins({"a": ["x"], "b": ["y"]}, []) == {}  # no table without joins


def test_spec_origin_names_the_source_and_its_file() -> None:
    from mlspec.lang.validate import validate_text

    text = """\
mlspec: 1
name: t
data:
  sources:
    people: {path: data/people.csv, columns: {id: int, age: int}}
    labels: {path: data/labels.parquet, columns: {id: int, age: int, bought: int}}
  joins:
    - {left: people, right: labels, on: id, how: left, suffix: _l}
features: [{name: age}]
objectives:
  buys: {task: binary, target: bought, models: [{name: lr, type: logistic_regression}]}
"""
    result = validate_text(text, "spec.yaml")
    assert not result.diagnostics, result.diagnostics
    spec = result.spec
    assert spec.origin(["bought"]) == "column 'bought' of source 'labels' (data/labels.parquet)"
    assert spec.origin(["age_l"]) == "column 'age' of source 'labels' (data/labels.parquet)"
    assert spec.origin(["age"]) == "column 'age' of source 'people' (data/people.csv)"
    assert spec.origin(["nope"]) is None
