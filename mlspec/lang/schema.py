"""The JSON Schema of the spec language, and its errors turned into located diagnostics.

The schema (``schemas/mlspec.schema.json``, shipped inside the package) is the single source
of truth for the shape of a spec; editors read the same file. jsonschema's own messages are
written for schema authors ("'x' is not of type 'number'"); here each error keyword maps to a
message for spec authors, in scikit-learn's "must be X. Got Y instead." form, placed at the
offending key or value and with a hint where one helps.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path
from typing import Any

from mlspec.diagnostics import Diagnostic
from mlspec.lang.loader import Document, JsonPath, format_path
from mlspec.lang.schema_fit import _equal, _scalar_key, fits
from mlspec.lang.suggest import did_you_mean

SCHEMA_FILE = "mlspec.schema.json"


@cache
def schema_text() -> str:
    # A plain path: importlib.resources (with zipfile) cost ~6 ms of imports per command, and
    # the package is never imported from a zip (code versions hash its files too).
    return (Path(__file__).parent.parent / "schemas" / SCHEMA_FILE).read_text("utf-8")


@cache
def schema() -> dict[str, Any]:
    return json.loads(schema_text())


@cache
def _validator() -> Any:
    from jsonschema import (  # deferred: ~0.1 s, only when validating
        Draft202012Validator,
        validators,
    )

    # JSON Schema counts 2.0 as an integer; a spec should not (seed 7.0 would hash unlike 7).
    types = Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda _checker, value: isinstance(value, int) and not isinstance(value, bool)
    )
    strict = validators.extend(Draft202012Validator, type_checker=types)
    return strict(schema())


_TYPE_NAMES = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}

_PATTERN_PHRASES = {
    "^[A-Za-z_][A-Za-z0-9_]{0,63}$": "an identifier (a letter or '_', then letters, digits or '_'; at most 64)",
    "^[a-z][a-z0-9_-]{0,62}$": "a lower-case name (a letter, then letters, digits, '-' or '_')",
    "^[a-z][a-z0-9_]*$": "a lower-case metric name",
}


def describe_value(value: Any) -> str:
    """How a value is shown after "Got": its text and, for strings and containers, its kind."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"'{shown}' (a string)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return ".inf" if value > 0 else "-.inf"  # as YAML writes it
    return repr(value)


def _types(schema_part: dict[str, Any]) -> list[str]:
    t = schema_part.get("type", [])
    return [t] if isinstance(t, str) else list(t)


def _expected(schema_part: dict[str, Any]) -> str:
    names = [_TYPE_NAMES.get(t, t) for t in _types(schema_part) if t != "null"]
    return " or ".join(names) or "a value"


_PLURALS = {
    "object": "mappings",
    "array": "lists",
    "string": "strings",
    "integer": "integers",
    "number": "numbers",
    "boolean": "booleans",
}


def _plural(schema_part: dict[str, Any]) -> str:
    """The items of a list schema, in the plural: "strings", "numbers, strings or booleans"."""
    names = [_PLURALS.get(t, t) for t in _types(_deref(schema_part)) if t != "null"]
    if not names:
        return "values"
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def _range_phrase(s: dict[str, Any]) -> str:
    kind = "an integer" if "integer" in _types(s) else "a number"
    lo = s.get("minimum", s.get("exclusiveMinimum"))
    hi = s.get("maximum", s.get("exclusiveMaximum"))
    left = "(" if "exclusiveMinimum" in s else "["
    right = ")" if "exclusiveMaximum" in s else "]"
    if lo is not None and hi is not None:
        return f"{kind} in {left}{lo}, {hi}{right}"
    if lo is not None:
        return f"{kind} {'>' if 'exclusiveMinimum' in s else '>='} {lo}"
    return f"{kind} {'<' if 'exclusiveMaximum' in s else '<='} {hi}"


def _pattern_phrase(schema_part: dict[str, Any]) -> str | None:
    """How a string pattern of the schema is named in a message, if it has a name."""
    pattern = schema_part.get("pattern")
    if not isinstance(pattern, str):
        return None
    if "(>=|<=" in pattern:
        return "a comparison such as '>= 0.75' or '<= 0.1'"
    return _PATTERN_PHRASES.get(pattern)


def _subject(path: JsonPath) -> str:
    return format_path(path)


