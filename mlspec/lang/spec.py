"""The typed Spec: frozen dataclasses with every default filled in from the schema.

The compiler and the steps read these, never the raw YAML. Defaults live only in the JSON
Schema (`default` of each property); `fill_defaults` applies them, so documentation, editors
and the runtime cannot disagree.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlspec.lang.checks import source_format
from mlspec.lang.joins import column_origins
from mlspec.lang.loader import Document, JsonPath, format_path
from mlspec.lang.metrics_table import DEFAULT_METRICS
from mlspec.lang.schema import subschema


def fill_defaults(data: Any, path: JsonPath = ()) -> Any:
    """A copy of `data` where every absent property with a schema default holds it."""
    node = subschema(path)
    if isinstance(data, dict):
        out = {k: fill_defaults(v, (*path, k)) for k, v in data.items()}
        for name in (node or {}).get("properties", {}):
            prop = subschema((*path, name))
            if name not in out and prop is not None and "default" in prop:
                value = copy.deepcopy(prop["default"])
                out[name] = (
                    fill_defaults(value, (*path, name)) if isinstance(value, dict) else value
                )
        return out
    if isinstance(data, list):
        return [fill_defaults(v, (*path, i)) for i, v in enumerate(data)]
    return data


@dataclass(frozen=True)
class Check:
    column: str | None
    rules: dict[str, Any]
    severity: str
    index: int


@dataclass(frozen=True)
class Source:
    name: str
    path: str
    format: str
    query: str | None
    separator: str
    columns: dict[str, str] | None
    checks: tuple[Check, ...]
    external: bool
    filter: str | None = None  # `where:`: the rows kept (an expression of the feature language)


@dataclass(frozen=True)
class Join:
    left: str
    right: str
    on: tuple[str, ...]
    how: str
    suffix: str


@dataclass(frozen=True)
class Split:
    method: str
    test: float
    valid: float | None
    seed: int
    by: str | None


@dataclass(frozen=True)
class Feature:
    name: str
    expr: str | None
    type: str
    encoding: str | None
    impute: str
    fill_value: Any
    scale: str
    index: int


@dataclass(frozen=True)
class Model:
    name: str
    type: str
    params: dict[str, Any]
    search: dict[str, Any] | None
    resources: dict[str, Any]


@dataclass(frozen=True)
class Objective:
    name: str
    task: str
    target: str
    features: tuple[str, ...]
    metrics: tuple[str, ...]
    select_by: str
    baseline: bool
    threshold: float
    models: tuple[Model, ...]
    gate: dict[str, str]
    slices: tuple[str, ...]
    protected: tuple[str, ...]
    evaluation: dict[str, Any]  # bootstrap (resamples, 0 = no intervals), importance (bool)
    positive: Any = None  # the positive class of a binary objective (None: the last sorted)
    missing_target: str = "fail"  # rows without a target: fail, or drop from fit and metrics


@dataclass(frozen=True)
class Spec:
    """A validated spec. `raw` is the default-filled document that fingerprints hash."""

    name: str
    path: Path | None
    raw: dict[str, Any]
    sources: dict[str, Source]
    joins: tuple[Join, ...]
    split: Split
    features: tuple[Feature, ...]
    objectives: dict[str, Objective]
    combine: dict[str, Any] | None
    deployment: dict[str, Any] | None
    monitors: tuple[dict[str, Any], ...]
    execution: dict[str, Any]
    problem: dict[str, Any] = field(default_factory=dict)
    document: Document | None = field(default=None, repr=False, compare=False)

    def where(self, path: JsonPath) -> str:
        """``file:line:col`` of a spec path, for errors found while running."""
        if self.document is None:
            return format_path(path)
        m = self.document.mark(path)
        return f"{Path(self.document.file).name}:{m.line}:{m.col}"

    @property
    def root(self) -> Path:
        """Folder that the spec's relative paths resolve against."""
        return self.path.parent if self.path is not None else Path.cwd()

    def origin(self, columns: Iterable[str]) -> str | None:
        """Where joined columns are read from, for run-time data errors: "column 'x' of
        source 'a' (data/a.csv)"; None when no source declares them."""
        origins = column_origins(
            {n: list(s.columns) if s.columns else None for n, s in self.sources.items()},
            [(j.left, j.right, j.on, j.how, j.suffix) for j in self.joins],
        )
        if not self.joins and len(self.sources) == 1:  # one source: every column is its own
            only = next(iter(self.sources))
            origins = {c: (only, c) for c in columns}
        found = [(c, origins[c]) for c in columns if c in origins]
        if not found:
            return None
        return ", ".join(
            f"column '{col}' of source '{src}' ({self.sources[src].path})"
            for _c, (src, col) in found
        )

    def weights(self) -> dict[str, float]:
        if self.combine is None:
            return {name: 1.0 for name in self.objectives}
        return {k: float(v) for k, v in self.combine["weights"].items()}


