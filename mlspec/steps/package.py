"""The `package` step: bundle the selected models, their scaling and weights for deployment.

Params: `PackageParams` (`mlspec/steps/params.py`).

Inputs ``gate``, ``combine``, ``profile``, ``select_<o>``, ``train_<o>_<m>`` and ``data`` (the
table the features are computed from: only its schema is read, for the input signature). A failed
gate is a StepError that names every failed threshold and by how much; nothing is bundled.

The artifact is one folder, ``bundle/``, that serving needs and nothing else::

    bundle/bundle.json                      what is in it: objectives (task, classes, threshold,
                                            scale and its fitted parameters, weight), the
                                            feature expressions, the input signature (the raw
                                            columns the expressions read, with their types)
    bundle/objectives/<o>/model.json        the selected model's model.json (signature, classes)
    bundle/objectives/<o>/model/...         its native files (pipeline.joblib, booster.ubj)
    bundle/reference.parquet                sorted test scores: the rank scaling's reference
    bundle/profile.json                     reference distributions for the monitors
    bundle/sample_*.parquet                 the monitors' reference samples (inputs, scores)
    bundle/MANIFEST.json                    {"files": {path: sha256}} of every other file

Every file is copied byte for byte from an upstream artifact and the JSON files are
canonical (sorted keys), so the same inputs give the same bytes.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from mlspec.contract.api import StepContext, StepError
from mlspec.scoring.bundle import BUNDLE_FORMAT, MANIFEST, input_signature, manifest
from mlspec.steps.gate import describe
from mlspec.steps.params import PackageParams
from mlspec.store.artifacts import canonical_json
from mlspec.store.versions import versions

BUNDLE = "bundle"


def gate_failure(gate: dict[str, Any]) -> str | None:
    """'gate failed: quality roc_auc 0.712 < 0.75 (short by 0.038); ...', or None if it passed."""
    if gate.get("passed"):
        return None
    failed = [describe(r) for r in gate.get("results", []) if not r.get("passed")]
    return "gate failed: " + ("; ".join(failed) or "no result passed")


def _copy(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)


def _write_json(path: Path, value: Any, what: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(canonical_json(value, what), encoding="utf-8")


def _signature(objectives: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The columns a request must hold: the union of the objectives' signatures, first seen first."""
    seen: dict[str, dict[str, Any]] = {}
    for name in sorted(objectives):
        for col in (objectives[name].get("signature") or {}).get("columns", []):
            seen.setdefault(col["name"], col)
    return {"columns": list(seen.values())}


def run(ctx: StepContext) -> None:
    p: PackageParams = ctx.params
    gate = ctx.input("gate").json("gate.json")
    if (failure := gate_failure(gate)) is not None:
        raise StepError(
            failure,
            hint="nothing was packaged; improve the model (features, parameters, data) or revise the gate in the spec",
            details={"results": gate.get("results", [])},
        )
    combined = ctx.input("combine").json("combine.json")
    weights = {o: float(w) for o, w in p.weights.items()}
    params_objectives = p.objectives
    root = ctx.output.path(f"{BUNDLE}/{MANIFEST}").parent

    objectives: dict[str, dict[str, Any]] = {}
    for name in sorted(weights):
        model = ctx.input("select", name).json("selection.json")["selected"]
        try:
            train = ctx.input("train", name, model)
        except KeyError:
            raise StepError(
                f"Objective '{name}': the selected model '{model}' has no training artifact among the package step's inputs."
            ) from None
        folder = f"objectives/{name}"
        files = [n for n in train.names() if n.startswith("model/")]
        for n in files:
            _copy(train.path(n), root / folder / n)
        _copy(train.path("model.json"), root / folder / "model.json")
        info = train.json("model.json")
        obj = params_objectives.get(name, {})
        scaling = dict((combined.get("scaling") or {}).get(name) or {})
        objectives[name] = {
            "model": model,
            "type": info.get("type"),
            "estimator": info.get("estimator"),
            "task": obj.get("task", (combined.get("objectives") or {}).get(name, {}).get("task")),
            "target": obj.get("target"),
            "classes": info.get("classes"),
            "threshold": obj.get("threshold"),
            "features": info.get("features"),
            "signature": info.get("signature"),
            "scale": scaling.pop("method", (combined.get("scale") or {}).get(name)),
            "scaling": scaling,
            "weight": weights[name],
            "column": f"score_{name}",
            "path": folder,
            "files": [f"{folder}/{n}" for n in ["model.json", *files]],
        }

    used = {f["name"] for o in objectives.values() for f in o["features"] or []}
    features = [
        {"name": f["name"], "expr": f.get("expr"), "type": f.get("type") or "numeric"}
        for f in p.features
        if f["name"] in used
    ]
    try:
        inputs = input_signature(features, ctx.input("data").scan().collect_schema())
    except ValueError as exc:
        raise StepError(f"the input signature cannot be made: {exc}") from None

    _copy(ctx.input("combine").path("reference.parquet"), root / "reference.parquet")
    profile = ctx.input("profile")
    for n in profile.names():  # profile.json and the reference samples the monitors test against
        _copy(profile.path(n), root / n)
    selected_metrics = {
        o: (combined.get("objectives") or {}).get(o, {}).get("metrics", {}) for o in sorted(weights)
    }
    bundle = {
        "format": BUNDLE_FORMAT,
        "name": p.name,
        "objectives": objectives,
        "weights": weights,
        "combine": {
            "method": "weighted_sum",
            "formula": combined.get("formula"),
            "normalized": bool(combined.get("normalized", False)),
        },
        "signature": _signature(objectives),
        "features": features,
        "input": inputs,
        "deployment": p.deployment,
        "versions": versions(),
        "metrics": {"objectives": selected_metrics, "combined": combined.get("metrics") or {}},
        "gate": {"passed": True, "results": gate.get("results", [])},
        "reference": "reference.parquet",
        "profile": "profile.json",
    }
    _write_json(root / "bundle.json", bundle, "bundle.json")
    _write_json(root / MANIFEST, manifest(root), MANIFEST)
    ctx.output.metric("package.objectives", float(len(objectives)))
