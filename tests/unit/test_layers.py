"""The layering of ARCHITECTURE.md that code review alone would let slip: libraries (and
what serves and monitors with them) never import a step module, so a server or a monitor
loads a bundle without the training code, and a step's code version (the closure of the
modules it imports) does not change when a library's caller does."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "mlspec"
LIBRARIES = [
    "frames.py",
    "scoring",
    "evaluation",
    "report",
    "models",
    "monitor",
    "serving",
    "contract",
    "registry.py",
]


def step_imports(source: str) -> list[str]:
    """`mlspec.steps...` modules a source imports, anywhere (inside functions too)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        found += [n for n in names if n == "mlspec.steps" or n.startswith("mlspec.steps.")]
    return sorted(set(found))


def _modules() -> list[Path]:
    out = []
    for name in LIBRARIES:
        path = PACKAGE / name
        out += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return out


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_libraries_never_import_a_step_module(path: Path) -> None:
    assert step_imports(path.read_text("utf-8")) == [], (
        f"{path.relative_to(PACKAGE.parent)} imports a step module: move what it needs into a "
        "library module that both import (ARCHITECTURE.md, 'Layers')"
    )


def test_the_check_sees_an_import_inside_a_function() -> None:
    source = (
        "def f():\n    from mlspec.steps.profile import sample\n    import mlspec.steps.split\n"
    )
    assert step_imports(source) == [
        "mlspec.steps.profile",
        "mlspec.steps.profile.sample",
        "mlspec.steps.split",
    ]
    assert step_imports("from mlspec.frames import sample\nimport mlspec.stepsy\n") == []
