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
