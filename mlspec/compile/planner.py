"""Spec -> Plan. Each stage adds the steps of one part of the system.

Stages are registered in order (data, features, split; the modeling stages register after
them) and share a `PlanBuilder` that knows which step holds the table, the features and the
split, so later stages attach without knowing how earlier ones were built.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mlspec.compile.node import InputKey, Step
from mlspec.compile.plan import Plan, PlanError
from mlspec.lang.spec import Spec
from mlspec.steps.params import (
    CheckParams,
    CombineParams,
    EvaluateParams,
    FeaturesParams,
    GateParams,
    JoinParams,
    LoadParams,
    PackageParams,
    ProfileParams,
    ReportParams,
    ScoreParams,
    SelectParams,
    SplitParams,
    TrainParams,
    TrialParams,
)

Inputs = dict[InputKey, str]


def inputs(*groups: Mapping[InputKey, str]) -> Inputs:
    """One step's inputs from several groups; a key given twice is a planner bug, refused
    here, when the plan is built (as Kedro refuses two nodes writing one output)."""
    out: Inputs = {}
    for group in groups:
        for key, step_id in group.items():
            if any("/" in part for part in key):
                raise PlanError(f"input key {key!r} of step input {step_id}: a part holds '/'")
            if key in out and out[key] != step_id:
                raise PlanError(f"input {'/'.join(key)} is given twice ({out[key]} and {step_id})")
            out[key] = step_id
    return out


@dataclass
class PlanBuilder:
    spec: Spec
    steps: list[Step] = field(default_factory=list)
    # Well-known steps that later stages read from.
    table: str | None = None  # the joined table (or the only source's load step)
    checks: Inputs = field(default_factory=dict)  # checks that must pass before `table` is used
    features: str | None = None
    split: str | None = None
    trains: dict[tuple[str, str], str] = field(default_factory=dict)  # (objective, model) -> train
    evaluations: dict[str, dict[str, str]] = field(
        default_factory=dict
    )  # objective -> model -> evaluate
    selects: dict[str, str] = field(default_factory=dict)  # objective -> select step
    package: str | None = None

    def add(self, step: Step) -> Step:
        self.steps.append(step)
        return step

    def seed(self) -> int:
        return int(self.spec.execution.get("seed", 0))

    def threads(self) -> int:
        return int(self.spec.execution.get("threads", 1))


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


@stage
def data_stage(b: PlanBuilder) -> None:
    spec = b.spec
    loads: dict[str, str] = {}
    checks: Inputs = {}
    for name, src in spec.sources.items():
        base = ("data", "sources", name)
        load = b.add(
            Step(
                id=f"load.{name}",
                kind="load",
                params=LoadParams(
                    name=name,
                    source={
                        "path": src.path,
                        "format": src.format,
                        "query": src.query,
                        "separator": src.separator,
                        "columns": src.columns,
                    },
                    filter=src.filter,
                    external=src.external,
                    where=spec.where((*base, "path")),
                ),
                sources={
                    "name": f"data.sources.{name}",
                    "source": f"data.sources.{name}",
                    "filter": f"data.sources.{name}.where",
                    "external": f"data.sources.{name}.external",
                },
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
                    inputs={("data",): load.id},
                    params=CheckParams(
                        name=name,
                        checks=[
                            {
                                "column": c.column,
                                "rules": c.rules,
                                "severity": c.severity,
                                "where": spec.where((*base, "checks", c.index)),
                            }
                            for c in src.checks
                        ],
                    ),
                    sources={
                        "name": f"data.sources.{name}",
                        "checks": f"data.sources.{name}.checks",
                    },
                    description=f"check source '{name}'",
                )
            )
            checks[("check", name)] = chk.id
    if spec.joins:
        join = b.add(
            Step(
                id="join",
                kind="join",
                inputs=inputs({("source", n): sid for n, sid in loads.items()}, checks),
                params=JoinParams(
                    joins=[
                        {
                            "left": j.left,
                            "right": j.right,
                            "on": list(j.on),
                            "how": j.how,
                            "suffix": j.suffix,
                        }
                        for j in spec.joins
                    ],
                    where={
                        str(i): spec.where(("data", "joins", i)) for i in range(len(spec.joins))
                    },
                ),
                sources={"joins": "data.joins"},
                description="join the sources",
            )
        )
        b.table = join.id
    else:
        (only,) = loads
        b.table = loads[only]
        b.checks = checks


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
    carry = carry_columns(spec)
    step = b.add(
        Step(
            id="features",
            kind="features",
            inputs=inputs({("data",): b.table}, b.checks),
            params=FeaturesParams(
                features=[
                    {
                        "name": f.name,
                        "expr": f.expr,
                        "type": f.type,
                        "where": spec.where(("features", f.index)),
                    }
                    for f in spec.features
                ],
                carry=carry,
            ),
            sources={
                "features": "features",
                "carry": "objectives.*.target/slices/protected, data.split.by, monitors.*.columns",
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
    reads = (s.by,) if s.by and s.method != "random" else ()
    step = b.add(
        Step(
            id="split",
            kind="split",
            inputs={("data",): b.features},
            columns={("data",): reads},
            params=SplitParams(
                method=s.method,
                test=s.test,
                valid=s.valid,
                seed=s.seed,
                by=s.by,
                where=spec.where(("data", "split")),
            ),
            sources={f: f"data.split.{f}" for f in ("method", "test", "valid", "seed", "by")},
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


def _reads(feature: Any) -> list[str]:
    """The joined columns a feature reads: its expression's, or the column of its name."""
    if not feature.expr:
        return [feature.name]
    from mlspec.lang.expr import ExprError, columns, parse

    try:
        return sorted(columns(parse(feature.expr)))
    except ExprError:
        return []


