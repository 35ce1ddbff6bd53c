"""The content-addressed artifact store: one folder per step output, keyed by fingerprint.

Layout under the store root (default ``.mlspec/`` beside the spec)::

    .mlspec-store            the marker: this folder is a store (`root`)
    objects/<fp[:2]>/<fp>/   one finished artifact: named files + manifest.json
    tmp/<fp>-<random>/       a staging folder while a step writes
    locks/<fp>.lock          one lock file per fingerprint (flock, released if the process dies)
    logs/                    step logs (written by the runner)

Why it is safe: a step writes only into its own staging folder; `commit` fsyncs every file,
writes ``manifest.json`` last, fsyncs the folder and renames it into ``objects/`` in one
atomic `os.rename`. So a folder under ``objects/`` is always whole, and "manifest present"
means "complete". A killed run leaves at most a staging folder under ``tmp/``, which
`clean_tmp` removes; it removes nothing else, only names of the form this module gives. Readers check each file's digest (BLAKE3, see `hashing`) against the
manifest on first use, so a damaged file is reported, never silently read.

This module is imported on light paths (`mlspec plan`): polars is imported inside the
methods that need it; locks are kernel flocks (`locks`).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import shutil
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from mlspec.store.hashing import ALGORITHM, file_digest
from mlspec.store.keys import sign, store_key, verify
from mlspec.store.locks import FileLock, LockTimeout
from mlspec.store.root import claim

if TYPE_CHECKING:
    import polars as pl

MANIFEST = "manifest.json"
# 3: the manifest carries "mac", its HMAC under the store key (`keys`); manifests without one
# (formats 1 and 2) are not trusted: they are moved aside and their steps recomputed.
MANIFEST_FORMAT = 3
# Keys of manifest.json that the store owns; `meta` may not change them.
RESERVED = frozenset({"format", "fingerprint", "step", "created", "files", "metrics", "mac"})

# Parquet settings, measured on 1M rows x 20 columns (8 random floats, 4 small ints, 2 ids,
# 3 low-cardinality strings, 2 bools, 1 rounded float; 133 MB in memory), each write to a
# fresh file, median of 7 interleaved runs on 2 vCPUs:
#   zstd(1)  71.6 MB  write 677 ms  read 282 ms
#   zstd(3)  71.7 MB  write 718 ms  read 257 ms
#   lz4      82.3 MB  write 397 ms  read 138 ms
#   snappy   81.7 MB  write 387 ms  read 142 ms
# snappy and lz4 tie, at about 55% of zstd's write+read time for 14% more bytes; snappy is
# read by every parquet reader. An explicit row group size makes the bytes independent of
# how the frame is chunked, of the thread count and of write_parquet vs sink_parquet
# (checked: all give one digest), so every backend writes byte-identical artifacts.
PARQUET_OPTIONS: dict[str, Any] = {
    "compression": "snappy",
    "statistics": True,
    "row_group_size": 262_144,
}

_FINGERPRINT = re.compile(r"[0-9a-f]{8,128}")
# The names `stage` and `_move_aside` give entries of tmp/: nothing else there is ours.
_STAGED = re.compile(r"(?P<fp>[0-9a-f]{8,128})-(?:(?P<why>removed|broken)-)?[0-9a-f]{8}")


class ArtifactError(Exception):
    """Base of the store's errors."""


class ArtifactMissing(ArtifactError, LookupError):
    """The fingerprint (or a file name within an artifact) is not in the store."""


class ArtifactCorrupt(ArtifactError):
    """A stored file does not match its manifest, or the manifest is unreadable or was not
    committed under this store's key: the artifact must not be used (`ArtifactStore.check`).

    `problem` says what is wrong in a few words, for "artifact X damaged: <problem>"."""

    def __init__(self, message: str, problem: str | None = None) -> None:
        super().__init__(message)
        self.problem = problem or message


def check_fingerprint(fp: str) -> str:
    """Fingerprints become folder names: only lowercase hex, so no path can escape the store."""
    if not isinstance(fp, str) or not _FINGERPRINT.fullmatch(fp):
        raise ValueError(f"not a fingerprint: {fp!r} (expected 8-128 lowercase hex digits)")
    return fp


