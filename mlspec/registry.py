"""The model registry: numbered versions of a system's packaged bundle, and which one serves.

A version is a `package` artifact of the store (its fingerprint) under the system's name.
Registering is idempotent: the same package fingerprint is the same version, so rerunning an
unchanged spec registers nothing new. `promote` makes a version the production one (the
previous production version becomes archived); `rollback` undoes the last promotion that
is still in force, returning to the production version before it. Promotions are kept as a
history, so repeated rollbacks walk back through it rather than flipping between two.

Stored in SQLite at ``<store>/registry.sqlite`` (standard library, safe for two processes:
WAL, busy timeout and short ``BEGIN IMMEDIATE`` transactions, as the run records).
Statuses: ``registered`` (never served), ``production``, ``archived`` (served before).
Light to import: no polars or numpy.
"""

from __future__ import annotations

import builtins
import contextlib
import json
import os
import secrets
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlspec.scoring.bundle import CLAIM, BundleError, verify
from mlspec.store.hashing import sha256_file

STATUSES = ("registered", "production", "archived")
BUNDLE = "bundle"
BUNDLE_MANIFEST = f"{BUNDLE}/MANIFEST.json"

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS versions (
    name        TEXT NOT NULL,
    version     INTEGER NOT NULL,
    fingerprint TEXT NOT NULL,
    bundle_sha  TEXT NOT NULL,
    run_id      TEXT,
    created     TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN {STATUSES!r}),
    PRIMARY KEY (name, version),
    UNIQUE (name, fingerprint)
);
CREATE TABLE IF NOT EXISTS promotions (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    name     TEXT NOT NULL,
    version  INTEGER NOT NULL,
    at       TEXT NOT NULL,
    undone   INTEGER NOT NULL DEFAULT 0
);
"""


class RegistryError(Exception):
    """A registry request that cannot be done: unknown name or version, nothing to roll back."""

    def __init__(self, message: str, hint: str | None = None, code: int = 2) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.code = code  # 2: the request is wrong (usage); 1: it failed on the way


MAX_VERSION = 2**63 - 1  # SQLite's INTEGER


def check_version(version: object) -> int:
    """A version number as the registry stores it: a positive 64-bit integer."""
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= MAX_VERSION:
        raise RegistryError(
            f"VERSION must be a positive integer. Got {version!r} instead.",
            "see `mlspec models list` for the versions",
        )
    return version


@dataclass(frozen=True)
class Version:
    name: str
    version: int
    fingerprint: str
    bundle_sha: str
    run_id: str | None
    created: str
    status: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def did_you_mean(word: str, choices: list[str]) -> str:
    import difflib

    near = difflib.get_close_matches(word, choices, n=1, cutoff=0.5)
    if near:
        return f"did you mean '{near[0]}'?"
    return (
        ("registered: " + ", ".join(choices))
        if choices
        else "nothing is registered yet; run a spec first"
    )


class ModelRegistry:
    """The registry of one artifact store."""

    def __init__(self, store_root: str | os.PathLike[str]) -> None:
        self.store_root = Path(store_root)
        self.path = self.store_root / "registry.sqlite"

    @contextlib.contextmanager
    def _db(self, write: bool = False) -> Iterator[sqlite3.Connection]:
        if not write and not self.path.is_file():
            con = sqlite3.connect(":memory:")  # nothing registered: read from an empty schema
        else:
            self.store_root.mkdir(parents=True, exist_ok=True)
            con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            con.execute("PRAGMA busy_timeout = 30000")
            if write:
                con.execute("PRAGMA journal_mode = WAL")
        con.row_factory = sqlite3.Row
        try:
            con.executescript(_SCHEMA)
            if write:
                con.execute("BEGIN IMMEDIATE")
                try:
                    yield con
                except BaseException:
                    con.execute("ROLLBACK")
                    raise
                con.execute("COMMIT")
            else:
                yield con
        finally:
            con.close()

    @staticmethod
    def _row(r: sqlite3.Row) -> Version:
        return Version(
            r["name"],
            int(r["version"]),
            r["fingerprint"],
            r["bundle_sha"],
            r["run_id"],
            r["created"],
            r["status"],
        )

    # ------------------------------------------------------------------ reading

    def list(self, name: str | None = None) -> builtins.list[Version]:
        """Every version (of `name`, if given), by name then version."""
        with self._db() as con:
            if name is None:
                rows = con.execute("SELECT * FROM versions ORDER BY name, version").fetchall()
            else:
                rows = con.execute(
                    "SELECT * FROM versions WHERE name = ? ORDER BY version", (name,)
                ).fetchall()
        return [self._row(r) for r in rows]

    def names(self) -> builtins.list[str]:
        with self._db() as con:
            return [r[0] for r in con.execute("SELECT DISTINCT name FROM versions ORDER BY name")]

    def get(self, name: str, version: int) -> Version:
        with self._db() as con:
            return self._get(con, name, version)

    def production(self, name: str) -> Version | None:
        with self._db() as con:
            r = con.execute(
                "SELECT * FROM versions WHERE name = ? AND status = 'production'", (name,)
            ).fetchone()
        return self._row(r) if r else None

    def _get(self, con: sqlite3.Connection, name: str, version: int) -> Version:
        version = check_version(version)
        r = con.execute(
            "SELECT * FROM versions WHERE name = ? AND version = ?", (name, int(version))
        ).fetchone()
        if r is not None:
            return self._row(r)
        have = [
            int(x[0])
            for x in con.execute(
                "SELECT version FROM versions WHERE name = ? ORDER BY version", (name,)
            )
        ]
        if not have:
            names = [x[0] for x in con.execute("SELECT DISTINCT name FROM versions ORDER BY name")]
            raise RegistryError(f"no registered model named '{name}'", did_you_mean(name, names))
        raise RegistryError(
            f"'{name}' has no version {version}",
            f"its versions are {', '.join(map(str, have))}; see `mlspec models list`",
        )

    # ------------------------------------------------------------------ writing

    def register(self, name: str, package_fingerprint: str, run_id: str | None = None) -> Version:
        """The version of this package artifact: the existing one, or the next number."""
        from mlspec.store import ArtifactStore
        from mlspec.store.artifacts import ArtifactError

        try:
            artifact = ArtifactStore(self.store_root).open(package_fingerprint)
            if BUNDLE_MANIFEST not in artifact.manifest.files:
                raise RegistryError(
                    f"cannot register '{name}': artifact {package_fingerprint[:12]} is not a package (it has no {BUNDLE_MANIFEST})"
                )
            # sha256, not the store's digest: anyone can check an exported bundle with sha256sum.
            bundle_sha, _ = sha256_file(artifact.path(BUNDLE_MANIFEST))
        except (ArtifactError, ValueError) as exc:
            raise RegistryError(f"cannot register '{name}': {exc}") from None
        with self._db(write=True) as con:
            r = con.execute(
                "SELECT * FROM versions WHERE name = ? AND fingerprint = ?",
                (name, package_fingerprint),
            ).fetchone()
            if r is not None:
                return self._row(r)
            (top,) = con.execute(
                "SELECT COALESCE(MAX(version), 0) FROM versions WHERE name = ?", (name,)
            ).fetchone()
            version = Version(
                name, int(top) + 1, package_fingerprint, bundle_sha, run_id, _now(), "registered"
            )
            con.execute(
                "INSERT INTO versions (name, version, fingerprint, bundle_sha, run_id, created, status) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    version.name,
                    version.version,
                    version.fingerprint,
                    version.bundle_sha,
                    version.run_id,
                    version.created,
                    version.status,
                ),
            )
        return version

    def promote(self, name: str, version: int) -> Version:
        """Make `version` the production one; the current production version is archived."""
        with self._db(write=True) as con:
            target = self._get(con, name, version)
            if target.status == "production":
                return target
            con.execute(
                "UPDATE versions SET status = 'archived' WHERE name = ? AND status = 'production'",
                (name,),
            )
            con.execute(
                "UPDATE versions SET status = 'production' WHERE name = ? AND version = ?",
                (name, target.version),
            )
            con.execute(
                "INSERT INTO promotions (name, version, at) VALUES (?, ?, ?)",
                (name, target.version, _now()),
            )
            return self._get(con, name, version)

    def rollback(self, name: str) -> Version:
        """Return to the production version before the current one; returns it."""
        with self._db(write=True) as con:
            self._get_name(con, name)
            history = con.execute(
                "SELECT seq, version FROM promotions WHERE name = ? AND undone = 0 ORDER BY seq DESC",
                (name,),
            ).fetchall()
            current = con.execute(
                "SELECT version FROM versions WHERE name = ? AND status = 'production'", (name,)
            ).fetchone()
            if current is None or not history:
                raise RegistryError(
                    f"'{name}' has no production version to roll back",
                    f"promote one with `mlspec models promote {name} VERSION`",
                )
            undo = []
            previous = None
            for seq, v in history:
                if v == current[0]:
                    undo.append(seq)
                    continue
                previous = v
                break
            if previous is None:
                raise RegistryError(
                    f"'{name}' has no earlier production version to roll back to (version {current[0]} is the first one promoted)",
                    f"promote another version with `mlspec models promote {name} VERSION`",
                )
            con.executemany("UPDATE promotions SET undone = 1 WHERE seq = ?", [(s,) for s in undo])
            con.execute(
                "UPDATE versions SET status = 'archived' WHERE name = ? AND version = ?",
                (name, current[0]),
            )
            con.execute(
                "UPDATE versions SET status = 'production' WHERE name = ? AND version = ?",
                (name, previous),
            )
            return self._get(con, name, previous)

    def _get_name(self, con: sqlite3.Connection, name: str) -> None:
        if con.execute("SELECT 1 FROM versions WHERE name = ? LIMIT 1", (name,)).fetchone() is None:
            names = [x[0] for x in con.execute("SELECT DISTINCT name FROM versions ORDER BY name")]
            raise RegistryError(f"no registered model named '{name}'", did_you_mean(name, names))

    # ------------------------------------------------------------------ export

    def export(self, name: str, version: int, folder: str | os.PathLike[str]) -> Path:
        """Copy the version's bundle into `folder` (new or empty), every file verified twice:
        against the store's manifest when read, and the copy by the bundle loader's `verify`
        (its MANIFEST.json must be the registered ``bundle_sha``). ``version.json`` records
        which registry entry the folder is, so a loader given the store can check the claim.
        """
        from mlspec.store import ArtifactStore
        from mlspec.store.artifacts import ArtifactError

        v = self.get(name, version)
        dest = self._destination(Path(folder))
        try:
            reader = ArtifactStore(self.store_root).open(v.fingerprint)
            names = [n for n in reader.names() if n.startswith(f"{BUNDLE}/")]
            sources = {n: reader.path(n) for n in names}
        except ArtifactError as exc:
            raise RegistryError(f"cannot export {name} version {v.version}: {exc}") from None
        staging = dest.parent / f".{dest.name}.tmp-{secrets.token_hex(4)}"
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            for n, src in sources.items():
                rel = n[len(BUNDLE) + 1 :]
                target = staging.joinpath(*rel.split("/"))
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, target)
            (staging / CLAIM).write_text(
                json.dumps(
                    {
                        "name": v.name,
                        "version": v.version,
                        "bundle_sha": v.bundle_sha,
                        "fingerprint": v.fingerprint,
                    },
                    indent=2,
                    sort_keys=True,
                ),
                encoding="utf-8",
            )
            try:
                verify(staging, v.bundle_sha)
            except BundleError as exc:
                raise RegistryError(
                    f"cannot export {name} version {v.version}: {exc.message}"
                ) from None
            if dest.exists():
                dest.rmdir()
            os.rename(staging, dest)
        except OSError as exc:
            raise RegistryError(
                f"cannot export {name} version {v.version} to {folder}: {exc.strerror or exc}",
                "give a new folder on a writable disk",
                code=1,
            ) from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return dest

    def verify_bundle(self, folder: str | os.PathLike[str], name: str, version: int) -> Version:
        """Check that `folder` is the bundle of `name` version `version`, before anything in
        it is loaded; returns the registry entry. Raises `RegistryError` (code 1) otherwise.

        Three things must agree: the sha256 of the folder's MANIFEST.json and the entry's
        `bundle_sha`; every file and the MANIFEST's sha256 (no file missing, none extra: an
        extra pickle beside the listed ones is refused too); and, while the package artifact
        is in the store, the MANIFEST.json it committed (so an entry edited in the registry's
        database is caught as well). A bundle loader calls this first.
        """
        from mlspec.store import ArtifactStore
        from mlspec.store.artifacts import ArtifactError, ArtifactMissing

        v = self.get(name, version)
        root = Path(folder)

        def refuse(why: str) -> RegistryError:
            return RegistryError(
                f"{root} is not {name} version {v.version}: {why}",
                f"export it again with `mlspec models export {name} {v.version} DIR`",
                code=1,
            )

        manifest_path = root / "MANIFEST.json"
        try:
            sha, _ = sha256_file(manifest_path)
            listed = json.loads(manifest_path.read_text(encoding="utf-8"))["files"]
            if not isinstance(listed, dict):
                raise TypeError("files is not a mapping")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise refuse(f"its MANIFEST.json cannot be read ({exc})") from None
        if sha != v.bundle_sha:
            raise refuse(
                f"its MANIFEST.json has sha256 {sha[:12]}…, the registry recorded {v.bundle_sha[:12]}…"
            )
        try:
            committed = ArtifactStore(self.store_root).open(v.fingerprint).path(BUNDLE_MANIFEST)
            if sha256_file(committed)[0] != sha:
                raise refuse("the registry entry does not match the package the store committed")
        except ArtifactMissing:
            pass  # the store was cleaned; the registry's digest still binds the bundle
        except ArtifactError as exc:
            raise refuse(str(exc)) from None
        present = {
            p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() or p.is_symlink()
        } - {"MANIFEST.json", "version.json"}  # version.json: an export's claim, checked above
        if extra := sorted(present - set(listed)):
            raise refuse(f"files not in its MANIFEST.json: {', '.join(extra[:5])}")
        for rel, digest in sorted(listed.items()):
            path = root.joinpath(*str(rel).split("/"))
            if path.is_symlink() or not path.is_file():
                raise refuse(f"'{rel}' is missing or not a regular file")
            if sha256_file(path)[0] != digest:
                raise refuse(f"'{rel}' does not match its MANIFEST.json")
        return v

    def _destination(self, dest: Path) -> Path:
        """Where an export may go: a new or empty folder, not a link, not inside the store."""

        def refuse(why: str, hint: str = "give a new folder") -> RegistryError:
            return RegistryError(f"cannot export to {dest}: {why}", hint)

        if dest.is_symlink():
            raise refuse(
                f"it is a symlink (to {os.readlink(dest)})", "give the folder itself, not a link"
            )
        resolved = dest.resolve()
        store = self.store_root.resolve()
        if resolved.is_relative_to(store):
            raise refuse(f"it is inside the store {store}", "export to a folder outside the store")
        existing = next(p for p in (resolved, *resolved.parents) if p.exists())
        if existing != resolved and not existing.is_dir():
            raise refuse(f"{existing} is a file, not a folder")
        if resolved.exists() and (not resolved.is_dir() or any(resolved.iterdir())):
            raise refuse("it exists and is not an empty folder")
        return resolved


# Module-level shortcuts (the run command and scripts).


def register(
    store_root: str | os.PathLike[str],
    name: str,
    package_fingerprint: str,
    run_id: str | None = None,
) -> Version:
    return ModelRegistry(store_root).register(name, package_fingerprint, run_id)


def export(
    store_root: str | os.PathLike[str], name: str, version: int, folder: str | os.PathLike[str]
) -> Path:
    return ModelRegistry(store_root).export(name, version, folder)


def register_run(
    store_root: str | os.PathLike[str], name: str, results: dict[str, Any], run_id: str | None
) -> Version | None:
    """Register the run's `package` artifact if the run built (or found) it; else None."""
    result = results.get("package")
    if result is None or not getattr(result, "ok", False):
        return None
    return register(store_root, name, result.fingerprint, run_id)
