"""Spec -> Plan. Each stage adds the steps of one part of the system.

Stages are registered in order (data, features, split; the modeling stages register after
them) and share a `PlanBuilder` that knows which step holds the table, the features and the
split, so later stages attach without knowing how earlier ones were built.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mlspec.compile.node import Step
from mlspec.compile.plan import Plan
from mlspec.spec.model import Spec


@dataclass
class PlanBuilder:
    spec: Spec
    steps: list[Step] = field(default_factory=list)
    # Well-known steps that later stages read from.
    table: str | None = None  # the joined table (or the only source's load step)
    checks: dict[str, str] = field(default_factory=dict)  # checks that must pass before `table` is used
    features: str | None = None
    split: str | None = None

    def add(self, step: Step) -> Step:
        self.steps.append(step)
        return step


Stage = Callable[[PlanBuilder], None]
STAGES: list[Stage] = []


def stage(fn: Stage) -> Stage:
    STAGES.append(fn)
    return fn


def compile_plan(spec: Spec) -> Plan:
    builder = PlanBuilder(spec)
    for fn in STAGES:
        fn(builder)
    return Plan.from_steps(builder.steps)


def _source_slice(raw_source: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in raw_source.items() if k != "checks"}


@stage
def data_stage(b: PlanBuilder) -> None:
    spec = b.spec
    loads: dict[str, str] = {}
    checks: dict[str, str] = {}
    for name, src in spec.sources.items():
        raw = spec.raw["data"]["sources"][name]
        base = ("data", "sources", name)
        load = b.add(
            Step(
                id=f"load.{name}",
                kind="load",
                params={
                    "name": name,
                    "source": {
                        "path": src.path,
                        "format": src.format,
                        "query": src.query,
                        "separator": src.separator,
                        "columns": src.columns,
                    },
                    "where": spec.where((*base, "path")),
                },
                reads={f"data.sources.{name}": _source_slice(raw)},
                files=(src.path,),
                description=f"read {src.format} source '{name}'",
            )
        )
        loads[name] = load.id
        if src.checks:
            chk = b.add(
                Step(
                    id=f"check.{name}",
                    kind="check",
                    inputs={"data": load.id},
                    params={
                        "name": name,
                        "checks": [
                            {
                                "column": c.column,
                                "rules": c.rules,
                                "severity": c.severity,
                                "where": spec.where((*base, "checks", c.index)),
                            }
                            for c in src.checks
                        ],
                    },
                    reads={f"data.sources.{name}.checks": raw.get("checks", [])},
                    description=f"check source '{name}'",
                )
            )
            checks[name] = chk.id
    if spec.joins:
        inputs = dict(loads)
        inputs.update({f"check_{n}": cid for n, cid in checks.items()})
        join = b.add(
            Step(
                id="join",
                kind="join",
                inputs=inputs,
                params={
                    "joins": [
                        {"left": j.left, "right": j.right, "on": list(j.on), "how": j.how, "suffix": j.suffix}
                        for j in spec.joins
                    ],
                    "where": {str(i): spec.where(("data", "joins", i)) for i in range(len(spec.joins))},
                },
                reads={"data.joins": spec.raw["data"].get("joins", [])},
                description="join the sources",
            )
        )
        b.table = join.id
    else:
        (only,) = loads
        b.table = loads[only]
        b.checks = {f"check_{n}": cid for n, cid in checks.items()}


def carry_columns(spec: Spec) -> list[str]:
    """Columns the feature table keeps beside the features: targets, slices, split key, ..."""
    cols: list[str] = []
    for obj in spec.objectives.values():
        cols += [obj.target, *obj.slices, *obj.protected]
    if spec.split.by:
        cols.append(spec.split.by)
    if spec.combine and spec.combine.get("target"):
        cols.append(spec.combine["target"])
    names = {f.name for f in spec.features}
    return [c for c in dict.fromkeys(cols) if c not in names]


@stage
def features_stage(b: PlanBuilder) -> None:
    spec = b.spec
    assert b.table is not None
    inputs = {"data": b.table, **b.checks}
    carry = carry_columns(spec)
    step = b.add(
        Step(
            id="features",
            kind="features",
            inputs=inputs,
            params={
                "features": [
                    {
                        "name": f.name,
                        "expr": f.expr,
                        "type": f.type,
                        "encoding": f.encoding,
                        "impute": f.impute,
                        "fill_value": f.fill_value,
                        "scale": f.scale,
                        "where": spec.where(("features", f.index)),
                    }
                    for f in spec.features
                ],
                "carry": carry,
            },
            reads={
                "features": spec.raw.get("features", []),
                "objectives.*.target": sorted({o.target for o in spec.objectives.values()}),
                "carry": carry,
            },
            description="compute the features",
        )
    )
    b.features = step.id


@stage
def split_stage(b: PlanBuilder) -> None:
    spec = b.spec
    assert b.features is not None
    s = spec.split
    step = b.add(
        Step(
            id="split",
            kind="split",
            inputs={"data": b.features},
            params={"method": s.method, "test": s.test, "valid": s.valid, "seed": s.seed, "by": s.by},
            reads={"data.split": spec.raw["data"].get("split", {})},
            description=f"{s.method} split",
        )
    )
    b.split = step.id
