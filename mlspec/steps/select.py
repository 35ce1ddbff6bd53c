"""The `select` step: pick an objective's best model on the test split, and hold it against the baseline.

Params: `SelectParams` (`mlspec/steps/params.py`).

Inputs ``("eval", m)`` (the evaluate step's ``metrics.json``) for every candidate and the
baseline. The best candidate by ``select_by`` wins; ties go to the earlier candidate (the
order of the spec), and the baseline is never selected: it is the yardstick. A candidate
whose metric is undefined (e.g. one class in its test split) ranks last.

Writes ``selection.json``::

    {objective, selected, metric, value, low, high, higher_is_better,
     ranking: [{model, value, low, high, reason, vs_baseline, beats_baseline}],  # best first
     baseline: {model, value, low, high, reason} | null, beats_baseline: bool | null}

``vs_baseline`` is signed so that positive means better than the baseline. A selected model
that does not beat the baseline is a warning, not an error ("start simple": the report
shows it); no candidate with a value at all is a StepError.
"""

from __future__ import annotations

import math
from typing import Any

from mlspec.contract.api import StepContext, StepError
from mlspec.steps.params import SelectParams


def _entry(ctx: StepContext, model: str, metric: str) -> dict[str, Any]:
    """{model, value, low, high, reason} of `metric` in the model's metrics.json."""
    document = ctx.input("eval", model).json("metrics.json")
    entry = (document.get("metrics") or {}).get(metric)
    if not isinstance(entry, dict):
        return {
            "model": model,
            "value": None,
            "low": None,
            "high": None,
            "reason": f"{metric} was not evaluated",
        }
    value = entry.get("value")
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    return {
        "model": model,
        "value": float(value) if ok else None,
        "low": entry.get("low"),
        "high": entry.get("high"),
        "reason": None if ok else entry.get("reason") or "undefined",
    }


def gain(value: float | None, reference: float | None, higher_is_better: bool) -> float | None:
    """How much better `value` is than `reference` (positive = better), or None."""
    if value is None or reference is None:
        return None
    return value - reference if higher_is_better else reference - value


def rank(entries: list[dict[str, Any]], higher_is_better: bool) -> list[dict[str, Any]]:
    """Best first; equal values keep their order; undefined values last, in order."""
    defined = [e for e in entries if e["value"] is not None]
    undefined = [e for e in entries if e["value"] is None]
    ordered = sorted(defined, key=lambda e: -e["value"] if higher_is_better else e["value"])
    return ordered + undefined


def run(ctx: StepContext) -> None:
    p: SelectParams = ctx.params
    objective = p.objective
    name = objective["name"]
    metric: str = objective["select_by"]
    higher = bool(objective["higher_is_better"])
    baseline_name = p.baseline
    candidates = [m for m in p.candidates if m != baseline_name]
    if not candidates:
        raise StepError(
            f"Objective '{name}' has no model to select from.",
            hint="list at least one model under `models:`",
        )

    ranking = rank([_entry(ctx, m, metric) for m in candidates], higher)
    best = ranking[0]
    if best["value"] is None:
        why = "; ".join(f"{e['model']}: {e['reason']}" for e in ranking)
        raise StepError(
            f"Objective '{name}': select_by metric '{metric}' is undefined for every model ({why}).",
            hint="check the test split (does it hold every class?), or select by another metric with `select_by:`",
        )
    base = _entry(ctx, baseline_name, metric) if baseline_name else None
    base_value = base["value"] if base else None
    for e in ranking:
        e["vs_baseline"] = gain(e["value"], base_value, higher)
        e["beats_baseline"] = None if e["vs_baseline"] is None else e["vs_baseline"] > 0

    beats = best["beats_baseline"]
    if base is not None and beats is False:
        ctx.warn(
            f"Objective '{name}': the selected model '{best['model']}' does not beat the baseline "
            f"({metric} {best['value']:.4g} against {base_value:.4g}). Start simple: a model that cannot beat "
            "a constant prediction is not learning from these features."
        )
    elif base is not None and beats is None:
        ctx.warn(
            f"Objective '{name}': cannot compare with the baseline: its {metric} is undefined ({base['reason']})."
        )

    ctx.output.write_json(
        {
            "objective": name,
            "selected": best["model"],
            "metric": metric,
            "value": best["value"],
            "low": best["low"],
            "high": best["high"],
            "higher_is_better": higher,
            "ranking": ranking,
            "baseline": base,
            "beats_baseline": beats,
        },
        "selection.json",
    )
    ctx.output.metric(metric, best["value"])
