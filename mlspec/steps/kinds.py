"""Step kinds as data: where each kind's code lives, what it receives, what shapes its output.

The planner and the fingerprints read this table without importing any step module (steps
import polars, scikit-learn, xgboost). A kind's code version and its libraries are derived
from the code itself: the transitive closure of the `mlspec` modules its module imports
(read from their syntax trees, never by importing them), and the third-party packages that
closure imports. Editing a helper a step uses invalidates exactly the kinds that import it.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
from dataclasses import dataclass
from functools import cache
from importlib import import_module
from pathlib import Path
from typing import Any

from mlspec.contract.params import Params
from mlspec.engine.imports import IMPORTING
from mlspec.steps.params import PARAMS

_PACKAGE = Path(__file__).resolve().parents[1]  # the mlspec/ folder
_ROOT = str(_PACKAGE.parent)

# Third-party packages whose versions shape artifacts: import name -> distribution.
LIBRARIES = {
    "polars": "polars",
    "numpy": "numpy",
    "sklearn": "scikit-learn",
    "xgboost": "xgboost",
    "scipy": "scipy",
    "joblib": "joblib",
}

# The params module declares every kind's params; a kind's own fields are hashed by value,
# so another kind's declaration is no reason to rerun this one.
_NOT_CODE = frozenset({"mlspec.steps.params"})


@dataclass(frozen=True)
class StepKind:
    name: str
    module: str  # dotted module holding `run(ctx)`

    @property
    def params(self) -> type[Params]:
        return PARAMS[self.name]

    @property
    def function(self) -> Any:
        if self.module in sys.modules:  # imported, or being imported: its lock waits for it
            return import_module(self.module).run
        with IMPORTING:  # never beside another thread's imports (mlspec.engine.imports)
            return import_module(self.module).run

    @property
    def code(self) -> tuple[str, ...]:
        """The files (relative to mlspec/) whose bytes are this kind's code version."""
        return code_files(self.module)

    @property
    def libraries(self) -> tuple[str, ...]:
        return libraries_of(self.module)


KINDS: dict[str, StepKind] = {name: StepKind(name, f"mlspec.steps.{name}") for name in PARAMS}


def register(kind: StepKind, params: type[Params]) -> None:
    """Add a step kind and its params class (tests and plugins; the built-in kinds are above)."""
    PARAMS[kind.name] = params
    KINDS[kind.name] = kind


@cache
def _module_file(module: str) -> Path | None:
    base = os.path.join(_ROOT, *module.split("."))
    for candidate in (base + ".py", os.path.join(base, "__init__.py")):
        if os.path.isfile(candidate):
            return Path(candidate)
    return None


_IMPORT = re.compile(
    r"^(?P<indent>[ \t]*)(?:from[ \t]+(?P<base>[\w.]+)[ \t]+import[ \t]+(?P<names>\([^)]*\)|[^\n#]+)"
    r"|import[ \t]+(?P<mods>[^\n#]+))",
    re.MULTILINE,
)
_GUARD = re.compile(r"^(?P<indent>[ \t]*)if (typing\.)?TYPE_CHECKING:", re.MULTILINE)
_DYNAMIC = re.compile(r"^DYNAMIC_IMPORTS = \(([^)]*)\)", re.MULTILINE)


@cache
def _imports(module: str) -> tuple[frozenset[str], frozenset[str]]:
    """(mlspec modules, third-party top-level names) that `module` imports, anywhere in its
    source (steps import heavy libraries inside functions), except under TYPE_CHECKING.

    Read with a line scan, not `ast` (a full syntax walk of the closure cost ~1 s per plan).
    A module that imports by name at run time lists those packages in ``DYNAMIC_IMPORTS``.
    """
    path = _module_file(module)
    if path is None:
        return frozenset(), frozenset()
    text = path.read_text(encoding="utf-8")
    guarded: list[tuple[int, int]] = []  # (start, end) offsets of TYPE_CHECKING blocks
    for g in _GUARD.finditer(text):
        indent, end = len(g.group("indent")), len(text)
        for line in re.finditer(r"^([ \t]*)\S", text[g.end() :], re.MULTILINE):
            if len(line.group(1)) <= indent:
                end = g.end() + line.start()
                break
        guarded.append((g.start(), end))
    names: list[str] = []
    for m in _IMPORT.finditer(text):
        if any(a <= m.start() < b for a, b in guarded):
            continue
        if m.group("base"):
            base = m.group("base")
            listed = m.group("names").strip("() \t").replace("\n", " ")
            names.append(base)
            names += [f"{base}.{n.split()[0]}" for n in listed.split(",") if n.strip()]
        else:
            names += [n.split()[0] for n in m.group("mods").split(",") if n.strip()]
    dynamic = _DYNAMIC.search(text)
    if dynamic:
        names += re.findall(r"[\"']([\w.]+)[\"']", dynamic.group(1))
    ours = frozenset(n for n in names if n.split(".")[0] == "mlspec" and _module_file(n))
    theirs = frozenset(n.split(".")[0] for n in names if n.split(".")[0] != "mlspec")
    return ours, theirs


@cache
def _closure(module: str) -> tuple[frozenset[str], frozenset[str]]:
    seen: set[str] = set()
    third: set[str] = set()
    todo = [module]
    while todo:
        name = todo.pop()
        if name in seen or name in _NOT_CODE:
            continue
        seen.add(name)
        ours, theirs = _imports(name)
        third |= theirs
        todo.extend(ours)
    return frozenset(seen), frozenset(third)


def code_files(module: str) -> tuple[str, ...]:
    """Paths relative to the mlspec/ folder (a kind outside it, e.g. a test's, starts ../)."""
    files = {_module_file(m) for m in _closure(module)[0]}
    return tuple(sorted(os.path.relpath(f, _PACKAGE) for f in files if f is not None))


def libraries_of(module: str) -> tuple[str, ...]:
    return tuple(sorted({LIBRARIES[t] for t in _closure(module)[1] if t in LIBRARIES}))


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
