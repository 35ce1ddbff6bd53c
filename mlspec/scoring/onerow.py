"""One row scored without a polars frame: JSON or Python values in, plain floats out.

A one-row request (the REST server's usual one) spent most of its time building and querying
polars frames of one row: ~1 ms of overhead around ~10 us of arithmetic. `RowPath` does what
`Scorer.columns` does on one row with plain Python and small numpy arrays, each step the
same operations as the frame path so the answer is the same to the last bit:

- the input values are checked as `Scorer.frame_from_columns` checks them and converted to
  the signature's types (`row_values`); a date/datetime text of an unusual shape goes
  through polars' own parser;
- the features: `rowexpr.compile_feature`, or polars for a feature (or a row) the row
  evaluator is not sure of;
- each objective: `fastpath.RowModel.score` (the fitted transforms, the final estimator);
- the scales and the weighted sum: `combine.transform` and `combine.combine_scores` on
  one-element arrays, the very functions of the frame path.

tests/integration/test_scoring.py and tests/unit/test_scoring_rowpath.py hold it equal to
the frame and Pipeline paths.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from mlspec.contract.api import StepError
from mlspec.scoring.rowexpr import Fallback, compile_feature, kind_of

if TYPE_CHECKING:
    from mlspec.scoring.scorer import Scorer

_INT64 = (-(2**63), 2**63 - 1)
_EXACT_FLOAT = 2**53
# ISO texts whose value Python and polars agree on (checked in the tests); others: polars.
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?")


class _Frame(Exception):
    """The values need the frame path (e.g. an integer beyond 64 bits)."""


def _parse_date(text: str) -> date:
    if not _DATE.fullmatch(text):
        raise _Frame
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _Frame from None


def _parse_datetime(text: str) -> datetime:
    m = _DATETIME.fullmatch(text)
    if m is None:
        raise _Frame
    y, mo, d, h, mi, s, frac = m.groups()
    try:
        return datetime(
            int(y), int(mo), int(d), int(h), int(mi), int(s), int((frac or "").ljust(6, "0"))
        )
    except ValueError:
        raise _Frame from None


def _int(v: int) -> int:
    if not _INT64[0] <= v <= _INT64[1]:
        raise _Frame
    return v


def _float(v: int | float) -> float:
    if type(v) is int and abs(v) > _EXACT_FLOAT:
        raise _Frame
    return float(v)


# Logical input type -> a checked JSON value (not None) as the frame path would type it.
_CONVERT = {
    "int": _int,
    "float": _float,
    "str": lambda v: v,
    "bool": lambda v: v,
    "date": _parse_date,
    "datetime": _parse_datetime,
}


class RowPath:
    """A scorer's one-row path; `Scorer.row` is None when some part of it cannot be built."""

    def __init__(self, scorer: Scorer) -> None:
        self.scorer = scorer
        schema = dict(scorer._schema)
        self.names = [c["name"] for c in scorer.inputs]
        self.kinds = [c["type"] for c in scorer.inputs]
        self.features = [
            (str(f["name"]), compile_feature(f, schema), e)
            for f, e in zip(scorer.features, scorer._exprs, strict=True)
        ]
        self.objectives = [
            (name, o, [scorer._position[f["name"]] for f in o.features])
            for name, o in scorer.objectives.items()
        ]
        self.output = scorer.output_columns()

    @staticmethod
    def build(scorer: Scorer) -> RowPath | None:
        """The row path, or None when an objective has no fast path or an input type is one
        the row evaluator does not hold (a datetime with a time zone, nanoseconds)."""
        if not scorer.fast:
            return None
        if any(kind_of(dt) is None for dt in scorer._schema.values()):
            return None
        return RowPath(scorer)

    # ------------------------------------------------------------------ inputs

    def row_values(self, columns: Mapping[str, Sequence[Any]]) -> dict[str, Any] | None:
        """One row of JSON values ({column: [value]}), checked as `frame_from_columns` checks
        them (its InputErrors) and typed; None when the frame path must take the request."""
        scorer = self.scorer
        out: dict[str, Any] = {}
        for col, kind in zip(scorer.inputs, self.kinds, strict=True):
            values = columns.get(col["name"])
            if type(values) is not list or len(values) != 1:
                return None  # missing, several rows, not a list: the frame path says why
            v = values[0]
            if v is not None:
                scorer.check_json_value(col["name"], kind, v, 0)
                try:
                    v = _CONVERT[kind](v)
                except _Frame:
                    return None
            out[col["name"]] = v
        return out

    # ------------------------------------------------------------------ scoring

    def features_of(self, values: Mapping[str, Any]) -> list[Any]:
        """The feature values of one row, each as `features_of` computes it."""
        out: list[Any] = []
        frame = None
        for _name, fn, expr in self.features:
            if fn is not None:
                try:
                    out.append(fn(values))
                    continue
                except Fallback:
                    pass
            if frame is None:
                frame = self._frame(values)
            out.append(frame.select(expr).item())
        return out

    def _frame(self, values: Mapping[str, Any]) -> Any:
        import polars as pl

        return pl.DataFrame([{n: values[n] for n in self.names}], schema=self.scorer._schema)

    def score(
        self,
        values: Mapping[str, Any],
        *,
        weights: Mapping[str, float] | None = None,
        strict: bool = False,
    ) -> dict[str, float]:
        """The output columns but ``version`` for one row of typed input values."""
        from mlspec.scoring.scorer import InputError, _named

        scorer = self.scorer
        feats = self.features_of(values)
        raw: dict[str, np.ndarray] = {}
        for name, o, positions in self.objectives:
            row = [feats[j] for j in positions]
            if strict:
                for feature, known in o.categories.items():
                    v = feats[scorer._position[feature]]
                    if v is not None and v not in known:
                        scorer.unseen(feature, v, known)
            try:
                score = o.row.score(row, o, "the request")
            except StepError as exc:
                raise InputError(exc.message, _named(exc.message, o), "invalid_value") from None
            raw[name] = np.array([score])
        scaled, total = scorer.combine(raw, weights)
        out = {f"raw_{n}": float(raw[n][0]) for n in raw} | {
            f"score_{n}": float(scaled[n][0]) for n in scaled
        }
        out["score"] = float(total[0])
        return {c: out[c] for c in self.output}


__all__ = ["RowPath"]
