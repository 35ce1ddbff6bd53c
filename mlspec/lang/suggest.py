"""Did-you-mean hints, shared by every check that meets an unknown name.

difflib compares a word with each candidate (~10 µs each), so a spec with 50,000 unknown keys
or a table of 50,000 columns would spend minutes on hints. Validation runs inside `budget()`:
a fixed number of candidate comparisons per spec, after which hints fall back to the short
list of choices (or none). The first mistakes, the ones a person reads, keep their hints.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

# Candidate comparisons per spec: ~0.2 s of difflib, hints for ~1,500 unknown top-level keys.
MAX_COMPARISONS = 20_000
_BUDGET: ContextVar[list[int] | None] = ContextVar("mlspec_suggest_budget", default=None)


@contextmanager
def budget(comparisons: int = MAX_COMPARISONS) -> Iterator[None]:
    """Bound the difflib work of every hint made inside the block (one spec's validation)."""
    token = _BUDGET.set([comparisons])
    try:
        yield
    finally:
        _BUDGET.reset(token)


def _afford(n: int) -> bool:
    left = _BUDGET.get()
    if left is None:
        return True
    if left[0] < n:
        left[0] = 0
        return False
    left[0] -= n
    return True


def closest(word: str, choices: Iterable[str], n: int = 1, cutoff: float = 0.6) -> list[str]:
    return difflib.get_close_matches(word, sorted(set(choices)), n=n, cutoff=cutoff)


def did_you_mean(
    word: object, choices: Collection[str], *, fallback_list: bool = True
) -> str | None:
    """A hint naming the closest choice, or (for short lists) all of them."""
    if isinstance(word, str) and _afford(len(choices)):
        options = sorted(set(choices))
        # A difference of case only ('c' for 'C') is the likeliest slip; difflib misses it.
        low = word.lower()
        match = [o for o in options if o.lower() == low and o != word] or closest(word, options)
        if match:
            return f"did you mean '{match[0]}'?"
    if fallback_list and choices and len(choices) <= 12:
        return "expected one of: " + ", ".join(repr(o) for o in sorted(set(choices)))
    return None
