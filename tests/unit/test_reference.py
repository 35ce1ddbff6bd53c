"""Keep the language reference (specs/README.md) in step with the schema and the tables.

- every key of every object in the JSON Schema is documented as `key`;
- every model type, metric, fairness metric, expression function and diagnostic code is named;
- every ```yaml example parses (with yaml.safe_load and with mlspec's own stricter loader),
  and every one that is a whole spec (its first line that is not blank or a comment is
  `mlspec: 1`) validates with no diagnostic at all, warnings included.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlspec.lang import checks, expr, loader, schema
from mlspec.lang.loader import load_text
from mlspec.lang.metrics_table import FAIRNESS_METRICS, METRICS
from mlspec.lang.model_types import MODEL_TYPES
from mlspec.lang.validate import validate_text

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "specs" / "README.md"
SCHEMA = json.loads((ROOT / "schemas" / "mlspec.schema.json").read_text("utf-8"))
TEXT = REFERENCE.read_text("utf-8")

_FENCE = re.compile(
    r"^(?P<indent>[ \t]*)```(?P<info>[^\n`]*)\n(?P<body>.*?)^(?P=indent)```[ \t]*$", re.M | re.S
)


def _property_names(node: Any) -> Iterator[str]:
    """Every name under a `properties` keyword anywhere in the schema ($defs included)."""
    if isinstance(node, dict):
        for name, sub in node.get("properties", {}).items():
            yield name
            yield from _property_names(sub)
        for key, sub in node.items():
            if key != "properties":
                yield from _property_names(sub)
    elif isinstance(node, list):
        for sub in node:
            yield from _property_names(sub)


def _yaml_blocks() -> list[tuple[int, str]]:
    """(line number, text) of every ```yaml fenced block, indentation removed."""
    out = []
    for m in _FENCE.finditer(TEXT):
        if m.group("info").strip() != "yaml":
            continue
        indent = len(m.group("indent"))
        body = "".join(line[indent:] for line in m.group("body").splitlines(keepends=True))
        out.append((TEXT.count("\n", 0, m.start()) + 1, body))
    return out


def _is_whole_spec(body: str) -> bool:
    for line in body.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            return line.strip() == "mlspec: 1"
    return False


def _missing(names: Iterable[str]) -> list[str]:
    """The names that the reference never writes as `name`."""
    return sorted({n for n in names if f"`{n}`" not in TEXT})


_REPORTERS = {"error", "warn", "fail", "at", "diag", "Diagnostic", "ExprError"}
_CODE = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")


def _codes_in(module: Any) -> set[str]:
    """Codes passed as string literals to the functions that build diagnostics in a module."""
    tree = ast.parse(Path(module.__file__).read_text("utf-8"))
    codes: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name not in _REPORTERS:
            continue
        for arg in [*node.args, *(k.value for k in node.keywords if k.arg == "code")]:
            if (
                isinstance(arg, ast.Constant)
                and isinstance(arg.value, str)
                and _CODE.match(arg.value)
            ):
                codes.add(arg.value)
    return codes - {"error", "warning", "note"}  # severities, not codes


def test_every_schema_key_is_documented() -> None:
    names = set(_property_names(SCHEMA))
    assert {"mlspec", "sources", "protected", "poll_seconds", "low"} <= names  # the walk works
    assert _missing(names) == [], "keys of the schema missing from specs/README.md"


def test_every_model_type_and_metric_is_documented() -> None:
    assert _missing(MODEL_TYPES) == []
    assert _missing(METRICS) == []
    assert _missing(FAIRNESS_METRICS) == []


def test_every_expression_function_is_documented() -> None:
    assert [name for name, fn in expr.FUNCTIONS.items() if f"`{fn.signature}`" not in TEXT] == []


def test_every_diagnostic_code_is_documented() -> None:
    codes = _codes_in(loader) | _codes_in(checks) | _codes_in(schema) | set(expr.ERROR_CODES)
    assert {"yaml-duplicate-key", "spec-empty", "unknown-key", "target-leak", "expr-arity"} <= codes
    assert _missing(codes) == [], "diagnostic codes missing from specs/README.md"


BLOCKS = _yaml_blocks()
SPECS = [(line, body) for line, body in BLOCKS if _is_whole_spec(body)]
FRAGMENTS = [(line, body) for line, body in BLOCKS if not _is_whole_spec(body)]


def test_reference_has_examples() -> None:
    assert len(SPECS) >= 2, "the reference shows at least a first spec and a complete one"
    assert len(FRAGMENTS) >= 10


@pytest.mark.parametrize(("line", "body"), SPECS, ids=[f"line{n}" for n, _ in SPECS])
def test_whole_spec_examples_validate(line: int, body: str) -> None:
    result = validate_text(body, f"specs/README.md@{line}")
    assert [f"{d.line}:{d.col} {d.code}: {d.message}" for d in result.diagnostics] == []


@pytest.mark.parametrize(("line", "body"), FRAGMENTS, ids=[f"line{n}" for n, _ in FRAGMENTS])
def test_fragment_examples_parse(line: int, body: str) -> None:
    yaml.safe_load(body)
    # mlspec reads YAML more strictly (1.2 core, no duplicate keys, no tags): a fragment must
    # load as mlspec loads a spec, short of being a whole spec (a mapping of sections).
    _doc, diagnostics = load_text(body, f"specs/README.md@{line}")
    assert [d.code for d in diagnostics if d.code not in ("spec-empty", "spec-not-mapping")] == []