# What training needs of an objective; evaluation and reporting get all of it. Keeping train's
# params narrow means a new metric or slice re-evaluates but never refits.
TRAIN_KEYS = (
    "name",
    "task",
    "target",
    "positive",
    "missing_target",
    "features",
    "select_by",
    "higher_is_better",
    "where",
)


def objective_params(spec: Spec, name: str, keys: tuple[str, ...] | None = None) -> dict[str, Any]:
    from mlspec.lang.metrics_table import METRICS

    o = spec.objectives[name]
    full = {
        "name": name,
        "task": o.task,
        "target": o.target,
        "positive": o.positive,
        "missing_target": o.missing_target,
        "features": _feature_params(spec, o.features),
        # Spec locations for errors found while running (never part of a fingerprint).
        "where": {
            "target": spec.where(("objectives", name, "target")),
            "features": {f.name: spec.where(("features", f.index)) for f in spec.features},
            # The columns of the data files they are read from, named in data errors.
            "origins": {
                "target": spec.origin([o.target]),
                "features": {f.name: spec.origin(_reads(f)) for f in spec.features},
            },
        },
        "metrics": list(o.metrics),
        "select_by": o.select_by,
        "higher_is_better": METRICS[o.select_by].higher_is_better,
        "threshold": o.threshold,
        "slices": list(o.slices),
        "protected": list(o.protected),
    }
    return full if keys is None else {k: full[k] for k in keys}


def objective_sources(name: str, field: str = "objective") -> dict[str, str]:
    """Where an objective's params come from: its section, and the top-level features."""
    return {
        field: f"objectives.{name}",
        f"{field}.features": "features",
        f"{field}.higher_is_better": f"objectives.{name}.select_by",
    }


def objective_columns(spec: Spec, name: str, *, evaluation: bool = False) -> tuple[str, ...]:
    """The feature-table columns an objective's steps read: decoupling down to the column."""
    o = spec.objectives[name]
    cols = [*o.features, o.target]
    if evaluation:
        cols += [*o.slices, *o.protected]
    return tuple(dict.fromkeys(cols))


BASELINE = "baseline"
# The baseline's train and evaluate are cheap: they yield to the models' when both are ready.
LOW = -1


