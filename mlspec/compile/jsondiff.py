"""Where two JSON values differ, as spec paths: shared by `plan`'s reasons and `diff`.

Standard library only: it runs on the validate/plan/diff paths.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Named:
    """A list item addressed by its `name` (`features[hour]`), so reordering is no change."""

    name: str


PathPart = str | int | Named


def _named(items: list[Any]) -> dict[str, Any] | None:
    """A list of dicts with unique string names, keyed by name; else None (compared by index)."""
    if not items or not all(isinstance(i, dict) and isinstance(i.get("name"), str) for i in items):
        return None
    names = [i["name"] for i in items]
    return dict(zip(names, items, strict=True)) if len(set(names)) == len(names) else None


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


def semantic_diff(
    old: Any, new: Any, path: tuple[PathPart, ...] = (), *, by_name: bool = True
) -> list[tuple[tuple[PathPart, ...], str]]:
    """(path, added|removed|changed|reordered) where two JSON values differ.

    Mappings compare by key (key order and YAML style do not matter), equal-length lists by
    index, and with `by_name` lists of uniquely named items by name (a reordering is one
    `reordered`, not a change of every item).
    """
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[tuple[tuple[PathPart, ...], str]] = []
        for key in sorted(set(old) | set(new), key=str):
            sub = (*path, key)
            if key not in old:
                out.append((sub, "added"))
            elif key not in new:
                out.append((sub, "removed"))
            else:
                out += semantic_diff(old[key], new[key], sub, by_name=by_name)
        return out
    if isinstance(old, list) and isinstance(new, list):
        a, b = (_named(old), _named(new)) if by_name else (None, None)
        if a is not None and b is not None:
            out = []
            for name in [*a, *(n for n in b if n not in a)]:
                sub = (*path, Named(name))
                if name not in b:
                    out.append((sub, "removed"))
                elif name not in a:
                    out.append((sub, "added"))
                else:
                    out += semantic_diff(a[name], b[name], sub, by_name=by_name)
            common = [n for n in a if n in b]
            if common != [n for n in b if n in a]:
                # No value changed, but order can matter downstream (the feature table's column
                # order), so say it: it is why steps rerun after a pure reordering.
                out.append((path, "reordered"))
            return out
        if len(old) == len(new):
            out = []
            for i, (x, y) in enumerate(zip(old, new, strict=True)):
                out += semantic_diff(x, y, (*path, i), by_name=by_name)
            return out
    if _same(old, new):
        return []
    return [(path, "changed")]


def display_path(path: tuple[PathPart, ...]) -> str:
    out = ""
    for part in path:
        if isinstance(part, Named):
            out += f"[{part.name}]"
        elif isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(spec)"
