"""Step params: one frozen dataclass per step kind, the only way anything reaches a step.

A kind's params class is declared once (`mlspec/steps/params.py`) and everything else is
derived from it: the planner fills it, the step reads it as attributes, the fingerprint is
the canonical digest of its identity fields, `plan`'s reasons map each field back to the
spec path the planner recorded for it, and `docs/step-contracts.md` is generated from the
fields' docstrings. Imports nothing beyond the standard library, so the planner builds params
without importing polars, scikit-learn or xgboost.

A field that does not shape the artifact's bytes (a spec position for messages, a
scheduling hint) is declared with ``param(identity=False)`` and left out of the fingerprint.
Nested values are plain JSON (dicts, lists, numbers, strings); inside them, keys named
``where`` are spec positions and are left out of the fingerprint too.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any, ClassVar, Self

IDENTITY = "mlspec.identity"

# An input's key: structured, never a formatted string (("eval", "quality", "gbt")), so that
# objectives `a_b`/model `c` and `a`/model `b_c` can never name the same input.
InputKey = tuple[str, ...]


def param(*, identity: bool = True, default: Any = dataclasses.MISSING) -> Any:
    """A params field; ``identity=False`` keeps it out of the fingerprint."""
    kwargs: dict[str, Any] = {"metadata": {IDENTITY: identity}}
    if default is not dataclasses.MISSING:
        if isinstance(default, list | dict):
            value = default
            kwargs["default_factory"] = lambda: json.loads(json.dumps(value))
        else:
            kwargs["default"] = default
    return dataclasses.field(**kwargs)


def strip_positions(value: Any) -> Any:
    """A JSON value without its ``where`` entries (spec positions are for messages)."""
    if isinstance(value, dict):
        return {k: strip_positions(v) for k, v in value.items() if k != "where"}
    if isinstance(value, list | tuple):
        return [strip_positions(v) for v in value]
    return value


class ParamsError(TypeError):
    """Params that do not fit their kind's class: a bug in the planner or a test, not the user's."""


@dataclasses.dataclass(frozen=True)
class Params:
    """Base of every step kind's params."""

    kind: ClassVar[str] = ""

    @classmethod
    def fields(cls) -> tuple[dataclasses.Field[Any], ...]:
        return dataclasses.fields(cls)

    @classmethod
    def identity_fields(cls) -> tuple[str, ...]:
        return tuple(f.name for f in cls.fields() if f.metadata.get(IDENTITY, True))

    def to_json(self) -> dict[str, Any]:
        """Every field as JSON (what a task file or a test fixture holds)."""
        return {f.name: _jsonable(getattr(self, f.name)) for f in self.fields()}

    def identity(self) -> dict[str, Any]:
        """The fields that shape the output, positions removed: what the fingerprint hashes."""
        return {
            name: strip_positions(_jsonable(getattr(self, name))) for name in self.identity_fields()
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> Self:
        """Build from JSON, refusing unknown and missing fields (a forgotten field fails here)."""
        names = {f.name for f in cls.fields()}
        unknown = sorted(set(value) - names)
        if unknown:
            raise ParamsError(f"{cls.__name__} has no field {', '.join(map(repr, unknown))}")
        required = {
            f.name
            for f in cls.fields()
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        }
        missing = sorted(required - set(value))
        if missing:
            raise ParamsError(f"{cls.__name__} needs field {', '.join(map(repr, missing))}")
        return cls(**dict(value))


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def key_text(key: InputKey) -> str:
    """An input key as one unambiguous text (for JSON records): names cannot hold '/'."""
    return "/".join(key)


def key_from_text(text: str) -> InputKey:
    return tuple(text.split("/"))
