"""`schema_fit.fits` answers as jsonschema does (with mlspec's integer), without importing it."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from mlspec.lang.loader import load_text
from mlspec.lang.schema import _validator, schema_text
from mlspec.lang.schema_fit import Unsupported, _compiled, _Compiler, fits

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted(
    [
        *ROOT.glob("specs/*/*.yaml"),
        *ROOT.glob("examples/*/spec.yaml"),
        *ROOT.glob("bench/*/spec.yaml"),
    ]
)
# Every corpus file that loads as YAML (the others never reach the schema).
CORPUS = {
    p.relative_to(ROOT).as_posix(): doc.data
    for p in FILES
    if (doc := load_text(p.read_bytes().decode("utf-8", errors="replace"), p.name)[0]) is not None
}


def _jsonschema_ok(data: Any) -> bool:
    return not any(_validator().iter_errors(data))


def test_the_project_schema_compiles() -> None:
    """Else every spec would silently take the slow path."""
    assert _compiled(schema_text()) is not None


def test_the_corpus_has_both_verdicts() -> None:
    verdicts = [fits(data, schema_text()) for data in CORPUS.values()]
    assert len(verdicts) > 100 and any(verdicts) and not all(verdicts)


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_verdict_equals_jsonschema_on_the_corpus(name: str) -> None:
    assert fits(CORPUS[name], schema_text()) == _jsonschema_ok(CORPUS[name])


def _fits(schema: dict[str, Any], value: Any) -> bool:
    return fits(value, json.dumps(schema))


@pytest.mark.parametrize(
    ("schema", "value", "ok"),
    [
        ({"type": "integer"}, 7, True),
        ({"type": "integer"}, 7.0, False),  # mlspec's integer: a seed of 7.0 is an error
        ({"type": "integer"}, True, False),
        ({"type": "number"}, False, False),
        ({"type": ["string", "null"]}, None, True),
        ({"enum": [1, "a"]}, True, False),  # true is not 1
        ({"enum": [1, "a"]}, 1.0, True),  # 1.0 is 1
        ({"const": [1, {"a": 2}]}, [1, {"a": 2}], True),
        ({"uniqueItems": True}, [1, True], True),
        ({"uniqueItems": True}, [1, 1.0], False),
        ({"minimum": 0}, math.nan, True),  # NaN compares false: jsonschema lets it pass
        ({"exclusiveMinimum": 0}, 0, False),
        ({"maximum": 1}, "text", True),  # bounds apply to numbers only
        ({"pattern": "^a$"}, "a\n", True),  # re.search, as jsonschema
        ({"minLength": 2}, "é", False),
        ({"additionalProperties": False, "properties": {"a": {}}}, {"a": 1, "b": 2}, False),
        ({"required": ["a"]}, {"b": 1}, False),
        ({"required": ["a"]}, [1], True),  # object keywords ignore other types
        ({"propertyNames": {"pattern": "^x"}}, {"xa": 1, "y": 2}, False),
        ({"oneOf": [{"type": "integer"}, {"minimum": 0}]}, 3, False),  # both match
        ({"anyOf": [{"type": "integer"}, {"minimum": 0}]}, 3, True),
        ({"if": {"const": 1}, "then": {"type": "string"}}, 1, False),
        ({"if": {"const": 1}, "then": {"type": "string"}, "else": {"type": "null"}}, 2, False),
        ({"$defs": {"n": {"type": "integer"}}, "items": {"$ref": "#/$defs/n"}}, [1, "x"], False),
    ],
)
def test_keywords_mean_what_jsonschema_means(schema: dict[str, Any], value: Any, ok: bool) -> None:
    assert _fits(schema, value) is ok
    from jsonschema import Draft202012Validator, validators

    integer = Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda _c, v: isinstance(v, int) and not isinstance(v, bool)
    )
    strict = validators.extend(Draft202012Validator, type_checker=integer)
    assert (not any(strict(schema).iter_errors(value))) is ok


def test_long_lists_are_judged_quickly() -> None:
    import time

    start = time.perf_counter()
    assert _fits({"uniqueItems": True}, list(range(50_000)))
    assert not _fits({"uniqueItems": True}, [*range(50_000), 7.0])
    assert not _fits({"uniqueItems": True}, [[i] for i in range(5_000)])  # jsonschema decides
    assert time.perf_counter() - start < 2
    assert _fits({"uniqueItems": True}, [[i] for i in range(150)])


def test_recursive_refs_compile() -> None:
    tree = {
        "$defs": {"t": {"type": "object", "additionalProperties": {"$ref": "#/$defs/t"}}},
        "$ref": "#/$defs/t",
    }
    assert _fits(tree, {"a": {"b": {}}}) and not _fits(tree, {"a": {"b": 1}})


@pytest.mark.parametrize(
    "keyword",
    [
        {"format": "email"},
        {"patternProperties": {"^a": {}}, "additionalProperties": False},
        {"$ref": "other.json"},
    ],
)
def test_an_unknown_keyword_never_passes_a_document(keyword: dict[str, Any]) -> None:
    """A keyword it does not implement sends every document to jsonschema instead."""
    with pytest.raises(Unsupported):
        _Compiler(keyword).compile(keyword)
    assert _fits(keyword, "anything") is False
