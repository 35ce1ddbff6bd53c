"""The one scheduling loop, tested directly: order, cache hits, failures.

The backend is the real local one, wrapped to record what the runner hands it.
"""

from __future__ import annotations

from concurrent.futures import Future
from pathlib import Path
from typing import ClassVar

import polars as pl

from mlspec.backends.local import LocalBackend
from mlspec.engine.assess import assess
from mlspec.engine.runner import run_plan
from mlspec.engine.task import StepResult, StepTask
from mlspec.lang.validate import load_spec

SPEC = """
mlspec: 1
name: tiny
data:
  sources:
    t:
      path: t.csv
      checks: [{column: x, not_null: true}]
  split: {method: random, test: 0.3, seed: 1}
features:
  - {name: x}
  - {name: z}
objectives:
  a:
    task: binary
    target: y
    features: [x]
    baseline: false
    evaluation: {bootstrap: 0, importance: false}
    models: [{name: lr, type: logistic_regression}]
  b:
    task: regression
    target: v
    features: [z]
    baseline: false
    evaluation: {bootstrap: 0, importance: false}
    models: [{name: lr, type: ridge}]
combine:
  weights: {a: 0.5, b: 0.5}
"""


class Recording(LocalBackend):
    name: ClassVar[str] = "recording"

    def __init__(self) -> None:
        super().__init__(workers=1)
        self.submitted: list[str] = []

    def submit(self, task: StepTask) -> Future[StepResult]:
        self.submitted.append(task.step_id)
        return super().submit(task)


def project(tmp_path: Path, x_null: bool = False) -> Path:
    n = 60
    xs = [float(i % 7) for i in range(n)]
    if x_null:
        xs[3] = None  # type: ignore[call-overload]
    pl.DataFrame(
        {
            "x": xs,
            "z": [float(i % 5) for i in range(n)],
            "y": [i % 2 for i in range(n)],
            "v": [float(i % 9) for i in range(n)],
        }
    ).write_csv(tmp_path / "t.csv")
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    return spec


def run(spec: Path) -> tuple[Recording, object]:
    a = assess(load_spec(spec), spec.parent / ".mlspec")
    backend = Recording()
    try:
        result = run_plan(a, backend, backend_name="recording")
    finally:
        backend.close()
    return backend, result


def test_steps_are_submitted_after_their_inputs_in_a_stable_order(tmp_path: Path) -> None:
    spec = project(tmp_path)
    backend, result = run(spec)
    a = assess(load_spec(spec), tmp_path / ".mlspec")
    order = backend.submitted
    assert result.status == "succeeded"  # type: ignore[attr-defined]
    assert sorted(order) == sorted(a.plan.order())
    for sid in order:
        for parent in a.plan.parents(sid):
            assert order.index(parent) < order.index(sid), (parent, sid)
    (tmp_path / "again").mkdir()
    again, _ = run(project(tmp_path / "again"))
    assert again.submitted == order  # same plan, same order


def test_cached_steps_are_never_submitted(tmp_path: Path) -> None:
    spec = project(tmp_path)
    run(spec)
    backend, result = run(spec)
    assert backend.submitted == []
    assert all(r.cache_hit for r in result.results.values())  # type: ignore[attr-defined]
    # a weight change submits combine and what follows it, nothing else
    spec.write_text(SPEC.replace("weights: {a: 0.5, b: 0.5}", "weights: {a: 0.7, b: 0.3}"))
    backend, _ = run(spec)
    assert set(backend.submitted) == {"combine", "gate", "profile", "package", "report"}


def test_a_failure_submits_none_of_its_descendants(tmp_path: Path) -> None:
    spec = project(tmp_path, x_null=True)  # check.t fails: x holds a null
    backend, result = run(spec)
    a = assess(load_spec(spec), tmp_path / ".mlspec")
    assert result.status == "failed"  # type: ignore[attr-defined]
    assert [r.step_id for r in result.failed] == ["check.t"]  # type: ignore[attr-defined]
    assert not set(backend.submitted) & a.plan.downstream("check.t")
    assert set(result.skipped) == a.plan.downstream("check.t")  # type: ignore[attr-defined]


def test_a_changed_feature_of_one_objective_reruns_only_that_objective(tmp_path: Path) -> None:
    spec = project(tmp_path)
    run(spec)
    spec.write_text(SPEC.replace("  - {name: z}", '  - {name: z, expr: "z * 2"}'))
    backend, result = run(spec)
    assert result.status == "succeeded"  # type: ignore[attr-defined]
    ran = set(backend.submitted)
    assert {"features", "train.b.lr", "evaluate.b.lr", "select.b"} <= ran
    assert not {s for s in ran if ".a." in s or s.endswith(".a")}
    assert "split" not in ran
