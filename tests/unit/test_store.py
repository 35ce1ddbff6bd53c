"""The artifact store: layout, atomic commit, verification on read, strict JSON, cleanup."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
from blake3 import blake3

from mlspec.store import (
    ArtifactCorrupt,
    ArtifactMissing,
    ArtifactStore,
    Manifest,
    Reader,
    file_digest,
)
from mlspec.store.artifacts import MANIFEST, PARQUET_OPTIONS, canonical_json

ROOT = Path(__file__).resolve().parents[2]


def fp(seed: str) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()


@pytest.fixture
def store(tmp_path: Path) -> ArtifactStore:
    return ArtifactStore(tmp_path / "store")


@pytest.fixture
def frame() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "id": list(range(1000)),
            "x": [i * 0.5 for i in range(1000)],
            "topic": [("news", "tech", "art")[i % 3] for i in range(1000)],
        }
    )


def commit_simple(store: ArtifactStore, key: str, frame: pl.DataFrame, **meta: object) -> Manifest:
    w = store.stage(fp(key), "features")
    w.write_frame(frame)
    w.write_json({"rows": frame.height, "b": [1, 2], "a": {"z": 1, "y": None}}, "report")
    w.path("model.bin").write_bytes(b"\x00model\xff")
    w.metric("rows", frame.height)
    return store.commit(w, dict(meta))


# ----------------------------------------------------------------------------- layout


def test_store_creates_nothing_until_written(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path / "store")
    assert not store.has(fp("a"))
    assert store.fingerprints() == []
    assert store.clean_tmp(0) == []
    assert not (tmp_path / "store").exists()
    with pytest.raises(ArtifactMissing, match="not in the store"):
        store.open(fp("a"))


def test_round_trip_and_layout(store: ArtifactStore, frame: pl.DataFrame) -> None:
    key = fp("one")
    manifest = commit_simple(store, "one", frame, kind="features", run_id="r1")
    folder = store.root / "objects" / key[:2] / key
    assert folder.is_dir() and (folder / MANIFEST).is_file()
    assert store.folder(key) == folder
    assert store.has(key) and store.fingerprints() == [key]
    assert store.uri(key).startswith("file://") and store.uri(key).endswith(key)
    assert list((store.root / "tmp").iterdir()) == []

    on_disk = json.loads((folder / MANIFEST).read_text())
    assert on_disk == dict(manifest)
    assert set(on_disk) == {
        "format",
        "fingerprint",
        "step",
        "created",
        "files",
        "metrics",
        "kind",
        "run_id",
        "mac",
    }
    assert manifest.fingerprint == key and manifest.step == "features"
    assert manifest.created.endswith("+00:00")
    assert manifest.metrics == {"rows": 1000.0}
    assert manifest.meta == {"kind": "features", "run_id": "r1"}
    assert sorted(manifest.files) == ["data.parquet", "model.bin", "report.json"]
    for name, entry in manifest.files.items():
        digest, size = file_digest(folder / name)
        assert entry == {"blake3": digest, "size": size}

    reader = store.open(key)
    assert isinstance(reader, Reader) and reader.fingerprint == key
    assert reader.names() == ["data.parquet", "model.bin", "report.json"]
    assert reader.frame().equals(frame)
    assert reader.frame("data.parquet", columns=["topic"]).columns == ["topic"]
    assert reader.scan().filter(pl.col("id") < 10).collect().height == 10
    assert reader.json("report") == {"rows": 1000, "b": [1, 2], "a": {"z": 1, "y": None}}
    assert reader.json("report.json") == reader.json("report")
    assert reader.path("model.bin").read_bytes() == b"\x00model\xff"
    reader.verify()
    with pytest.raises(ArtifactMissing, match=r"has no file 'nope\.parquet'"):
        reader.frame("nope")


def test_names_may_be_nested_and_steps_may_give_the_suffix(store: ArtifactStore) -> None:
    w = store.stage(fp("nested"), "train.quality.gbt")
    w.path("model/booster.ubj").write_bytes(b"booster")
    w.write_json([1, 2, 3], "report.json")
    m = store.commit(w)
    assert sorted(m.files) == ["model/booster.ubj", "report.json"]
    assert store.open(fp("nested")).path("model/booster.ubj").read_bytes() == b"booster"


@pytest.mark.parametrize(
    "name", ["../escape", "/abs", "a/../b", "", "manifest.json", "a\\b", "dir/"]
)
def test_bad_file_names_are_refused(store: ArtifactStore, name: str) -> None:
    w = store.stage(fp("names"), "s")
    with pytest.raises(ValueError):
        w.path(name)


@pytest.mark.parametrize("bad", ["../../etc", "ABCDEF12", "abc", "", "zz" * 10])
def test_fingerprints_must_be_hex(store: ArtifactStore, bad: str) -> None:
    with pytest.raises(ValueError, match="not a fingerprint"):
        store.has(bad)
    with pytest.raises(ValueError, match="not a fingerprint"):
        store.stage(bad, "s")


# ----------------------------------------------------------------------------- atomicity


def test_staged_artifact_is_invisible_until_commit(
    store: ArtifactStore, frame: pl.DataFrame
) -> None:
    key = fp("staged")
    w = store.stage(key, "load.posts")
    assert w.folder.parent == store.root / "tmp" and w.folder.name.startswith(key + "-")
    w.write_frame(frame)
    w.write_json({"a": 1}, "report")
    (w.folder / MANIFEST).write_text("{}")  # even a manifest in staging does not count
    assert not store.has(key)
    assert not (store.root / "objects").exists() or not any((store.root / "objects").rglob(key))
    with pytest.raises(ArtifactMissing):
        store.open(key)
    store.commit(w)
    assert store.has(key)
    assert store.open(key).frame().equals(frame)


def test_discard_removes_staging_and_closes_writer(
    store: ArtifactStore, frame: pl.DataFrame
) -> None:
    w = store.stage(fp("discard"), "s")
    w.write_frame(frame)
    store.discard(w)
    assert not w.folder.exists() and not store.has(fp("discard"))
    store.discard(w)  # twice is fine
    with pytest.raises(RuntimeError, match="already committed or discarded"):
        w.write_json({}, "x")
    with pytest.raises(RuntimeError):
        store.commit(w)


def test_writer_is_closed_after_commit(store: ArtifactStore) -> None:
    w = store.stage(fp("closed"), "s")
    w.write_json({}, "x")
    store.commit(w)
    with pytest.raises(RuntimeError, match="already committed"):
        w.metric("late", 1.0)


def test_second_commit_of_same_fingerprint_returns_the_first(
    store: ArtifactStore, frame: pl.DataFrame
) -> None:
    key = fp("twice")
    first, second = store.stage(key, "s"), store.stage(key, "s")
    assert first.folder != second.folder
    first.write_json({"who": "first"}, "who")
    second.write_json({"who": "second"}, "who")
    m1 = store.commit(first, {"run_id": "A"})
    time.sleep(0.01)
    m2 = store.commit(second, {"run_id": "B"})
    assert m2 == m1 and m2["run_id"] == "A"
    assert store.open(key).json("who") == {"who": "first"}
    assert not second.folder.exists()
    assert list((store.root / "tmp").iterdir()) == []
    assert len(list((store.root / "objects").rglob(MANIFEST))) == 1


def test_commit_replaces_a_folder_without_manifest(store: ArtifactStore) -> None:
    key = fp("broken")
    junk = store.folder(key)
    junk.mkdir(parents=True)
    (junk / "half.parquet").write_bytes(b"half")
    assert not store.has(key)
    w = store.stage(key, "s")
    w.write_json({"ok": True}, "r")
    store.commit(w)
    assert store.open(key).names() == ["r.json"]
    assert not (store.folder(key) / "half.parquet").exists()


def test_remove(store: ArtifactStore) -> None:
    w = store.stage(fp("rm"), "s")
    w.write_json({}, "r")
    store.commit(w)
    assert store.remove(fp("rm")) is True
    assert not store.has(fp("rm")) and not store.folder(fp("rm")).exists()
    assert store.remove(fp("rm")) is False
    assert list((store.root / "tmp").iterdir()) == []


def test_meta_cannot_override_store_keys(store: ArtifactStore) -> None:
    w = store.stage(fp("meta"), "s")
    w.write_json({}, "r")
    for bad in ({"files": {}}, {"fingerprint": "x"}, {"step": "other"}, {"created": "yesterday"}):
        with pytest.raises(ValueError, match="reserved"):
            store.commit(w, bad)
    m = store.commit(w, {"step": "s", "kind": "load"})  # the runner passes step=step_id
    assert m.step == "s" and m["kind"] == "load"


# ----------------------------------------------------------------------------- verification


def flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def test_flipped_byte_is_detected(store: ArtifactStore, frame: pl.DataFrame) -> None:
    key = fp("corrupt")
    commit_simple(store, "corrupt", frame)
    path = store.folder(key) / "data.parquet"
    flip_byte(path, path.stat().st_size // 2)
    reader = store.open(key)
    with pytest.raises(ArtifactCorrupt) as info:
        reader.frame()
    msg = str(info.value)
    assert "data.parquet" in msg and "blake3" in msg and str(store.folder(key)) in msg
    assert "quarantine/" in msg and info.value.problem.startswith("file 'data.parquet' has blake3")
    with pytest.raises(ArtifactCorrupt):
        reader.scan()
    with pytest.raises(ArtifactCorrupt):
        reader.verify()
    assert reader.json("report")["rows"] == 1000  # the other files are fine


def test_truncated_and_missing_files_are_detected(
    store: ArtifactStore, frame: pl.DataFrame
) -> None:
    key = fp("truncated")
    commit_simple(store, "truncated", frame)
    report = store.folder(key) / "report.json"
    report.write_text(report.read_text()[:-3])
    with pytest.raises(ArtifactCorrupt, match="bytes, the manifest says"):
        store.open(key).json("report")
    (store.folder(key) / "model.bin").unlink()
    with pytest.raises(ArtifactCorrupt, match=r"'model\.bin' is missing"):
        store.open(key).path("model.bin")


def test_each_reader_verifies_a_file_once(
    store: ArtifactStore, frame: pl.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlspec.store.artifacts as artifacts

    key = fp("once")
    commit_simple(store, "once", frame)
    calls: list[Path] = []
    real = artifacts.file_digest

    def counting(path: Path) -> tuple[str, int]:
        calls.append(Path(path))
        return real(path)

    monkeypatch.setattr(artifacts, "file_digest", counting)
    reader = store.open(key)
    reader.frame()
    reader.frame(columns=["id"])
    reader.scan()
    assert len(calls) == 1
    store.open(key).frame()  # a new reader checks again
    assert len(calls) == 2


def test_unreadable_manifest_is_corrupt(store: ArtifactStore) -> None:
    w = store.stage(fp("badmanifest"), "s")
    w.write_json({}, "r")
    store.commit(w)
    (store.folder(fp("badmanifest")) / MANIFEST).write_text('{"fingerprint": "someone else"')
    with pytest.raises(ArtifactCorrupt, match="unreadable"):
        store.open(fp("badmanifest"))


# ----------------------------------------------------------------------------- JSON and metrics


@pytest.mark.parametrize(
    ("value", "where"),
    [
        (float("nan"), "$"),
        ({"auc": {"valid": float("nan")}}, "$.auc.valid"),
        ({"scores": [1.0, float("inf")]}, "$.scores[1]"),
        ([{"x": -float("inf")}], "$[0].x"),
    ],
)
def test_nan_and_infinity_are_refused_in_json(
    store: ArtifactStore, value: object, where: str
) -> None:
    w = store.stage(fp("nan"), "evaluate.quality")
    with pytest.raises(ValueError) as info:
        w.write_json(value, "metrics")
    msg = str(info.value)
    assert (
        where in msg
        and "NaN or infinite" in msg
        and "metrics.json" in msg
        and "evaluate.quality" in msg
    )
    assert not (w.folder / "metrics.json").exists()
    w.write_json({"ok": None}, "metrics")  # refusing did not claim the name


def test_json_is_canonical(store: ArtifactStore) -> None:
    a = canonical_json({"b": 1, "a": {"d": [1, 2], "c": "é"}}, "x")
    b = canonical_json({"a": {"c": "é", "d": [1, 2]}, "b": 1}, "x")
    assert a == b and a.index('"a"') < a.index('"b"') and "é" in a and a.endswith("\n")


def test_numpy_values_are_written_as_plain_json(store: ArtifactStore) -> None:
    np = pytest.importorskip("numpy")
    w = store.stage(fp("numpy"), "s")
    w.write_json({"n": np.int64(3), "x": np.float32(0.5), "v": np.arange(3)}, "r")
    w.metric("auc", np.float64(0.75))
    m = store.commit(w)
    assert store.open(fp("numpy")).json("r") == {"n": 3, "x": 0.5, "v": [0, 1, 2]}
    assert m.metrics == {"auc": 0.75}
    w = store.stage(fp("numpy2"), "s")
    with pytest.raises(ValueError, match="NaN or infinite"):
        w.write_json({"x": np.float64("nan")}, "r")


def test_metrics_must_be_finite_numbers(store: ArtifactStore) -> None:
    w = store.stage(fp("metrics"), "s")
    with pytest.raises(ValueError, match="must be finite"):
        w.metric("auc", float("nan"))
    with pytest.raises(TypeError):
        w.metric("auc", "0.7")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        w.metric("flag", True)
    w.metric("rows", 10)
    assert store.commit(w).metrics == {"rows": 10.0}


def test_writing_a_name_twice_is_an_error(store: ArtifactStore, frame: pl.DataFrame) -> None:
    w = store.stage(fp("dup"), "s")
    w.write_frame(frame)
    with pytest.raises(ValueError, match="written twice"):
        w.write_frame(frame, "data")
    w.write_json({}, "r")
    with pytest.raises(ValueError, match="written twice"):
        w.write_json({}, "r.json")


# ----------------------------------------------------------------------------- parquet


def test_parquet_bytes_do_not_depend_on_how_the_frame_was_made(
    store: ArtifactStore, frame: pl.DataFrame
) -> None:
    big = pl.concat([frame] * 300).with_row_index("row")  # 300k rows: more than one row group
    chunked = pl.concat([big[:70_000], big[70_000:]], rechunk=False)
    assert chunked.n_chunks() > 1
    w = store.stage(fp("bytes"), "s")
    w.write_frame(big, "eager")
    w.write_frame(chunked, "chunked")
    w.write_frame(big.lazy(), "lazy")
    w.write_frame(pl.concat([big[:1000].lazy(), big[1000:].lazy()]), "lazy_concat")
    m = store.commit(w)
    digests = {e["blake3"] for e in m.files.values()}
    assert len(digests) == 1, m.files
    assert PARQUET_OPTIONS["compression"] == "snappy" and PARQUET_OPTIONS["statistics"] is True


def test_write_frame_refuses_other_types(store: ArtifactStore) -> None:
    w = store.stage(fp("type"), "s")
    with pytest.raises(TypeError, match="DataFrame or LazyFrame"):
        w.write_frame({"a": [1]})  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- clean_tmp


def age(path: Path, seconds: float) -> None:
    t = time.time() - seconds
    for p in [path, *path.rglob("*")]:
        os.utime(p, (t, t))


def test_clean_tmp_removes_only_abandoned_folders(store: ArtifactStore) -> None:
    old = store.stage(fp("old"), "s")
    old.write_json({"x": 1}, "r")
    age(old.folder, 7200)
    young = store.stage(fp("young"), "s")
    young.write_json({"x": 1}, "r")
    locked = store.stage(fp("locked"), "s")
    locked.write_json({"x": 1}, "r")
    age(locked.folder, 7200)
    with store.lock(fp("locked")):  # a live step (maybe silent for hours) holds its lock
        removed = store.clean_tmp(older_than_s=3600)
    assert removed == [old.folder]
    assert not old.folder.exists() and young.folder.exists() and locked.folder.exists()
    assert store.clean_tmp(older_than_s=0) == sorted([young.folder, locked.folder])
    assert list(store.tmp.iterdir()) == []


def test_clean_tmp_leaves_what_it_did_not_stage(store: ArtifactStore, tmp_path: Path) -> None:
    """Only names `stage` and `_move_aside` give are ours; a symlink is never followed."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("x")
    ours = store.stage(fp("ours"), "s")
    foreign = {
        "notes.txt": "file",
        "draft": "dir",
        f"{fp('x')}": "dir",  # a fingerprint alone is not a staging name
        f"{fp('y')}-0123abcd-extra": "dir",
        f"{fp('z')}-0123abcd": "link",  # named like ours, but a symlink
    }
    for name, kind in foreign.items():
        path = store.tmp / name
        if kind == "file":
            path.write_text("x")
        elif kind == "dir":
            path.mkdir()
            (path / "inside.txt").write_text("x")
        else:
            path.symlink_to(elsewhere)
    assert store.clean_tmp(older_than_s=0) == [ours.folder]
    assert sorted(p.name for p in store.tmp.iterdir()) == sorted(foreign)
    assert (elsewhere / "keep.txt").read_text() == "x"


