from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from mlspec import registry
from mlspec.registry import ModelRegistry, RegistryError
from mlspec.steps.package import manifest
from mlspec.store import ArtifactStore


def make_package(root: Path, tag: str) -> str:
    """A package artifact as the package step lays it out: bundle/ files and their MANIFEST."""
    store = ArtifactStore(root)
    key = hashlib.sha256(tag.encode()).hexdigest()
    w = store.stage(key, "package")
    (w.path("bundle/bundle.json")).write_text(
        json.dumps({"name": "feed", "tag": tag}), encoding="utf-8"
    )
    (w.path("bundle/objectives/q/model/pipeline.joblib")).write_bytes(tag.encode() * 10)
    folder = w.folder / "bundle"
    (w.path("bundle/MANIFEST.json")).write_text(json.dumps(manifest(folder)), encoding="utf-8")
    store.commit(w)
    return key


@pytest.fixture
def three(tmp_path: Path) -> tuple[Path, list[str]]:
    root = tmp_path / "store"  # exports go beside it: never inside the store
    fps = [make_package(root, f"v{i}") for i in range(1, 4)]
    for i, key in enumerate(fps):
        registry.register(root, "feed", key, f"run{i + 1}")
    return root, fps


def test_register_numbers_versions_and_is_idempotent(tmp_path: Path) -> None:
    a, b = make_package(tmp_path, "a"), make_package(tmp_path, "b")
    v1 = registry.register(tmp_path, "feed", a, "r1")
    assert (v1.version, v1.status, v1.run_id) == (1, "registered", "r1")
    bundle_manifest = ArtifactStore(tmp_path).open(a).path("bundle/MANIFEST.json")
    assert (
        v1.bundle_sha == hashlib.sha256(bundle_manifest.read_bytes()).hexdigest()
    )  # sha256sum can check it
    assert registry.register(tmp_path, "feed", a, "r2") == v1  # same package: same version
    assert registry.register(tmp_path, "feed", b, "r3").version == 2
    assert registry.register(tmp_path, "other", b, "r3").version == 1
    reg = ModelRegistry(tmp_path)
    assert [(v.name, v.version) for v in reg.list()] == [("feed", 1), ("feed", 2), ("other", 1)]
    assert [v.version for v in reg.list("feed")] == [1, 2]


def test_register_refuses_what_is_not_a_package(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    w = store.stage("ab" * 32, "gate")
    w.write_json({"passed": True}, "gate.json")
    store.commit(w)
    with pytest.raises(RegistryError, match="not a package"):
        registry.register(tmp_path, "feed", "ab" * 32)
    with pytest.raises(RegistryError, match="not in the store"):
        registry.register(tmp_path, "feed", "cd" * 32)


def test_promote_archives_the_previous_production(three: tuple[Path, list[str]]) -> None:
    root, _ = three
    reg = ModelRegistry(root)
    assert reg.production("feed") is None
    reg.promote("feed", 1)
    reg.promote("feed", 2)
    assert [v.status for v in reg.list("feed")] == ["archived", "production", "registered"]
    assert reg.promote("feed", 2).status == "production"  # already: no change
    assert reg.production("feed").version == 2  # type: ignore[union-attr]


def test_rollback_walks_back_through_the_promotions(three: tuple[Path, list[str]]) -> None:
    root, _ = three
    reg = ModelRegistry(root)
    with pytest.raises(RegistryError, match="no production version"):
        reg.rollback("feed")
    for v in (1, 2, 3):
        reg.promote("feed", v)
    assert reg.rollback("feed").version == 2
    assert [v.status for v in reg.list("feed")] == ["archived", "production", "archived"]
    assert reg.rollback("feed").version == 1  # not back to 3
    with pytest.raises(RegistryError, match="no earlier production version"):
        reg.rollback("feed")
    reg.promote("feed", 3)
    assert reg.rollback("feed").version == 1


def test_unknown_names_and_versions_suggest(three: tuple[Path, list[str]]) -> None:
    root, _ = three
    reg = ModelRegistry(root)
    with pytest.raises(RegistryError) as info:
        reg.promote("fede", 1)
    assert info.value.hint == "did you mean 'feed'?"
    with pytest.raises(RegistryError) as info:
        reg.promote("feed", 9)
    assert "no version 9" in info.value.message and "1, 2, 3" in (info.value.hint or "")


def test_export_copies_and_verifies_the_bundle(
    three: tuple[Path, list[str]], tmp_path: Path
) -> None:
    root, fps = three
    out = registry.export(root, "feed", 2, tmp_path / "out" / "feed-v2")
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert files == [
        "MANIFEST.json",
        "bundle.json",
        "objectives/q/model/pipeline.joblib",
        "version.json",
    ]
    assert (out / "objectives/q/model/pipeline.joblib").read_bytes() == b"v2" * 10
    claim = json.loads((out / "version.json").read_text())
    assert (claim["name"], claim["version"]) == ("feed", 2)
    assert claim["bundle_sha"] == ModelRegistry(root).get("feed", 2).bundle_sha
    with pytest.raises(RegistryError, match="not an empty folder"):
        registry.export(root, "feed", 2, out)
    # A damaged store file is caught by the store's own check; nothing is left behind.
    damaged = ArtifactStore(root).folder(fps[0]) / "bundle" / "bundle.json"
    os.chmod(damaged, 0o644)
    damaged.write_text("{}", encoding="utf-8")
    with pytest.raises(RegistryError, match="damaged"):
        registry.export(root, "feed", 1, tmp_path / "bad")
    assert not (tmp_path / "bad").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".bad")] == []


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mlspec", "models", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_models_cli(three: tuple[Path, list[str]], tmp_path: Path) -> None:
    root, _ = three
    store = ["--store", str(root)]
    proc = _cli("promote", "feed", "2", *store)
    assert proc.returncode == 0 and "feed version 2 is in production" in proc.stdout
    proc = _cli("list", *store, "--json")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert [(r["version"], r["status"]) for r in rows] == [
        (1, "registered"),
        (2, "production"),
        (3, "registered"),
    ]
    proc = _cli("list", *store)
    assert proc.returncode == 0 and "production" in proc.stdout and "run2" in proc.stdout
    proc = _cli("promote", "fed", "1", *store)
    assert (
        proc.returncode == 2
        and "no registered model named 'fed'" in proc.stderr
        and "did you mean 'feed'?" in proc.stderr
    )
    proc = _cli("export", "feed", "7", str(tmp_path / "x"), *store)
    assert proc.returncode == 2 and "no version 7" in proc.stderr
    proc = _cli("rollback", "feed", *store)
    assert proc.returncode == 2 and "no earlier production version" in proc.stderr
    proc = _cli("export", "feed", "3", str(tmp_path / "x"), *store)
    assert proc.returncode == 0 and (tmp_path / "x" / "MANIFEST.json").is_file()
    proc = _cli("list", "--store", str(tmp_path / "empty"), "--json")
    assert (
        proc.returncode == 0 and json.loads(proc.stdout) == [] and not (tmp_path / "empty").exists()
    )


