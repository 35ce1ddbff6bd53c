"""Search trials, drawn at plan time so that each trial is its own step with its own params.

Pure Python and seeded: the same spec gives the same trials on every machine and backend,
and a trial's params are part of its fingerprint. Grid search enumerates every combination
(sorted by parameter name); random search draws `trials` samples with `random.Random(seed)`.
"""

from __future__ import annotations

import itertools
import math
import random
from typing import Any

MAX_TRIALS = 1000


class SearchError(ValueError):
    pass


def _draw(space: Any, rng: random.Random) -> Any:
    if isinstance(space, list):
        return space[rng.randrange(len(space))]
    low, high = float(space["low"]), float(space["high"])
    if space.get("log"):
        value = math.exp(rng.uniform(math.log(low), math.log(high)))
    else:
        value = rng.uniform(low, high)
    if space.get("integer"):
        return int(min(max(round(value), math.ceil(low)), math.floor(high)))
    return float(f"{value:.6g}")  # 6 significant digits: stable text, no float noise


def trials(search: dict[str, Any]) -> list[dict[str, Any]]:
    """The parameter sets to try, in trial order."""
    space: dict[str, Any] = search["space"]
    names = sorted(space)
    if search.get("method", "random") == "grid":
        for name in names:
            if not isinstance(space[name], list):
                raise SearchError(f"grid search needs a list of values for '{name}'")
        combos = list(itertools.product(*(space[n] for n in names)))
        if len(combos) > MAX_TRIALS:
            raise SearchError(
                f"grid search has {len(combos)} combinations; the limit is {MAX_TRIALS}"
            )
        return [dict(zip(names, combo, strict=True)) for combo in combos]
    n = int(search.get("trials", 10))
    if n > MAX_TRIALS:
        raise SearchError(f"random search asks for {n} trials; the limit is {MAX_TRIALS}")
    rng = random.Random(int(search.get("seed", 0)))
    out: list[dict[str, Any]] = []
    for _ in range(n):
        out.append({name: _draw(space[name], rng) for name in names})
    return out
