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
