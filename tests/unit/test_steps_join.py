from __future__ import annotations

from datetime import datetime as dt
from typing import Any

import polars as pl
import pytest
from steps_fakes import FakeContext

from mlspec.contract.api import StepError
from mlspec.steps import join

POSTS = pl.DataFrame(
    {"post_id": [3, 1, 2, 5, 4], "topic": ["a", "b", "c", "d", "e"], "n": [1, 2, 3, 4, 5]}
)
CLICKS = pl.DataFrame({"post_id": [2, 3, 9, 1], "clicked": [1, 0, 1, 1], "n": [20, 30, 90, 10]})
AUTHORS = pl.DataFrame({"topic": ["a", "b", "x"], "editor": ["ann", "bob", "xi"]})


def _join(
    left: str = "posts",
    right: str = "clicks",
    on: Any = ("post_id",),
    how: str = "inner",
    suffix: str = "_right",
) -> dict[str, Any]:
    return {
        "left": left,
        "right": right,
        "on": list(on) if not isinstance(on, str) else on,
        "how": how,
        "suffix": suffix,
    }


def _run(*joins: dict[str, Any], **frames: pl.DataFrame) -> FakeContext:
    inputs = frames or {"posts": POSTS, "clicks": CLICKS, "authors": AUTHORS}
    c = FakeContext(
        {
            "joins": list(joins),
            "where": {str(i): f"spec.yaml:{40 + i}:7" for i in range(len(joins))},
        },
        {f"source/{n}": df for n, df in inputs.items()},
    )
    join.run(c)
    return c


def _fails(*joins: dict[str, Any], words: tuple[str, ...], **frames: pl.DataFrame) -> StepError:
    with pytest.raises(StepError) as info:
        _run(*joins, **frames)
    for word in words:
        assert word in str(info.value), (word, str(info.value))
    return info.value


def test_inner() -> None:
    c = _run(_join(how="inner"))
    out = c.output.frames["data"]
    assert out.to_dict(as_series=False) == {
        "post_id": [3, 1, 2],
        "topic": ["a", "b", "c"],
        "n": [1, 2, 3],
        "clicked": [0, 1, 1],
        "n_right": [30, 10, 20],
    }
    assert c.output.metrics == {"rows_in.posts": 5.0, "rows_in.clicks": 4.0, "rows_out": 3.0}


def test_left_keeps_left_order() -> None:
    out = _run(_join(how="left")).output.frames["data"]
    assert out["post_id"].to_list() == [3, 1, 2, 5, 4]
    assert out["clicked"].to_list() == [0, 1, 1, None, None]


def test_full_coalesces_keys() -> None:
    out = _run(_join(how="full")).output.frames["data"]
    assert out.columns == ["post_id", "topic", "n", "clicked", "n_right"]
    assert out["post_id"].to_list() == [3, 1, 2, 5, 4, 9]
    assert out["topic"].to_list() == ["a", "b", "c", "d", "e", None]


def test_semi_and_anti() -> None:
    semi = _run(_join(how="semi")).output.frames["data"]
    assert semi.columns == POSTS.columns and semi["post_id"].to_list() == [3, 1, 2]
    anti = _run(_join(how="anti")).output.frames["data"]
    assert anti["post_id"].to_list() == [5, 4]


def test_suffix() -> None:
    out = _run(_join(how="left", suffix="_clicks")).output.frames["data"]
    assert "n_clicks" in out.columns and "n_right" not in out.columns


def test_suffix_clash() -> None:
    posts = POSTS.with_columns(n_right=pl.lit(0))
    _fails(
        _join(),
        words=("join 0 (posts + clicks)", "n_right", "suffix", "spec.yaml:40:7"),
        posts=posts,
        clicks=CLICKS,
    )


def test_sequence_of_joins_and_string_on() -> None:
    c = _run(_join(how="left"), _join("posts", "authors", on="topic", how="left"))
    out = c.output.frames["data"]
    assert out["editor"].to_list() == ["ann", "bob", None, None, None]
    assert c.output.metrics["rows_in.authors"] == 3.0


