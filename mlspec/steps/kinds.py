"""Step kinds as data: where each kind's code lives and which libraries shape its output.

The planner and the fingerprints read this table without importing any step module (steps
import polars, scikit-learn, xgboost). A kind's code version is the hash of its source files,
so editing a step, or a helper it lists, invalidates exactly the steps of that kind.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from importlib import import_module
from pathlib import Path
from typing import Any

_PACKAGE = Path(__file__).resolve().parents[1]  # the mlspec/ folder


@dataclass(frozen=True)
class StepKind:
    name: str
    module: str  # dotted module holding `run(ctx)`
    code: tuple[str, ...]  # files (relative to mlspec/) whose bytes are the code version
    libraries: tuple[str, ...] = ()  # distributions whose versions shape the output
    stochastic: bool = False  # takes ctx.seed; the seed is part of its params

    @property
    def function(self) -> Any:
        return import_module(self.module).run


_DATA = ("contract/api.py", "frames.py")
_MODEL = (
    *_DATA,
    "steps/split.py",
    "models/estimators.py",
    "scoring/preprocess.py",
    "models/persist.py",
    "scoring/predict.py",
)
_ML = ("polars", "numpy", "scikit-learn", "xgboost")

KINDS: dict[str, StepKind] = {
    k.name: k
    for k in (
        StepKind("load", "mlspec.steps.load", ("steps/load.py", *_DATA), ("polars",)),
        StepKind("check", "mlspec.steps.check", ("steps/check.py", *_DATA), ("polars",)),
        StepKind(
            "join", "mlspec.steps.join", ("steps/join.py", "engine/views.py", *_DATA), ("polars",)
        ),
        StepKind(
            "features",
            "mlspec.steps.features",
            (
                "steps/features.py",
                "scoring/expressions.py",
                "lang/expr.py",
                "engine/views.py",
                *_DATA,
            ),
            ("polars",),
        ),
        StepKind(
            "split", "mlspec.steps.split", ("steps/split.py", *_DATA), ("polars",), stochastic=True
        ),
        StepKind("trial", "mlspec.steps.trial", ("steps/trial.py", *_MODEL), _ML, stochastic=True),
        StepKind("train", "mlspec.steps.train", ("steps/train.py", *_MODEL), _ML, stochastic=True),
        StepKind(
            "evaluate",
            "mlspec.steps.evaluate",
            ("steps/evaluate.py", "evaluation/metrics.py", *_MODEL),
            _ML,
            stochastic=True,
        ),
        StepKind("select", "mlspec.steps.select", ("steps/select.py", *_DATA), ()),
        StepKind(
            "combine",
            "mlspec.steps.combine",
            ("steps/combine.py", "scoring/combine.py", "evaluation/metrics.py", *_DATA),
            ("polars", "numpy", "scikit-learn"),
        ),
        StepKind("gate", "mlspec.steps.gate", ("steps/gate.py", *_DATA), ()),
        StepKind(
            "profile", "mlspec.steps.profile", ("steps/profile.py", *_DATA), ("polars", "numpy")
        ),
        StepKind("package", "mlspec.steps.package", ("steps/package.py", *_MODEL), _ML),
        StepKind(
            "score",
            "mlspec.steps.score",
            (
                "steps/score.py",
                "scoring/batch.py",
                "scoring/scorer.py",
                "scoring/bundle.py",
                "scoring/combine.py",
                "scoring/expressions.py",
                "lang/expr.py",
                *_MODEL,
            ),
            _ML,
        ),
        StepKind(
            "report", "mlspec.steps.report", ("steps/report.py", "report/charts.py", *_DATA), ()
        ),
    )
}


def register(kind: StepKind) -> None:
    """Add a step kind (used by later stages: train, evaluate, combine, ...)."""
    KINDS[kind.name] = kind


@cache
def code_version(kind: str) -> str:
    h = hashlib.sha256()
    for rel in KINDS[kind].code:
        h.update(rel.encode())
        h.update(b"\0")
        h.update((_PACKAGE / rel).read_bytes())
    return h.hexdigest()[:16]


@cache
def library_version(dist: str) -> str:
    from mlspec.store.versions import dist_version

    return dist_version(dist, f"{dist}-cpu") or "missing"
