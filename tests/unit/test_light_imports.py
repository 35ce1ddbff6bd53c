"""The paths that must be fast and safe import no data or ML library."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("polars", "sklearn", "xgboost", "ray", "numpy", "pandas", "pyarrow")


def _modules_after(code: str) -> set[str]:
    probe = code + "\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize(
    "command",
    [
        ["validate", "examples/feed_ranking/spec.yaml"],
        ["plan", "examples/feed_ranking/spec.yaml", "--store", "{tmp}"],
        ["graph", "examples/feed_ranking/spec.yaml", "--no-status"],
        ["schema"],
    ],
)
def test_light_commands_import_no_heavy_library(command: list[str], tmp_path: Path) -> None:
    argv = [a.replace("{tmp}", str(tmp_path / "store")) for a in command]
    code = (
        "import contextlib, io\n"
        "from mlspec.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):\n"
        f"    main({argv!r})\n"
    )
    loaded = _modules_after(code)
    heavy = sorted(m for m in loaded if m.split(".")[0] in HEAVY)
    assert not heavy, f"`mlspec {' '.join(command)}` imported {heavy[:5]}"


@pytest.mark.parametrize(
    ("spec", "loads_jsonschema"),
    [
        ("examples/feed_ranking/spec.yaml", False),
        ("specs/invalid/unknown-key-misspelt-models.yaml", True),
    ],
)
def test_jsonschema_is_imported_only_to_explain_errors(spec: str, loads_jsonschema: bool) -> None:
    """A spec that fits the schema is judged by `schema_fit` (~85 ms of imports saved)."""
    assert (ROOT / spec).is_file()
    code = (
        "import contextlib, io\n"
        "from mlspec.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):\n"
        f"    main(['validate', {spec!r}])\n"
    )
    assert ("jsonschema" in _modules_after(code)) is loads_jsonschema


def test_the_data_steps_run_on_polars_alone(quickstart: Path, tmp_path: Path) -> None:
    """`run --only +split` loads polars and neither numpy nor an ML library: numpy's import
    (~70 ms) is paid by the model steps, when they run."""
    argv = ["run", str(quickstart), "--only", "+split", "--store", str(tmp_path / "store")]
    code = (
        "import contextlib, io\n"
        "from mlspec.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):\n"
        f"    assert main({argv!r}) == 0\n"
    )
    loaded = {m.split(".")[0] for m in _modules_after(code)}
    assert "polars" in loaded
    assert not loaded & {"numpy", "sklearn", "xgboost", "scipy", "pandas", "pyarrow"}


def test_the_train_step_reads_its_data_before_it_imports_scikit_learn() -> None:
    """The train step's module, what it reads and checks the data with, and the leakage
    check import no scikit-learn or XGBoost: a local run imports those in a thread while the
    step reads (`LocalBackend._warm_here`)."""
    loaded = _modules_after(
        "import mlspec.steps.train, mlspec.scoring.preprocess, mlspec.models.recipes"
    )
    heavy = sorted(m for m in loaded if m.split(".")[0] in ("sklearn", "xgboost", "scipy"))
    assert not heavy, heavy[:5]