def test_multi_key() -> None:
    a = pl.DataFrame({"k1": [1, 1, 2], "k2": ["x", "y", "x"], "v": [1, 2, 3]})
    b = pl.DataFrame({"k1": [1, 2], "k2": ["y", "x"], "w": [10, 30]})
    out = _run(_join("a", "b", on=("k1", "k2")), a=a, b=b).output.frames["data"]
    assert out.to_dict(as_series=False) == {
        "k1": [1, 2],
        "k2": ["y", "x"],
        "v": [2, 3],
        "w": [10, 30],
    }


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        (pl.Int32, pl.Int64, pl.Int64),
        (pl.UInt8, pl.UInt32, pl.UInt64),
        (pl.Int64, pl.Float64, pl.Float64),
        (pl.Float32, pl.Int16, pl.Float64),
        (pl.String, pl.Categorical, pl.String),
    ],
)
def test_key_dtypes_are_cast(left: pl.DataType, right: pl.DataType, expected: pl.DataType) -> None:
    text = left in (pl.String, pl.Categorical)
    a = pl.DataFrame({"k": pl.Series(["1", "2"] if text else [1, 2]).cast(left), "v": [1, 2]})
    b = pl.DataFrame({"k": pl.Series(["2", "1"] if text else [2, 1]).cast(right), "w": [20, 10]})
    out = _run(_join("a", "b", on="k"), a=a, b=b).output.frames["data"]
    assert out.schema["k"] == expected
    assert out["w"].to_list() == [10, 20]


def test_key_dtype_mismatch() -> None:
    b = CLICKS.with_columns(pl.col("post_id").cast(pl.String))
    err = _fails(
        _join(),
        words=("key 'post_id' is Int64 on the left but String in source 'clicks'",),
        posts=POSTS,
        clicks=b,
    )
    assert err.where == "spec.yaml:40:7"


def test_missing_key() -> None:
    _fails(_join(on=("postid",)), words=("source 'posts'", "'postid'", "did you mean 'post_id'"))
    c = CLICKS.rename({"post_id": "post"})
    _fails(_join(), words=("source 'clicks'", "no column 'post_id'"), posts=POSTS, clicks=c)


def test_missing_key_in_the_table_so_far() -> None:
    _fails(
        _join(how="left"),
        _join("posts", "authors", on="editor"),
        words=("the table so far (posts + clicks)", "'editor'", "spec.yaml:41:7"),
    )


def test_left_not_in_table() -> None:
    _fails(
        _join(),
        _join("authors", "clicks", on="topic"),
        words=("'authors' is not in the table yet",),
    )


def test_duplicate_keys_warn() -> None:
    clicks = pl.concat([CLICKS, CLICKS.head(1)])
    c = _run(_join(how="left"), posts=POSTS, clicks=clicks)
    assert c.output.frames["data"].height == 6
    assert len(c.warnings) == 1 and "2 rows of 'clicks' share their key" in c.warnings[0]


def test_no_rows_out() -> None:
    clicks = CLICKS.with_columns(pl.col("post_id") + 100)
    _fails(_join(), words=("no rows",), posts=POSTS, clicks=clicks)


def test_null_keys_do_not_match() -> None:
    a = pl.DataFrame({"k": [1, None], "v": [1, 2]})
    b = pl.DataFrame({"k": [None, 1], "w": [0, 10]})
    out = _run(_join("a", "b", on="k", how="left"), a=a, b=b).output.frames["data"]
    assert out["w"].to_list() == [10, None]


def test_where_given_per_join() -> None:
    c = FakeContext(
        {"joins": [{**_join(on=("nope",)), "where": "spec.yaml:7:7"}]},
        {"source/posts": POSTS, "source/clicks": CLICKS},
    )
    with pytest.raises(StepError) as info:
        join.run(c)
    assert info.value.where == "spec.yaml:7:7"


def test_unknown_how() -> None:
    _fails(_join(how="cross"), words=("unknown join type 'cross'",))


@pytest.mark.parametrize(
    ("clicks", "rows_out"),
    [
        (CLICKS, 5.0),  # unique right keys: every left row once (counted without joining)
        (pl.concat([CLICKS, CLICKS.head(2)]), 7.0),  # posts 2 and 3 match twice
    ],
)
def test_left_join_rows_out(clicks: pl.DataFrame, rows_out: float) -> None:
    c = _run(_join(how="left"), posts=POSTS, clicks=clicks)
    assert c.output.metrics["rows_out"] == rows_out == c.output.frames["data"].height


def test_chained_left_joins_count_rows_out() -> None:
    authors = pl.concat([AUTHORS, AUTHORS.head(1)])  # topic 'a' twice: its post repeats
    c = _run(
        _join(how="left"),
        _join("posts", "authors", on="topic", how="left"),
        posts=POSTS,
        clicks=CLICKS,
        authors=authors,
    )
    assert c.output.metrics["rows_out"] == 6.0 == c.output.frames["data"].height


# ----------------------------------------------------------------------------- lookups


def _view(c: FakeContext, lookup: bool | None = None) -> pl.LazyFrame:
    """The view as a reader builds it, from the step's recipe (its `lookup` flags overridden)."""
    params = dict(c.output.views["data"]["params"])
    if lookup is not None:
        params["lookup"] = [lookup] * len(params["joins"])
    return join.view(
        params, {n: c.input("source", n).scan() for n in c.output.views["data"]["inputs"]}
    )


