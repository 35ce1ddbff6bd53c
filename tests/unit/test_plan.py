"""The Plan: stable order, cycles and dangling inputs as compile errors, dbt-style selection."""

from __future__ import annotations

import subprocess
import sys

import pytest

from mlspec.compile.node import Step
from mlspec.compile.plan import Plan, PlanError


def _plan() -> Plan:
    return Plan.from_steps(
        [
            Step("split", "split", None, {("data",): "features"}),
            Step("load.b", "load", None),
            Step("features", "features", None, {("data",): "join"}),
            Step("load.a", "load", None),
            Step("join", "join", None, {("a",): "load.a", ("b",): "load.b"}),
            Step("train.o.m", "train", None, {("data",): "features", ("split",): "split"}),
        ]
    )


def test_order_is_topological_and_stable() -> None:
    plan = _plan()
    assert plan.order() == ["load.a", "load.b", "join", "features", "split", "train.o.m"]
    assert plan.parents("train.o.m") == ["features", "split"]
    assert plan.upstream("split") == {"load.a", "load.b", "join", "features"}
    assert plan.downstream("join") == {"features", "split", "train.o.m"}
    assert plan.edges()[0] == ("features", "split")


def test_networkx_view_agrees() -> None:
    plan = _plan()
    import networkx as nx

    assert sorted(plan.graph.edges) == plan.edges()
    assert list(nx.lexicographical_topological_sort(plan.graph)) == plan.order()
    assert plan.graph.nodes["join"]["step"].kind == "join"


def test_a_cycle_is_a_compile_error_that_names_it() -> None:
    with pytest.raises(PlanError, match=r"cycle: b -> c -> a -> b"):
        Plan.from_steps(
            [
                Step("a", "x", None, {("i",): "c"}),
                Step("b", "x", None, {("i",): "a"}),
                Step("c", "x", None, {("i",): "b"}),
                Step("d", "x", None, {("i",): "c"}),
            ]
        )


def test_dangling_input_and_duplicate_id() -> None:
    with pytest.raises(PlanError, match="reads input 'i' from 'nowhere', which is not a step"):
        Plan.from_steps([Step("a", "x", None, {("i",): "nowhere"})])
    with pytest.raises(PlanError, match="two steps have the id 'a'"):
        Plan.from_steps([Step("a", "x", None), Step("a", "y", None)])


def test_selection() -> None:
    plan = _plan()
    assert plan.select(["features+"]) == {"features", "split", "train.o.m"}
    assert plan.select(["+join"]) == {"load.a", "load.b", "join"}
    assert plan.select(["load"]) == {"load.a", "load.b"}
    assert plan.select(["join,split"]) == {"join", "split"}
    with pytest.raises(PlanError, match="did you mean 'features'"):
        plan.select(["featurs"])


def test_planning_does_not_import_networkx() -> None:
    code = (
        "import sys\n"
        "from mlspec.lang.validate import load_spec\n"
        "from mlspec.compile.planner import compile_plan\n"
        "compile_plan(load_spec('examples/feed_ranking/spec.yaml')).order()\n"
        "print('networkx' in sys.modules)\n"
    )
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"
