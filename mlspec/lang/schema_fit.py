"""Does a document fit the schema? A yes/no answer that does not import jsonschema.

Every `mlspec run`, `plan` and `diff` validates its spec first, and importing jsonschema
(attrs, referencing, the bundled metaschemas) costs ~85 ms: a tenth of a 1M-row data run.
Almost every spec fits, so the front end asks this predicate first and calls jsonschema only
when the answer is no, to find and word every error (`mlspec.lang.schema.check_schema`).
jsonschema stays the only source of diagnostics; this module never explains anything.

It compiles the schema once into nested closures and knows exactly the keywords that
`schemas/mlspec.schema.json` uses, with jsonschema's meaning (Draft 2020-12, and our
`integer` that excludes 2.0). A schema with any other keyword does not compile
(`Unsupported`), and then every document goes to jsonschema: a keyword this module does not
know can cost time, never let an invalid spec through. Tests hold the verdict equal to
jsonschema's on the conformance corpus and on fuzzed documents.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import Any

Check = Callable[[Any], bool]

# Keywords that only annotate: they never make a document invalid.
_ANNOTATIONS = frozenset(
    {
        "$schema",
        "$id",
        "$comment",
        "$defs",
        "title",
        "description",
        "default",
        "examples",
        "deprecated",
    }
)


class Unsupported(Exception):
    """The schema uses a keyword this module does not implement."""


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


_TYPES: dict[str, Check] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),  # 2.0 is not (schema.py)
    "number": _is_number,
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def _equal(a: Any, b: Any) -> bool:
    """jsonschema's equality: true is not 1, 1 is 1.0, containers compare item by item."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    return a == b


def _scalar_key(v: Any) -> tuple[str, Any] | None:
    """A hashable key under `_equal` for a scalar (true is not 1, 1 is 1.0); None otherwise."""
    if isinstance(v, bool):
        return ("b", v)
    if isinstance(v, int | float):
        return ("n", v)
    if isinstance(v, str):
        return ("s", v)
    return ("z", None) if v is None else None


def _unique(items: list[Any]) -> bool:
    """No two items equal (`_equal`): a set for scalars; lists of containers, compared pair by
    pair, are left to jsonschema (False) past 200 items so a long list cannot take minutes."""
    keys = [_scalar_key(v) for v in items]
    if all(k is not None for k in keys):
        return len(set(keys)) == len(keys)
    if len(items) > 200:
        return False
    return not any(_equal(items[i], items[j]) for i in range(len(items)) for j in range(i))