def test_a_left_join_on_unique_keys_is_a_lookup() -> None:
    c = _run(_join(how="left"))
    assert c.output.views["data"]["params"]["lookup"] == [True]
    assert "JOIN" not in _view(c).explain()
    assert "JOIN" in _view(c, lookup=False).explain()


@pytest.mark.parametrize(
    ("join_", "frames"),
    [
        (_join(how="inner"), {}),
        (_join(how="left"), {"clicks": pl.concat([CLICKS, CLICKS.head(1)])}),  # a repeated key
        (
            _join("a", "b", on=("k1", "k2"), how="left"),
            {  # two keys
                "a": pl.DataFrame({"k1": [1, 2], "k2": ["x", "y"]}),
                "b": pl.DataFrame({"k1": [1], "k2": ["x"], "w": [3]}),
            },
        ),
        (
            _join(how="left"),
            {
                "clicks": pl.concat(
                    [CLICKS.with_columns(pl.col("post_id") + 10 * i) for i in range(2)]
                )
            },
        ),  # more rows than the left
        (
            _join("a", "b", on="k", how="left"),
            {  # a float key
                "a": pl.DataFrame({"k": [1.0, 2.0]}),
                "b": pl.DataFrame({"k": [1.0], "w": [3]}),
            },
        ),
    ],
)
def test_other_joins_stay_joins(join_: dict[str, Any], frames: dict[str, pl.DataFrame]) -> None:
    inputs = {"posts": POSTS, "clicks": CLICKS, **frames} if "a" not in frames else frames
    c = _run(join_, **inputs)
    assert c.output.views["data"]["params"]["lookup"] == [False]
    assert "JOIN" in _view(c).explain()


@pytest.mark.parametrize("seed", range(6))
def test_the_lookup_gives_what_the_join_gives(seed: int) -> None:
    """Random tables with missing keys, null keys on both sides, a key cast (Int32 onto Int64),
    text keys, a clashing column (suffixed) and a chain of two joins: same rows, order, names
    and dtypes either way."""
    import numpy as np

    rng = np.random.default_rng(seed)
    n, m = 400, 60
    left = pl.DataFrame(
        {
            "uid": pl.Series(rng.integers(0, 80, n)).set(pl.Series(rng.random(n) < 0.05), None),
            "city": pl.Series(rng.choice(["ber", "par", "rom", "osl"], n)).set(
                pl.Series(rng.random(n) < 0.1), None
            ),
            "v": rng.random(n),
        }
    )
    users = pl.DataFrame(
        {
            "uid": pl.Series(rng.permutation(90)[:m], dtype=pl.Int32).set(
                pl.Series(np.arange(m) == 3), None
            ),
            "v": rng.random(m),
            "tier": rng.choice(["a", "b"], m),
            "since": pl.datetime_range(dt(2020, 1, 1), dt(2020, 3, 1), "1d", eager=True)[:m],
        }
    )
    cities = pl.DataFrame({"city": ["ber", "par", "nyc"], "pop": [3.6, 2.1, 8.3]})
    c = _run(
        _join("events", "users", on="uid", how="left"),
        _join("events", "cities", on="city", how="left", suffix="_c"),
        events=left,
        users=users,
        cities=cities,
    )
    assert c.output.views["data"]["params"]["lookup"] == [True, True]
    fast, slow = _view(c).collect(), _view(c, lookup=False).collect()
    assert fast.schema == slow.schema and fast.equals(slow)
    assert fast["v_right"].null_count() >= int(left["uid"].null_count())


@pytest.mark.parametrize(
    "right",
    [
        pl.DataFrame({"k": pl.Series([], dtype=pl.Int64), "w": pl.Series([], dtype=pl.String)}),
        pl.DataFrame({"k": [None], "w": ["x"]}, schema={"k": pl.Int64, "w": pl.String}),
        pl.DataFrame({"k": [5], "w": ["x"]}),
    ],
    ids=["empty", "only-a-null-key", "no-match"],
)
def test_a_lookup_that_matches_nothing_gives_nulls(right: pl.DataFrame) -> None:
    a = pl.DataFrame({"k": [1, 2, None], "v": [1, 2, 3]})
    c = _run(_join("a", "b", on="k", how="left"), a=a, b=right)
    assert c.output.views["data"]["params"]["lookup"] == [True]
    out = _view(c).collect()
    assert out.to_dict(as_series=False) == {
        "k": [1, 2, None],
        "v": [1, 2, 3],
        "w": [None, None, None],
    }
    assert out.equals(_view(c, lookup=False).collect())
