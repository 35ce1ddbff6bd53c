"""Spec paths and the project folder: one rule for `validate`, `plan`, `run` and the steps.

A path written inside the project (relative, without '..') must stay inside it once symlinks
are resolved: ``data/s.csv -> /etc/shadow`` or ``store: lnk`` with ``lnk -> ~/somewhere``
are refused before anything reads, hashes or writes there. A path written outside the
project (absolute or with '..') is for sources marked ``external: true``; the checks of the
front end refuse it anywhere else.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path, PurePosixPath


class PathRefused(Exception):
    """A spec path that leaves the project folder once resolved."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def outside(path: str) -> bool:
    """Written outside the project: absolute (POSIX or a drive letter) or with '..'."""
    p = PurePosixPath(path.replace("\\", "/"))
    return p.is_absolute() or ".." in p.parts or (len(path) > 1 and path[1] == ":")


def escapes(root: Path, rel: str) -> Path | None:
    """Where `rel` really is, when it is written inside the project but symlinks take it
    outside `root`; None when it stays inside (or is written outside: see `outside`)."""
    if outside(rel):
        return None
    base = root.resolve()
    try:
        target = (base / rel).resolve()
    except (ValueError, OSError):  # a NUL or an unencodable name: no file can be there
        return None  # (validate reports it as `bad-character`; nothing is read)
    return None if target.is_relative_to(base) else target


def resolve_inside(root: Path, rel: str, what: str) -> Path:
    """`rel` resolved against `root`; `PathRefused` if symlinks take it out of the project.

    `what` names the path in the message (``source file 'data/s.csv'``)."""
    real = escapes(root, rel)
    if real is not None:
        raise PathRefused(
            f"{what} is a symlink (or under one) that leads outside the project folder {root.resolve()}, "
            f"to {real}; mlspec does not read or write there",
            "replace the symlink with the file or folder itself, or mark a source `external: true`",
        )
    return (root / rel).resolve()


def data_path(root: Path, rel: str, external: Collection[str] = ()) -> Path:
    """A data file's real path, checked before anything reads or hashes it; the paths in
    `external` (sources marked ``external: true``) may lead anywhere."""
    if rel in external:
        return (root / rel).resolve()
    return resolve_inside(root, rel, f"data file '{rel}'")
