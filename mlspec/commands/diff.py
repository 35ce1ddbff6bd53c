"""Compare two specs, or a spec with its version at a git ref: what changed, which steps rerun
and why, which models retrain, and how recorded metrics moved. Reads no data file and runs
nothing from either spec, so it is safe on a pull request."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from mlspec.commands._common import EXIT_OK, EXIT_USAGE, fail
from mlspec.diagnostics import render_text, summary

if TYPE_CHECKING:
    from mlspec.diff.source import Side
    from mlspec.lang.spec import Spec

FORMATS = ("text", "markdown", "json")


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "base", metavar="BASE", help="the base spec file (or, with --base, the spec to compare)"
    )
    p.add_argument("head", metavar="HEAD", nargs="?", help="the head spec file")
    p.add_argument(
        "--base",
        dest="base_ref",
        metavar="REF",
        help="compare SPEC with its version at this git ref (e.g. origin/main)",
    )
    p.add_argument(
        "--format",
        choices=FORMATS,
        default="text",
        help="text (default), markdown (a PR comment) or json",
    )
    p.add_argument("--json", action="store_true", help="same as --format json")
    p.add_argument(
        "--store",
        metavar="DIR",
        help="store with run records for metric deltas (default: the head spec's store)",
    )


def valid_or_report(side: Side) -> Spec | None:
    """The side's Spec, or None after printing its diagnostics."""
    res = side.result
    if res.spec is None:
        sources = {res.file: res.text} if res.text is not None else {}
        print(render_text(res.diagnostics, sources), file=sys.stderr)
        print(summary(res.diagnostics, 1), file=sys.stderr)
        return None
    return res.spec


def load_sides(base: str, head: str | None, ref: str | None) -> tuple[Side, Side] | int:
    from mlspec.diff.source import GitError, from_file, from_git

    if ref is not None:
        if head is not None:
            return fail("give either BASE HEAD or SPEC --base REF, not both")
        try:
            return from_git(ref, base), from_file(base)
        except GitError as exc:
            return fail(
                str(exc),
                "run inside the git repository that holds the spec; in CI fetch the base (fetch-depth: 0)",
            )
    if head is None:
        return fail("mlspec diff needs two specs (BASE HEAD) or one spec and --base REF")
    return from_file(base), from_file(head)


def run(args: argparse.Namespace) -> int:
    from mlspec.diff.changes import compare
    from mlspec.engine.assess import store_root

    sides = load_sides(args.base, args.head, args.base_ref)
    if isinstance(sides, int):
        return sides
    base_side, head_side = sides
    base, head = valid_or_report(base_side), valid_or_report(head_side)
    if base is None or head is None:
        return EXIT_USAGE
    diff = compare(
        base,
        head,
        base_file=base_side.label,
        head_file=head_side.label,
        store=store_root(head, args.store),
    )
    fmt = "json" if args.json else args.format
    if fmt == "json":
        from mlspec.diff.jsonout import render_json

        print(render_json(diff))
    elif fmt == "markdown":
        from mlspec.diff.markdown import render_markdown

        sys.stdout.write(render_markdown(diff))
    else:
        from mlspec.diff.text import render_text as render
        from mlspec.diff.text import use_colour

        print(render(diff, colour=use_colour(sys.stdout)))
    return EXIT_OK