def build_spec(
    data: dict[str, Any], path: Path | None = None, document: Document | None = None
) -> Spec:
    """Typed Spec from a document that passed validation."""
    raw = fill_defaults(data)
    d = raw["data"]
    sources = {
        name: Source(
            name=name,
            path=s["path"],
            format=source_format(s) or "csv",
            query=s.get("query"),
            separator=s.get("separator", ","),
            columns=s.get("columns"),
            checks=tuple(
                Check(
                    column=c.get("column"),
                    # `is not`, not `in (None, False)`: `min: 0` is a rule, and 0 == False.
                    rules={
                        k: v
                        for k, v in c.items()
                        if k not in ("column", "severity") and v is not None and v is not False
                    },
                    severity=c.get("severity", "error"),
                    index=i,
                )
                for i, c in enumerate(s.get("checks", []))
            ),
            external=bool(s.get("external", False)),
            filter=s.get("where"),
        )
        for name, s in d["sources"].items()
    }
    joins = tuple(
        Join(
            j["left"],
            j["right"],
            (j["on"],) if isinstance(j["on"], str) else tuple(j["on"]),
            j["how"],
            j["suffix"],
        )
        for j in d.get("joins", [])
    )
    sp = d.get("split", {})
    split = Split(sp["method"], float(sp["test"]), sp.get("valid"), int(sp["seed"]), sp.get("by"))
    features = tuple(
        Feature(
            f["name"],
            f.get("expr"),
            f["type"],
            f.get("encoding"),  # null: chosen by cardinality (mlspec.scoring.encoders)
            f["impute"],
            f.get("fill_value"),
            f["scale"],
            i,
        )
        for i, f in enumerate(raw.get("features", []))
    )
    all_features = tuple(f.name for f in features)
    objectives = {}
    for name, o in raw["objectives"].items():
        metrics = tuple(o.get("metrics") or DEFAULT_METRICS[o["task"]])
        objectives[name] = Objective(
            name=name,
            task=o["task"],
            target=o["target"],
            features=tuple(o["features"]) if o.get("features") is not None else all_features,
            metrics=metrics,
            select_by=o.get("select_by") or metrics[0],
            baseline=o["baseline"],
            threshold=float(o["threshold"]),
            models=tuple(
                Model(
                    m["name"],
                    m["type"],
                    dict(m.get("params", {})),
                    m.get("search"),
                    m.get("resources", {}),
                )
                for m in o["models"]
            ),
            gate=dict(o.get("gate", {})),
            slices=tuple(o.get("slices", [])),
            protected=tuple((o.get("fairness") or {}).get("protected", [])),
            evaluation=dict(o["evaluation"]),
            positive=o.get("positive"),
            missing_target=o["missing_target"],
        )
    return Spec(
        name=raw["name"],
        path=path,
        raw=raw,
        sources=sources,
        joins=joins,
        split=split,
        features=features,
        objectives=objectives,
        combine=raw.get("combine"),
        deployment=raw.get("deployment"),
        monitors=tuple(raw.get("monitors", [])),
        execution=raw.get("execution", {}),
        problem=raw.get("problem") or {},
        document=document,
    )
