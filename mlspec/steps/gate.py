"""The `gate` step: check every threshold of the spec against the selected models' metrics.

Params: `GateParams` (`mlspec/steps/params.py`).

Inputs ``("select", o)``, ``("eval", o, m)`` and ``("combine",)``. An objective's gate reads the
metrics.json of its *selected* model; a fairness metric (`FAIRNESS`) is read from that
file's ``fairness`` section, taking the largest value over the protected columns (the worst
group gap). The combine gate reads combine.json's ``metrics``.

Writes ``gate.json`` ``{passed, selected: {o: model}, results: [{scope, model, metric, op,
threshold, value, passed, margin, reason}]}``: scope is the objective's name or
``combine``; ``margin`` is signed so that positive means on the passing side (value -
threshold for ``>``/``>=``, threshold - value for ``<``/``<=``, -|value - threshold| for
``==``); an undefined metric fails with value and margin null and a ``reason``. A failed
gate is not an error here: the step always succeeds and `package` refuses to bundle.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mlspec.contract.api import StepContext, StepError
from mlspec.steps.params import GateParams

FAIRNESS = frozenset({"demographic_parity_difference", "equalized_odds_difference"})
COMBINE = "combine"


@dataclass(frozen=True)
class Op:
    test: Callable[[float, float], bool]
    margin: Callable[[float, float], float]  # (value, threshold) -> signed distance, > 0 passes
    negation: str  # how a failure reads: "0.71 < 0.75"


OPS: dict[str, Op] = {
    ">=": Op(operator.ge, lambda v, t: v - t, "<"),
    ">": Op(operator.gt, lambda v, t: v - t, "<="),
    "<=": Op(operator.le, lambda v, t: t - v, ">"),
    "<": Op(operator.lt, lambda v, t: t - v, ">="),
    "==": Op(operator.eq, lambda v, t: -abs(v - t), "!="),
}
_COMPARISON = re.compile(r"\s*(>=|<=|==|>|<)\s*(\S+)\s*")


def parse(text: str, where: str = "gate") -> tuple[str, float]:
    """'>= 0.75' -> ('>=', 0.75); a malformed comparison is a StepError."""
    m = _COMPARISON.fullmatch(str(text))
    value = None
    if m:
        try:
            value = float(m.group(2))
        except ValueError:
            value = None
    if m is None or value is None or not math.isfinite(value):
        raise StepError(
            f"{where} must be a comparison: an operator ({', '.join(OPS)}) and a number. Got {text!r} instead.",
            hint='write it quoted, e.g. ">= 0.75"',
        )
    return m.group(1), value


def _number(entry: Any) -> float | None:
    """A metric entry ({value, low, high} or a bare number) as a finite float, or None."""
    value = entry.get("value") if isinstance(entry, dict) else entry
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _fairness(section: Any, metric: str, depth: int = 0) -> list[float]:
    """Every value of `metric` in the fairness section (per protected column), at any depth ≤ 3."""
    found: list[float] = []
    if isinstance(section, dict) and depth <= 3:
        for key, value in section.items():
            if key == metric:
                if (v := _number(value)) is not None:
                    found.append(v)
            else:
                found += _fairness(value, metric, depth + 1)
    return found


def metric_value(document: dict[str, Any], metric: str) -> tuple[float | None, str | None]:
    """(value, None) or (None, why it is undefined) from a metrics.json / combine.json."""
    if metric in FAIRNESS:
        values = _fairness(document.get("fairness") or {}, metric)
        return (max(values), None) if values else (None, "no fairness value was reported")
    entry = (document.get("metrics") or {}).get(metric)
    if entry is None:
        return None, "the metric was not reported"
    value = _number(entry)
    if value is None:
        return None, (
            entry.get("reason") if isinstance(entry, dict) else None
        ) or "the metric is undefined"
    return value, None


def check(
    scope: str, model: str | None, metric: str, comparison: str, document: dict[str, Any]
) -> dict[str, Any]:
    """One result row of gate.json."""
    op, threshold = parse(comparison, f"gate {scope}.{metric}")
    value, reason = metric_value(document, metric)
    passed, margin = False, None
    if value is not None:
        passed = bool(OPS[op].test(value, threshold))
        margin = float(OPS[op].margin(value, threshold))
    return {
        "scope": scope,
        "model": model,
        "metric": metric,
        "op": op,
        "threshold": threshold,
        "value": value,
        "passed": passed,
        "margin": margin,
        "reason": reason,
    }


def _num(x: float) -> str:
    return f"{x:.4g}"


def describe(result: dict[str, Any]) -> str:
    """'quality roc_auc 0.712 < 0.75 (short by 0.038)': one failed threshold, for messages."""
    head = f"{result['scope']} {result['metric']}"
    if result["value"] is None:
        return f"{head} is undefined ({result.get('reason') or 'no value'}), needs {result['op']} {_num(result['threshold'])}"
    op = result["op"]
    gap = "off by" if op == "==" else "short by"
    return f"{head} {_num(result['value'])} {OPS[op].negation} {_num(result['threshold'])} ({gap} {_num(abs(result['margin']))})"


def uncertain(result: dict[str, Any], document: dict[str, Any] | None) -> str | None:
    """A warning when a threshold passed but the metric's bootstrap interval (the evaluate
    step's 95% interval) reaches the failing side: few test rows of a class (4 positives in
    a 1:10,000 imbalance) make a passing value luck."""
    entry = ((document or {}).get("metrics") or {}).get(result["metric"])
    if not isinstance(entry, dict) or result["value"] is None:
        return None
    low, high = _number(entry.get("low")), _number(entry.get("high"))
    if low is None or high is None:
        return None
    op = OPS[result["op"]]
    if op.test(low, result["threshold"]) and op.test(high, result["threshold"]):
        return None
    return (
        f"gate passed on a thin margin: {result['scope']} {result['metric']} {_num(result['value'])} "
        f"{result['op']} {_num(result['threshold'])}, but its 95% interval [{_num(low)}, {_num(high)}] "
        "reaches the failing side; the test split may hold too few rows of a class to tell "
        "(add data or a stratified split)"
    )


def run(ctx: StepContext) -> None:
    p: GateParams = ctx.params
    results: list[dict[str, Any]] = []
    selected: dict[str, str] = {}
    documents: dict[str, dict[str, Any]] = {}
    for name in sorted(p.objectives):
        gate = (p.objectives[name] or {}).get("gate") or {}
        model = ctx.input("select", name).json("selection.json").get("selected")
        selected[name] = model
        if not gate:
            continue
        document = ctx.input("eval", name, model).json("metrics.json")
        documents[name] = document
        results += [check(name, model, metric, gate[metric], document) for metric in sorted(gate)]
    combine_gate = p.combine_gate
    if combine_gate:
        document = ctx.input("combine").json("combine.json")
        results += [
            check(COMBINE, None, metric, combine_gate[metric], document)
            for metric in sorted(combine_gate)
        ]
    passed = all(r["passed"] for r in results)
    for r in results:
        if not r["passed"]:
            ctx.warn(f"gate failed: {describe(r)}")
        elif (doubt := uncertain(r, documents.get(r["scope"]))) is not None:
            ctx.warn(doubt)
    ctx.output.write_json({"passed": passed, "selected": selected, "results": results}, "gate.json")
    ctx.output.metric("gate.passed", 1.0 if passed else 0.0)
    ctx.output.metric("gate.failed", float(sum(not r["passed"] for r in results)))
