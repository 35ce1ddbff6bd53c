"""The artifact store under real concurrency: two processes, racing commits, SIGKILL.

Workers are separate Python processes (subprocess), so locks, renames and fsyncs are the
operating system's, not a thread's. Every test ends by verifying every artifact's files
against its manifest and by checking that nothing half-written is visible under objects/.
"""

from __future__ import annotations

import collections
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mlspec.store import ArtifactStore
from tests.conftest import artifacts, mlspec, run_json

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.timeout(300)

# One worker script, several modes. Config comes as JSON in argv[1].
WORKER = r"""
import hashlib, json, os, random, sys, time
from pathlib import Path
from mlspec.store import ArtifactStore

cfg = json.loads(sys.argv[1])
store = ArtifactStore(cfg["root"])
mode = cfg["mode"]

def payload(fp, size):
    block = hashlib.sha256(fp.encode()).digest()
    return block * (size // len(block))

def fill(writer, fp, size, frame=False):
    writer.path("blob.bin").write_bytes(payload(fp, size))
    writer.write_json({"fp": fp, "pid": os.getpid()}, "who")
    writer.metric("size", size)
    if frame:
        import polars as pl
        writer.write_frame(pl.DataFrame({"fp": [fp] * 1000, "i": list(range(1000))}))

def wait_for_go():
    go = Path(cfg["go"])
    while not go.exists():
        time.sleep(0.001)

if mode == "locked":
    rng = random.Random(cfg["seed"])
    computed, hits = [], 0
    wait_for_go()
    for _ in range(cfg["rounds"]):
        fps = list(cfg["fps"])
        rng.shuffle(fps)
        for fp in fps:
            with store.lock(fp):
                if store.has(fp):
                    store.open(fp).verify()
                    hits += 1
                    continue
                w = store.stage(fp, "step." + fp[:6])
                try:
                    fill(w, fp, cfg["size"], frame=rng.random() < 0.3)
                    store.commit(w, {"writer": os.getpid()})
                except BaseException:
                    store.discard(w)
                    raise
                computed.append(fp)
    Path(cfg["out"]).write_text(json.dumps({"computed": computed, "hits": hits}))

elif mode == "race":
    results = {}
    wait_for_go()
    for fp in cfg["fps"]:
        w = store.stage(fp, "race")
        fill(w, fp, cfg["size"])
        m = store.commit(w, {"writer": os.getpid()})
        results[fp] = {"created": m.created, "writer": m["writer"]}
    Path(cfg["out"]).write_text(json.dumps(results))

elif mode == "hang":
    fp = cfg["fps"][0]
    with store.lock(fp):
        w = store.stage(fp, "hang")
        with open(w.path("big.bin"), "wb") as fh:
            fh.write(payload(fp, 1 << 20))
            fh.flush()
            print("writing", w.folder, flush=True)
            while True:
                fh.write(payload(fp, 1 << 16))
                time.sleep(0.01)

elif mode == "churn":
    rng = random.Random(cfg["seed"])
    print("ready", flush=True)
    while True:
        fp = hashlib.sha256(str(rng.random()).encode()).hexdigest()
        with store.lock(fp):
            w = store.stage(fp, "churn")
            fill(w, fp, rng.choice([1 << 16, 1 << 20, 4 << 20]))
            store.commit(w, {"writer": os.getpid()})
"""


def payload(fp: str, size: int) -> bytes:
    block = hashlib.sha256(fp.encode()).digest()
    return block * (size // len(block))


def fps(prefix: str, n: int) -> list[str]:
    return [hashlib.sha256(f"{prefix}-{i}".encode()).hexdigest() for i in range(n)]


def spawn(cfg: dict[str, object], **kw: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, json.dumps(cfg)], cwd=ROOT, text=True, **kw
    )  # type: ignore[call-overload]


def check_store(store: ArtifactStore) -> list[str]:
    """Every folder under objects/ is a whole artifact whose files match its manifest and its fp."""
    folders = sorted(store.objects.glob("*/*")) if store.objects.exists() else []
    for folder in folders:
        assert (folder / "manifest.json").is_file(), f"half-written artifact visible: {folder}"
        assert folder.parent.name == folder.name[:2]
        reader = store.open(folder.name)
        reader.verify()
        assert reader.json("who")["fp"] == folder.name
        size = int(reader.manifest.metrics["size"])
        assert reader.path("blob.bin").read_bytes() == payload(folder.name, size)
        if "data.parquet" in reader.names():
            assert set(reader.frame(columns=["fp"])["fp"].unique()) == {folder.name}
    return [f.name for f in folders]