def test_a_folder_that_is_not_a_store_is_refused(tmp_path: Path) -> None:
    from mlspec.store.root import MARKER, StoreRefused, check_root

    home = tmp_path / "home"
    (home / "tmp").mkdir(parents=True)
    (home / "tmp" / "draft.txt").write_text("x")
    with pytest.raises(StoreRefused, match="is not an mlspec store"):
        ArtifactStore(home).stage(fp("a"), "s")
    assert sorted(p.name for p in home.rglob("*")) == ["draft.txt", "tmp"]
    (tmp_path / "file").write_text("x")
    with pytest.raises(StoreRefused, match="is a file, not a folder"):
        check_root(tmp_path / "file")
    # New, empty and pre-marker stores (only a store's layout) are marked on first write.
    for name, layout in [("new", []), ("empty", [""]), ("old", ["objects", "runs.sqlite"])]:
        for entry in layout:
            (tmp_path / name / entry).mkdir(parents=True, exist_ok=True)
        ArtifactStore(tmp_path / name).stage(fp("a"), "s")
        assert (tmp_path / name / MARKER).is_file()
    (tmp_path / "new" / MARKER).write_text('{"format": 99}')
    with pytest.raises(StoreRefused, match="format 99"):
        check_root(tmp_path / "new")


def test_lock_is_exclusive_between_instances(store: ArtifactStore) -> None:
    from mlspec.store.locks import LockTimeout

    key = fp("lock")
    with store.lock(key):
        assert (store.root / "locks" / f"{key}.lock").exists()
        with pytest.raises(LockTimeout):
            store.lock(key, timeout=0).acquire()
    with store.lock(key, timeout=0):
        pass


