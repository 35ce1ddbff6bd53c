"""Score a file with a bundle: the spec's production version, or an exported bundle folder.

  mlspec predict SPEC_OR_BUNDLE --input FILE --output FILE [--keep COL] [--store DIR]

Input CSV, Parquet or NDJSON; output Parquet or CSV (by extension). Rows are read and
scored in chunks, so a file larger than memory works. The output holds the --keep columns,
then raw_<objective>, score_<objective> (scaled as the combine step does), score and
version, in input order. Exit status: 0 ok, 1 for rows that cannot be scored or a bundle
that fails verification, 2 for usage errors (no production version, a bad spec)."""

from __future__ import annotations

import argparse
import sys

from mlspec.commands._common import EXIT_FAILED, fail


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("target", metavar="SPEC_OR_BUNDLE", help="a spec file or a bundle folder")
    p.add_argument("--input", required=True, metavar="FILE", help=".csv, .parquet or .ndjson")
    p.add_argument("--output", required=True, metavar="FILE", help=".parquet or .csv")
    p.add_argument(
        "--keep", action="append", metavar="COL", help="copy this input column to the output"
    )
    p.add_argument(
        "--store",
        metavar="DIR",
        help="artifact store (default: the spec's); for a bundle folder, the registry it must match",
    )
    p.add_argument("--chunk-rows", type=int, default=200_000, help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    from mlspec.scoring.bundle import BundleError
    from mlspec.scoring.locate import load

    try:
        scorer = load(args.target, args.store)
    except BundleError as exc:
        return fail(exc.message, exc.hint, code=exc.exit_code)
    keep = list(args.keep or [])
    taken = {*scorer.output_columns(), "version"}
    clash = sorted({c for c in keep if c in taken})
    if clash or len(set(keep)) != len(keep):
        repeated = sorted({c for c in keep if keep.count(c) > 1})
        return fail(
            f"--keep {', '.join(map(repr, clash or repeated))}: "
            + ("the output has its own column of that name" if clash else "given twice"),
            "the output's columns are " + ", ".join(sorted(taken)) + "; keep each input column once"
            if clash
            else "give each --keep column once",
        )
    from mlspec.scoring.batch import score_file
    from mlspec.scoring.scorer import InputError

    try:
        rows = score_file(scorer, args.input, args.output, keep=keep, chunk_rows=args.chunk_rows)
    except InputError as exc:
        return fail(exc.message, code=EXIT_FAILED)
    except FileNotFoundError as exc:
        return fail(f"{exc.filename or args.input} does not exist")
    print(
        f"scored {rows} rows with {scorer.name} version {scorer.version} into {args.output}",
        file=sys.stderr,
    )
    return 0
