"""Issue 18: the store never touches what is not its own, and never loads what it did not write.

Each test reproduces an attack on the landed code (a symlinked store with a victim folder, a
symlinked data file, ...) with real files and the real CLI, and checks that nothing outside
the project is read, cleaned or written.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import pickle
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlspec.store.hashing import file_digest
from tests.conftest import mlspec
from tests.integration.test_run_bad_input import GOOD, SPEC


def project(root: Path, store: str | None = None) -> Path:
    """A small project: a spec, its parquet data, and `execution.store` if given."""
    (root / "data").mkdir(parents=True)
    GOOD.write_parquet(root / "data" / "people.parquet")
    text = SPEC.format(path="data/people.parquet")
    if store is not None:
        text += f"execution: {{store: {store}}}\n"
    spec = root / "spec.yaml"
    spec.write_text(text)
    return spec


def victim(root: Path) -> dict[str, bytes]:
    """Someone's folder that happens to have a tmp/ (and an entry named like a staging one)."""
    files = {
        "notes.txt": b"my notes",
        "tmp/draft.txt": b"unsaved work",
        f"tmp/{'ab' * 32}-0123abcd/keep.bin": b"\x00\x01",
        "objects/photo.jpg": b"\xff\xd8",
    }
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return files


def intact(root: Path, files: dict[str, bytes]) -> None:
    have = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    assert have == set(files), have ^ set(files)
    for rel, data in files.items():
        assert (root / rel).read_bytes() == data


def refused(proc: subprocess.CompletedProcess[str], *words: str) -> None:
    out = proc.stdout + proc.stderr  # validate prints diagnostics on stdout
    assert proc.returncode == 2, out
    assert "Traceback" not in out
    for word in words:
        assert word in out, out


def test_a_symlinked_store_never_touches_the_victim_folder(tmp_path: Path) -> None:
    """`store: lnk` with lnk -> ~/somewhere passed validate and the run emptied its tmp/."""
    home = tmp_path / "somewhere"
    files = victim(home)
    spec = project(tmp_path / "proj", store="lnk")
    (tmp_path / "proj" / "lnk").symlink_to(home)
    refused(
        mlspec("validate", str(spec)), "execution.store 'lnk' is a symlink to", "[path-outside]"
    )
    for command in ("run", "plan", "graph"):
        refused(mlspec(command, str(spec)), "error:")
    intact(home, files)


@pytest.mark.parametrize("how", ["store", "cwd"])
def test_store_option_refuses_a_folder_that_is_not_a_store(tmp_path: Path, how: str) -> None:
    """`--store DIR` and `--store .` emptied DIR/tmp/ the same way."""
    home = tmp_path / "somewhere"
    files = victim(home)
    spec = project(tmp_path / "proj")
    store = str(home) if how == "store" else "."
    for command in ("run", "plan"):
        proc = mlspec(command, str(spec), "--store", store, "--only", "+features", cwd=home)
        if command == "plan":
            proc = mlspec(command, str(spec), "--store", store, cwd=home)
        refused(proc, "is not an mlspec store", "hint: point --store")
    intact(home, files)


def test_a_new_store_is_marked_and_reused(tmp_path: Path) -> None:
    spec = project(tmp_path / "proj")
    store = tmp_path / "proj" / ".mlspec"
    proc = mlspec("run", str(spec), "--only", "+features")
    assert proc.returncode == 0, proc.stderr
    assert (store / ".mlspec-store").read_text().strip() == '{"format": 1}'
    # A foreign entry under tmp/ survives the next run's cleaning.
    (store / "tmp" / "mine.txt").write_text("x")
    assert mlspec("run", str(spec), "--only", "+features").returncode == 0
    assert (store / "tmp" / "mine.txt").read_text() == "x"


