"""Views in a real store: a join kept as its recipe, rebuilt by readers (mlspec.engine.views)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import polars as pl
import pytest

from mlspec.engine import views
from mlspec.steps import join
from mlspec.store import ArtifactCorrupt, ArtifactMissing, ArtifactStore

POSTS = pl.DataFrame({"post_id": [3, 1, 2], "topic": ["a", "b", "c"]})
CLICKS = pl.DataFrame({"post_id": [2, 3, 3], "clicked": [1, 0, 1]})
JOINS = [{"left": "posts", "right": "clicks", "on": ["post_id"], "how": "left", "suffix": "_right"}]


def fp(seed: str) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()


def table(store: ArtifactStore, key: str, frame: pl.DataFrame) -> str:
    w = store.stage(fp(key), f"load.{key}")
    w.write_frame(frame)
    store.commit(w)
    return fp(key)


def view_of(store: ArtifactStore, inputs: dict[str, str]) -> str:
    w = store.stage(fp("join"), "join")
    w.write_view(views.recipe("join", {"joins": JOINS}, inputs))
    store.commit(w)
    return fp("join")


@pytest.fixture
def store(tmp_path: Path) -> ArtifactStore:
    return ArtifactStore(tmp_path / "store")


def test_a_view_is_built_from_its_inputs_when_read(store: ArtifactStore) -> None:
    inputs = {"posts": table(store, "posts", POSTS), "clicks": table(store, "clicks", CLICKS)}
    key = view_of(store, inputs)
    assert store.open(key).names() == ["data.view.json"]  # no rows stored
    reader = views.open_artifact(store, key)
    assert isinstance(reader, views.ViewReader)
    expected = POSTS.join(CLICKS, on="post_id", how="left", maintain_order="left_right")
    assert reader.frame().equals(expected)
    assert reader.scan().collect().equals(expected)
    assert reader.frame(columns=["clicked"]).to_series().to_list() == [0, 1, None, 1]
    recipe = reader.json("data.view.json")
    assert recipe == {
        "kind": "join",
        "params": {"joins": JOINS},
        "inputs": dict(sorted(inputs.items())),
    }
    assert isinstance(
        views.open_artifact(store, inputs["posts"]), type(store.open(inputs["posts"]))
    )


def test_a_reader_builds_its_view_once(
    store: ArtifactStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Schema, then rows: a step scans its input twice; a lookup join reads its right side
    while it is built, so the second scan must not build it again."""
    inputs = {"posts": table(store, "posts", POSTS), "clicks": table(store, "clicks", CLICKS)}
    reader = views.open_artifact(store, view_of(store, inputs))
    builds: list[str] = []
    real = views.build
    monkeypatch.setattr(
        views, "build", lambda st, spec: builds.append(spec["kind"]) or real(st, spec)
    )
    first = reader.scan()
    assert reader.scan() is first and reader.frame(columns=["clicked"]).height == 4
    assert builds == ["join"]
    assert views.open_artifact(store, view_of(store, inputs)).scan() is not first  # per reader


def test_a_view_reads_verified_inputs(store: ArtifactStore) -> None:
    inputs = {"posts": table(store, "posts", POSTS), "clicks": table(store, "clicks", CLICKS)}
    key = view_of(store, inputs)
    (store.folder(inputs["clicks"]) / "data.parquet").write_bytes(b"garbage")
    with pytest.raises(ArtifactCorrupt, match="damaged"):
        views.open_artifact(store, key).frame()
    store.remove(inputs["clicks"])
    with pytest.raises(ArtifactMissing):
        views.open_artifact(store, key).frame()


def test_a_name_is_either_a_table_or_a_view(store: ArtifactStore) -> None:
    w = store.stage(fp("both"), "s")
    w.write_view(views.recipe("join", {"joins": JOINS}, {}))
    with pytest.raises(ValueError, match="already a view"):
        w.write_frame(POSTS)
    w2 = store.stage(fp("both2"), "s")
    w2.write_frame(POSTS)
    with pytest.raises(ValueError, match="already a table"):
        w2.write_view(views.recipe("join", {"joins": JOINS}, {}))


def test_the_recipe_holds_no_spec_locations() -> None:
    from steps_fakes import FakeContext

    c = FakeContext(
        {"joins": [{**JOINS[0], "where": "spec.yaml:3:5"}], "where": "spec.yaml:2:3"},
        {"source/posts": POSTS, "source/clicks": CLICKS},
    )
    join.run(c)
    recipe = c.output.views["data"]
    assert "where" not in json.dumps(recipe)
    assert recipe["kind"] == "join" and set(recipe["inputs"]) == {"posts", "clicks"}
    assert c.output.metrics == {"rows_in.posts": 3.0, "rows_in.clicks": 3.0, "rows_out": 4.0}