class _Mapper:
    """Maps one jsonschema error to diagnostics; one method per schema keyword."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc

    def __call__(self, error: Any) -> list[Diagnostic]:
        if "propertyNames" in error.relative_schema_path:
            return self.on_propertyNames(error, tuple(error.absolute_path))
        handler: Callable[[Any, JsonPath], list[Diagnostic]] = getattr(
            self, "on_" + error.validator, self.on_other
        )
        return handler(error, tuple(error.absolute_path))

    def at(
        self, path: JsonPath, code: str, message: str, hint: str | None = None, key: bool = False
    ) -> list[Diagnostic]:
        return [self.doc.diag(path, code, message, hint, key=key)]

    def on_additionalProperties(self, error: Any, path: JsonPath) -> list[Diagnostic]:
        allowed = list(error.schema.get("properties", {}))
        extra = error.schema.get("additionalProperties")
        if extra is not False:  # a map whose values failed: report the failing values elsewhere
            return self.on_other(error, path)
        out: list[Diagnostic] = []
        for key in error.instance:
            if key in allowed:
                continue
            where = _subject(path)
            out += self.at(
                (*path, key),
                "unknown-key",
                f"unknown key '{key}' in {where}",
                did_you_mean(key, allowed),
                key=True,
            )
        return out

    def on_required(self, error: Any, path: JsonPath) -> list[Diagnostic]:
        out: list[Diagnostic] = []
        props = error.schema.get("properties", {})
        reason = self._condition(error)
        for name in error.validator_value:
            if isinstance(error.instance, dict) and name not in error.instance:
                desc = _deref(props.get(name, {})).get("description")
                message = f"missing required key '{name}' in {_subject(path)}{reason}"
                out += self.at(path, "missing-key", message, desc, key=bool(path))
        return out

    def _condition(self, error: Any) -> str:
        """For a key required by an if/then rule, say which condition made it required."""
        if "then" not in error.relative_schema_path:
            return ""
        for _path, sub in _subschemas(schema()):
            if isinstance(sub, dict) and sub.get("then") is error.schema:
                parts = []
                for name, cond in sub["if"].get("properties", {}).items():
                    if "const" in cond:
                        parts.append(f"{name} is '{cond['const']}'")
                    elif "enum" in cond:
                        parts.append(f"{name} is " + " or ".join(f"'{v}'" for v in cond["enum"]))
                return f" (required when {' and '.join(parts)})" if parts else ""
        return ""

    def on_type(self, error: Any, path: JsonPath) -> list[Diagnostic]:
        # A string with a known shape (a comparison, a name) is described by that shape.
        expected = _pattern_phrase(error.schema) or _expected(error.schema)
        msg = f"{_subject(path)} must be {expected}. Got {describe_value(error.instance)} instead."
        return self.at(path, "type", msg)

    def on_enum(self, error: Any, path: JsonPath) -> list[Diagnostic]:
        options = [v for v in error.validator_value if v is not None]
        if len(options) == 1:
            return self.on_const(error, path, options[0])
        shown = ", ".join(repr(v) if isinstance(v, str) else json.dumps(v) for v in options)
        msg = f"{_subject(path)} must be one of {shown}. Got {describe_value(error.instance)} instead."
        hint = did_you_mean(error.instance, [str(o) for o in options], fallback_list=False)
        return self.at(path, "enum", msg, hint)

    def on_const(self, error: Any, path: JsonPath, value: Any = None) -> list[Diagnostic]:
        value = error.validator_value if value is None else value
        msg = f"{_subject(path)} must be {json.dumps(value)}. Got {describe_value(error.instance)} instead."
        return self.at(path, "enum", msg)

    def _range(self, error: Any, path: JsonPath) -> list[Diagnostic]:
        msg = f"{_subject(path)} must be {_range_phrase(error.schema)}. Got {describe_value(error.instance)} instead."
        return self.at(path, "range", msg, _why(error.schema))

    on_minimum = on_maximum = on_exclusiveMinimum = on_exclusiveMaximum = _range

    def on_pattern(self, error: Any, path: JsonPath) -> list[Diagnostic]:
        phrase = _pattern_phrase(error.schema) or f"text matching {error.validator_value}"
        msg = f"{_subject(path)} must be {phrase}. Got {describe_value(error.instance)} instead."
        return self.at(path, "pattern", msg)

    def on_propertyNames(self, error: Any, path: JsonPath) -> list[Diagnostic]:
        """A key that is a name (of a source, an objective) failed its pattern."""
        name = error.instance
        phrase = _PATTERN_PHRASES.get(error.validator_value, "a valid name")
        msg = f"name in {_subject(path)} must be {phrase}. Got {describe_value(name)} instead."
        return self.at((*path, str(name)), "name", msg, key=True)

    def _too_few(self, error: Any, path: JsonPath) -> list[Diagnostic]:
        return self.at(path, "empty", f"{_subject(path)} must not be empty.")

    on_minProperties = on_minItems = _too_few

    def on_minLength(self, error: Any, path: JsonPath) -> list[Diagnostic]:
        n = error.validator_value
        return self.at(
            path,
            "empty",
            f"{_subject(path)} must have at least {n} character{'s' * (n != 1)}. Got {describe_value(error.instance)} instead.",
        )

    def on_maxLength(self, error: Any, path: JsonPath) -> list[Diagnostic]:
        n = error.validator_value
        return self.at(
            path,
            "range",
            f"{_subject(path)} must have at most {n} character{'s' * (n != 1)}. Got {describe_value(error.instance)} instead.",
            _why(error.schema),
        )

    def on_uniqueItems(self, error: Any, path: JsonPath) -> list[Diagnostic]:
        # A set for scalars: a list of 20,000 names with one repeat took 48 s pair by pair.
        keys: set[Any] = set()
        others: list[Any] = []
        for i, item in enumerate(error.instance):
            key = _scalar_key(item)
            if key is not None:
                repeated = key in keys
                keys.add(key)
            else:
                repeated = any(_equal(item, other) for other in others)
                others.append(item)
            if repeated:
                return self.at(
                    (*path, i), "duplicate", f"{_subject(path)} lists {describe_value(item)} twice."
                )
        return self.at(path, "duplicate", f"{_subject(path)} must not repeat items.")

    def _alternatives(self, error: Any, path: JsonPath) -> list[Diagnostic]:
        """oneOf/anyOf: name every accepted shape when the kind is wrong, else the closest branch."""
        context = list(error.context or [])
        same_spot = [e for e in context if tuple(e.absolute_path) == path]
        if (
            context
            and all(e.validator in ("type", "const") for e in same_spot)
            and len(same_spot) == len(context)
        ):
            kinds: list[str] = []
            for branch in error.validator_value:
                if "const" in branch:
                    kinds.append(f"'{branch['const']}'")
                elif branch.get("type") == "array" and "items" in branch:
                    kinds.append("a list of " + _plural(branch["items"]))
                elif "$ref" in branch:
                    kinds.append(_expected(_resolve(branch["$ref"])))
                elif _types(branch) == ["null"]:
                    kinds.append("null")
                else:
                    kinds.append(_expected(branch))
            msg = f"{_subject(path)} must be {' or '.join(dict.fromkeys(kinds))}. Got {describe_value(error.instance)} instead."
            return self.at(path, "type", msg)
        from jsonschema.exceptions import relevance

        # The branch that fits best, picked as best_match does when it descends into a
        # context: min() by relevance (the deepest error, then one whose branch's type fits
        # the value). best_match(context) on a plain list takes max(): "must be null" for 1.5.
        inner = min(context, key=relevance, default=None)
        return self(inner) if inner is not None else self.on_other(error, path)

    on_oneOf = on_anyOf = _alternatives

    def on_other(self, error: Any, path: JsonPath) -> list[Diagnostic]:
        return self.at(path, "schema", f"{_subject(path)}: {error.message}")


def _why(schema_part: dict[str, Any]) -> str | None:
    """The schema's description of a bounded value: it says what the bound is for."""
    desc = schema_part.get("description")
    return desc if isinstance(desc, str) and desc else None


