"""Helpers shared by the commands: load a spec or print its diagnostics and exit 2."""

from __future__ import annotations

import argparse
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


def fail(message: str, hint: str | None = None, code: int = EXIT_USAGE) -> int:
    print(f"error: {message}", file=sys.stderr)
    if hint:
        print(f"  hint: {hint}", file=sys.stderr)
    return code


def report_refusal(exc: BaseException) -> int | None:
    """The exit code after printing an error that is the user's setup, not a bug: a store
    folder that is not a store, a spec path that leaves the project, no usable store key
    (exit 2). None for
    anything else, which the caller re-raises."""
    from mlspec.lang.paths import PathRefused
    from mlspec.store.keys import StoreKeyError
    from mlspec.store.root import StoreRefused

    if isinstance(exc, PathRefused | StoreRefused):
        return fail(exc.message, exc.hint, EXIT_USAGE)
    if isinstance(exc, StoreKeyError):
        return fail(str(exc), "see docs/reliability.md: the store key", EXIT_USAGE)
    return None
