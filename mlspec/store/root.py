"""What makes a folder an mlspec store: a marker file written when the store is created.

Every run cleans the store's ``tmp/`` and writes into the store; pointed at the wrong folder
(``--store ~``, or ``execution.store`` through a symlink a pull request committed) that would
delete and write in someone else's files. So a store is recognisable: ``.mlspec-store``
(JSON, the store's format version) is written when mlspec creates it, and a folder that is
neither empty nor marked is refused before anything in it is read, cleaned or written.

Stores made before the marker existed are adopted (marked) when they hold nothing but what a
store holds and at least its objects or run records; a folder a user keeps other files in
never looks like that.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

MARKER = ".mlspec-store"
STORE_FORMAT = 1

# What a store made before the marker holds (store/artifacts.py, store/runs.py, registry.py).
_LAYOUT = frozenset({"objects", "tmp", "locks", "logs", "quarantine"})
_DATABASES = ("runs.sqlite", "registry.sqlite")
_DB_SUFFIXES = ("", "-wal", "-shm", "-journal")


class StoreRefused(Exception):
    """The folder cannot be used as a store (not one, a newer format, not a folder)."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def _legacy(root: Path, names: set[str]) -> bool:
    known = _LAYOUT | {db + s for db in _DATABASES for s in _DB_SUFFIXES}
    return names <= known and bool(names & {"objects", "runs.sqlite"})


def check_root(root: str | os.PathLike[str]) -> Path:
    """The store folder, resolved; raises `StoreRefused` unless it is absent, empty, or a
    store. Reads only: `plan` calls it too."""
    path = Path(root).resolve()
    if not path.exists():
        return path
    if not path.is_dir():
        raise StoreRefused(
            f"the store {path} is a file, not a folder", "give --store a folder (new or empty)"
        )
    marker = path / MARKER
    if marker.is_file() and not marker.is_symlink():
        try:
            version = json.loads(marker.read_text(encoding="utf-8"))["format"]
        except (OSError, ValueError, KeyError, TypeError):
            version = None
        if not isinstance(version, int):
            raise StoreRefused(
                f"{marker} is unreadable",
                f"if {path} is an mlspec store, delete the marker and run again",
            )
        if version > STORE_FORMAT:
            raise StoreRefused(
                f"the store {path} has format {version}; this mlspec reads format {STORE_FORMAT}",
                "upgrade mlspec or use another --store",
            )
        return path
    # A marker being written by a concurrent `claim` (its temporary name) does not count.
    names = {p.name for p in path.iterdir() if not p.name.startswith(MARKER)}
    if names and not _legacy(path, names):
        shown = ", ".join(sorted(names)[:5]) + (", ..." if len(names) > 5 else "")
        raise StoreRefused(
            f"{path} is not an mlspec store (it has no {MARKER}) and is not empty (it holds {shown}); "
            "mlspec writes and cleans its store, so it will not use this folder",
            "point --store (or execution.store) at a new or empty folder, such as .mlspec beside the spec",
        )
    return path


def claim(root: str | os.PathLike[str]) -> Path:
    """Make `root` a store (create it and its marker) unless `check_root` refuses it."""
    path = check_root(root)
    marker = path / MARKER
    if marker.is_file():
        return path
    path.mkdir(parents=True, exist_ok=True)
    tmp = path / f"{MARKER}.{os.getpid()}.{os.urandom(4).hex()}"
    tmp.write_text(json.dumps({"format": STORE_FORMAT}) + "\n", encoding="utf-8")
    try:
        os.link(tmp, marker)  # never replaces a marker another process wrote meanwhile
    except FileExistsError:
        pass
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return path
