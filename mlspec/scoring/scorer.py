"""The scorer of a verified bundle: raw rows in, each objective's score and the combined score out.

`load_bundle(folder)` verifies the folder (`bundle.verify`) before it unpickles anything,
then builds a `Scorer`. `Scorer.predict(frame)` applies, in order, exactly what training
applied: the input columns cast to the signature's types, the feature expressions
(`expressions.feature_expr`, as the `features` step), each objective's fitted Pipeline
(`predict.predict`, as the `evaluate` step), each objective's scale fitted by `combine`
(`combine.transform`, with ``reference.parquet`` for rank) and the weighted sum
(`combine.combine_scores`). So the combined score of a row equals the combine step's.

Output columns: ``raw_<o>`` (the model's score: P(positive) for binary, P(predicted class)
for multiclass, the prediction for regression), ``score_<o>`` (that score scaled, as in the
combine step's ``scores.parquet``), ``score`` (Σ weight × score_<o>) and ``version``.
`Scorer.predictions` gives each objective's whole `Predictions` (labels, every class's
probability) for monitoring's performance metrics.

One row (a one-row frame, or one row of JSON values: `score_columns`, what the server calls)
takes `onerow.RowPath` instead: the same steps on plain Python values, no polars frame and
no Pipeline, equal to this path on that row to the last bit.

A client's mistake (a missing column, a wrong type, NaN or infinity, a missing value the
model cannot take, with `strict` an unseen category) is an `InputError` naming the column.
Imports no step module.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np
import polars as pl

from mlspec.contract.api import StepError
from mlspec.scoring.bundle import BUNDLE_FILE, BundleError, verify
from mlspec.scoring.combine import combine_scores, transform
from mlspec.scoring.expressions import feature_expr

if TYPE_CHECKING:
    from mlspec.scoring.predict import Predictions

# Logical input type -> the polars dtype a column is cast to before the expressions run.
_DTYPES: dict[str, pl.DataType] = {
    "int": pl.Int64(),
    "float": pl.Float64(),
    "str": pl.String(),
    "bool": pl.Boolean(),
    "date": pl.Date(),
}
# Logical input type -> the Python values a JSON request may give (None is always allowed).
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "int": (int,),
    "float": (int, float),
    "str": (str,),
    "bool": (bool,),
    "date": (str,),
    "datetime": (str,),
}


class InputError(ValueError):
    """The rows to score do not fit the bundle's input signature (the client's mistake)."""

    def __init__(self, message: str, field: str | None = None, kind: str = "invalid_input"):
        super().__init__(message)
        self.message = message
        self.field = field
        self.kind = kind


@dataclass
class ObjectiveModel:
    """One objective of a bundle: its fitted pipeline and how its score is scaled."""

    name: str
    task: str
    classes: list[Any] | None
    threshold: float
    features: list[dict[str, Any]]
    meta: dict[str, Any]
    pipeline: Any
    scale: str
    scaling: dict[str, Any]
    reference: np.ndarray | None  # sorted test scores (rank)
    categories: dict[str, frozenset[str]] = field(default_factory=dict)
    row: Any = None  # fastpath.RowModel, or None: one row goes through the Pipeline
    batch: Any = None  # batchpath.BatchModel, or None: many rows go through the Pipeline
    nan_ok: bool = False


def _dtype(col: Mapping[str, Any]) -> pl.DataType:
    if col["type"] == "datetime":
        return pl.Datetime(col.get("time_unit") or "us", col.get("time_zone"))
    return _DTYPES[col["type"]]


class Scorer:
    """Scores rows with one bundle; thread-safe (nothing is mutated after construction)."""

    def __init__(self, folder: Path, bundle: dict[str, Any], version: str, sha256: str) -> None:
        from mlspec.models.persist import PIPELINE

        self.folder = folder
        self.bundle = bundle
        self.name: str = bundle["name"]
        self.version = version
        self.sha256 = sha256
        self.inputs: list[dict[str, Any]] = list(bundle["input"]["columns"])
        self.features: list[dict[str, Any]] = list(bundle["features"])
        self.weights: dict[str, float] = {o: float(w) for o, w in bundle["weights"].items()}
        reference = pl.read_parquet(folder / bundle["reference"])
        self.objectives: dict[str, ObjectiveModel] = {}
        for name in sorted(bundle["objectives"]):
            o = bundle["objectives"][name]
            meta = json.loads((folder / o["path"] / "model.json").read_text(encoding="utf-8"))
            pipeline = _unpickle(folder / o["path"] / PIPELINE)
            column = o.get("column") or f"score_{name}"
            ref = (
                np.sort(reference.get_column(column).to_numpy().astype(np.float64))
                if column in reference.columns
                else None
            )
            self.objectives[name] = ObjectiveModel(
                name=name,
                task=o["task"],
                classes=o.get("classes"),
                threshold=float(o.get("threshold") or 0.5),
                features=list(meta["features"]),
                meta=meta,
                pipeline=pipeline,
                scale=o["scale"],
                scaling=dict(o.get("scaling") or {}),
                reference=ref,
                categories={
                    c["name"]: frozenset(c["categories"])
                    for c in meta["signature"]["columns"]
                    if "categories" in c
                },
            )
        from mlspec.scoring.batchpath import compile_batch
        from mlspec.scoring.fastpath import compile_row
        from mlspec.scoring.preprocess import nan_ok

        for o in self.objectives.values():
            o.row = compile_row(o.pipeline, o.features)
            o.batch = compile_batch(o.pipeline, o.features)
            o.nan_ok = nan_ok(o.pipeline)
        self._position = {f["name"]: j for j, f in enumerate(self.features)}
        self._exprs = [feature_expr(f) for f in self.features]
        self._casts = {c["name"]: _dtype(c) for c in self.inputs}
        self._schema = pl.Schema(self._casts)
        from mlspec.scoring.onerow import RowPath

        self.row: RowPath | None = RowPath.build(self)  # one row without a polars frame

    # ------------------------------------------------------------------ describing

    def signature(self) -> list[dict[str, Any]]:
        """The input columns a request must carry: name and logical type."""
        return [dict(c) for c in self.inputs]

    def output_columns(self) -> list[str]:
        names = sorted(self.objectives)
        return [*(f"raw_{o}" for o in names), *(f"score_{o}" for o in names), "score"]

    # ------------------------------------------------------------------ inputs

    def frame_from_columns(self, columns: Mapping[str, Sequence[Any]]) -> pl.DataFrame:
        """A frame of the signature's columns from JSON values, every value checked."""
        n: int | None = None
        series = []
        for col in self.inputs:
            name, kind = col["name"], col["type"]
            if name not in columns:
                raise InputError(
                    f"input column '{name}' is missing; the model needs "
                    + ", ".join(c["name"] for c in self.inputs),
                    name,
                    "missing_column",
                )
            values = columns[name]
            if not isinstance(values, list):
                raise InputError(f"input column '{name}' must be a list of values.", name)
            if n is None:
                n = len(values)
            elif len(values) != n:
                raise InputError(
                    f"input column '{name}' has {len(values)} values; the other columns have {n}.",
                    name,
                    "shape",
                )
            for i, v in enumerate(values):
                if v is not None:
                    self.check_json_value(name, kind, v, i)
            series.append(self._series(name, kind, values, col))
        return pl.DataFrame(series)

    @staticmethod
    def check_json_value(name: str, kind: str, v: Any, i: int) -> None:
        """InputError unless the JSON value `v` (not None) of row `i` fits type `kind`."""
        if not isinstance(v, _JSON_TYPES[kind]) or (isinstance(v, bool) and kind != "bool"):
            raise InputError(
                f"input column '{name}' must hold {kind} values. Got {type(v).__name__} {v!r} in row {i} instead.",
                name,
                "wrong_type",
            )
        if isinstance(v, float) and not math.isfinite(v):
            raise InputError(
                f"input column '{name}' must hold finite numbers. Got {v!r} in row {i} instead.",
                name,
                "not_finite",
            )

    def _series(self, name: str, kind: str, values: list[Any], col: Mapping[str, Any]) -> pl.Series:
        if kind in ("date", "datetime"):
            text = pl.Series(name, values, dtype=pl.String)
            try:
                if kind == "date":
                    return text.str.to_date(strict=True)
                dtype = _dtype(col)
                return text.str.to_datetime(
                    time_unit=dtype.time_unit,
                    time_zone=dtype.time_zone,
                    strict=True,  # type: ignore[attr-defined]
                )
            except pl.exceptions.PolarsError:
                raise InputError(
                    f"input column '{name}' must hold ISO 8601 {kind} strings (e.g. 2024-05-01T08:30:00).",
                    name,
                    "wrong_type",
                ) from None
        return pl.Series(name, values, dtype=_DTYPES[kind], strict=False)

    def prepare(self, frame: pl.DataFrame) -> pl.DataFrame:
        """The signature's columns of `frame`, cast to their types; InputError names a column
        that is missing or cannot be cast."""
        if frame.schema == self._schema:  # already the signature (a request's frame)
            return frame
        missing = [c["name"] for c in self.inputs if c["name"] not in frame.columns]
        if missing:
            raise InputError(
                f"input column(s) {', '.join(repr(m) for m in missing)} missing; the model needs "
                + ", ".join(c["name"] for c in self.inputs),
                missing[0],
                "missing_column",
            )
        exprs = []
        for c in self.inputs:
            name, want = c["name"], self._casts[c["name"]]
            have = frame.schema[name]
            if have == want:
                exprs.append(pl.col(name))
            elif have == pl.String and c["type"] in ("date", "datetime"):
                exprs.append(
                    pl.col(name).str.to_date(strict=True)
                    if c["type"] == "date"
                    else pl.col(name).str.to_datetime(
                        time_unit=want.time_unit,
                        time_zone=want.time_zone,
                        strict=True,  # type: ignore[attr-defined]
                    )
                )
            else:
                exprs.append(pl.col(name).cast(want, strict=True))
        try:
            return frame.select(exprs)
        except pl.exceptions.PolarsError:
            for c, e in zip(self.inputs, exprs, strict=True):
                try:
                    frame.select(e)
                except pl.exceptions.PolarsError:
                    raise InputError(
                        f"input column '{c['name']}' must hold {c['type']} values. Got dtype {frame.schema[c['name']]} that does not convert.",
                        c["name"],
                        "wrong_type",
                    ) from None
            raise

    # ------------------------------------------------------------------ scoring

    def features_of(self, inputs: pl.DataFrame) -> pl.DataFrame:
        return inputs.select(self._exprs)

    def raw_scores(self, feats: pl.DataFrame, *, strict: bool = False) -> dict[str, np.ndarray]:
        """Each objective's model score of the feature rows (InputError for values the model
        cannot take; with `strict`, for a category it never saw)."""
        if feats.height != 1 or not self.fast:
            return self._many_scores(feats, strict=strict)
        out: dict[str, np.ndarray] = {}
        row = feats.row(0)
        for name, o in self.objectives.items():
            if strict:
                self._check_categories(feats, o, row)
            out[name] = self._row_score(o, row)
        return out

    def _many_scores(self, feats: pl.DataFrame, *, strict: bool) -> dict[str, np.ndarray]:
        """Every objective's score of many rows: all checks first, in objective order (the
        first client mistake is the one reported), then the models (`batchpath`)."""
        from mlspec.scoring.batchpath import check_numbers, score_objectives
        from mlspec.scoring.preprocess import numeric_columns

        wanted = {f["name"]: f for o in self.objectives.values() for f in o.features}
        numeric = numeric_columns(feats, list(wanted.values()))
        finite: dict[str, bool] = {}
        for o in self.objectives.values():
            if strict:
                self._check_categories(feats, o)
            try:
                check_numbers(o, numeric, finite, what="the rows")
            except StepError as exc:
                raise InputError(exc.message, _named(exc.message, o), "invalid_value") from None
        return score_objectives(self.objectives, feats, numeric)

    @property
    def fast(self) -> bool:
        """Is there a one-row fast path for every objective?"""
        return all(o.row is not None for o in self.objectives.values())

    def _row_score(self, o: ObjectiveModel, row: tuple[Any, ...]) -> np.ndarray:
        """One row through the fast path, checked as `predict.predict` checks its input."""
        try:
            score = o.row.score(
                [row[self._position[f["name"]]] for f in o.features], o, "the request"
            )
        except StepError as exc:
            raise InputError(exc.message, _named(exc.message, o), "invalid_value") from None
        return np.array([score])

    def _check_categories(
        self, feats: pl.DataFrame, o: ObjectiveModel, row: tuple[Any, ...] | None = None
    ) -> None:
        for feature, known in o.categories.items():
            if row is not None:  # one row: no polars query for one value
                v = row[self._position[feature]]
                bad = [v] if v is not None and v not in known else []
            else:
                col = feats.get_column(feature)
                bad = col.filter(col.is_not_null() & ~col.is_in(list(known))).to_list()
            if bad:
                self.unseen(feature, bad[0], known)

    @staticmethod
    def unseen(feature: str, value: Any, known: frozenset[str]) -> NoReturn:
        """The InputError of a category never seen in training (`strict`)."""
        raise InputError(
            f"feature '{feature}' holds category {value!r}, never seen in training; "
            f"known: {', '.join(sorted(known)[:20])}",
            feature,
            "unseen_category",
        )

    def combine(
        self, raw: Mapping[str, np.ndarray], weights: Mapping[str, float] | None = None
    ) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """The scaled scores and their weighted sum (`weights` default to the bundle's)."""
        scaled = {
            n: transform(o.scale, o.scaling, raw[n], o.reference)
            for n, o in self.objectives.items()
        }
        return scaled, combine_scores(dict(weights or self.weights), scaled)

    def check_weights(self, weights: Any) -> dict[str, float]:
        """Per-request weights: one finite number >= 0 per objective, not all 0."""
        if not isinstance(weights, dict):
            raise InputError("parameters.weights must be an object {objective: weight}.", "weights")
        unknown = sorted(set(weights) - set(self.objectives))
        if unknown:
            raise InputError(
                f"parameters.weights names unknown objective(s) {', '.join(map(repr, unknown))}; objectives: {', '.join(self.objectives)}",
                "weights",
            )
        out = dict(self.weights)
        for k, v in weights.items():
            if (
                isinstance(v, bool)
                or not isinstance(v, int | float)
                or not math.isfinite(v)
                or v < 0
            ):
                raise InputError(
                    f"parameters.weights.{k} must be a finite number >= 0. Got {v!r} instead.",
                    f"weights.{k}",
                )
            out[k] = float(v)
        if not any(out.values()):
            raise InputError("parameters.weights must not all be 0.", "weights")
        return out

    def columns(
        self,
        frame: pl.DataFrame,
        *,
        weights: Mapping[str, float] | None = None,
        strict: bool = False,
    ) -> dict[str, np.ndarray]:
        """The output columns but ``version``, as numpy arrays (what the server answers)."""
        if self.row is not None and frame.height == 1:
            values = self._row_of(frame)
            one = self.row.score(values, weights=weights, strict=strict)
            return {k: np.array([v]) for k, v in one.items()}
        feats = self.features_of(self.prepare(frame))
        raw = self.raw_scores(feats, strict=strict)
        scaled, score = self.combine(raw, weights)
        names = sorted(self.objectives)
        return {
            **{f"raw_{o}": raw[o] for o in names},
            **{f"score_{o}": scaled[o] for o in names},
            "score": score,
        }

    def predictions(self, frame: pl.DataFrame) -> dict[str, Predictions]:
        """Each objective's whole predictions of `frame`: the score, the predicted class and
        every class's probability (`predict.Predictions`), through the fitted Pipelines as
        the `evaluate` step predicts. For what needs more than the scores (monitoring's
        performance metrics); `combine` turns their scores into the scaled and combined ones."""
        from mlspec.scoring.predict import predict
        from mlspec.scoring.preprocess import matrix

        feats = self.features_of(self.prepare(frame))
        out: dict[str, Predictions] = {}
        for name, o in self.objectives.items():
            X = matrix(feats, o.features)
            try:
                out[name] = predict(
                    o.pipeline, X, o.task, o.classes, o.threshold, meta=o.meta, what="the rows"
                )
            except StepError as exc:
                raise InputError(exc.message, _named(exc.message, o), "invalid_value") from None
        return out

    def _row_of(self, frame: pl.DataFrame) -> dict[str, Any]:
        """The signature's values of a one-row frame, typed as `prepare` types them."""
        schema = frame.schema
        if any(schema.get(n) != t for n, t in self._casts.items()):
            frame = self.prepare(frame)
        return frame.row(0, named=True)

    def score_columns(
        self,
        columns: Mapping[str, Sequence[Any]],
        *,
        weights: Mapping[str, float] | None = None,
        strict: bool = False,
    ) -> dict[str, list[float]]:
        """Score JSON columns ({column: [values]}, checked as `frame_from_columns` checks
        them): the output columns but ``version``, as lists (what the server answers). One
        row goes the row path, without a polars frame."""
        values = self.row.row_values(columns) if self.row is not None else None
        if values is not None:
            one = self.row.score(values, weights=weights, strict=strict)  # type: ignore[union-attr]
            return {k: [v] for k, v in one.items()}
        frame = self.frame_from_columns(columns)
        if frame.height == 0:
            raise InputError("the request holds no rows.", None, "shape")
        out = self.columns(frame, weights=weights, strict=strict)
        return {c: out[c].tolist() for c in self.output_columns()}

    def predict(
        self,
        frame: Any,
        *,
        weights: Mapping[str, float] | None = None,
        strict: bool = False,
    ) -> pl.DataFrame:
        """Score `frame` (a polars DataFrame, or anything `pl.DataFrame` takes)."""
        df = frame if isinstance(frame, pl.DataFrame) else pl.DataFrame(frame)
        cols = self.columns(df, weights=weights, strict=strict)
        n = len(cols["score"])
        if n == 1:  # one frame from one dict (float64 arrays, a str): the cheapest measured
            return pl.DataFrame({**cols, "version": [self.version]})
        version = pl.Series("version", [self.version], dtype=pl.String)
        return pl.DataFrame(
            [
                *(pl.Series(k, v, dtype=pl.Float64) for k, v in cols.items()),
                version if n == 1 else version.new_from_index(0, n),  # no list of n str
            ]
        )


def _named(message: str, o: ObjectiveModel) -> str | None:
    for f in o.features:
        if f"'{f['name']}'" in message:
            return str(f["name"])
    return None


def _unpickle(path: Path) -> Any:
    """Load a pipeline of a verified bundle (joblib: the only unpickling in scoring)."""
    import joblib

    return joblib.load(path)


def load_bundle(
    folder: str | Path, *, expected_sha: str | None = None, version: str | None = None
) -> Scorer:
    """Verify the bundle in `folder`, then load it. `expected_sha` is the registry's
    ``bundle_sha`` when the caller knows which entry the bundle is."""
    root = Path(folder)
    checked = verify(root, expected_sha)
    try:
        bundle = json.loads((root / BUNDLE_FILE).read_text(encoding="utf-8"))
        if "input" not in bundle or "features" not in bundle:
            raise BundleError(
                f"{root / BUNDLE_FILE} has no input signature or feature expressions",
                "the bundle was made by an older mlspec; run the spec again to package it anew",
            )
    except ValueError:
        raise BundleError(f"{root / BUNDLE_FILE} is not JSON", damaged=True) from None
    return Scorer(root, bundle, version or checked["sha256"][:12], checked["sha256"])
