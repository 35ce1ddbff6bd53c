"""The `score` step: batch-score a table with the run's own bundle (``deployment.target: batch``).

Params: `ScoreParams` (`mlspec/steps/params.py`).

Inputs ``package`` (the bundle) and, when ``input`` is null, ``data`` (the joined table the
features were computed from). Output ``scores.<format>``: raw_<o>, score_<o>, score and
version (the package's bundle id) per input row, in input order. Scoring goes through the
same verified loader and `Scorer` as `mlspec predict` (`mlspec.scoring`), in chunks.
`mlspec run` then copies the file to ``deployment.batch.output`` (see
`mlspec.scoring.batch.publish`), so a deleted output is restored from the cache.
"""

from __future__ import annotations

from pathlib import Path

from mlspec.contract.api import StepContext, StepError
from mlspec.scoring.batch import score_file
from mlspec.scoring.bundle import BundleError
from mlspec.scoring.scorer import InputError, load_bundle
from mlspec.steps.params import ScoreParams

OUTPUT = "scores"


def run(ctx: StepContext) -> None:
    p: ScoreParams = ctx.params
    fmt = p.format or "parquet"
    bundle = ctx.input("package").path("bundle/MANIFEST.json").parent
    try:
        scorer = load_bundle(bundle)
    except BundleError as exc:
        raise StepError(f"the package's bundle cannot be loaded: {exc.message}") from None
    rel = p.input
    if rel is None:
        source = ctx.input("data").scan()
    else:
        root = Path(ctx.spec_root).resolve()
        source = (root / rel).resolve()
        if not source.is_relative_to(root):
            raise StepError(f"deployment.batch.input '{rel}' leaves the project folder {root}.")
        if not source.is_file():
            raise StepError(
                f"deployment.batch.input '{rel}' does not exist.",
                hint="give the path of a CSV, Parquet or NDJSON file, relative to the spec",
            )
    try:
        rows = score_file(scorer, source, ctx.output.path(f"{OUTPUT}.{fmt}"))
    except InputError as exc:
        raise StepError(f"the rows to score do not fit the model's input: {exc.message}") from None
    ctx.output.metric("rows", float(rows))