@stage
def models_stage(b: PlanBuilder) -> None:
    """Per objective: trials, train, evaluate for each model (and the baseline), then select."""
    from mlspec.compile.search import trials

    spec = b.spec
    assert b.features is not None and b.split is not None
    data = {("data",): b.features, ("split",): b.split}
    run_sources = {"seed": "execution.seed", "threads": "execution.threads"}
    split = spec.split
    folds = {"method": split.method, "by": split.by}
    for name, o in spec.objectives.items():
        fit_cols = {("data",): objective_columns(spec, name)}
        # k-fold search folds follow a group or time split, so a trial also reads its `by`.
        kfold = split.method in ("group", "time") and split.by
        trial_cols = {("data",): (*objective_columns(spec, name), split.by)} if kfold else fit_cols
        eval_cols = {("data",): objective_columns(spec, name, evaluation=True)}
        obj = objective_params(spec, name)
        evaluation = spec.objectives[name].evaluation
        train_obj = objective_params(spec, name, TRAIN_KEYS)
        models = [(m.name, m.type, m.params, m.search, m.resources) for m in o.models]
        if o.baseline:
            dummy = {"strategy": "prior"} if o.task != "regression" else {"strategy": "mean"}
            models.append((BASELINE, "dummy", dummy, None, {}))
        evals: dict[str, str] = {}
        for model_name, mtype, mparams, search, resources in models:
            model = {"name": model_name, "type": mtype, "params": mparams}
            model_path = f"objectives.{name}.models[{model_name}]"
            if model_name == BASELINE:
                model_path = f"objectives.{name}.baseline"
            fit_sources = {**objective_sources(name), "model": model_path, **run_sources}
            trial_inputs: Inputs = {}
            search_params = None
            if search:
                search_params = {k: search.get(k) for k in ("method", "cv", "seed")}
                for k, trial_params in enumerate(trials(search)):
                    t = b.add(
                        Step(
                            id=f"trial.{name}.{model_name}.{k}",
                            kind="trial",
                            inputs=dict(data),
                            columns=trial_cols,
                            params=TrialParams(
                                objective=train_obj,
                                model=model,
                                trial={"index": k, "params": trial_params},
                                search=search_params,
                                seed=b.seed(),
                                threads=b.threads(),
                                folds=folds,
                            ),
                            sources={
                                **fit_sources,
                                "trial": f"{model_path}.search",
                                "search": f"{model_path}.search",
                                "folds": "data.split.method/by",
                            },
                            resources=resources,
                            description=f"search trial {k} of {name}/{model_name}",
                        )
                    )
                    trial_inputs[("trial", str(k))] = t.id
            train = b.add(
                Step(
                    id=f"train.{name}.{model_name}",
                    kind="train",
                    inputs=inputs(data, trial_inputs),
                    columns=fit_cols,
                    params=TrainParams(
                        objective=train_obj,
                        model=model,
                        search=search_params,
                        seed=b.seed(),
                        threads=b.threads(),
                    ),
                    sources={**fit_sources, "search": f"{model_path}.search"},
                    resources=resources,
                    description=f"fit {mtype} for {name}",
                    priority=LOW if model_name == BASELINE else 0,
                )
            )
            ev = b.add(
                Step(
                    id=f"evaluate.{name}.{model_name}",
                    kind="evaluate",
                    inputs=inputs({("model",): train.id}, data),
                    columns=eval_cols,
                    params=EvaluateParams(
                        objective=obj,
                        model_name=model_name,
                        bootstrap=int(evaluation["bootstrap"]),
                        importance=bool(evaluation["importance"]),
                        seed=b.seed(),
                        threads=b.threads(),
                    ),
                    sources={
                        **objective_sources(name),
                        "model_name": model_path,
                        "bootstrap": f"objectives.{name}.evaluation.bootstrap",
                        "importance": f"objectives.{name}.evaluation.importance",
                        **run_sources,
                    },
                    description=f"evaluate {name}/{model_name} on the test split",
                    priority=LOW if model_name == BASELINE else 0,
                )
            )
            evals[model_name] = ev.id
            b.trains[(name, model_name)] = train.id
        sel = b.add(
            Step(
                id=f"select.{name}",
                kind="select",
                inputs=inputs({("eval", m): e for m, e in evals.items()}),
                params=SelectParams(
                    objective=obj,
                    candidates=[m.name for m in o.models],
                    baseline=BASELINE if o.baseline else None,
                ),
                sources={
                    **objective_sources(name),
                    "candidates": f"objectives.{name}.models",
                    "baseline": f"objectives.{name}.baseline",
                },
                description=f"pick the best model for {name}",
            )
        )
        b.selects[name] = sel.id
        b.evaluations[name] = evals


# ----------------------------------------------------------------------------- system


def default_scale(task: str, objectives: int) -> str:
    """The scale of an objective that `combine.scale` does not list: a single objective's
    score is the final score as is; among several, a binary one is a probability already and
    the others become ranks."""
    if objectives == 1:
        return "identity"
    return "probability" if task == "binary" else "rank"


def _scale(spec: Spec) -> dict[str, str]:
    given = (spec.combine or {}).get("scale", {})
    n = len(spec.objectives)
    return {name: given.get(name, default_scale(o.task, n)) for name, o in spec.objectives.items()}


