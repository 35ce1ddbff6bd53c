"""Did-you-mean hints, shared by every check that meets an unknown name."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(word: str, choices: Iterable[str], n: int = 1, cutoff: float = 0.6) -> list[str]:
    return difflib.get_close_matches(word, sorted(set(choices)), n=n, cutoff=cutoff)


def did_you_mean(word: object, choices: Iterable[str], *, fallback_list: bool = True) -> str | None:
    """A hint naming the closest choice, or (for short lists) all of them."""
    options = sorted(set(choices))
    if isinstance(word, str):
        # A difference of case only ('c' for 'C') is the likeliest slip; difflib misses it.
        match = [o for o in options if o.lower() == word.lower() and o != word] or closest(
            word, options
        )
        if match:
            return f"did you mean '{match[0]}'?"
    if fallback_list and options and len(options) <= 12:
        return "expected one of: " + ", ".join(repr(o) for o in options)
    return None
