"""End to end on the local backend: run, cache hits, staleness with reasons, graph, resume."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import artifacts, make_example, mlspec, run_json

DATA_STEPS = {
    "load.posts",
    "check.posts",
    "load.clicks",
    "check.clicks",
    "join",
    "features",
    "split",
}


def test_run_then_rerun_is_all_cache_hits(feed: Path) -> None:
    first = run_json(str(feed))
    assert first["status"] == "succeeded"
    assert set(first["steps"]) >= DATA_STEPS
    assert not any(s["cache_hit"] for s in first["steps"].values())
    second = run_json(str(feed))
    assert all(s["cache_hit"] for s in second["steps"].values())
    listed = mlspec("runs", "--store", str(feed.parent / ".mlspec"), "--json", check=True)
    runs = json.loads(listed.stdout)
    assert [r["status"] for r in runs] == ["succeeded", "succeeded"]
    assert runs[0]["versions"]["polars"]
    shown = mlspec(
        "runs", "--store", str(feed.parent / ".mlspec"), "show", "latest", "--json", check=True
    )
    steps = json.loads(shown.stdout)["steps"]
    assert {s["step_id"] for s in steps} == set(second["steps"])
    assert all(s["status"] == "cached" for s in steps)


def test_quickstart_runs(quickstart: Path) -> None:
    assert run_json(str(quickstart))["status"] == "succeeded"


def test_editing_one_expression_makes_exactly_the_readers_of_that_column_stale(feed: Path) -> None:
    run_json(str(feed))
    text = feed.read_text()
    assert 'expr: "log1p(author_followers)"' in text
    feed.write_text(
        text.replace('expr: "log1p(author_followers)"', 'expr: "log(author_followers + 1)"')
    )
    plan = json.loads(mlspec("plan", str(feed), "--json", check=True).stdout)
    to_run = {s["step"]: s["reasons"] for s in plan["steps"] if s["action"] == "run"}
    downstream = _descendants(plan, "features")
    # split reads only its `by` column; every other step downstream reads log_followers
    # (both objectives use it) or what was computed from it
    assert set(to_run) == {"features"} | (downstream - {"split"})
    assert {"train.quality.gbt", "train.engagement.lr", "combine", "package"} <= downstream
    assert to_run["features"] == ["spec path features[log_followers].expr changed"]
    assert to_run["train.quality.lr"] == ["upstream features changed: columns log_followers"]
    human = mlspec("plan", str(feed), check=True).stdout
    assert re.search(r"run\s+features\s+spec path features\[log_followers\]\.expr changed", human)


def _descendants(plan: dict, step: str) -> set[str]:
    children: dict[str, set[str]] = {}
    for s in plan["steps"]:
        for up in s["inputs"]:
            children.setdefault(up, set()).add(s["step"])
    out: set[str] = set()
    todo = [step]
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in out:
                out.add(child)
                todo.append(child)
    return out


def test_data_change_is_named(feed: Path) -> None:
    run_json(str(feed))
    csv = feed.parent / "data" / "clicks.csv"
    lines = csv.read_text().splitlines()
    csv.write_text("\n".join(lines[:-1]) + "\n")
    plan = json.loads(mlspec("plan", str(feed), "--json", check=True).stdout)
    reasons = {s["step"]: s["reasons"] for s in plan["steps"] if s["action"] == "run"}
    assert reasons["load.clicks"] == ["data/clicks.csv content changed"]
    assert "load.posts" not in reasons


def test_graph_prints_mermaid(feed: Path) -> None:
    out = mlspec("graph", str(feed), check=True).stdout
    assert_valid_mermaid_flowchart(out)
    assert "s_load_posts --> s_check_posts" in out
    dot = mlspec("graph", str(feed), "--format", "dot", "--no-status", check=True).stdout
    assert dot.startswith("digraph plan {") and '"join" -> "features";' in dot


def assert_valid_mermaid_flowchart(text: str) -> None:
    """The subset of Mermaid's flowchart grammar that `graph` emits, checked line by line."""
    lines = text.strip().splitlines()
    assert lines[0] == "flowchart LR"
    node = re.compile(r'^    (s_[A-Za-z0-9_]+)\["[^"\n]+"\]$')
    edge = re.compile(r"^    (s_[A-Za-z0-9_]+) --> (s_[A-Za-z0-9_]+)$")
    classdef = re.compile(r"^    classDef [a-z]+ [a-z-]+:#[0-9a-f]{6}(,[a-z-]+:#[0-9a-f]{6})*$")
    cls = re.compile(r"^    class (s_[A-Za-z0-9_]+) [a-z]+$")
    declared: set[str] = set()
    for line in lines[1:]:
        if m := node.match(line):
            declared.add(m.group(1))
        elif m := edge.match(line):
            assert {m.group(1), m.group(2)} <= declared, f"edge before its nodes: {line}"
        elif m := cls.match(line):
            assert m.group(1) in declared
        else:
            assert classdef.match(line), f"not valid flowchart syntax: {line!r}"


def test_killed_run_resumes_with_the_same_artifacts(tmp_path: Path) -> None:
    """A real SIGKILL of a real `mlspec run` midway; the rerun completes identically."""
    spec = make_example("feed_ranking", tmp_path / "a", "--rows", "400000")
    store = spec.parent / ".mlspec"
    env = {**os.environ, "NO_COLOR": "1"}
    argv = [
        sys.executable,
        "-m",
        "mlspec",
        "run",
        str(spec),
        "--only",
        "+split",
    ]  # the data steps are enough
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list(store.glob("objects/*/*/manifest.json")):
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = artifacts(store)
    assert done_before, "the run was killed before any step finished"
    assert len(done_before) < len(DATA_STEPS), (
        "the run finished before it was killed; use more rows"
    )
    resumed = run_json(str(spec), "--only", "+split")
    assert resumed["status"] == "succeeded"
    hits = {sid for sid, s in resumed["steps"].items() if s["cache_hit"]}
    assert set(done_before) <= hits, "finished steps must be cache hits after the kill"
    runs = json.loads(mlspec("runs", "--store", str(store), "--json", check=True).stdout)
    assert runs[-1]["status"] == "interrupted"
    # A clean run elsewhere gives byte-identical artifacts.
    clean = make_example("feed_ranking", tmp_path / "b", "--rows", "400000")
    run_json(str(clean), "--only", "+split")
    assert artifacts(store) == artifacts(clean.parent / ".mlspec")
    assert not [p for p in (store / "tmp").iterdir()] if (store / "tmp").exists() else True


def test_workers_give_the_same_artifacts(feed: Path, tmp_path: Path) -> None:
    run_json(str(feed))
    other = tmp_path / "pool-store"
    proc = mlspec("run", str(feed), "--workers", "2", "--store", str(other), "--json", check=True)
    assert json.loads(proc.stdout)["status"] == "succeeded"
    assert artifacts(feed.parent / ".mlspec") == artifacts(other)


def test_only_and_force(feed: Path) -> None:
    run_json(str(feed))
    forced = run_json(str(feed), "--force", "split")
    assert not forced["steps"]["split"]["cache_hit"]
    assert forced["steps"]["features"]["cache_hit"]
    only = run_json(str(feed), "--only", "features,split")
    assert set(only["steps"]) == {"features", "split"}
    downstream = run_json(str(feed), "--only", "select.quality+")
    assert set(downstream["steps"]) == {
        "select.quality",
        "combine",
        "gate",
        "profile",
        "package",
        "report",
    }
    bad = mlspec("run", str(feed), "--only", "featurs")
    assert bad.returncode == 2 and "did you mean 'features'" in bad.stderr