def _check_name(name: str) -> str:
    """A file name inside an artifact: a relative POSIX path, no '..', not the manifest."""
    if not isinstance(name, str) or not name or "\\" in name or "\x00" in name:
        raise ValueError(f"invalid artifact file name: {name!r}")
    parts = PurePosixPath(name).parts
    if name.startswith("/") or any(p in ("", ".", "..") for p in parts) or name.endswith("/"):
        raise ValueError(f"invalid artifact file name: {name!r} (use a relative path without '..')")
    if name == MANIFEST:
        raise ValueError(f"'{MANIFEST}' is reserved for the store")
    return name


def _with_suffix(name: str, suffix: str) -> str:
    """'data' -> 'data.parquet'; 'report.json' stays: steps may pass either form."""
    return name if name.endswith(suffix) else name + suffix


def _utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _non_finite_path(value: Any, path: str = "$") -> str | None:
    """Where in a JSON value a NaN or infinity sits (for the error message), or None."""
    if isinstance(value, float) and not math.isfinite(value):
        return path
    if isinstance(value, dict):
        for k, v in value.items():
            if (found := _non_finite_path(v, f"{path}.{k}")) is not None:
                return found
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            if (found := _non_finite_path(v, f"{path}[{i}]")) is not None:
                return found
    return None


def _json_default(obj: Any) -> Any:
    """numpy scalars and arrays (`.item()` / `.tolist()`) become plain JSON values."""
    if hasattr(obj, "tolist") and callable(obj.tolist):
        return obj.tolist()
    if hasattr(obj, "item") and callable(obj.item):
        return obj.item()
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


def canonical_json(value: Any, what: str) -> str:
    """Sorted keys, two-space indent, no NaN/Infinity (not JSON; other readers reject it)."""
    try:
        return (
            json.dumps(
                value,
                sort_keys=True,
                indent=2,
                ensure_ascii=False,
                allow_nan=False,
                default=_json_default,
            )
            + "\n"
        )
    except ValueError as exc:
        if "Out of range float" not in str(exc):
            raise
        normalized = json.loads(json.dumps(value, default=_json_default, allow_nan=True))
        where = _non_finite_path(normalized) or "$"
        raise ValueError(
            f"cannot write {what}: the value at {where} is NaN or infinite, which JSON cannot hold; "
            "write null (None) or a finite number instead"
        ) from None


class Manifest(dict[str, Any]):
    """The parsed manifest.json: a plain dict (it round-trips as JSON) with typed accessors.

    Keys: format, fingerprint, step, created (UTC ISO), files {name: {blake3, size}},
    metrics {name: float}, plus the keys of the `meta` given to `commit`.
    """

    @property
    def fingerprint(self) -> str:
        return str(self["fingerprint"])

    @property
    def step(self) -> str:
        return str(self.get("step", ""))

    @property
    def created(self) -> str:
        return str(self.get("created", ""))

    @property
    def files(self) -> dict[str, dict[str, Any]]:
        return dict(self.get("files", {}))

    @property
    def metrics(self) -> dict[str, float]:
        return dict(self.get("metrics", {}))

    @property
    def meta(self) -> dict[str, Any]:
        return {k: v for k, v in self.items() if k not in RESERVED}


