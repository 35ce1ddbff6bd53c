"""Check spec files: YAML, schema and semantic checks. Prints every problem as
file:line:col: error: message [code], with the source line, a caret and a hint.
Exit status: 0 when every spec is valid, 2 otherwise."""

from __future__ import annotations

import argparse
import os
import sys

from mlspec.diagnostics import MAX_SHOWN, render_json, render_text, summary


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("specs", nargs="+", metavar="SPEC", help="spec files to check")
    p.add_argument("--json", action="store_true", help="print the diagnostics as a JSON list")
    p.add_argument(
        "--max-errors",
        type=_count,
        default=MAX_SHOWN,
        metavar="N",
        help=f"print at most N diagnostics per file, then count the rest (default {MAX_SHOWN}; "
        "0: all); --json prints all",
    )
    p.add_argument(
        "-q", "--quiet", action="store_true", help="print only the diagnostics, no summary"
    )


def run(args: argparse.Namespace) -> int:
    from mlspec.lang.validate import validate_file

    results = [validate_file(path) for path in args.specs]
    diagnostics = [d for r in results for d in r.diagnostics]
    if args.json:
        print(render_json(diagnostics))
    else:
        sources = {r.file: r.text for r in results if r.text is not None}
        text = render_text(diagnostics, sources, args.max_errors)
        if text:
            print(_colour(text) if _use_colour() else text)
        if not args.quiet:
            print(
                summary(diagnostics, len(results)), file=sys.stderr if diagnostics else sys.stdout
            )
    return 0 if all(r.ok for r in results) else 2


def _count(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = -1
    if n < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0. Got {text!r} instead.")
    return n


def _use_colour() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


def _colour(text: str) -> str:
    red, yellow, cyan, bold, reset = "\x1b[31m", "\x1b[33m", "\x1b[36m", "\x1b[1m", "\x1b[0m"
    out = []
    for line in text.splitlines():
        line = line.replace(": error: ", f": {red}{bold}error{reset}: ", 1)
        line = line.replace(": warning: ", f": {yellow}{bold}warning{reset}: ", 1)
        if line.lstrip().startswith("= hint:"):
            line = f"{cyan}{line}{reset}"
        out.append(line)
    return "\n".join(out)