def test_register_run_registers_only_a_built_package(tmp_path: Path) -> None:
    from types import SimpleNamespace

    key = make_package(tmp_path, "run")
    ok = SimpleNamespace(ok=True, fingerprint=key)
    assert (
        registry.register_run(tmp_path, "feed", {"gate": ok}, "r1") is None
    )  # --only without package
    assert (
        registry.register_run(
            tmp_path, "feed", {"package": SimpleNamespace(ok=False, fingerprint=key)}, "r1"
        )
        is None
    )
    v = registry.register_run(tmp_path, "feed", {"package": ok}, "r1")
    assert v is not None and v.version == 1
    assert registry.register_run(tmp_path, "feed", {"package": ok}, "r2") == v


def test_models_cli_refuses_edges_with_a_clear_error(
    three: tuple[Path, list[str]], tmp_path: Path
) -> None:
    """Each of these ended in a traceback: a version SQLite cannot hold, an export under a
    file, under /proc, through a dangling symlink (accepted: into the store itself)."""
    root, _ = three
    store = ["--store", str(root)]
    for action in (["promote", "feed"], ["export", "feed"]):
        extra = [str(tmp_path / "big")] if action[0] == "export" else []
        for version in ("99999999999999999999999", "0", "-3", "two"):
            proc = _cli(*action, version, *extra, *store)
            assert proc.returncode == 2, proc.stderr
            assert "VERSION must be a positive integer. Got" in proc.stderr
            assert "Traceback" not in proc.stderr
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "nowhere")
    cases = {
        str(a_file / "bundle"): "is a file, not a folder",
        str(dangling): "is a symlink",
        str(root / "objects" / "out"): "inside the store",
        str(root): "inside the store",
        "/proc/mlspec-export/bundle": "cannot export feed version 1 to /proc/mlspec-export/bundle",
    }
    for dest, message in cases.items():
        proc = _cli("export", "feed", "1", dest, *store)
        assert proc.returncode in (1, 2) and message in proc.stderr, (dest, proc.stderr)
        assert "Traceback" not in proc.stderr
    assert not (tmp_path / "nowhere").exists() and a_file.read_text() == "x"
    assert not (root / "objects" / "out").exists()
    with pytest.raises(RegistryError, match="must be a positive integer"):
        ModelRegistry(root).get("feed", 2**63)


def test_verify_bundle_refuses_a_bundle_that_is_not_its_registry_entry(
    three: tuple[Path, list[str]], tmp_path: Path
) -> None:
    root, fps = three
    reg = ModelRegistry(root)
    out = reg.export("feed", 2, tmp_path / "v2")
    assert reg.verify_bundle(out, "feed", 2).fingerprint == fps[1]
    with pytest.raises(RegistryError, match="registry recorded"):
        reg.verify_bundle(out, "feed", 3)  # a real bundle, but another version's
    (out / "extra.pkl").write_bytes(b"x")
    with pytest.raises(RegistryError, match=r"files not in its MANIFEST\.json: extra\.pkl"):
        reg.verify_bundle(out, "feed", 2)
    (out / "extra.pkl").unlink()
    model = out / "objectives/q/model/pipeline.joblib"
    model.write_bytes(b"swapped")
    with pytest.raises(RegistryError, match=r"does not match its MANIFEST\.json"):
        reg.verify_bundle(out, "feed", 2)
    # Swap the model and recompute the bundle's manifest: the registry's digest differs.
    (out / "MANIFEST.json").write_text(json.dumps(manifest(out)), encoding="utf-8")
    with pytest.raises(RegistryError, match="registry recorded") as info:
        reg.verify_bundle(out, "feed", 2)
    assert info.value.code == 1
    # ... and so does an entry edited to match: the store's committed package disagrees.
    sha = hashlib.sha256((out / "MANIFEST.json").read_bytes()).hexdigest()
    con = sqlite3.connect(root / "registry.sqlite")
    con.execute("UPDATE versions SET bundle_sha = ? WHERE version = 2", (sha,))
    con.commit()
    con.close()
    with pytest.raises(RegistryError, match="does not match the package the store committed"):
        reg.verify_bundle(out, "feed", 2)