class Writer:
    """An artifact being written into its own staging folder (implements ArtifactWriter).

    Nothing written here is visible to readers until `ArtifactStore.commit` renames the
    folder into place.
    """

    def __init__(self, store: ArtifactStore, fingerprint: str, step_id: str, folder: Path) -> None:
        self.store = store
        self.fingerprint = fingerprint
        self.step_id = step_id
        self.folder = folder
        self.metrics: dict[str, float] = {}
        self.closed = False
        self._written: set[str] = set()
        self.external: dict[str, Path] = {}

    def __repr__(self) -> str:
        return (
            f"Writer({self.fingerprint[:12]}, step={self.step_id!r}, folder={str(self.folder)!r})"
        )

    def _check_open(self) -> None:
        if self.closed:
            raise RuntimeError(
                f"artifact {self.fingerprint[:12]} was already committed or discarded"
            )

    def path(self, name: str) -> Path:
        """Where to write a native file (a model, a plot) that the step writes itself."""
        self._check_open()
        path = self.folder.joinpath(*PurePosixPath(_check_name(name)).parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def _fresh(self, name: str) -> Path:
        """The path of a file written through write_frame / write_json: each name once."""
        if name in self._written:
            raise ValueError(
                f"artifact {self.fingerprint[:12]} (step {self.step_id}): '{name}' written twice"
            )
        return self.path(name)

    def write_frame(self, frame: pl.DataFrame | pl.LazyFrame, name: str = "data") -> None:
        """`<name>.parquet`; a LazyFrame is streamed (sink), with the same bytes as a collect."""
        import polars as pl

        file = _with_suffix(name, ".parquet")
        if f"{file.removesuffix('.parquet')}.view.json" in self._written:
            raise ValueError(
                f"artifact {self.fingerprint[:12]} (step {self.step_id}): '{name}' is already a view"
            )
        path = self._fresh(file)
        if isinstance(frame, pl.LazyFrame):
            frame.sink_parquet(path, **PARQUET_OPTIONS)
        elif isinstance(frame, pl.DataFrame):
            frame.write_parquet(path, **PARQUET_OPTIONS)
        else:
            raise TypeError(
                f"write_frame needs a polars DataFrame or LazyFrame, not {type(frame).__name__}"
            )
        self._written.add(file)

    def reference(self, path: Path, name: str = "data") -> None:
        """Point `<name>.parquet` at an existing file instead of copying it.

        For a Parquet source read as it is: the store need not duplicate the user's data.
        The manifest keeps the file's absolute path and hash; readers verify it like any file.
        """
        self._check_open()
        file = _with_suffix(name, ".parquet")
        if file in self._written or file in self.external:
            raise ValueError(
                f"artifact {self.fingerprint[:12]} (step {self.step_id}): '{file}' written twice"
            )
        self.external[file] = Path(path).resolve()

    def write_json(self, value: Any, name: str) -> None:
        """`<name>.json`, canonical (sorted keys); NaN and infinity are refused."""
        file = _with_suffix(name, ".json")
        text = canonical_json(value, f"{file} of step {self.step_id}")
        self._fresh(file).write_text(text, encoding="utf-8")
        self._written.add(file)

    def write_view(self, recipe: dict[str, Any], name: str = "data") -> None:
        """`<name>.view.json`: the output kept as its recipe, not its rows (`mlspec.engine.views`)."""
        if _with_suffix(name, ".parquet") in self._written | set(self.external):
            raise ValueError(
                f"artifact {self.fingerprint[:12]} (step {self.step_id}): '{name}' is already a table"
            )
        self.write_json(recipe, f"{name.removesuffix('.parquet')}.view")

    def metric(self, name: str, value: float) -> None:
        """A number for the manifest and the run record (`rows`, `roc_auc.valid`)."""
        self._check_open()
        if not isinstance(name, str) or not name:
            raise ValueError(f"metric name must be a non-empty string, not {name!r}")
        if isinstance(value, bool | str | bytes) or not hasattr(value, "__float__"):
            raise TypeError(f"metric {name!r} must be a number, not {type(value).__name__}")
        number = float(value)  # numpy scalars too
        if not math.isfinite(number):
            raise ValueError(
                f"metric {name!r} of step {self.step_id} is {number}: metrics must be finite "
                "(JSON has no NaN); skip the metric or record why it is undefined in a json file"
            )
        self.metrics[name] = number


class Reader:
    """A finished artifact (implements ArtifactReader).

    Each file's digest is checked against the manifest the first time this reader hands it
    out; a mismatch raises `ArtifactCorrupt`. Later calls for the same file are free.
    """

    def __init__(
        self, folder: Path, manifest: Manifest, digest: Callable[[Path], str] | None = None
    ) -> None:
        self.folder = folder
        self.manifest = manifest
        self.fingerprint = manifest.fingerprint
        self._verified: set[str] = set()
        self._digest = digest  # a file's BLAKE3 (the run records' cache); default: hash it

    def __repr__(self) -> str:
        return f"Reader({self.fingerprint[:12]}, step={self.manifest.step!r})"

    def names(self) -> list[str]:
        """File names as stored (``data.parquet``, ``report.json``, ``model.ubj``)."""
        return sorted(self.manifest.files)

    def _corrupt(self, name: str, problem: str) -> ArtifactCorrupt:
        external = self.manifest.files.get(name, {}).get("external")
        if external:
            return ArtifactCorrupt(
                f"artifact {self.fingerprint[:12]} (step {self.manifest.step or '?'}) reads {external}, "
                f"which {problem.replace('has ', 'now has ', 1)}: the file changed after the step ran. "
                "Run again: the step's fingerprint follows the file's content.",
                f"{external} {problem.replace('has ', 'now has ', 1)}",
            )
        return ArtifactCorrupt(
            f"artifact {self.fingerprint[:12]} (step {self.manifest.step or '?'}): file '{name}' {problem}; "
            f"the store folder {self.folder} is damaged. Run again: `mlspec run` moves a damaged "
            "artifact to the store's quarantine/ and recomputes it.",
            f"file '{name}' {problem}",
        )

    def path(self, name: str) -> Path:
        """The verified file `name` (a name from `names()`)."""
        files = self.manifest.files
        if name not in files:
            have = ", ".join(sorted(files)) or "no files"
            raise ArtifactMissing(
                f"artifact {self.fingerprint[:12]} (step {self.manifest.step or '?'}) has no file '{name}' (it has: {have})"
            )
        entry = files[name]
        external = entry.get("external")
        path = (
            Path(external)
            if external
            else self.folder.joinpath(*PurePosixPath(_check_name(name)).parts)
        )
        if name not in self._verified:
            try:
                size = path.stat().st_size
            except FileNotFoundError:
                raise self._corrupt(name, "is missing") from None
            if size != entry.get("size"):
                raise self._corrupt(
                    name, f"has {size} bytes, the manifest says {entry.get('size')}"
                )
            digest = self._digest(path) if self._digest else file_digest(path)[0]
            if digest != entry.get(ALGORITHM):
                raise self._corrupt(
                    name,
                    f"has {ALGORITHM} {digest[:12]}…, the manifest says {str(entry.get(ALGORITHM))[:12]}…",
                )
            self._verified.add(name)
        return path

    def verify(self) -> None:
        """Check every file now (a reader otherwise checks each file on first use)."""
        for name in self.names():
            self.path(name)

    def frame(self, name: str = "data", columns: list[str] | None = None) -> pl.DataFrame:
        import polars as pl

        return pl.read_parquet(
            self.path(_with_suffix(name, ".parquet")), columns=columns, glob=False
        )

    def scan(self, name: str = "data") -> pl.LazyFrame:
        """A LazyFrame over the file, verified before it is returned."""
        import polars as pl

        return pl.scan_parquet(self.path(_with_suffix(name, ".parquet")), glob=False)

    def json(self, name: str) -> Any:
        return json.loads(self.path(_with_suffix(name, ".json")).read_text(encoding="utf-8"))


class ArtifactStore:
    """Artifacts keyed by fingerprint under `root`; folders are created on first write.

    Typical use (the runner)::

        with store.lock(fp):
            if not store.has(fp):
                w = store.stage(fp, step_id)
                try:
                    step(w); store.commit(w, meta)
                except BaseException:
                    store.discard(w); raise
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self._claimed = False
        self._key: bytes | None = None

    def key(self, create: bool = False) -> bytes | None:
        """The key that authenticates manifests (`keys`); None if there is none and not `create`."""
        if self._key is None:
            self._key = store_key(self.root, create=create)
        return self._key

    def claim(self) -> None:
        """Make sure the root is a store (`root.claim`) before the first write into it."""
        if not self._claimed:
            claim(self.root)
            self._claimed = True

    def __repr__(self) -> str:
        return f"ArtifactStore({str(self.root)!r})"

    @property
    def objects(self) -> Path:
        return self.root / "objects"

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    @property
    def locks(self) -> Path:
        return self.root / "locks"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def quarantine_dir(self) -> Path:
        return self.root / "quarantine"

    def folder(self, fp: str) -> Path:
        """Where the artifact `fp` lives (whether or not it exists)."""
        check_fingerprint(fp)
        return self.objects / fp[:2] / fp

    def uri(self, fp: str) -> str:
        """``file://`` URI of the artifact's folder."""
        return self.folder(fp).absolute().as_uri()

    def has(self, fp: str) -> bool:
        """True when the artifact is complete (its manifest exists; it is renamed in whole)."""
        return (self.folder(fp) / MANIFEST).is_file()

    def fingerprints(self) -> list[str]:
        """Every complete artifact in the store, sorted."""
        if not self.objects.is_dir():
            return []
        return sorted(d.name for d in self.objects.glob("??/*") if (d / MANIFEST).is_file())

    def manifest(self, fp: str) -> Manifest:
        """The manifest of `fp` (no file is verified)."""
        folder = self.folder(fp)
        try:
            text = (folder / MANIFEST).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ArtifactMissing(
                f"artifact {fp[:12]} is not in the store {self.root}; run the step that produces it (mlspec run)"
            ) from None
        try:
            data = json.loads(text)
            if (
                not isinstance(data, dict)
                or data.get("fingerprint") != fp
                or not isinstance(data.get("files"), dict)
            ):
                raise ValueError("wrong shape or fingerprint")
            signed = canonical_json({k: v for k, v in data.items() if k != "mac"}, MANIFEST)
        except ValueError as exc:
            raise ArtifactCorrupt(
                f"artifact {fp[:12]}: {folder / MANIFEST} is unreadable ({exc}); "
                "run again: `mlspec run` moves it to the store's quarantine/ and recomputes it.",
                f"its {MANIFEST} is unreadable ({exc})",
            ) from None
        if not verify(self.key(), signed, data.get("mac")):
            raise ArtifactCorrupt(
                f"artifact {fp[:12]}: {folder / MANIFEST} was not committed under this machine's "
                "store key (it was written elsewhere, or changed after mlspec wrote it), so nothing "
                "in it is loaded; run again: `mlspec run` moves it to quarantine/ and recomputes it.",
                f"its {MANIFEST} is not authenticated by the store key",
            )
        return Manifest(data)

    def authentic(self, fp: str) -> bool:
        """True when the artifact is complete and its manifest authenticates (cheap: no file
        is hashed). What `plan` counts as cached."""
        try:
            self.manifest(fp)
        except ArtifactError:
            return False
        return True

    def check(self, fp: str, digest: Callable[[Path], str] | None = None) -> str | None:
        """What is wrong with the artifact `fp`, or None when its manifest authenticates and
        every file has its recorded digest. `digest` hashes a file (the run records' cache,
        so an unchanged file is not read again)."""
        try:
            Reader(self.folder(fp), self.manifest(fp), digest).verify()
        except ArtifactCorrupt as exc:
            return exc.problem
        return None

    def quarantine(self, fp: str, problem: str) -> Path:
        """Move a damaged artifact to ``quarantine/`` (hold `lock(fp)`), so its step runs again;
        returns where it went. Kept, not deleted: it may be evidence. Delete it at will."""
        self.quarantine_dir.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        dest = self.quarantine_dir / f"{fp}-{stamp}-{os.urandom(4).hex()}"
        os.rename(self.folder(fp), dest)
        with contextlib.suppress(OSError):
            (dest / "QUARANTINED.txt").write_text(f"{_utc_now()} {problem}\n", encoding="utf-8")
        return dest

    def open(self, fp: str) -> Reader:
        """A reader of the finished artifact; `ArtifactMissing` if it is not in the store."""
        return Reader(self.folder(fp), self.manifest(fp))

    def stage(self, fp: str, step_id: str) -> Writer:
        """A fresh, private staging folder ``tmp/<fp>-<random>`` for the step to write into."""
        check_fingerprint(fp)
        self.claim()
        self.tmp.mkdir(parents=True, exist_ok=True)
        while True:
            folder = self.tmp / f"{fp}-{os.urandom(4).hex()}"
            try:
                folder.mkdir()
                return Writer(self, fp, step_id, folder)
            except FileExistsError:
                continue

    def lock(self, fp: str, timeout: float = -1) -> FileLock:
        """The inter-process lock of one fingerprint (`with store.lock(fp): ...`).

        A kernel flock: it is released when its holder dies, so a killed run never leaves a
        stale lock. `timeout` < 0 waits forever; on expiry `LockTimeout` is raised.
        """
        check_fingerprint(fp)
        self.claim()
        self.locks.mkdir(parents=True, exist_ok=True)
        return FileLock(str(self.locks / f"{fp}.lock"), timeout=timeout)

    def discard(self, writer: Writer) -> None:
        """Throw a staging folder away (the step failed); safe to call twice."""
        writer.closed = True
        shutil.rmtree(writer.folder, ignore_errors=True)

    def commit(self, writer: Writer, meta: dict[str, Any] | None = None) -> Manifest:
        """Make the staged artifact visible, atomically; returns its manifest.

        If another run committed the same fingerprint first, ours is discarded and theirs is
        returned (equal fingerprint means equal artifact).
        """
        writer._check_open()
        fp, folder = writer.fingerprint, writer.folder
        meta = dict(meta or {})
        for key in RESERVED.intersection(meta):
            if key != "step" or meta[key] != writer.step_id:  # the runner passes step=step_id
                raise ValueError(f"meta key {key!r} is reserved for the store's manifest")
        files: dict[str, dict[str, Any]] = {}
        dirs = [folder]
        for dirpath, dirnames, filenames in os.walk(folder):
            base = Path(dirpath)
            for d in dirnames:
                if (base / d).is_symlink():
                    raise ValueError(
                        f"artifact {fp[:12]}: {base / d} is a symlink; artifacts hold real files only"
                    )
                dirs.append(base / d)
            for fname in filenames:
                path = base / fname
                name = path.relative_to(folder).as_posix()
                if name == MANIFEST:
                    continue
                if path.is_symlink():
                    raise ValueError(
                        f"artifact {fp[:12]}: {name} is a symlink; artifacts hold real files only"
                    )
                fd = os.open(path, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
                digest, size = file_digest(path, own=True)
                files[name] = {ALGORITHM: digest, "size": size}
        for name, path in writer.external.items():
            digest, size = file_digest(path)
            files[name] = {ALGORITHM: digest, "size": size, "external": str(path)}
        manifest = Manifest(
            {
                "format": MANIFEST_FORMAT,
                "fingerprint": fp,
                "step": writer.step_id,
                "created": _utc_now(),
                "files": dict(sorted(files.items())),
                "metrics": dict(sorted(writer.metrics.items())),
            }
        )
        manifest.update((k, v) for k, v in meta.items() if k not in RESERVED)
        key = self.key(create=True)
        assert key is not None  # created when missing
        manifest["mac"] = sign(key, canonical_json(dict(manifest), MANIFEST))
        text = canonical_json(dict(manifest), f"the manifest of step {writer.step_id}")
        with (folder / MANIFEST).open("w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        for d in reversed(dirs):
            _fsync_dir(d)

        target = self.folder(fp)
        target.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(3):
            try:
                os.rename(folder, target)
            except OSError:
                if not target.exists():
                    raise
                try:
                    existing = self.manifest(fp)
                except ArtifactMissing:
                    # A folder without a manifest (made by hand, or an old crash): move it aside.
                    self._move_aside(target, "broken")
                    continue
                except ArtifactCorrupt as exc:
                    self.quarantine(fp, exc.problem)
                    continue
                self.discard(writer)
                return existing
            writer.closed = True
            _fsync_dir(target.parent)
            return manifest
        raise ArtifactError(f"artifact {fp[:12]}: could not move {folder} to {target}")

    def _move_aside(self, folder: Path, why: str) -> None:
        """Rename a folder out of objects/ (atomic, so readers never see it half gone), then delete it."""
        self.tmp.mkdir(parents=True, exist_ok=True)
        aside = self.tmp / f"{folder.name}-{why}-{os.urandom(4).hex()}"
        try:
            os.rename(folder, aside)
        except FileNotFoundError:
            return
        shutil.rmtree(aside, ignore_errors=True)

    def remove(self, fp: str) -> bool:
        """Delete an artifact (for --force); hold `lock(fp)` while doing so. True if it existed."""
        folder = self.folder(fp)
        if not folder.exists():
            return False
        self._move_aside(folder, "removed")
        return True

    def clean_tmp(self, older_than_s: float = 24 * 3600) -> list[Path]:
        """Remove staging folders abandoned by killed runs; returns what was removed.

        Only folders named as `stage` and `_move_aside` name them are touched; anything else
        under tmp/ (a symlink, a file, a folder someone put there) is left alone. A staging
        folder is left alone while anything in it changed less than `older_than_s` ago, or
        while its fingerprint's lock is held (a live step may write nothing for hours).
        """
        removed: list[Path] = []
        if not self.tmp.is_dir() or self.tmp.is_symlink():
            return removed
        now = time.time()
        for entry in sorted(self.tmp.iterdir()):
            staged = _STAGED.fullmatch(entry.name)
            if staged is None or entry.is_symlink() or not entry.is_dir():
                continue
            try:
                newest = max(
                    [entry.lstat().st_mtime, *(p.lstat().st_mtime for p in entry.rglob("*"))]
                )
            except FileNotFoundError:
                continue  # committed or discarded while we looked
            if now - newest < older_than_s:
                continue
            if staged["why"] is None:
                lock = self.lock(staged["fp"], timeout=0)
                try:
                    lock.acquire()
                except LockTimeout:
                    continue  # the fingerprint is being computed; maybe into this folder
                try:
                    shutil.rmtree(entry, ignore_errors=True)
                finally:
                    lock.release()
            else:
                shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
        return removed
