"""Current batches for monitoring tests: the feed-ranking generator's rows, joined, shifted or not."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import polars as pl


def generate(example: Path, rows: int, seed: int) -> pl.DataFrame:
    """Rows shaped like the joined data (posts left-joined with clicks), targets included."""
    spec = importlib.util.spec_from_file_location("feed_make_data", example / "make_data.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    posts, clicks = module.generate(rows, seed)
    return posts.join(clicks, on="post_id", how="left")


def shift(frame: pl.DataFrame, seed: int = 1, flip: float = 0.35) -> pl.DataFrame:
    """Followers x 20, longer posts, a topic mix where 'gaming' dominates, labels flipped for
    a `flip` share of the rows (performance decays)."""
    rng = np.random.default_rng(seed)
    n = frame.height
    flip = rng.random(n) < flip
    return frame.with_columns(
        (pl.col("author_followers") * 20).alias("author_followers"),
        (pl.col("length_words") * 2 + 300).alias("length_words"),
        pl.Series("topic", np.where(rng.random(n) < 0.6, "gaming", frame["topic"].to_numpy())),
        pl.Series(
            "is_quality",
            np.where(flip, 1 - frame["is_quality"].to_numpy(), frame["is_quality"].to_numpy()),
        ),
    )
