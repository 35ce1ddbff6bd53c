"""Helpers shared by the commands: load a spec or print its diagnostics and exit 2."""

from __future__ import annotations

import argparse
import errno
import sys
from typing import TYPE_CHECKING

from mlspec.diagnostics import render_text, summary

if TYPE_CHECKING:
    from mlspec.lang.spec import Spec

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class CommandExit(SystemExit):
    pass


def load_spec_or_exit(path: str) -> Spec:
    from mlspec.lang.validate import validate_file

    result = validate_file(path)
    if result.spec is None:
        sources = {result.file: result.text} if result.text is not None else {}
        print(render_text(result.diagnostics, sources), file=sys.stderr)
        print(summary(result.diagnostics, 1), file=sys.stderr)
        raise CommandExit(EXIT_USAGE)
    return result.spec


def add_spec_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("spec", metavar="SPEC", help="the spec file")
    p.add_argument(
        "--store",
        metavar="DIR",
        help="artifact store folder (default: execution.store, '.mlspec' beside the spec)",
    )


SPEC_SUFFIXES = (".yaml", ".yml")


def is_spec_path(text: str) -> bool:
    return text.endswith(SPEC_SUFFIXES)


def resolve_store(store: str | None, spec: str | None) -> str:
    """The store a command reads: `--store` when given, else the spec's (its
    `execution.store`, beside the spec), else ./.mlspec."""
    if store is not None:
        return store
    if spec is not None:
        from mlspec.engine.assess import store_root

        return str(store_root(load_spec_or_exit(spec)))
    return ".mlspec"


def fail(message: str, hint: str | None = None, code: int = EXIT_USAGE) -> int:
    print(f"error: {message}", file=sys.stderr)
    if hint:
        print(f"  hint: {hint}", file=sys.stderr)
    return code


# How a full disk reads in an OSError (ENOSPC, EDQUOT) and in SQLite (SQLITE_FULL).
DISK_FULL = ("No space left on device", "Disk quota exceeded", "database or disk is full")
DISK_FULL_HINT = (
    "free space on that disk (or give --store a folder on another one) and run again: "
    "the store stayed consistent, and finished steps are cached"
)


def disk_full(exc: BaseException | str | None) -> bool:
    """True when an error (or a step's error text), or what caused it, is a full disk."""
    seen = 0
    while isinstance(exc, BaseException) and seen < 10:
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if any(m in str(exc) for m in DISK_FULL):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return isinstance(exc, str) and any(m in exc for m in DISK_FULL)


def report_known(exc: BaseException) -> int | None:
    """The exit code after printing an error that is the user's setup, not a bug: a store
    folder that is not a store, a spec path that leaves the project, no usable store key
    (exit 2), a full disk (exit 1, once, with what to do). None for anything else, which
    the caller re-raises."""
    from mlspec.lang.paths import PathRefused
    from mlspec.store.keys import StoreKeyError
    from mlspec.store.root import StoreRefused

    if isinstance(exc, PathRefused | StoreRefused):
        return fail(exc.message, exc.hint, EXIT_USAGE)
    if isinstance(exc, StoreKeyError):
        return fail(str(exc), "see docs/reliability.md: the store key", EXIT_USAGE)
    if disk_full(exc):
        return fail("the disk is full (No space left on device)", DISK_FULL_HINT, EXIT_FAILED)
    return None
