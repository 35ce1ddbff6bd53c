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
from mlspec.lang.spec import Spec


@dataclass
class PlanBuilder:
    spec: Spec
    steps: list[Step] = field(default_factory=list)
    # Well-known steps that later stages read from.
    table: str | None = None  # the joined table (or the only source's load step)
    checks: dict[str, str] = field(
        default_factory=dict
    )  # checks that must pass before `table` is used
    features: str | None = None
    split: str | None = None
    trains: dict[tuple[str, str], str] = field(
        default_factory=dict
    )  # (objective, model) -> train step
    evaluations: dict[str, dict[str, str]] = field(
        default_factory=dict
    )  # objective -> model -> evaluate step
    selects: dict[str, str] = field(default_factory=dict)  # objective -> select step
    package: str | None = None

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
                        {
                            "left": j.left,
                            "right": j.right,
                            "on": list(j.on),
                            "how": j.how,
                            "suffix": j.suffix,
                        }
                        for j in spec.joins
                    ],
                    "where": {
                        str(i): spec.where(("data", "joins", i)) for i in range(len(spec.joins))
                    },
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
    for monitor in spec.monitors:  # drift monitors may watch raw columns, not only features
        cols += monitor.get("columns", [])
    names = {f.name for f in spec.features}
    # Sorted: the order of objectives or monitors in the spec is no reason to rebuild features.
    return sorted(c for c in set(cols) if c not in names)


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
            params={
                "method": s.method,
                "test": s.test,
                "valid": s.valid,
                "seed": s.seed,
                "by": s.by,
            },
            reads={"data.split": spec.raw["data"].get("split", {})},
            description=f"{s.method} split",
        )
    )
    b.split = step.id


# ----------------------------------------------------------------------------- models


def _feature_params(spec: Spec, names: tuple[str, ...]) -> list[dict[str, Any]]:
    by_name = {f.name: f for f in spec.features}
    return [
        {
            "name": f.name,
            "type": f.type,
            "encoding": f.encoding,
            "impute": f.impute,
            "fill_value": f.fill_value,
            "scale": f.scale,
        }
        for f in (by_name[n] for n in names)
    ]


# What training needs of an objective; evaluation and reporting get all of it. Keeping train's
# params narrow means a new metric or slice re-evaluates but never refits.
TRAIN_KEYS = ("name", "task", "target", "features", "select_by", "higher_is_better")


def objective_params(spec: Spec, name: str, keys: tuple[str, ...] | None = None) -> dict[str, Any]:
    from mlspec.lang.metrics_table import METRICS

    o = spec.objectives[name]
    full = {
        "name": name,
        "task": o.task,
        "target": o.target,
        "features": _feature_params(spec, o.features),
        "metrics": list(o.metrics),
        "select_by": o.select_by,
        "higher_is_better": METRICS[o.select_by].higher_is_better,
        "threshold": o.threshold,
        "slices": list(o.slices),
        "protected": list(o.protected),
    }
    return full if keys is None else {k: full[k] for k in keys}


def _objective_reads(spec: Spec, name: str, *keys: str) -> dict[str, Any]:
    raw = spec.raw["objectives"][name]
    reads = {f"objectives.{name}.{k}": raw.get(k) for k in keys}
    feats = spec.objectives[name].features
    reads["features(used)"] = [f for f in spec.raw.get("features", []) if f["name"] in feats]
    return reads


BASELINE = "baseline"


@stage
def models_stage(b: PlanBuilder) -> None:
    """Per objective: trials, train, evaluate for each model (and the baseline), then select."""
    from mlspec.compile.search import trials

    spec = b.spec
    assert b.features is not None and b.split is not None
    data = {"data": b.features, "split": b.split}
    for name, o in spec.objectives.items():
        obj = objective_params(spec, name)
        evaluation = spec.objectives[name].evaluation
        train_obj = objective_params(spec, name, TRAIN_KEYS)
        models = [
            (
                m.name,
                m.type,
                m.params,
                m.search,
                m.resources,
                spec.raw["objectives"][name]["models"][i],
            )
            for i, m in enumerate(o.models)
        ]
        if o.baseline:
            dummy = {"strategy": "prior"} if o.task != "regression" else {"strategy": "mean"}
            models.append(
                (
                    BASELINE,
                    "dummy",
                    dummy,
                    None,
                    {},
                    {"name": BASELINE, "type": "dummy", "params": dummy},
                )
            )
        evals: dict[str, str] = {}
        for model_name, mtype, mparams, search, resources, raw_model in models:
            model = {"name": model_name, "type": mtype, "params": mparams}
            reads = _objective_reads(spec, name, "task", "target", "select_by")
            reads[f"objectives.{name}.models[{model_name}]"] = raw_model
            inputs = dict(data)
            search_params = None
            if search:
                search_params = {k: search.get(k) for k in ("method", "cv", "seed")}
                for k, trial_params in enumerate(trials(search)):
                    t = b.add(
                        Step(
                            id=f"trial.{name}.{model_name}.{k}",
                            kind="trial",
                            inputs=dict(data),
                            params={
                                "objective": train_obj,
                                "model": model,
                                "trial": {"index": k, "params": trial_params},
                                "search": search_params,
                            },
                            reads=reads,
                            resources=resources,
                            description=f"search trial {k} of {name}/{model_name}",
                        )
                    )
                    inputs[f"trial_{k}"] = t.id
            train = b.add(
                Step(
                    id=f"train.{name}.{model_name}",
                    kind="train",
                    inputs=inputs,
                    params={"objective": train_obj, "model": model, "search": search_params},
                    reads=reads,
                    resources=resources,
                    description=f"fit {mtype} for {name}",
                )
            )
            ev = b.add(
                Step(
                    id=f"evaluate.{name}.{model_name}",
                    kind="evaluate",
                    inputs={"model": train.id, **data},
                    params={
                        "objective": obj,
                        "model_name": model_name,
                        "bootstrap": {
                            "n": evaluation["bootstrap"],
                            "seed": spec.execution.get("seed", 0),
                        },
                        "importance": evaluation["importance"],
                    },
                    reads=_objective_reads(
                        spec,
                        name,
                        "task",
                        "target",
                        "metrics",
                        "threshold",
                        "slices",
                        "fairness",
                        "evaluation",
                    ),
                    description=f"evaluate {name}/{model_name} on the test split",
                )
            )
            evals[model_name] = ev.id
            b.trains[(name, model_name)] = train.id
        sel = b.add(
            Step(
                id=f"select.{name}",
                kind="select",
                inputs={f"eval_{m}": e for m, e in evals.items()},
                params={
                    "objective": obj,
                    "candidates": [m.name for m in o.models],
                    "baseline": BASELINE if o.baseline else None,
                },
                reads=_objective_reads(spec, name, "select_by", "metrics", "baseline"),
                description=f"pick the best model for {name}",
            )
        )
        b.selects[name] = sel.id
        b.evaluations[name] = evals