def test_two_processes_share_the_work_under_the_lock(tmp_path: Path) -> None:
    root, go = tmp_path / "store", tmp_path / "go"
    shared, own_a, own_b = fps("shared", 30), fps("a", 10), fps("b", 10)
    procs = [
        spawn(
            {
                "root": str(root),
                "mode": "locked",
                "fps": shared + own,
                "rounds": 3,
                "seed": seed,
                "size": 1 << 16,
                "go": str(go),
                "out": str(tmp_path / f"{seed}.json"),
            }
        )
        for seed, own in ((1, own_a), (2, own_b))
    ]
    time.sleep(0.5)  # both imported and waiting
    go.touch()
    assert [p.wait(timeout=240) for p in procs] == [0, 0]
    outs = [json.loads((tmp_path / f"{seed}.json").read_text()) for seed in (1, 2)]

    computed = collections.Counter(fp for out in outs for fp in out["computed"])
    assert set(computed) == set(shared + own_a + own_b)
    assert max(computed.values()) == 1, "an artifact was computed twice"
    assert sum(out["hits"] for out in outs) == 3 * (40 + 40) - 50
    store = ArtifactStore(root)
    assert sorted(check_store(store)) == sorted(shared + own_a + own_b)
    assert list(store.tmp.iterdir()) == []  # nothing abandoned, nothing left


def test_racing_commits_of_one_fingerprint_keep_the_first(tmp_path: Path) -> None:
    """Without the lock both compute; the second commit is discarded and sees the first."""
    root, go = tmp_path / "store", tmp_path / "go"
    same = fps("race", 60)
    procs = [
        spawn(
            {
                "root": str(root),
                "mode": "race",
                "fps": same,
                "size": 1 << 14,
                "go": str(go),
                "out": str(tmp_path / f"{i}.json"),
            }
        )
        for i in range(2)
    ]
    time.sleep(0.5)
    go.touch()
    assert [p.wait(timeout=240) for p in procs] == [0, 0]
    results = [json.loads((tmp_path / f"{i}.json").read_text()) for i in range(2)]
    store = ArtifactStore(root)
    assert sorted(check_store(store)) == sorted(same)
    for fp in same:
        stored = store.open(fp).manifest
        for res in results:  # both processes got the manifest that is in the store
            assert res[fp] == {"created": stored.created, "writer": stored["writer"]}
    assert list(store.tmp.iterdir()) == []


def test_sigkill_while_writing_leaves_nothing_visible(tmp_path: Path) -> None:
    root = tmp_path / "store"
    (fp,) = fps("killed", 1)
    proc = spawn({"root": str(root), "mode": "hang", "fps": [fp]}, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("writing "), line
    staging = Path(line.split(" ", 1)[1].strip())
    store = ArtifactStore(root)
    assert staging.is_dir() and staging.parent == store.tmp
    assert not store.has(fp) and not store.folder(fp).exists()

    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    assert not store.has(fp) and not store.folder(fp).exists()
    assert check_store(store) == []
    assert staging.is_dir()  # abandoned: only clean_tmp removes it
    with store.lock(fp, timeout=10):  # the dead holder's flock is gone with it
        pass
    assert store.clean_tmp(older_than_s=0) == [staging]
    assert list(store.tmp.iterdir()) == []


def test_sigkill_at_random_moments_never_exposes_a_partial_artifact(tmp_path: Path) -> None:
    root = tmp_path / "store"
    store = ArtifactStore(root)
    rng = random.Random(7)
    for i in range(8):
        proc = spawn({"root": str(root), "mode": "churn", "seed": i}, stdout=subprocess.PIPE)
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.05, 0.6))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        proc.stdout.close()
        check_store(store)
    committed = check_store(store)
    assert committed, "the workers never committed anything; the test proved nothing"
    store.clean_tmp(older_than_s=0)
    assert list(store.tmp.iterdir()) == []
    assert check_store(store) == committed


