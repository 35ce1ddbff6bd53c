"""Generate the synthetic feed-ranking data: data/posts.parquet and data/clicks.csv.

Everything is drawn from one seeded numpy generator, so a given --rows and --seed always
produce byte-identical files (no wall-clock time is read anywhere).

posts.parquet, one row per post:
    post_id           int       unique, increasing with posted_at
    author_id         int
    author_followers  int >= 0  about 3% null (the follower service timed out)
    topic             str       one of 8 topics
    length_words      int
    has_image         bool
    posted_at         datetime  within 90 days from 2024-01-01
    author_group      str       'A' or 'B', a protected group (never a model input)
    is_quality        int 0/1   editorial quality label: a noisy logistic of the features

clicks.csv, one row per post (shuffled order, joined on post_id):
    post_id, impressions (int >= 1), clicked (int 0/1), dwell_seconds (float >= 0, 0 if not clicked)

Usage:
    python examples/feed_ranking/make_data.py               # 20,000 posts
    python examples/feed_ranking/make_data.py --rows 1000000
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import polars as pl

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"

TOPICS = np.array(["news", "sports", "tech", "music", "food", "travel", "science", "gaming"])
TOPIC_SHARE = np.array([0.20, 0.16, 0.14, 0.12, 0.10, 0.10, 0.09, 0.09])
# Effect of the topic on the quality logit and on the click logit.
TOPIC_QUALITY = np.array([0.2, -0.5, 0.5, -0.3, 0.0, 0.3, 0.9, -0.6])
TOPIC_CLICK = np.array([0.0, 0.6, -0.2, 0.3, 0.5, 0.2, -0.5, 0.5])
# Share of posts by hour of day (UTC): quiet at night, peaks at lunch and in the evening.
HOUR_SHARE = np.array(
    [
        1,
        0.6,
        0.4,
        0.3,
        0.3,
        0.5,
        1,
        2,
        3,
        3.5,
        3.5,
        4,
        4.5,
        4,
        3.5,
        3.5,
        4,
        4.5,
        5.5,
        6,
        6,
        5,
        3.5,
        2,
    ]
)
START = np.datetime64("2024-01-01T00:00:00", "s")
DAYS = 90
FOLLOWERS_NULL_SHARE = 0.03


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _z(x: np.ndarray) -> np.ndarray:
    return (x - x.mean()) / x.std()


def generate(rows: int, seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng(seed)

    # Authors: follower counts are heavy-tailed; group B authors have somewhat fewer.
    n_authors = max(50, rows // 25)
    author_group = np.where(rng.random(n_authors) < 0.65, "A", "B")
    log_followers_mean = np.where(author_group == "A", 6.0, 5.5)
    followers_by_author = np.floor(rng.lognormal(log_followers_mean, 1.8)).astype(np.int64)

    # Posts.
    author_idx = rng.integers(0, n_authors, size=rows)
    topic_idx = rng.choice(len(TOPICS), size=rows, p=TOPIC_SHARE)
    length_words = np.clip(np.round(rng.lognormal(np.log(300.0), 0.8, size=rows)), 5, 6000).astype(
        np.int64
    )
    image_p = np.where(np.isin(TOPICS[topic_idx], ["food", "travel"]), 0.75, 0.4)
    has_image = rng.random(rows) < image_p
    day = rng.integers(0, DAYS, size=rows)
    hour = rng.choice(24, size=rows, p=HOUR_SHARE / HOUR_SHARE.sum())
    second_of_hour = rng.integers(0, 3600, size=rows)
    seconds = day * 86400 + hour * 3600 + second_of_hour
    posted_at = START + seconds.astype("timedelta64[s]")

    followers = followers_by_author[author_idx]
    zf = _z(np.log1p(followers))
    zl = _z(np.log(length_words))
    evening = ((hour >= 18) & (hour <= 22)).astype(float)

    # Quality: better-followed authors, some topics, mid-to-long posts, images help.
    quality_signal = (
        -0.8 + 0.9 * zf + TOPIC_QUALITY[topic_idx] + 0.6 * zl - 0.5 * zl**2 + 0.5 * has_image
    )
    is_quality = (rng.random(rows) < _sigmoid(quality_signal + rng.normal(0.0, 0.7, rows))).astype(
        np.int64
    )

    # Engagement: images, short posts, some topics, evening posts, and a little quality.
    click_signal = (
        -2.0
        + 0.3 * zf
        + TOPIC_CLICK[topic_idx]
        + 0.9 * has_image
        - 0.7 * zl
        + 0.9 * evening
        + 0.25 * quality_signal
    )
    p_click = _sigmoid(click_signal + rng.normal(0.0, 0.7, rows))
    clicked = (rng.random(rows) < p_click).astype(np.int64)
    impressions = 1 + rng.poisson(np.exp(2.0 + 0.4 * zf))
    dwell = np.where(
        clicked == 1,
        np.round(rng.gamma(2.0, 5.0 + length_words / 20.0, size=rows), 2),
        0.0,
    )

    # The follower service times out now and then.
    followers_missing = rng.random(rows) < FOLLOWERS_NULL_SHARE

    # Post ids increase with posting time (ties broken by draw order: a stable sort).
    order = np.argsort(seconds, kind="stable")
    post_id = np.empty(rows, dtype=np.int64)
    post_id[order] = np.arange(1, rows + 1, dtype=np.int64)

    posts = (
        pl.DataFrame(
            [
                pl.Series("post_id", post_id, dtype=pl.Int64),
                pl.Series("author_id", author_idx.astype(np.int64) + 1, dtype=pl.Int64),
                pl.Series("author_followers", followers, dtype=pl.Int64),
                pl.Series("topic", TOPICS[topic_idx], dtype=pl.String),
                pl.Series("length_words", length_words, dtype=pl.Int64),
                pl.Series("has_image", has_image, dtype=pl.Boolean),
                pl.Series("posted_at", posted_at.astype("datetime64[us]"), dtype=pl.Datetime("us")),
                pl.Series("author_group", author_group[author_idx], dtype=pl.String),
                pl.Series("is_quality", is_quality, dtype=pl.Int64),
            ]
        )
        .with_columns(
            pl.when(pl.Series(followers_missing))
            .then(None)
            .otherwise(pl.col("author_followers"))
            .alias("author_followers")
        )
        .sort("post_id")
    )

    clicks = pl.DataFrame(
        [
            pl.Series("post_id", post_id, dtype=pl.Int64),
            pl.Series("impressions", impressions.astype(np.int64), dtype=pl.Int64),
            pl.Series("clicked", clicked, dtype=pl.Int64),
            pl.Series("dwell_seconds", dwell, dtype=pl.Float64),
        ]
    )
    # The click log arrives in its own order; the spec joins it on post_id.
    clicks = clicks[rng.permutation(rows)]
    return posts, clicks


def _write_atomic(df: pl.DataFrame, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    if path.suffix == ".parquet":
        df.write_parquet(tmp)
    else:
        df.write_csv(tmp, float_precision=2)
    tmp.replace(path)


def _shown(path: Path) -> str:
    """The path relative to the working folder when it is inside it, else absolute."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path.resolve())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000, help="number of posts (default 20000)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the generator (default 7)")
    parser.add_argument(
        "--out", type=Path, default=DATA, help="output folder (default: data/ beside this script)"
    )
    args = parser.parse_args(argv)
    if args.rows < 100:
        parser.error("--rows must be at least 100")

    posts, clicks = generate(args.rows, args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    posts_path = args.out / "posts.parquet"
    clicks_path = args.out / "clicks.csv"
    _write_atomic(posts, posts_path)
    _write_atomic(clicks, clicks_path)

    print(
        f"wrote {_shown(posts_path)}: {posts.height} rows x {posts.width} columns, "
        f"is_quality rate {posts['is_quality'].mean():.3f}, "
        f"author_followers null {posts['author_followers'].null_count() / posts.height:.3f}"
    )
    print(
        f"wrote {_shown(clicks_path)}: {clicks.height} rows x {clicks.width} columns, "
        f"clicked rate {clicks['clicked'].mean():.3f}"
    )


if __name__ == "__main__":
    main()
