"""Objective scores onto a common scale, and their weighted sum: one implementation for the
`combine` step (which fits the scales on the test predictions) and the scorer (which applies
them to new rows), so a served combined score equals the combine step's for the same rows.

Scales (`SCALES`), each fitted on the selected model's test predictions:

- identity: the objective's score as is: a regression's prediction, a binary objective's
  P(positive), a multiclass objective's P(predicted class). The default of a single
  objective, whose final score is then its prediction.
- probability: the binary score P(positive) as is (must lie in [0, 1]). Not defined for
  multiclass (P(predicted class) is no ranking of anything) nor regression: use rank.
- rank: the mid-ECDF of the test scores, ``(#{s < x} + #{s <= x}) / 2n``, i.e. (average
  rank - 1/2) / n on the test rows; in [0, 1] for any x. Its fitted parameter is the
  sorted test scores (column ``score_<o>`` of ``reference.parquet``).
- minmax: ``(x - min) / (max - min)`` with the test min/max, clipped to [0, 1] (a no-op on
  the test rows); a constant score maps to 0.5.

numpy only, and `StepError` from the step contract (stdlib): no step module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from mlspec.contract.api import StepError


@dataclass(frozen=True)
class Scale:
    """How one scale method is fitted on test scores and applied to any scores."""

    fit: Callable[[np.ndarray, str, str], dict[str, Any]]  # (raw, task, objective) -> params
    apply: Callable[
        [dict[str, Any], np.ndarray, np.ndarray | None], np.ndarray
    ]  # (params, raw, sorted reference)


def _fit_probability(raw: np.ndarray, task: str, objective: str) -> dict[str, Any]:
    if task != "binary":
        raise StepError(
            f"combine.scale.{objective} must be 'rank' or 'minmax' for a {task} objective. Got 'probability' instead.",
            hint=f"a {task} score is not P(positive); set combine.scale.{objective}: rank (or minmax)",
        )
    if len(raw) and (raw.min() < 0 or raw.max() > 1):
        raise StepError(
            f"Objective '{objective}': scale 'probability' needs scores in [0, 1]. Got scores from {raw.min():.6g} to {raw.max():.6g} instead.",
            hint=f"set combine.scale.{objective}: rank (or minmax)",
        )
    return {}


def _apply_probability(
    params: dict[str, Any], raw: np.ndarray, reference: np.ndarray | None
) -> np.ndarray:
    return raw.astype(np.float64, copy=True)


def _fit_identity(raw: np.ndarray, task: str, objective: str) -> dict[str, Any]:
    return {}


def _fit_rank(raw: np.ndarray, task: str, objective: str) -> dict[str, Any]:
    return {"n": len(raw), "reference": "reference.parquet", "column": f"score_{objective}"}


def _apply_rank(
    params: dict[str, Any], raw: np.ndarray, reference: np.ndarray | None
) -> np.ndarray:
    if reference is None or len(reference) == 0:
        raise ValueError("rank scaling needs the sorted reference scores")
    below = np.searchsorted(reference, raw, side="left")
    at_or_below = np.searchsorted(reference, raw, side="right")
    return (below + at_or_below) / (2.0 * len(reference))


def _fit_minmax(raw: np.ndarray, task: str, objective: str) -> dict[str, Any]:
    return {"min": float(raw.min()), "max": float(raw.max())}


def _apply_minmax(
    params: dict[str, Any], raw: np.ndarray, reference: np.ndarray | None
) -> np.ndarray:
    lo, hi = float(params["min"]), float(params["max"])
    if hi == lo:
        return np.full(len(raw), 0.5)
    return np.clip((raw.astype(np.float64) - lo) / (hi - lo), 0.0, 1.0)


SCALES: dict[str, Scale] = {
    "identity": Scale(_fit_identity, _apply_probability),
    "probability": Scale(_fit_probability, _apply_probability),
    "rank": Scale(_fit_rank, _apply_rank),
    "minmax": Scale(_fit_minmax, _apply_minmax),
}


def transform(method: str, params: dict[str, Any], raw: Any, reference: Any = None) -> np.ndarray:
    """Scale raw scores as `combine` did: `params` from combine.json's ``scaling[o]``.

    `reference` is the sorted column ``score_<o>`` of reference.parquet (rank only).
    """
    if method not in SCALES:
        raise ValueError(f"scale must be one of {', '.join(SCALES)}. Got {method!r} instead.")
    ref = None if reference is None else np.asarray(reference, dtype=np.float64)
    return SCALES[method].apply(params, np.asarray(raw, dtype=np.float64), ref)


def combine_scores(weights: dict[str, float], scaled: dict[str, np.ndarray]) -> np.ndarray:
    """Σ weight × scaled score, summed in sorted objective order (the same float sum everywhere)."""
    names = sorted(weights)
    total = np.zeros(len(scaled[names[0]]) if names else 0)
    for o in names:
        total = total + float(weights[o]) * scaled[o]
    return total