def test_a_symlinked_data_file_is_never_hashed_or_read(tmp_path: Path) -> None:
    """`data/s.parquet -> /elsewhere` was refused by run, but plan stored its digest."""
    spec = project(tmp_path / "proj")
    assert mlspec("run", str(spec), "--only", "+features").returncode == 0  # records exist
    secret = tmp_path / "secret.parquet"
    GOOD.head(7).write_parquet(secret)
    data = tmp_path / "proj" / "data" / "people.parquet"
    data.unlink()
    data.symlink_to(secret)
    for command in ("validate", "plan", "graph", "run"):
        refused(mlspec(command, str(spec)), "a symlink to", "outside the spec's folder")
    db = sqlite3.connect(tmp_path / "proj" / ".mlspec" / "runs.sqlite")
    digests = {row[0] for row in db.execute("SELECT blake3 FROM file_digests")}
    paths = {row[0] for row in db.execute("SELECT path FROM file_digests")}
    db.close()
    assert file_digest(secret)[0] not in digests and str(secret) not in paths


def test_file_hasher_checks_a_path_before_it_reads_it(tmp_path: Path) -> None:
    """The middle's own check, for a spec that did not come through `validate` (a git base)."""
    from mlspec.compile.fingerprint import file_hasher
    from mlspec.lang.paths import PathRefused

    (tmp_path / "proj" / "data").mkdir(parents=True)
    (tmp_path / "elsewhere.csv").write_text("a\n1\n")
    (tmp_path / "proj" / "data" / "s.csv").symlink_to(tmp_path / "elsewhere.csv")
    (tmp_path / "proj" / "data" / "ok.csv").write_text("a\n2\n")
    hasher = file_hasher(tmp_path / "proj")
    with pytest.raises(PathRefused, match="leads outside the project folder"):
        hasher("data/s.csv")
    assert hasher("data/ok.csv") == file_digest(tmp_path / "proj" / "data" / "ok.csv")[0]
    # A source marked `external: true` may lead anywhere, through a symlink too.
    external = file_hasher(tmp_path / "proj", external={"data/s.csv"})
    assert external("data/s.csv") == file_digest(tmp_path / "elsewhere.csv")[0]


# ----------------------------------------------------------------------------- what is loaded


class Bomb:
    """A pickle that runs code when loaded: it creates `marker` (opening it for writing)."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (self.marker, "w"))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project whose store holds a whole run (built once; each test works on a copy)."""
    root = tmp_path_factory.mktemp("built") / "proj"
    spec = project(root)
    proc = mlspec("run", str(spec))
    assert proc.returncode == 0, proc.stderr
    return root


@pytest.fixture
def spec(built: Path, tmp_path: Path) -> Path:
    shutil.copytree(built, tmp_path / "proj", symlinks=True)
    return tmp_path / "proj" / "spec.yaml"


def artifact(spec: Path, step: str) -> Path:
    for manifest in (spec.parent / ".mlspec").glob("objects/*/*/manifest.json"):
        if json.loads(manifest.read_text()).get("step") == step:
            return manifest.parent
    raise AssertionError(f"no artifact of {step}")


def run(spec: Path, *args: str) -> tuple[dict, str]:
    proc = mlspec("run", str(spec), "--json", *args)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return json.loads(proc.stdout), proc.stderr


@pytest.mark.slow
def test_a_swapped_pickle_with_a_recomputed_digest_never_runs(spec: Path, tmp_path: Path) -> None:
    """Replacing pipeline.joblib and rewriting its digest in manifest.json ran the
    attacker's code on the next run that loaded the model."""
    live = tmp_path / "live-payload"
    pickle.loads(pickle.dumps(Bomb(live)))  # the payload is real: loading it runs code
    assert live.exists()
    marker = tmp_path / "pwned"
    folder = artifact(spec, "train.buys.lr")
    model = folder / "model" / "pipeline.joblib"
    model.chmod(0o644)
    model.write_bytes(pickle.dumps(Bomb(marker)))
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"]["model/pipeline.joblib"] = {
        "blake3": file_digest(model)[0],
        "size": model.stat().st_size,
    }
    (folder / "manifest.json").chmod(0o644)
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")

    plan = mlspec("plan", str(spec)).stdout
    proc = mlspec("run", str(spec), "--json", "--force", "evaluate.buys.lr")  # loads the model
    assert not marker.exists()  # the landed code ran the payload here
    assert "artifact damaged" in plan
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    result, err = json.loads(proc.stdout), proc.stderr
    assert err.count("damaged") == 1 and "train.buys.lr" in err and "recomputing" in err
    assert "not authenticated by the store key" in err
    assert result["steps"]["train.buys.lr"]["cache_hit"] is False
    quarantined = list((spec.parent / ".mlspec" / "quarantine").iterdir())
    assert len(quarantined) == 1 and quarantined[0].name.startswith(folder.name)
    again, err = run(spec)
    assert not any(not s["cache_hit"] for s in again["steps"].values()) and "damaged" not in err
    assert not marker.exists()