# ----------------------------------------------------------------------------- system


def _scale(spec: Spec) -> dict[str, str]:
    given = (spec.combine or {}).get("scale", {})
    return {
        name: given.get(name, "rank" if o.task == "regression" else "probability")
        for name, o in spec.objectives.items()
    }


@stage
def system_stage(b: PlanBuilder) -> None:
    """combine, gate, profile, package and report: the system around the objectives."""
    spec = b.spec
    evals = {
        f"eval_{o}_{m}": sid for o, by_model in b.evaluations.items() for m, sid in by_model.items()
    }
    selects = {f"select_{o}": sid for o, sid in b.selects.items()}
    combine_raw = spec.raw.get("combine")
    combine = b.add(
        Step(
            id="combine",
            kind="combine",
            inputs={**selects, **evals},
            params={
                "weights": spec.weights(),
                "scale": _scale(spec),
                "tasks": {n: o.task for n, o in spec.objectives.items()},
                "target": (spec.combine or {}).get("target"),
                "targets": {n: o.target for n, o in spec.objectives.items()},
                "metrics": list((spec.combine or {}).get("metrics", [])),
            },
            reads={
                "combine": combine_raw,
                "objectives.*.task": {n: o.task for n, o in spec.objectives.items()},
            },
            description="weight the objectives' scores into one",
        )
    )
    gate = b.add(
        Step(
            id="gate",
            kind="gate",
            inputs={**selects, **evals, "combine": combine.id},
            params={
                "objectives": {
                    n: {"gate": o.gate, "task": o.task} for n, o in spec.objectives.items()
                },
                "combine_gate": (spec.combine or {}).get("gate", {}),
            },
            reads={
                **{
                    f"objectives.{n}.gate": spec.raw["objectives"][n].get("gate", {})
                    for n in spec.objectives
                },
                "combine.gate": (combine_raw or {}).get("gate", {}),
            },
            description="check the thresholds",
        )
    )
    assert b.features is not None and b.split is not None and b.table is not None
    profile = b.add(
        Step(
            id="profile",
            kind="profile",
            inputs={"data": b.features, "split": b.split, "combine": combine.id},
            params={
                "monitors": list(spec.monitors),
                "features": _feature_params(spec, tuple(f.name for f in spec.features)),
            },
            reads={"monitors": spec.raw.get("monitors", [])},
            description="reference distributions for the monitors",
        )
    )
    trains = {f"train_{o}_{m}": sid for (o, m), sid in b.trains.items()}
    package = b.add(
        Step(
            id="package",
            kind="package",
            inputs={
                "gate": gate.id,
                "combine": combine.id,
                "profile": profile.id,
                "data": b.table,
                **selects,
                **trains,
            },
            params={
                "name": spec.name,
                "weights": spec.weights(),
                "objectives": {n: objective_params(spec, n) for n in spec.objectives},
                "features": [
                    {"name": f.name, "expr": f.expr, "type": f.type} for f in spec.features
                ],
                "deployment": spec.deployment,
            },
            reads={
                "name": spec.name,
                "deployment": spec.raw.get("deployment"),
                "features": spec.raw.get("features", []),
            },
            description="bundle the selected models for deployment",
        )
    )
    b.add(
        Step(
            id="report",
            kind="report",
            inputs={
                **selects,
                **evals,
                "combine": combine.id,
                "gate": gate.id,
                "profile": profile.id,
            },
            params={
                "name": spec.name,
                "description": spec.raw.get("description", ""),
                "problem": spec.problem,
                "objectives": {n: objective_params(spec, n) for n in spec.objectives},
            },
            reads={
                "name": spec.name,
                "description": spec.raw.get("description", ""),
                "problem": spec.raw.get("problem"),
            },
            description="the evaluation report (HTML)",
        )
    )
    b.package = package.id


@stage
def deployment_stage(b: PlanBuilder) -> None:
    """``deployment.target: batch``: a `score` step scores the batch input with the package."""
    dep = b.spec.deployment or {}
    if dep.get("target") != "batch" or b.package is None or b.table is None:
        return
    batch = dep.get("batch") or {}
    source = batch.get("input")
    b.add(
        Step(
            id="score",
            kind="score",
            inputs={"package": b.package, **({"data": b.table} if source is None else {})},
            params={"input": source, "format": batch.get("format", "parquet")},
            reads={"deployment.batch": (b.spec.raw.get("deployment") or {}).get("batch")},
            files=(source,) if source is not None else (),
            description="batch-score the input with the packaged bundle",
        )
    )