@stage
def system_stage(b: PlanBuilder) -> None:
    """combine, gate, profile, package and report: the system around the objectives."""
    spec = b.spec
    evals = {
        ("eval", o, m): sid for o, by_model in b.evaluations.items() for m, sid in by_model.items()
    }
    selects = {("select", o): sid for o, sid in b.selects.items()}
    combine = b.add(
        Step(
            id="combine",
            kind="combine",
            inputs=inputs(selects, evals),
            params=CombineParams(
                weights=spec.weights(),
                scale=_scale(spec),
                tasks={n: o.task for n, o in spec.objectives.items()},
                target=(spec.combine or {}).get("target"),
                targets={n: o.target for n, o in spec.objectives.items()},
                positives={n: o.positive for n, o in spec.objectives.items()},
                metrics=list((spec.combine or {}).get("metrics", [])),
            ),
            sources={
                "weights": "combine.weights",
                "scale": "combine.scale",
                "tasks": "objectives.*.task",
                "target": "combine.target",
                "targets": "objectives.*.target",
                "positives": "objectives.*.positive",
                "metrics": "combine.metrics",
            },
            description="weight the objectives' scores into one",
        )
    )
    gate = b.add(
        Step(
            id="gate",
            kind="gate",
            inputs=inputs(selects, evals, {("combine",): combine.id}),
            params=GateParams(
                objectives={
                    n: {"gate": o.gate, "task": o.task} for n, o in spec.objectives.items()
                },
                combine_gate=(spec.combine or {}).get("gate", {}),
            ),
            sources={"objectives": "objectives.*.gate", "combine_gate": "combine.gate"},
            description="check the thresholds",
        )
    )
    assert b.features is not None and b.split is not None and b.table is not None
    watched = [
        c
        for m in spec.monitors
        if m.get("type") in ("data_drift", "data_quality")
        for c in m.get("columns") or []
    ]
    # Features are profiled for the monitors that read them: every feature for data quality
    # (its default columns), the watched ones for drift; plus the columns of the joined data
    # that a drift or data-quality monitor names; none without monitors (1M rows x 20
    # features cost the profile step 1.3 s that no monitor would read).
    every = any(m.get("type") == "data_quality" for m in spec.monitors)
    profiled = tuple(f.name for f in spec.features if every or f.name in set(watched))
    profile = b.add(
        Step(
            id="profile",
            kind="profile",
            inputs={("data",): b.features, ("split",): b.split, ("combine",): combine.id},
            columns={("data",): tuple(dict.fromkeys([*profiled, *watched]))},
            params=ProfileParams(
                monitors=list(spec.monitors),
                features=_feature_params(spec, profiled),
                seed=b.seed(),
            ),
            sources={
                "monitors": "monitors",
                "features": "features",
                "sample_rows": "(built in)",
                "seed": "execution.seed",
            },
            description="reference distributions for the monitors",
        )
    )
    trains = {("train", o, m): sid for (o, m), sid in b.trains.items()}
    package = b.add(
        Step(
            id="package",
            kind="package",
            inputs=inputs(
                {("gate",): gate.id, ("combine",): combine.id, ("profile",): profile.id},
                {("data",): b.table},  # the raw table's schema: the bundle's input signature
                selects,
                trains,
            ),
            params=PackageParams(
                name=spec.name,
                weights=spec.weights(),
                objectives={n: objective_params(spec, n) for n in spec.objectives},
                features=[{"name": f.name, "expr": f.expr, "type": f.type} for f in spec.features],
                deployment=spec.deployment,
            ),
            sources={
                "name": "name",
                "weights": "combine.weights",
                "objectives": "objectives",
                "features": "features",
                "deployment": "deployment",
            },
            description="bundle the selected models for deployment",
        )
    )
    b.add(
        Step(
            id="report",
            kind="report",
            inputs=inputs(
                selects,
                evals,
                {("combine",): combine.id, ("gate",): gate.id, ("profile",): profile.id},
            ),
            params=ReportParams(
                name=spec.name,
                description=spec.raw.get("description", ""),
                problem=spec.problem,
                objectives={n: objective_params(spec, n) for n in spec.objectives},
            ),
            sources={
                "name": "name",
                "description": "description",
                "problem": "problem",
                "objectives": "objectives",
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
            inputs={("package",): b.package, **({("data",): b.table} if source is None else {})},
            params=ScoreParams(input=source, format=batch.get("format", "parquet")),
            sources={"input": "deployment.batch.input", "format": "deployment.batch.format"},
            files=(source,) if source is not None else (),
            description="batch-score the input with the packaged bundle",
        )
    )