@pytest.mark.slow
def test_a_flipped_byte_is_a_cache_miss_reported_once(spec: Path) -> None:
    """A flipped byte (its mtime kept) made `run` report "0 ran, 14 cached" over it."""
    folder = artifact(spec, "train.buys.lr")
    model = folder / "model" / "pipeline.joblib"
    good = file_digest(model)[0]
    before = model.stat()
    model.chmod(0o644)
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(bytes(data))
    os.utime(model, ns=(before.st_atime_ns, before.st_mtime_ns))
    result, err = run(spec)
    assert err.count("damaged") == 1
    assert "file 'model/pipeline.joblib' has blake3" in err and "moved to" in err
    ran = [s for s, r in result["steps"].items() if not r["cache_hit"]]
    assert ran == ["train.buys.lr"]
    assert file_digest(artifact(spec, "train.buys.lr") / "model" / "pipeline.joblib")[0] == good


@pytest.mark.slow
def test_a_garbage_manifest_is_a_cache_miss_not_a_traceback(spec: Path) -> None:
    folder = artifact(spec, "features")
    (folder / "manifest.json").chmod(0o644)
    (folder / "manifest.json").write_text("{garbage")
    plan = mlspec("plan", str(spec))
    assert plan.returncode == 0 and "artifact damaged" in plan.stdout
    result, err = run(spec)
    assert err.count("damaged") == 1 and "manifest.json is unreadable" in err
    assert [s for s, r in result["steps"].items() if not r["cache_hit"]] == ["features"]
    assert run(spec)[1] == ""


# ----------------------------------------------------------------------------- disk full


@contextlib.contextmanager
def small_disk(path: Path, size: str) -> Iterator[Path]:
    """A real tmpfs of `size` mounted at `path` (root only), unmounted afterwards."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs to fill it needs root; run as root (CI does)")
    path.mkdir()
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        if os.environ.get("CI") == "true":
            pytest.fail(f"cannot mount a tmpfs as root: {proc.stderr}")
        pytest.skip(
            f"cannot mount a tmpfs here (a container without CAP_SYS_ADMIN?): {proc.stderr}"
        )
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=True)


def fill(disk: Path, leave: int) -> Path:
    """Fill `disk` up, then give back `leave` bytes."""
    filler = disk / "filler"
    with filler.open("wb") as fh:
        try:
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    os.truncate(filler, max(0, filler.stat().st_size - leave))
    return filler


@pytest.mark.slow
@pytest.mark.parametrize("free_kb", [0, 48, 192, 384])
def test_a_full_disk_is_reported_once_and_exits_1(tmp_path: Path, free_kb: int) -> None:
    """With the store on a full disk the run ended in an uncaught
    `sqlite3.OperationalError: database or disk is full`; ENOSPC itself was only in step logs.
    Filled to different levels, the disk runs out at different places (the marker, the run
    records, a step's output, a log)."""
    spec = project(tmp_path / "proj")
    with small_disk(tmp_path / "disk", "2m") as disk:
        filler = fill(disk, free_kb * 1024)
        proc = mlspec("run", str(spec), "--store", str(disk / "store"))
        assert proc.returncode == 1, proc.stdout + proc.stderr
        assert "Traceback" not in proc.stderr, proc.stderr
        assert proc.stderr.count("No space left on device") == 1, proc.stderr
        assert "hint: free space on that disk" in proc.stderr
        filler.unlink()
        # The store stayed consistent: the same command now finishes, reusing what was done.
        again = mlspec("run", str(spec), "--store", str(disk / "store"))
        assert again.returncode == 0, again.stderr
