"""The spec `alert.retrain` runs: the current data in place of the spec's, nothing else lost."""

from __future__ import annotations

from pathlib import Path

import yaml

from mlspec.lang.validate import validate_file
from mlspec.monitor.retrain import derived_spec

SPEC = """\
mlspec: 1
name: churn
data:
  sources:
    users: {path: data/users.csv, columns: {id: int, plan: str, churned: str}}
    extra: {path: data/extra.csv, columns: {id: int, visits: int}}
  joins:
    - {left: users, right: extra, on: id, how: left}
features:
  - {name: plan, type: categorical}
  - {name: visits}
objectives:
  churn:
    task: binary
    target: churned
    positive: no
    models: [{name: lr, type: logistic_regression}]
deployment:
  target: batch
  batch: {input: data/to_score.csv, output: scores.parquet}
"""


def test_the_derived_spec_reads_yaml_as_mlspec_does_and_drops_the_batch_input(
    tmp_path: Path,
) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    current = tmp_path / "current.parquet"
    doc = derived_spec(spec, current)
    # YAML 1.2: `no` is the class "no" (PyYAML's safe_load made it False, another class).
    assert doc["objectives"]["churn"]["positive"] == "no"
    assert doc["data"]["sources"] == {"current": {"path": str(current.resolve()), "external": True}}
    assert "joins" not in doc["data"]
    # The batch input is relative to the spec's folder, not the derived spec's: dropped, so
    # the retrain run scores its own test rows; the output stays.
    assert doc["deployment"] == {"target": "batch", "batch": {"output": "scores.parquet"}}
    # What retrain writes is a spec mlspec accepts, and means the same.
    out = tmp_path / "retrain" / "spec.yaml"
    out.parent.mkdir()
    out.write_text(yaml.safe_dump(doc, sort_keys=False))
    result = validate_file(out)
    assert result.ok, result.diagnostics
    assert result.spec is not None and result.spec.objectives["churn"].positive == "no"
