"""The comparison of two specs: semantic changes, step actions, summary and recorded metrics.

Pure data plus `compare()`. Light by design: the front end, the planner and fingerprints;
no data library, nothing a spec names is imported or executed, no data file is read (file
hashes are a constant marker, so a spec diff never depends on, or reveals, data).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlspec.compile.fingerprint import Fingerprint, explain, fingerprint_plan, step_labels
from mlspec.compile.jsondiff import Named, PathPart, display_path, semantic_diff
from mlspec.compile.plan import Plan
from mlspec.compile.planner import compile_plan
from mlspec.lang.spec import Spec

# What stands in for a data file's content hash: a spec diff is about the spec.
DATA_NOT_HASHED = "not-hashed"
ACTIONS = ("new", "rerun", "reuse", "removed")


@dataclass(frozen=True)
class Change:
    path: str  # display path: objectives.quality.models[gbt].params.C
    kind: str  # added | removed | changed | reordered (a named list, same items)
    base_line: int | None
    head_line: int | None
    base: Any = None
    head: Any = None


@dataclass(frozen=True)
class StepAction:
    step: str
    kind: str
    action: str  # new | rerun | reuse | removed
    reasons: tuple[str, ...]
    inputs: tuple[str, ...]
    base_fingerprint: str | None
    head_fingerprint: str | None


@dataclass(frozen=True)
class MetricDelta:
    scope: str  # objective name, or "combine" / "gate"
    step: str
    metric: str
    base: float | None
    head: float | None

    @property
    def delta(self) -> float | None:
        if self.base is None or self.head is None:
            return None
        return self.head - self.base


@dataclass
class SpecDiff:
    base_file: str
    head_file: str
    changes: list[Change]
    steps: list[StepAction]
    objectives_touched: list[str]
    retrains: list[str]
    weights: dict[str, tuple[float | None, float | None]]
    metrics: list[MetricDelta] = field(default_factory=list)
    store: str | None = None

    def count(self, action: str) -> int:
        return sum(s.action == action for s in self.steps)

    @property
    def affected(self) -> list[StepAction]:
        return [s for s in self.steps if s.action != "reuse"]

    def summary(self) -> str:
        """One line: ``2 objectives touched · 1 model retrains · 5 steps rerun · 14 reused``."""
        if not self.changes and not self.affected:
            return f"no semantic change · 0 steps rerun · {self.count('reuse')} reused"
        n_obj, n_models = len(self.objectives_touched), len(self.retrains)
        parts = [
            f"{n_obj} objective{'s' * (n_obj != 1)} touched",
            f"{n_models} model{'s' * (n_models != 1)} retrain{'s' * (n_models == 1)}",
            f"{self.count('rerun')} step{'s' * (self.count('rerun') != 1)} rerun",
        ]
        for action in ("new", "removed"):
            if self.count(action):
                parts.append(f"{self.count(action)} {action}")
        parts.append(f"{self.count('reuse')} reused")
        if self.weights:
            parts.append(
                "weights "
                + ", ".join(f"{n} {_num(a)}→{_num(b)}" for n, (a, b) in self.weights.items())
            )
        return " · ".join(parts)


def _num(v: float | None) -> str:
    return "none" if v is None else f"{v:g}"


# ----------------------------------------------------------------------------- semantic changes


def _resolve(data: Any, path: tuple[PathPart, ...]) -> tuple[tuple[str | int, ...] | None, Any]:
    """The document path (names -> indices) of `path` in `data`, and the value there."""
    concrete: list[str | int] = []
    node = data
    for part in path:
        if isinstance(part, Named):
            idx = next(
                (
                    i
                    for i, it in enumerate(node or [])
                    if isinstance(it, dict) and it.get("name") == part.name
                ),
                None,
            )
            if idx is None:
                return None, None
            concrete.append(idx)
            node = node[idx]
        elif (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and part < len(node)
        ):
            concrete.append(part)
            node = node[part]
        else:
            return None, None
    return tuple(concrete), node


def _line(spec: Spec, path: tuple[str | int, ...] | None) -> int | None:
    if path is None or spec.document is None:
        return None
    doc = spec.document
    # A default-filled value has no mark of its own: it sits at its nearest written ancestor.
    return doc.mark(path, key=path in doc.key_marks).line


def changes(base: Spec, head: Spec) -> list[Change]:
    out = []
    for path, kind in semantic_diff(base.raw, head.raw):
        bpath, bval = _resolve(base.raw, path)
        hpath, hval = _resolve(head.raw, path)
        if kind == "reordered":
            bval, hval = [i["name"] for i in bval], [i["name"] for i in hval]
        out.append(
            Change(display_path(path), kind, _line(base, bpath), _line(head, hpath), bval, hval)
        )
    return out


# ----------------------------------------------------------------------------- step actions


def _no_data(_rel: str) -> str:
    return DATA_NOT_HASHED


def fingerprints(spec: Spec) -> tuple[Plan, dict[str, Fingerprint]]:
    """The plan and its fingerprints without reading any data file."""
    plan = compile_plan(spec)
    return plan, fingerprint_plan(plan, _no_data)


def step_actions(
    base: tuple[Plan, dict[str, Fingerprint]], head: tuple[Plan, dict[str, Fingerprint]]
) -> list[StepAction]:
    bplan, bfps = base
    hplan, hfps = head
    out: list[StepAction] = []
    for sid in hplan.order():
        step, fp = hplan.step(sid), hfps[sid]
        inputs = tuple(sorted(set(step.inputs.values())))
        old = bfps.get(sid)
        if old is None:
            out.append(
                StepAction(
                    sid, step.kind, "new", ("not in the base spec",), inputs, None, fp.digest
                )
            )
        elif old.digest == fp.digest:
            out.append(StepAction(sid, step.kind, "reuse", (), inputs, old.digest, fp.digest))
        else:
            reasons = tuple(explain(fp.parts, old.parts, step_labels(step)))
            out.append(StepAction(sid, step.kind, "rerun", reasons, inputs, old.digest, fp.digest))
    for sid in bplan.order():
        if sid not in hfps:
            step = bplan.step(sid)
            inputs = tuple(sorted(set(step.inputs.values())))
            out.append(
                StepAction(
                    sid,
                    step.kind,
                    "removed",
                    ("not in the head spec",),
                    inputs,
                    bfps[sid].digest,
                    None,
                )
            )
    return out


def _objective_of(step_id: str) -> str | None:
    parts = step_id.split(".")
    return (
        parts[1]
        if parts[0] in ("trial", "train", "evaluate", "select") and len(parts) > 1
        else None
    )


# ----------------------------------------------------------------------------- recorded metrics


def _records(db: Path) -> sqlite3.Connection | None:
    """The run records, read-only (looking never writes), or None."""
    if not db.is_file():
        return None
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=2.0)
        conn.execute("SELECT 1 FROM steps LIMIT 1")
        return conn
    except sqlite3.Error:
        return None


def _metrics_by_fingerprint(conn: sqlite3.Connection, fp: str | None) -> dict[str, float] | None:
    import json

    if fp is None:
        return None
    row = conn.execute(
        "SELECT metrics FROM steps WHERE fingerprint = ? AND status IN ('succeeded', 'cached') "
        "ORDER BY started DESC, rowid DESC LIMIT 1",
        (fp,),
    ).fetchone()
    if row is None:
        return None
    try:
        data = json.loads(row[0] or "{}")
    except ValueError:
        return None
    return {
        k: float(v)
        for k, v in data.items()
        if isinstance(v, int | float) and not isinstance(v, bool)
    }


def metric_deltas(steps: list[StepAction], db: Path) -> list[MetricDelta]:
    """Deltas of evaluate (per objective), combine and gate metrics recorded for both sides."""
    conn = _records(db)
    if conn is None:
        return []
    out: list[MetricDelta] = []
    try:
        for s in steps:
            if s.kind not in ("evaluate", "combine", "gate") or s.action in ("new", "removed"):
                continue
            old = _metrics_by_fingerprint(conn, s.base_fingerprint)
            new = old if s.action == "reuse" else _metrics_by_fingerprint(conn, s.head_fingerprint)
            if old is None or new is None:
                continue
            scope = _objective_of(s.step) or s.kind
            for m in sorted(set(old) | set(new)):
                out.append(MetricDelta(scope, s.step, m, old.get(m), new.get(m)))
    finally:
        conn.close()
    return out


# ----------------------------------------------------------------------------- compare


def weights_changed(base: Spec, head: Spec) -> dict[str, tuple[float | None, float | None]]:
    bw, hw = base.weights(), head.weights()
    return {n: (bw.get(n), hw.get(n)) for n in sorted(set(bw) | set(hw)) if bw.get(n) != hw.get(n)}


def compare(
    base: Spec, head: Spec, *, base_file: str, head_file: str, store: Path | None = None
) -> SpecDiff:
    bplan = fingerprints(base)
    hplan = fingerprints(head)
    steps = step_actions(bplan, hplan)
    changes_ = changes(base, head)
    touched = sorted(set(base.objectives) ^ set(head.objectives))
    for s in steps:
        o = _objective_of(s.step)
        if o and s.action != "reuse" and o not in touched:
            touched.append(o)
    for n in [
        *weights_changed(base, head),
        *(c.path.split(".")[1] for c in changes_ if c.path.startswith("objectives.")),
    ]:
        if n not in touched:
            touched.append(n)
    retrains = [s.step for s in steps if s.kind == "train" and s.action in ("new", "rerun")]
    weights = weights_changed(base, head)
    diff = SpecDiff(base_file, head_file, changes_, steps, sorted(touched), retrains, weights)
    if store is not None:
        diff.store = str(store)
        diff.metrics = metric_deltas(steps, store / "runs.sqlite")
    return diff