def _resolve(ref: str) -> dict[str, Any]:
    node: Any = schema()
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def _subschemas(node: Any, path: tuple[str, ...] = ()) -> Iterable[tuple[tuple[str, ...], Any]]:
    yield path, node
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _subschemas(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _subschemas(v, (*path, str(i)))


def check_schema(doc: Document) -> list[Diagnostic]:
    """Every schema violation in the document, located and worded for spec authors.

    A document that fits (`schema_fit.fits`, no jsonschema import) has none; only one that
    does not is handed to jsonschema, which finds every error.
    """
    if fits(doc.data, schema_text()):
        return []
    mapper = _Mapper(doc)
    out: list[Diagnostic] = []
    errors = list(_validator().iter_errors(doc.data))
    # A value of the wrong type also fails its enum; the enum's message (the allowed values)
    # says more, so the type error at the same place is left out.
    enums = {tuple(e.absolute_path) for e in errors if e.validator in ("enum", "const")}
    for error in errors:
        if error.validator == "type" and tuple(error.absolute_path) in enums:
            continue
        out += mapper(error)
    return out


def default_of(path: JsonPath) -> Any:
    """The schema default at a data path, or None (used to fill a typed Spec)."""
    node = subschema(path)
    return None if node is None else node.get("default")


def subschema(path: JsonPath) -> dict[str, Any] | None:
    """The schema that applies at a data path (follows $ref, properties, items, maps)."""
    node: dict[str, Any] | None = schema()
    for part in path:
        if node is None:
            return None
        node = _deref(node)
        if isinstance(part, int):
            node = node.get("items")
        elif part in node.get("properties", {}):
            node = node["properties"][part]
        elif isinstance(node.get("additionalProperties"), dict):
            node = node["additionalProperties"]
        else:
            return None
    return _deref(node) if node is not None else None


def _deref(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        merged = {k: v for k, v in node.items() if k != "$ref"}
        node = {**_resolve(node["$ref"]), **merged}
    return node
