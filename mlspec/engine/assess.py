"""What a run would do: for every step, its fingerprint, whether it is cached, and why not.

Shared by `mlspec plan` and `mlspec run`. Light: reads the spec, the store's manifests and
the run records; imports no data library, executes nothing from the spec.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mlspec.compile.fingerprint import (
    Fingerprint,
    explain,
    file_hasher,
    fingerprint_plan,
    step_labels,
)
from mlspec.compile.plan import Plan
from mlspec.compile.planner import compile_plan
from mlspec.lang.spec import Spec


@dataclass(frozen=True)
class StepStatus:
    step_id: str
    kind: str
    fingerprint: Fingerprint
    cached: bool
    reasons: tuple[str, ...]

    @property
    def action(self) -> str:
        return "cached" if self.cached else "run"


@dataclass
class Assessment:
    spec: Spec
    plan: Plan
    fingerprints: dict[str, Fingerprint]
    statuses: dict[str, StepStatus]
    store_root: Path

    def to_run(self) -> list[str]:
        return [s for s in self.plan.order() if not self.statuses[s].cached]


def store_root(spec: Spec, override: str | Path | None = None) -> Path:
    """The store folder, resolved, refused (`PathRefused`, `StoreRefused`) before use when
    `execution.store` leads out of the project through a symlink or the folder is not a store."""
    from mlspec.lang.paths import resolve_inside
    from mlspec.store.root import check_root

    if override is not None:
        return check_root(override)
    rel = spec.execution.get("store", ".mlspec")
    return check_root(resolve_inside(spec.root, rel, f"execution.store '{rel}'"))


def assess(spec: Spec, root: Path) -> Assessment:
    from mlspec.store import ArtifactStore, RunStore

    plan = compile_plan(spec)
    store = ArtifactStore(root)
    db = root / "runs.sqlite"
    # Looking must not write: without records yet, hash files directly and create nothing.
    runs = RunStore(db) if db.is_file() else None
    external = {s.path for s in spec.sources.values() if s.external}
    fps = fingerprint_plan(plan, file_hasher(spec.root, runs.file_hash if runs else None, external))
    statuses: dict[str, StepStatus] = {}
    for sid in plan.order():
        step = plan.step(sid)
        fp = fps[sid]
        present = store.has(fp.digest)
        cached = present and store.authentic(fp.digest)  # a manifest we did not commit: a miss
        reasons: tuple[str, ...] = ()
        if present and not cached:
            reasons = ("artifact damaged or not written under this machine's store key",)
        elif not cached:
            last = runs.last_step(sid, spec_name=spec.name) if runs else None
            previous = last.parts if last is not None else None
            reasons = tuple(explain(fp.parts, previous, step_labels(step)))
        statuses[sid] = StepStatus(sid, step.kind, fp, cached, reasons)
    return Assessment(spec, plan, fps, statuses, root)
