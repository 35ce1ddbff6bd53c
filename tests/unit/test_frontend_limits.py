"""Specs that `validate` accepted and then failed with a traceback (issue 19, item 2).

Each is now refused by `validate` with a located diagnostic; the specs in specs/invalid show
the exact positions. These tests cover what the corpus cannot: the file system around a spec,
and the commands run on such a spec.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mlspec.cli import main
from mlspec.lang.validate import validate_file

HEAD = """mlspec: 1
name: t
data:
  sources:
    s: {path: s.csv}
features: [{name: a}]
objectives:
  o: {task: binary, target: y, models: [{name: m, type: dummy}]}
"""


def _codes(spec: Path) -> list[tuple[int, int, str]]:
    return [(d.line, d.col, d.code) for d in validate_file(spec).diagnostics]


def test_store_under_a_file_and_output_a_folder(tmp_path: Path) -> None:
    (tmp_path / "blob").write_text("x")
    (tmp_path / "out").mkdir()
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        HEAD + "execution: {store: blob/store}\ndeployment: {target: batch, batch: {output: out}}\n"
    )
    assert _codes(spec) == [(9, 20, "path-kind"), (10, 45, "path-kind")]
    messages = [d.message for d in validate_file(spec).diagnostics]
    assert messages[0] == "execution.store 'blob/store': 'blob' is a file, not a folder"


def test_default_store_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / ".mlspec").write_text("not a folder")
    spec = tmp_path / "spec.yaml"
    spec.write_text(HEAD)
    assert [c for *_, c in _codes(spec)] == ["path-kind"]


def test_a_folder_where_it_belongs_is_fine(tmp_path: Path) -> None:
    (tmp_path / ".mlspec").mkdir()
    (tmp_path / "scores.parquet").write_text("old scores: overwritten")
    spec = tmp_path / "spec.yaml"
    spec.write_text(HEAD + "deployment: {target: batch}\n")
    assert _codes(spec) == []


@pytest.mark.parametrize(
    "extra",
    [
        "execution: {store: spec.yaml}\n",
        'description: "\\ud800"\n',
        "data2: 1\n".replace("data2: 1", 'name2: "\\0"'),
        "objectives2: 1\n".replace("objectives2: 1", "execution: {seed: 99999999999999999999999}"),
    ],
    ids=["store-file", "surrogate", "nul", "seed"],
)
def test_plan_and_graph_refuse_with_exit_2_not_a_traceback(
    tmp_path: Path, extra: str, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(HEAD + extra)
    for args in (["plan", str(spec)], ["graph", str(spec)], ["validate", str(spec)]):
        assert main(args) == 2, args
        err = capsys.readouterr()
        assert "Traceback" not in err.out + err.err
        assert "spec.yaml:9:" in err.out + err.err