class _Compiler:
    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root
        self.refs: dict[str, Check] = {}

    def ref(self, pointer: str) -> Check:
        if not pointer.startswith("#/"):
            raise Unsupported(f"$ref {pointer!r}")
        if pointer not in self.refs:
            box: list[Check] = []
            self.refs[pointer] = lambda v: box[0](v)  # late bound: refs may recurse
            node: Any = self.root
            for part in pointer[2:].split("/"):
                node = node[part.replace("~1", "/").replace("~0", "~")]
            box.append(self.compile(node))
        return self.refs[pointer]

    def compile(self, node: Any) -> Check:
        if node is True:
            return lambda v: True
        if node is False:
            return lambda v: False
        if not isinstance(node, dict):
            raise Unsupported(f"schema {node!r}")
        checks: list[Check] = []
        for key, arg in node.items():
            if key in _ANNOTATIONS or key in ("then", "else"):
                continue
            build = getattr(self, "kw_" + key.lstrip("$"), None)
            if build is None:
                raise Unsupported(key)
            checks.append(build(arg, node))
        if len(checks) == 1:
            return checks[0]
        return lambda v: all(c(v) for c in checks)

    # -- any type
    def kw_ref(self, arg: str, node: dict) -> Check:
        return self.ref(arg)

    def kw_type(self, arg: str | list[str], node: dict) -> Check:
        tests = [_TYPES[t] for t in ([arg] if isinstance(arg, str) else arg)]
        return lambda v: any(t(v) for t in tests)

    def kw_enum(self, arg: list[Any], node: dict) -> Check:
        return lambda v: any(_equal(v, e) for e in arg)

    def kw_const(self, arg: Any, node: dict) -> Check:
        return lambda v: _equal(v, arg)

    def kw_allOf(self, arg: list[Any], node: dict) -> Check:
        subs = [self.compile(s) for s in arg]
        return lambda v: all(s(v) for s in subs)

    def kw_anyOf(self, arg: list[Any], node: dict) -> Check:
        subs = [self.compile(s) for s in arg]
        return lambda v: any(s(v) for s in subs)

    def kw_oneOf(self, arg: list[Any], node: dict) -> Check:
        subs = [self.compile(s) for s in arg]
        return lambda v: sum(1 for s in subs if s(v)) == 1

    def kw_if(self, arg: Any, node: dict) -> Check:
        cond = self.compile(arg)
        then = self.compile(node["then"]) if "then" in node else None
        other = self.compile(node["else"]) if "else" in node else None

        def check(v: Any) -> bool:
            branch = then if cond(v) else other
            return branch is None or branch(v)

        return check

    # -- numbers: written as jsonschema's tests for failure, so NaN passes every bound there
    # and here (the semantic checks refuse it, with a better message)
    def _bound(self, fails: Callable[[Any], bool]) -> Check:
        return lambda v: not _is_number(v) or not fails(v)

    def kw_minimum(self, arg: float, node: dict) -> Check:
        return self._bound(lambda v: v < arg)

    def kw_maximum(self, arg: float, node: dict) -> Check:
        return self._bound(lambda v: v > arg)

    def kw_exclusiveMinimum(self, arg: float, node: dict) -> Check:
        return self._bound(lambda v: v <= arg)

    def kw_exclusiveMaximum(self, arg: float, node: dict) -> Check:
        return self._bound(lambda v: v >= arg)

    # -- strings
    def kw_minLength(self, arg: int, node: dict) -> Check:
        return lambda v: not isinstance(v, str) or len(v) >= arg

    def kw_maxLength(self, arg: int, node: dict) -> Check:
        return lambda v: not isinstance(v, str) or len(v) <= arg

    def kw_pattern(self, arg: str, node: dict) -> Check:
        search = re.compile(arg).search
        return lambda v: not isinstance(v, str) or search(v) is not None

    # -- arrays
    def kw_items(self, arg: Any, node: dict) -> Check:
        if "prefixItems" in node:
            raise Unsupported("prefixItems")
        sub = self.compile(arg)
        return lambda v: not isinstance(v, list) or all(sub(x) for x in v)

    def kw_minItems(self, arg: int, node: dict) -> Check:
        return lambda v: not isinstance(v, list) or len(v) >= arg

    def kw_uniqueItems(self, arg: bool, node: dict) -> Check:
        return lambda v: not arg or not isinstance(v, list) or _unique(v)

    # -- objects
    def kw_properties(self, arg: dict[str, Any], node: dict) -> Check:
        subs = {k: self.compile(s) for k, s in arg.items()}
        return lambda v: (
            not isinstance(v, dict) or all(subs[k](x) for k, x in v.items() if k in subs)
        )

    def kw_additionalProperties(self, arg: Any, node: dict) -> Check:
        if "patternProperties" in node:
            raise Unsupported("patternProperties")
        known = frozenset(node.get("properties", ()))
        sub = self.compile(arg)
        return lambda v: (
            not isinstance(v, dict) or all(sub(x) for k, x in v.items() if k not in known)
        )

    def kw_required(self, arg: list[str], node: dict) -> Check:
        return lambda v: not isinstance(v, dict) or all(k in v for k in arg)

    def kw_minProperties(self, arg: int, node: dict) -> Check:
        return lambda v: not isinstance(v, dict) or len(v) >= arg

    def kw_propertyNames(self, arg: Any, node: dict) -> Check:
        sub = self.compile(arg)
        return lambda v: not isinstance(v, dict) or all(sub(k) for k in v)


@cache
def _compiled(schema_text: str) -> Check | None:
    import json

    try:
        root = json.loads(schema_text)
        return _Compiler(root).compile(root)
    except Unsupported:
        return None


def fits(data: Any, schema_text: str) -> bool:
    """True when `data` is valid against the schema (the JSON text); False when it is not,
    or when the schema uses a keyword this module does not know (ask jsonschema then)."""
    check = _compiled(schema_text)
    return check is not None and check(data)
