"""Keep the static model table (mlspec/lang/model_types.py) honest.

The validator reads constructor parameter names from a static table so that it never imports
scikit-learn or xgboost. These tests compare that table with the installed libraries and with
the model-type enum in the JSON schema.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlspec.lang.model_types import MODEL_TYPES, Estimator, ModelType, param_names

REPO_ROOT = Path(__file__).parents[2]
SCHEMA_PATH = REPO_ROOT / "schemas" / "mlspec.schema.json"
REGENERATE = (
    "regenerate with `python tools/gen_model_table.py > mlspec/lang/model_types.py` "
    "(from the repo root, in the project venv) and review the diff"
)
_VAR_KINDS = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


def _load(path: str) -> type:
    module_name, _, attr = path.rpartition(".")
    return getattr(importlib.import_module(module_name), attr)


def _named_params(cls: type) -> set[str]:
    sig = inspect.signature(cls.__init__)
    return {
        p.name for p in sig.parameters.values() if p.name != "self" and p.kind not in _VAR_KINDS
    }


def real_params(path: str) -> frozenset[str]:
    """Same rule as tools/gen_model_table.py: named __init__ parameters; xgboost estimators take
    **kwargs that go to XGBModel.__init__, so its named parameters count too."""
    names = _named_params(_load(path))
    if path.startswith("xgboost."):
        names |= _named_params(_load("xgboost.XGBModel"))
    return frozenset(names)


def _estimators() -> list[tuple[str, str, Estimator]]:
    out: list[tuple[str, str, Estimator]] = []
    for name, model_type in MODEL_TYPES.items():
        if model_type.classifier is not None:
            out.append((name, "classifier", model_type.classifier))
        if model_type.regressor is not None:
            out.append((name, "regressor", model_type.regressor))
    return out


@pytest.mark.parametrize(
    ("type_name", "role", "estimator"),
    _estimators(),
    ids=[f"{n}-{r}" for n, r, _ in _estimators()],
)
def test_params_match_installed_signature(type_name: str, role: str, estimator: Estimator) -> None:
    try:
        real = real_params(estimator.path)
    except (ImportError, AttributeError) as exc:
        pytest.fail(
            f"{type_name}.{role}: cannot import {estimator.path} ({exc}); fix the path in "
            f"tools/gen_model_table.py, then {REGENERATE}"
        )
    missing = sorted(real - estimator.params)
    extra = sorted(estimator.params - real)
    assert not missing and not extra, (
        f"{type_name}.{role} ({estimator.path}) params drifted from the installed library: "
        f"missing from table {missing}, in table but not in signature {extra}; {REGENERATE}"
    )


def test_names_match_schema_enum() -> None:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    enum = schema["$defs"]["model"]["properties"]["type"]["enum"]
    assert len(enum) == len(set(enum)), f"duplicate names in the schema enum: {enum}"
    table = set(MODEL_TYPES)
    assert table == set(enum), (
        f"model types differ: only in table {sorted(table - set(enum))}, only in schema "
        f"{sorted(set(enum) - table)}. Add/remove the entry in both "
        f"{SCHEMA_PATH.relative_to(REPO_ROOT)} ($defs.model.properties.type.enum) and "
        f"tools/gen_model_table.py (ENTRIES), then {REGENERATE}"
    )


@pytest.mark.parametrize("name", sorted(MODEL_TYPES))
def test_entry_shape(name: str) -> None:
    model_type = MODEL_TYPES[name]
    assert isinstance(model_type, ModelType)
    assert model_type.name == name, f"key {name!r} holds ModelType(name={model_type.name!r})"
    assert model_type.classifier or model_type.regressor, f"{name} has no estimator at all"
    assert model_type.summary.strip(), f"{name} has an empty summary"
    for estimator in (model_type.classifier, model_type.regressor):
        if estimator is not None:
            assert estimator.params, f"{name}: {estimator.path} has no params; {REGENERATE}"
            assert isinstance(estimator.params, frozenset)


def test_task_dispatch() -> None:
    lr = MODEL_TYPES["logistic_regression"]
    assert lr.estimator("binary") is lr.classifier
    assert lr.estimator("multiclass") is lr.classifier
    assert lr.estimator("regression") is None
    assert param_names("linear_regression", "binary") is None
    ridge = MODEL_TYPES["ridge"]
    assert ridge.regressor is not None
    assert param_names("ridge", "regression") == ridge.regressor.params
    assert "C" in (param_names("svm", "multiclass") or frozenset())
    assert param_names("no_such_model", "binary") is None
    with pytest.raises(ValueError, match="unknown task"):
        lr.estimator("ranking")
    with pytest.raises(ValueError, match="unknown task"):
        param_names("ridge", "ranking")


def test_import_stays_light() -> None:
    heavy = ("sklearn", "xgboost", "polars", "ray")
    code = (
        "import sys, mlspec.lang.model_types\n"
        f"heavy = {heavy!r}\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in heavy)\n"
        "print(','.join(loaded))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    loaded = result.stdout.strip()
    assert not loaded, (
        f"importing mlspec.lang.model_types pulled in heavy modules: {loaded}. It must stay "
        "pure data (stdlib dataclasses/typing only) so `mlspec validate` stays light"
    )
