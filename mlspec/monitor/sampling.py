"""The one row sampler of monitoring: the `profile` step draws the reference sample with it
and the monitors draw the current data's, so both sides of a drift test are drawn alike.

Its own module (not `mlspec/frames.py`) because a step's code version is the closure of the
modules it imports: here only the `profile` step's changes with it, not every data step's.
"""

from __future__ import annotations

import numpy as np
import polars as pl


def sample(frame: pl.DataFrame, rows: int, seed: int) -> pl.DataFrame:
    """At most `rows` rows of `frame`, drawn with `seed`, in table order (all rows if fewer)."""
    if frame.height <= rows:
        return frame
    picked = np.sort(np.random.default_rng(seed).choice(frame.height, size=rows, replace=False))
    return frame[picked]