# ----------------------------------------------------------------------------- suite R3
# Whole `mlspec run`s sharing one store: every run succeeds with the artifacts of a lone run,
# and the registry stays consistent while promote/rollback race a run. Figures:
# docs/reliability.md, "Concurrency (R3)"; the full size is bench/reliability.py.


def _mlspec_popen(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "mlspec", *args],
        cwd=ROOT,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "NO_COLOR": "1"},
    )


def _registry(store: Path) -> list[dict]:
    out = mlspec("models", "list", "--store", str(store), "--json", check=True).stdout
    return json.loads(out)


def _consistent(versions: list[dict]) -> None:
    by_name = collections.defaultdict(list)
    for v in versions:
        by_name[v["name"]].append(v)
    for vs in by_name.values():
        assert sorted(v["version"] for v in vs) == list(range(1, len(vs) + 1))
        assert sum(v["status"] == "production" for v in vs) <= 1
        assert len({v["fingerprint"] for v in vs}) == len(vs), "one package, two versions"


def concurrent_runs(spec: Path, store: Path, n: int) -> list[subprocess.CompletedProcess[str]]:
    """`n` runs of `spec` on `store` at once (every other one with --workers 2)."""
    procs = [
        _mlspec_popen(
            "run",
            str(spec),
            "--store",
            str(store),
            "--json",
            *(["--workers", "2"] if i % 2 else []),
        )
        for i in range(n)
    ]
    done = []
    for p in procs:
        out, err = p.communicate(timeout=900)
        done.append(subprocess.CompletedProcess(p.args, p.returncode, out, err))
    return done


@pytest.mark.slow
def test_r3_four_runs_of_one_spec_share_one_store(feed: Path, tmp_path: Path) -> None:
    lone = tmp_path / "lone"
    run_json(str(feed), "--store", str(lone))
    shared = tmp_path / "shared"
    results = concurrent_runs(feed, shared, 4)
    for r in results:
        assert r.returncode == 0, r.stderr
        assert "Traceback" not in r.stderr
        assert json.loads(r.stdout)["status"] == "succeeded"
    assert artifacts(shared) == artifacts(lone)
    store = ArtifactStore(shared)
    for fp in store.fingerprints():
        store.open(fp).verify()
    assert not (shared / "tmp").exists() or list((shared / "tmp").iterdir()) == []
    versions = _registry(shared)
    _consistent(versions)
    assert [(v["version"], v["bundle_sha"]) for v in versions] == [
        (v["version"], v["bundle_sha"]) for v in _registry(lone)
    ]


@pytest.mark.slow
def test_r3_promote_and_rollback_racing_a_run(feed: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    run_json(str(feed), "--store", str(store))
    name = _registry(store)[0]["name"]
    mlspec("models", "promote", name, "1", "--store", str(store), check=True)
    # A changed model: the run registers version 2 while promotions and rollbacks race it.
    feed.write_text(feed.read_text().replace("C: 1.0, max_iter: 1000", "C: 0.5, max_iter: 1000"))
    run = _mlspec_popen("run", str(feed), "--store", str(store), "--json")
    codes: collections.Counter[int] = collections.Counter()
    deadline = time.monotonic() + 600
    i = 0
    while run.poll() is None and time.monotonic() < deadline and i < 400:
        action = ["promote", name, "1"] if i % 2 == 0 else ["rollback", name]
        proc = mlspec("models", *action, "--store", str(store))
        assert "Traceback" not in proc.stderr and "locked" not in proc.stderr, proc.stderr
        codes[proc.returncode] += 1
        assert proc.returncode in (0, 2), proc.stderr  # 2: nothing to roll back, said so
        _consistent(_registry(store))
        i += 1
    out, err = run.communicate(timeout=600)
    assert run.returncode == 0, err
    assert json.loads(out)["status"] == "succeeded"
    assert codes[0] > 0, "no promotion raced the run; the test proved nothing"
    versions = _registry(store)
    _consistent(versions)
    assert [v["version"] for v in versions] == [1, 2]
    for v in versions:  # every registered bundle is whole
        dest = tmp_path / f"export{v['version']}"
        mlspec(
            "models",
            "export",
            name,
            str(v["version"]),
            str(dest),
            "--store",
            str(store),
            check=True,
        )