# ----------------------------------------------------------------------------- light import


def test_store_imports_no_data_library() -> None:
    code = (
        "import sys, tempfile, pathlib\n"
        "from mlspec.store import ArtifactStore, RunStore, versions\n"
        "root = pathlib.Path(tempfile.mkdtemp())\n"
        "s = ArtifactStore(root)\n"
        "s.has('ab' * 32); s.fingerprints()\n"
        "w = s.stage('ab' * 32, 'x'); w.write_json({'a': 1}, 'r'); w.metric('m', 1.0); s.commit(w)\n"
        "s.open('ab' * 32).json('r')\n"
        "(root / 'f.csv').write_text('a,b')\n"
        "r = RunStore(root / 'runs.sqlite'); r.file_hash(root / 'f.csv'); r.runs(); r.last_step('x')\n"
        "versions()\n"
        "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('polars', 'numpy', 'pyarrow', 'pandas', 'sklearn', 'xgboost', 'ray'))))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == ""


# ----------------------------------------------------------------------------- digests


def test_manifests_without_a_valid_mac_are_not_trusted(
    store: ArtifactStore, frame: pl.DataFrame
) -> None:
    """Formats 1 and 2 had no mac; a manifest rewritten to match swapped files has a wrong one."""
    key = fp("format1")
    commit_simple(store, "format1", frame)
    path = store.folder(key) / MANIFEST
    old = json.loads(path.read_text())
    for change in ({"format": 2}, {"mac": "0" * 64}, {"mac": None}):
        path.write_text(json.dumps({**old, **change}))
        with pytest.raises(ArtifactCorrupt, match="not committed under this machine's store key"):
            store.open(key)
        assert not store.authentic(key)
        assert store.check(key) == "its manifest.json is not authenticated by the store key"
    path.write_text(json.dumps(old))
    assert store.authentic(key) and store.check(key) is None
    path.write_text("{garbage")
    assert (store.check(key) or "").startswith("its manifest.json is unreadable")
    moved = store.quarantine(key, "its manifest.json is unreadable")
    assert not store.has(key) and moved.parent == store.root / "quarantine"
    assert (moved / "data.parquet").is_file()
    assert "unreadable" in (moved / "QUARANTINED.txt").read_text()


def test_a_settled_file_is_hashed_once_per_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlspec.store.hashing as hashing

    calls: list[Path] = []
    real = hashing._blake3
    monkeypatch.setattr(hashing, "_blake3", lambda p, size: calls.append(p) or real(p, size))
    hashing.forget()
    settled, fresh = tmp_path / "settled.bin", tmp_path / "fresh.bin"
    settled.write_bytes(b"a" * 1000)
    old = time.time() - 60
    os.utime(settled, (old, old))
    fresh.write_bytes(b"b" * 1000)
    first = file_digest(settled)
    assert file_digest(settled) == first and len(calls) == 1
    assert first == (blake3(b"a" * 1000).hexdigest(), 1000)
    file_digest(fresh)
    file_digest(fresh)
    assert len(calls) == 3  # modified just now: it may change again within one mtime tick
    settled.write_bytes(b"c" * 1000)  # a write changes the mtime: the memo misses
    assert file_digest(settled)[0] == blake3(b"c" * 1000).hexdigest()
    (tmp_path / "empty").write_bytes(b"")  # no memory map of an empty file
    assert file_digest(tmp_path / "empty") == (blake3(b"").hexdigest(), 0)


def test_a_file_the_store_committed_is_not_hashed_again_when_read(
    store: ArtifactStore, frame: pl.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The next step reads what the last one committed: its digest is the one just computed."""
    import mlspec.store.hashing as hashing

    calls: list[str] = []
    real = hashing._blake3
    monkeypatch.setattr(
        hashing, "_blake3", lambda p, size: calls.append(Path(p).name) or real(p, size)
    )
    hashing.forget()
    key = fp("own")
    commit_simple(store, "own", frame)
    assert sorted(calls) == ["data.parquet", "model.bin", "report.json"]
    assert store.open(key).frame().equals(frame) and store.open(key).json("report")["rows"] == 1000
    assert sorted(calls) == ["data.parquet", "model.bin", "report.json"]
    flip_byte(
        store.folder(key) / "data.parquet", 100
    )  # a later write changes the stat: hashed again
    with pytest.raises(ArtifactCorrupt):
        store.open(key).frame()


def test_the_store_key_lives_outside_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlspec.store.keys import StoreKeyError, store_key

    monkeypatch.delenv("MLSPEC_STORE_KEY", raising=False)
    monkeypatch.delenv("MLSPEC_STORE_KEY_FILE", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    assert store_key() is None  # looking creates nothing
    key = store_key(create=True)
    path = tmp_path / "config" / "mlspec" / "store.key"
    assert key is not None and len(key) == 64 and path.stat().st_mode & 0o777 == 0o600
    assert store_key() == key
    monkeypatch.setenv("MLSPEC_STORE_KEY_FILE", str(tmp_path / "store" / "key"))
    with pytest.raises(StoreKeyError, match="inside the store"):
        store_key(tmp_path / "store")
    monkeypatch.setenv("MLSPEC_STORE_KEY", "short")
    with pytest.raises(StoreKeyError, match=r"must be at least 32 characters\. Got 5 instead"):
        store_key()
    # Another key: what this one committed is not authenticated.
    monkeypatch.setenv("MLSPEC_STORE_KEY", "a" * 32)
    store = ArtifactStore(tmp_path / "s")
    w = store.stage(fp("k"), "s")
    w.write_json({"x": 1}, "r")
    store.commit(w)
    assert ArtifactStore(tmp_path / "s").authentic(fp("k"))
    monkeypatch.setenv("MLSPEC_STORE_KEY", "b" * 32)
    assert not ArtifactStore(tmp_path / "s").authentic(fp("k"))
