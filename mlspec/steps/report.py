"""The `report` step: one self-contained HTML page that says how good the system is.

Params: `ReportParams` (`mlspec/steps/params.py`).

Inputs: ``("select", o)``, ``("eval", o, m)`` for every model incl. the baseline, ``("combine",)``,
``gate``, ``profile``. Output: ``report.html``.

Why one file with inline CSS and inline SVG: it is mailed, attached to a pull request and
opened years later, offline. It holds no script, no URL and no timestamp (a Content
Security Policy forbids fetching anything), so the same inputs give the same bytes. Every
text from the spec or the data is escaped. A missing or malformed input never fails the
step: its section says "not available", since a report about a half-finished run is
still worth reading.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any

from mlspec.contract.api import StepContext
from mlspec.report import charts
from mlspec.report.charts import Series, number
from mlspec.steps.params import ReportParams

BASELINE = "baseline"
SMALL_SLICE = 30  # rows; a slice metric on fewer rows is mostly noise
MAX_CURVE_MODELS = len(charts.PALETTE)


@dataclass
class Objective:
    """What the report knows of one objective: its params and whatever artifacts exist."""

    name: str
    params: dict[str, Any]
    selection: dict[str, Any] | None
    evals: dict[str, dict[str, Any] | None] = field(default_factory=dict)  # model -> metrics.json

    @property
    def selected(self) -> str | None:
        return _str_or_none((self.selection or {}).get("selected"))

    @property
    def baseline(self) -> str | None:
        base = (self.selection or {}).get("baseline")
        return _str_or_none(base.get("model")) if isinstance(base, dict) else None


@dataclass
class Inputs:
    objectives: list[Objective]
    combine: dict[str, Any] | None
    gate: dict[str, Any] | None
    profile: dict[str, Any] | None


# ----------------------------------------------------------------------------- reading


def _str_or_none(v: Any) -> str | None:
    return None if v is None else str(v)


def _json(ctx: StepContext, key: tuple[str, ...], file: str) -> dict[str, Any] | None:
    """An input's JSON file, or None when the step or the file is missing or not an object."""
    try:
        value = ctx.input(*key).json(file)
    except (LookupError, FileNotFoundError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _models(selection: dict[str, Any] | None) -> list[str]:
    """The evaluated models, best first, then the baseline (from the selection's ranking)."""
    sel = selection or {}
    names: list[str] = []
    for row in sel.get("ranking") or []:
        if isinstance(row, dict) and row.get("model") is not None:
            names.append(str(row["model"]))
    for extra in (
        sel.get("selected"),
        (sel.get("baseline") or {}).get("model") if isinstance(sel.get("baseline"), dict) else None,
    ):
        if extra is not None:
            names.append(str(extra))
    return list(dict.fromkeys(names))


def read_inputs(ctx: StepContext) -> Inputs:
    objectives = []
    p: ReportParams = ctx.params
    for name, params in p.objectives.items():
        selection = _json(ctx, ("select", name), "selection.json")
        evals = {m: _json(ctx, ("eval", name, m), "metrics.json") for m in _models(selection)}
        objectives.append(Objective(str(name), params or {}, selection, evals))
    return Inputs(
        objectives,
        _json(ctx, ("combine",), "combine.json"),
        _json(ctx, ("gate",), "gate.json"),
        _json(ctx, ("profile",), "profile.json"),
    )


def run(ctx: StepContext) -> None:
    inputs = read_inputs(ctx)
    missing = [
        n
        for n, v in (
            ("combine", inputs.combine),
            ("gate", inputs.gate),
            ("profile", inputs.profile),
        )
        if v is None
    ]
    missing += [f"select/{o.name}" for o in inputs.objectives if o.selection is None]
    missing += [
        f"eval/{o.name}/{m}" for o in inputs.objectives for m, v in o.evals.items() if v is None
    ]
    if missing:
        ctx.warn(f"report: not available, shown as such: {', '.join(missing)}")
    ctx.output.path("report.html").write_bytes(render(ctx.params.to_json(), inputs).encode("utf-8"))


# ----------------------------------------------------------------------------- html helpers


def e(value: Any) -> str:
    return escape(str(value), quote=True)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-") or "x"


def _finite(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _na(what: str) -> str:
    return f'<p class="na">{e(what)}: not available.</p>'


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], cls: str = "") -> str:
    """Cells are HTML already (escape before); headers are plain text."""
    head = "".join(f"<th>{e(h)}</th>" for h in headers)
    body = "\n".join(
        "<tr>" + "".join(c if c.startswith("<td") else f"<td>{c}</td>" for c in row) + "</tr>"
        for row in rows
    )
    klass = f' class="{cls}"' if cls else ""
    return f"<table{klass}>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>"


def _metric(entry: Any) -> tuple[float | None, float | None, float | None, str | None]:
    """(value, low, high, reason) of a metric given as {value, low, high, reason} or a number."""
    if isinstance(entry, Mapping):

        def num(k: str) -> float | None:
            return float(entry[k]) if _finite(entry.get(k)) else None

        return num("value"), num("low"), num("high"), _str_or_none(entry.get("reason"))
    return (float(entry) if _finite(entry) else None), None, None, None


def _metric_cell(entry: Any, *, interval: bool = True) -> str:
    value, low, high, reason = _metric(entry)
    if value is None:
        title = f' title="{e(reason)}"' if reason else ""
        text = "n/a" + (f'<span class="ci">{e(reason)}</span>' if reason else "")
        return f'<td class="num na"{title}>{text}</td>'
    ci = (
        f'<span class="ci">{number(low)} – {number(high)}</span>'
        if interval and low is not None and high is not None
        else ""
    )
    return f'<td class="num">{number(value)}{ci}</td>'


def _signed(v: float | None) -> str:
    if v is None:
        return "n/a"
    s = number(v)
    return s if s.startswith("-") or s == "0" else "+" + s


def _kv(mapping: Mapping[str, Any]) -> str:
    """A small dict as `key = value` pairs (nested values compact)."""
    parts = []
    for k in sorted(mapping, key=str):
        v = mapping[k]
        shown = number(v) if _finite(v) else ("n/a" if v is None else _compact(v))
        parts.append(f"<code>{e(k)}</code> = {e(shown)}")
    return ", ".join(parts) or "—"


def _compact(v: Any) -> str:
    if isinstance(v, Mapping):
        return "{" + ", ".join(f"{k}: {_compact(v[k])}" for k in sorted(v, key=str)) + "}"
    if isinstance(v, list | tuple):
        shown = ", ".join(_compact(x) for x in v[:8])
        return f"[{shown}{', …' if len(v) > 8 else ''}]"
    return number(v) if _finite(v) else str(v)


# ----------------------------------------------------------------------------- sections


def _header(params: Mapping[str, Any]) -> str:
    name = params.get("name") or "unnamed system"
    out = [f"<header>\n<h1>{e(name)} <small>evaluation report</small></h1>"]
    if params.get("description"):
        out.append(f'<p class="description">{e(params["description"])}</p>')
    problem = params.get("problem") or {}
    if isinstance(problem, Mapping) and problem:
        labels = {"goal": "Goal", "business_metric": "Business metric", "task": "Task"}
        shown = [k for k, v in problem.items() if v is not None]  # unset: not "None"
        keys = [k for k in labels if k in shown] + sorted(k for k in shown if k not in labels)
        items = "".join(
            f"<dt>{e(labels.get(k, k))}</dt><dd>{e(_compact(problem[k]))}</dd>" for k in keys
        )
        out.append(f'<dl class="problem">{items}</dl>')
    out.append("</header>")
    return "\n".join(out)


def _summary(inputs: Inputs) -> str:
    """At a glance: the gate, and per objective the selected model and how it compares."""
    rows = []
    for o in inputs.objectives:
        sel = o.selection or {}
        verdict, cls = _verdict(o)
        rows.append(
            [
                f'<a href="#obj-{e(_slug(o.name))}">{e(o.name)}</a>',
                e(o.selected or "none"),
                f"{e(sel.get('metric') or o.params.get('select_by') or '')} {number(sel['value']) if _finite(sel.get('value')) else ''}".strip(),
                f'<td class="{cls}">{verdict}</td>',
            ]
        )
    gate = inputs.gate
    if gate is None:
        banner = '<p class="banner unknown">Gate: not available.</p>'
    else:
        banner = _gate_banner(gate)
    table = (
        _table(["objective", "selected model", "selected by", "against the baseline"], rows)
        if rows
        else _na("Objectives")
    )
    return f'<section id="summary">\n<h2>Summary</h2>\n{banner}\n{table}\n</section>'


def _gate_results(gate: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [r for r in gate.get("results") or [] if isinstance(r, dict)]


def _gate_banner(gate: Mapping[str, Any]) -> str:
    results = _gate_results(gate)
    failed = [r for r in results if r.get("passed") is False]
    passed = bool(gate.get("passed")) and not failed
    if passed and not results:
        return '<p class="banner pass">Gate passed: no thresholds are set.</p>'
    if passed:
        return f'<p class="banner pass">Gate passed: all {len(results)} threshold{"s" if len(results) != 1 else ""} met.</p>'
    names = ", ".join(f"{r.get('scope', '?')} {r.get('metric', '?')}" for r in failed)
    detail = f" {len(failed)} of {len(results)} thresholds missed ({e(names)})." if failed else ""
    return f'<p class="banner fail">Gate FAILED.{detail} The package step refuses to bundle these models.</p>'


def _gates(inputs: Inputs) -> str:
    gate = inputs.gate
    head = '<section id="gates">\n<h2>Gates</h2>'
    if gate is None:
        return f"{head}\n{_na('Gate results')}\n</section>"
    rows = []
    for r in _gate_results(gate):
        ok = r.get("passed")
        status = (
            '<td class="pass">pass</td>'
            if ok
            else ('<td class="fail">FAIL</td>' if ok is False else '<td class="na">?</td>')
        )
        threshold = r.get("threshold")
        scope = str(r.get("scope", "")) + (f" ({r['model']})" if r.get("model") else "")
        value = (
            number(r["value"])
            if _finite(r.get("value"))
            else "n/a" + (f'<span class="ci">{e(r["reason"])}</span>' if r.get("reason") else "")
        )
        rows.append(
            [
                status,
                e(scope),
                f"<code>{e(r.get('metric', ''))}</code>",
                f"{e(r.get('op', ''))} {number(threshold) if _finite(threshold) else e(threshold if threshold is not None else '')}",
                f'<td class="num">{value}</td>',
                f'<td class="num">{_signed(float(r["margin"])) if _finite(r.get("margin")) else "n/a"}</td>',
            ]
        )
    table = (
        _table(["status", "scope", "metric", "requirement", "value", "margin"], rows, "gates")
        if rows
        else ""
    )
    return f"{head}\n{_gate_banner(gate)}\n{table}\n</section>"


def _verdict(o: Objective) -> tuple[str, str]:
    """'beats the baseline by X' / 'does not beat the baseline', and a CSS class."""
    sel = o.selection
    if sel is None:
        return "selection not available", "na"
    if o.selected is None:
        return "no model was selected", "fail"
    base = sel.get("baseline")
    if not isinstance(base, dict) or base.get("model") is None:
        return "no baseline in this objective", "na"
    value, base_value, metric = (
        sel.get("value"),
        base.get("value"),
        sel.get("metric") or o.params.get("select_by", ""),
    )
    if not (_finite(value) and _finite(base_value)):
        reason = base.get("reason") if not _finite(base_value) else None
        return f"cannot compare with the baseline ({e(reason or 'a value is missing')})", "na"
    higher = sel.get("higher_is_better", o.params.get("higher_is_better", True))
    gain = (value - base_value) if higher else (base_value - value)
    against = f"({e(metric)} {number(value)} against {number(base_value)}{_overlap(o, metric)})"
    if gain > 0:
        return f"beats the baseline by {number(gain)} {against}", "pass"
    return f"does not beat the baseline {against}", "fail"


def _overlap(o: Objective, metric: str) -> str:
    """Whether the 95% intervals of the selected model and the baseline overlap."""
    sel, base = o.evals.get(o.selected or ""), o.evals.get(o.baseline or "")
    if not sel or not base:
        return ""
    _, lo1, hi1, _ = _metric((sel.get("metrics") or {}).get(metric))
    _, lo2, hi2, _ = _metric((base.get("metrics") or {}).get(metric))
    if None in (lo1, hi1, lo2, hi2):
        return ""
    apart = hi1 < lo2 or hi2 < lo1  # type: ignore[operator]
    return "; 95% intervals do not overlap" if apart else "; 95% intervals overlap"


def _metric_names(o: Objective) -> list[str]:
    declared = [str(m) for m in o.params.get("metrics") or []]
    seen = {k for ev in o.evals.values() if ev for k in (ev.get("metrics") or {})}
    return list(dict.fromkeys([*declared, *sorted(seen - set(declared))]))


def _metrics_table(o: Objective) -> str:
    names = _metric_names(o)
    if not o.evals or not names:
        return _na("Metrics")
    key = (o.selection or {}).get("metric") or o.params.get("select_by")
    rows = []
    for model, ev in o.evals.items():
        marks = []
        if model == o.selected:
            marks.append('<span class="tag sel">selected</span>')
        if model == o.baseline:
            marks.append('<span class="tag base">baseline</span>')
        first = (
            f"<td><b>{e(model)}</b> {' '.join(marks)}</td>"
            if model == o.selected
            else f"<td>{e(model)} {' '.join(marks)}</td>"
        )
        if ev is None:
            rows.append(
                [
                    first,
                    *[
                        f'<td class="na">{"not available" if i == 0 else ""}</td>'
                        for i in range(len(names))
                    ],
                ]
            )
            continue
        metrics = ev.get("metrics") or {}
        rows.append([first, *[_metric_cell(metrics.get(n)) for n in names]])
    headers = ["model", *[f"{n} ★" if n == key else n for n in names]]
    higher = (o.selection or o.params).get("higher_is_better", True)
    rule = (
        f" ★ selects the model ({e(key)}: {'higher' if higher else 'lower'} is better)."
        if key
        else ""
    )
    note = (
        f'<p class="note">On the test split; under each value its 95% bootstrap interval.{rule}</p>'
    )
    return _table(headers, rows, "metrics") + "\n" + note


def _curve_models(o: Objective) -> list[tuple[str, dict[str, Any]]]:
    """(model, curves) with the selected model first and the baseline last."""
    order = (
        [m for m in (o.selected,) if m]
        + [m for m in o.evals if m not in (o.selected, o.baseline)]
        + [m for m in (o.baseline,) if m]
    )
    out = []
    for m in dict.fromkeys(order):
        ev = o.evals.get(m)
        curves = (ev or {}).get("curves")
        if isinstance(curves, dict):
            out.append((m, curves))
    return out[:MAX_CURVE_MODELS]


def _series(
    o: Objective, models: list[tuple[str, dict[str, Any]]], curve: str, xk: str, yk: str
) -> list[Series]:
    out = []
    for i, (m, curves) in enumerate(models):
        c = curves.get(curve)
        if (
            not isinstance(c, dict)
            or not isinstance(c.get(xk), list)
            or not isinstance(c.get(yk), list)
        ):
            continue
        label = f"{m} (selected)" if m == o.selected else m
        color = charts.MUTED if m == o.baseline else charts.PALETTE[i % len(charts.PALETTE)]
        out.append(
            Series(
                label,
                c[xk],
                c[yk],
                color=color,
                dashed=m == o.baseline,
                width=2.5 if m == o.selected else 1.5,
            )
        )
    return out


def _roc(o: Objective, models: list[tuple[str, dict[str, Any]]]) -> str | None:
    series = _series(o, models, "roc", "fpr", "tpr")
    return charts.roc_chart(series, title=f"ROC curve: {o.name}") if series else None


def _pr(o: Objective, models: list[tuple[str, dict[str, Any]]]) -> str | None:
    series = _series(o, models, "pr", "recall", "precision")
    return charts.pr_chart(series, title=f"Precision-recall: {o.name}") if series else None


def _selected_curve(
    o: Objective, models: list[tuple[str, dict[str, Any]]], name: str
) -> dict[str, Any] | None:
    for m, curves in models:
        if m == o.selected and isinstance(curves.get(name), dict):
            return curves[name]
    return None


def _calibration(o: Objective, models: list[tuple[str, dict[str, Any]]]) -> str | None:
    c = _selected_curve(o, models, "calibration")
    if (
        not c
        or not isinstance(c.get("mean_predicted"), list)
        or not isinstance(c.get("fraction_positive"), list)
    ):
        return None
    count = c.get("count") if isinstance(c.get("count"), list) else None
    return charts.calibration_chart(
        c["mean_predicted"], c["fraction_positive"], count, title=f"Calibration: {o.selected}"
    )


def _confusion(o: Objective, models: list[tuple[str, dict[str, Any]]]) -> str | None:
    c = _selected_curve(o, models, "confusion")
    if not c or not isinstance(c.get("labels"), list) or not isinstance(c.get("matrix"), list):
        return None
    return charts.heatmap(c["labels"], c["matrix"], title=f"Confusion matrix: {o.selected}")


def _residuals(o: Objective, models: list[tuple[str, dict[str, Any]]]) -> str | None:
    c = _selected_curve(o, models, "residuals")
    if not c or not isinstance(c.get("y"), list) or not isinstance(c.get("prediction"), list):
        return None
    return charts.scatter(
        c["prediction"],
        c["y"],
        title=f"Actual against predicted: {o.selected}",
        x_label="prediction",
        y_label="actual",
    )


# Which charts the evaluation can hold; each draws only when its data is there, so the task
# decides by what `evaluate` wrote (ROC/PR/calibration for binary, confusion, residuals).
CURVE_CHARTS: dict[str, Callable[[Objective, list[tuple[str, dict[str, Any]]]], str | None]] = {
    "roc": _roc,
    "pr": _pr,
    "calibration": _calibration,
    "confusion": _confusion,
    "residuals": _residuals,
}


def _charts(o: Objective) -> str:
    models = _curve_models(o)
    drawn = [svg for draw in CURVE_CHARTS.values() if (svg := draw(o, models))]
    selected = next((c for m, c in models if m == o.selected), {})
    reasons = [
        f'<p class="note">{e(name)}: {e(c["reason"])}.</p>'
        for name, c in sorted(selected.items())
        if isinstance(c, dict) and c.get("reason")
    ]
    if not drawn:
        return "\n".join([_na("Curves"), *reasons])
    figures = "\n".join(f"<figure>{charts.inline(s)}</figure>" for s in drawn)
    return "\n".join([f'<div class="charts">\n{figures}\n</div>', *reasons])


MODEL_SOURCES = {
    "feature_importances_": "the model's feature_importances_",
    "coef_": "mean |coefficient|, summed over encoded columns",
}


def _importance(o: Objective) -> str:
    ev = o.evals.get(o.selected or "")
    imp = (ev or {}).get("importance")
    if not isinstance(imp, dict):
        return _na("Feature importance")
    drawn = []
    perm = imp.get("permutation")
    settings = (
        imp.get("permutation_settings") if isinstance(imp.get("permutation_settings"), dict) else {}
    )
    if isinstance(perm, dict) and perm:
        means = {k: (v.get("mean") if isinstance(v, dict) else v) for k, v in perm.items()}
        stds = {k: v.get("std") for k, v in perm.items() if isinstance(v, dict)}
        metric = settings.get("metric") or "score"
        label = f"drop in {metric} when shuffled (± std)"
        drawn.append(
            charts.bar_chart(
                means, errors=stds, title=f"Permutation importance: {o.selected}", x_label=label
            )
        )
    model = imp.get("model")
    if isinstance(model, dict) and model:
        source = str(imp.get("model_source") or "")
        label = MODEL_SOURCES.get(source, source or "the model's own importance")
        drawn.append(
            charts.bar_chart(
                model,
                title=f"Model importance: {o.selected}",
                x_label=label,
                color=charts.PALETTE[1],
            )
        )
    reasons = imp.get("reasons") if isinstance(imp.get("reasons"), dict) else {}
    notes = [f"{e(k.capitalize())} importance: {e(v)}." for k, v in sorted(reasons.items())]
    if not drawn:
        return _na("Feature importance") + "".join(f'\n<p class="note">{n}</p>' for n in notes)
    if settings.get("repeats") and settings.get("rows"):
        notes.insert(
            0, f"Permutation: {e(settings['repeats'])} shuffles of {e(settings['rows'])} test rows."
        )
    notes.append("The 15 largest, by absolute value.")
    figures = "\n".join(f"<figure>{charts.inline(s)}</figure>" for s in drawn)
    return f'<div class="charts">\n{figures}\n</div>\n<p class="note">{" ".join(notes)}</p>'


def _slice_metrics(row: Mapping[str, Any]) -> dict[str, Any]:
    """A slice row's metrics, nested under "metrics" or flat beside value and count."""
    nested = row.get("metrics")
    if isinstance(nested, dict):
        return nested
    return {k: v for k, v in row.items() if k not in ("value", "count", "group", "rows")}


def _slices(o: Objective) -> str:
    ev = o.evals.get(o.selected or "")
    slices = (ev or {}).get("slices")
    if not isinstance(slices, dict) or not slices:
        return _na("Slices") if o.params.get("slices") else '<p class="na">No slices declared.</p>'
    out = []
    for column in sorted(slices, key=str):
        rows_in = [r for r in slices[column] or [] if isinstance(r, dict)]
        found = {k for r in rows_in for k in _slice_metrics(r)}
        names = [n for n in _metric_names(o) if n in found] + sorted(found - set(_metric_names(o)))
        rows = []
        for r in rows_in:
            count = r.get("count", r.get("rows"))
            small = _finite(count) and count < SMALL_SLICE
            value = r.get("value", r.get("group"))
            shown = "(null)" if value is None else value
            cells = [
                e(shown),
                f'<td class="num{" small" if small else ""}">{number(count) if _finite(count) else "n/a"}</td>',
            ]
            metrics = _slice_metrics(r)
            cells += [_metric_cell(metrics.get(n)) for n in names]
            rows.append(cells)
        out.append(
            f"<h4>by <code>{e(column)}</code></h4>\n"
            + _table([str(column), "count", *names], rows, "slices")
        )
    note = f'<p class="note">Test rows of the selected model ({e(o.selected)}) per value; counts under {SMALL_SLICE} are marked: their metrics are noisy.</p>'
    return "\n".join(out) + "\n" + note


def _fairness(o: Objective) -> str:
    ev = o.evals.get(o.selected or "")
    fair = (ev or {}).get("fairness")
    if not isinstance(fair, dict) or not fair:
        return (
            _na("Fairness")
            if o.params.get("protected")
            else '<p class="na">No protected columns declared.</p>'
        )
    out = []
    for column in sorted(fair, key=str):
        f = fair[column] if isinstance(fair[column], dict) else {}
        diffs = [(k, v) for k, v in sorted(f.items()) if k != "groups"]
        summary = (
            _table(["measure", "value"], [[e(k), _metric_cell(v)] for k, v in diffs], "fairness")
            if diffs
            else ""
        )
        groups = [g for g in f.get("groups") or [] if isinstance(g, dict)]
        first = [k for k in ("value", "group", "count") if any(k in g for g in groups)]
        keys = first + sorted({k for g in groups for k in g} - set(first))
        rows = []
        for g in groups:
            rows.append(
                [
                    _metric_cell(g.get(k), interval=False)
                    if k not in ("value", "group")
                    else e("(null)" if g.get(k) is None else g.get(k))
                    for k in keys
                ]
            )
        table = _table(keys, rows, "groups") if groups else ""
        out.append(f"<h4>by <code>{e(column)}</code></h4>\n{summary}\n{table}")
    note = '<p class="note">Differences are the largest gap between groups (0 is parity).</p>'
    return "\n".join(out) + "\n" + note


def _leakage(o: Objective) -> str:
    """A warning per feature that alone predicts the target (the train step's finding)."""
    from mlspec.evaluation.leakage import message

    found: dict[str, dict[str, Any]] = {}
    for doc in o.evals.values():
        for s in (doc or {}).get("leakage") or []:
            if isinstance(s, dict) and isinstance(s.get("feature"), str):
                found.setdefault(s["feature"], s)
    return "".join(
        f'<p class="verdict fail">Warning: {e(message(o.name, s))}.</p>'
        for _, s in sorted(found.items())
    )


def _objective(o: Objective) -> str:
    p = o.params
    facts = [
        ("task", p.get("task")),
        ("target", p.get("target")),
        ("selected by", (o.selection or {}).get("metric") or p.get("select_by")),
    ]
    evaluated = o.evals.get(o.selected or "") or {}
    if evaluated.get("rows_without_target"):
        facts.append(("test rows without a target (left out)", evaluated["rows_without_target"]))
    if p.get("task") == "binary":  # a class and a cut-off mean something only there
        positive = p.get("positive")
        facts.append(("positive class", positive if positive is not None else "the larger class"))
        facts.append(("threshold", p.get("threshold")))
    dl = "".join(f"<dt>{e(k)}</dt><dd>{e(_compact(v))}</dd>" for k, v in facts if v is not None)
    verdict, cls = _verdict(o)
    sel = (
        f'<p class="verdict {cls}">Selected: <b>{e(o.selected or "none")}</b>; {verdict}.</p>'
        if o.selection
        else _na("Selection")
    )
    return "\n".join(
        [
            f'<section id="obj-{e(_slug(o.name))}" class="objective">',
            f"<h2>Objective <code>{e(o.name)}</code></h2>",
            f'<dl class="facts">{dl}</dl>',
            sel,
            _leakage(o),
            "<h3>Metrics</h3>",
            _metrics_table(o),
            "<h3>Curves</h3>",
            _charts(o),
            "<h3>Feature importance</h3>",
            _importance(o),
            "<h3>Slices</h3>",
            _slices(o),
            "<h3>Fairness</h3>",
            _fairness(o),
            "</section>",
        ]
    )


def _combined(inputs: Inputs) -> str:
    c = inputs.combine
    head = '<section id="combined">\n<h2>Combined score</h2>'
    if c is None:
        return f"{head}\n{_na('The combined score')}\n</section>"
    weights = c.get("weights") if isinstance(c.get("weights"), dict) else {}
    scale = c.get("scale") if isinstance(c.get("scale"), dict) else {}
    scaling = c.get("scaling") if isinstance(c.get("scaling"), dict) else {}
    selected = c.get("selected") if isinstance(c.get("selected"), dict) else {}
    names = list(
        dict.fromkeys([*(o.name for o in inputs.objectives), *sorted(weights), *sorted(scale)])
    )
    rows = []
    for n in names:
        w = weights.get(n)
        fitted = scaling.get(n)
        rows.append(
            [
                f"<code>{e(n)}</code>",
                f'<td class="num">{number(w) if _finite(w) else "n/a"}</td>',
                e(scale.get(n, "n/a")),
                e(selected.get(n, "n/a")),
                _kv({k: v for k, v in fitted.items() if k != "method"})
                if isinstance(fitted, dict)
                else e(_compact(fitted) if fitted is not None else "—"),
            ]
        )
    formula = " + ".join(
        f"{number(weights[n])} × score<sub>{e(n)}</sub>" for n in names if _finite(weights.get(n))
    )
    out = [head]
    if formula:
        out.append(f'<p class="formula">score = {formula}</p>')
    out.append(
        _table(["objective", "weight", "scale", "model", "fitted scaling"], rows, "combine")
        if rows
        else _na("Weights")
    )
    metrics = c.get("metrics")
    target = f" against <code>{e(c['target'])}</code>" if c.get("target") else ""
    rows_n = f" ({number(c['rows'])} test rows)" if _finite(c.get("rows")) else ""
    out.append(f"<h3>Metrics of the combined score{target}{rows_n}</h3>")
    if isinstance(metrics, dict) and metrics:
        out.append(
            _table(
                ["metric", "value"],
                [[f"<code>{e(k)}</code>", _metric_cell(metrics[k])] for k in sorted(metrics)],
                "metrics",
            )
        )
    else:
        out.append(
            '<p class="na">No metrics of the combined score (set combine.target and combine.metrics to measure it).</p>'
        )
    out.append("</section>")
    return "\n".join(out)


def _distribution_rows(dists: Mapping[str, Any]) -> list[list[str]]:
    rows = []
    for name in sorted(dists, key=str):
        d = dists[name] if isinstance(dists[name], dict) else {}
        freq = d.get("frequencies")
        bins = len(freq) if isinstance(freq, list | dict) else None
        nulls, count = d.get("null_fraction"), d.get("count")
        rows.append(
            [
                f"<code>{e(name)}</code>",
                e(d.get("kind") or d.get("type") or ""),
                f'<td class="num">{number(count) if _finite(count) else "—"}</td>',
                f'<td class="num">{bins if bins is not None else "—"}</td>',
                f'<td class="num">{number(nulls) if _finite(nulls) else "—"}</td>',
            ]
        )
    return rows


def _profile(inputs: Inputs) -> str:
    """What the monitors will compare live traffic against (an inventory, not the numbers)."""
    p = inputs.profile
    head = '<section id="profile">\n<h2>Monitoring reference</h2>'
    if p is None:
        return f"{head}\n{_na('The reference profile')}\n</section>"
    headers = ["", "kind", "values", "bins / categories", "null fraction"]
    out = [head]
    monitors = [m for m in p.get("monitors") or [] if isinstance(m, dict)]
    if monitors:
        rows = [
            [
                e(m.get("name", "")),
                e(m.get("type", "")),
                _kv(
                    {
                        k: v
                        for k, v in m.items()
                        if k not in ("name", "type", "where") and v not in (None, [], {})
                    }
                ),
            ]
            for m in monitors
        ]
        out.append(_table(["monitor", "type", "settings"], rows, "monitors"))
    columns = p.get("columns") if isinstance(p.get("columns"), dict) else p.get("features")
    if isinstance(columns, dict) and columns:
        rows_info = p.get("rows") if isinstance(p.get("rows"), dict) else {}
        train = f" ({number(rows_info['train'])} rows)" if _finite(rows_info.get("train")) else ""
        out.append(f"<h3>Inputs, on the train split{train}</h3>")
        out.append(_table(["column", *headers[1:]], _distribution_rows(columns), "profile"))
    scores = p.get("scores")
    if isinstance(scores, dict) and scores:
        out.append("<h3>Scores, on the test split</h3>")
        out.append(_table(["score", *headers[1:]], _distribution_rows(scores), "profile"))
    perf = p.get("performance")
    if isinstance(perf, dict) and perf:
        rows = [
            [
                e(k),
                e(v.get("objective", "")),
                f"<code>{e(v.get('metric', ''))}</code>",
                _metric_cell(v.get("value")),
            ]
            for k, v in sorted(perf.items())
            if isinstance(v, dict)
        ]
        out.append("<h3>Performance reference</h3>")
        out.append(_table(["monitor", "objective", "metric", "test value"], rows, "profile"))
    if len(out) == 1:
        out.append('<p class="na">No monitors: nothing is profiled.</p>')
    out.append("</section>")
    return "\n".join(out)


CSS = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #111827; margin: 0; background: #f9fafb; }
main, header, nav { max-width: 1180px; margin: 0 auto; padding: 0 24px; }
header { padding-top: 24px; }
h1 { font-size: 26px; margin: 0 0 6px; } h1 small { font-size: 15px; color: #6b7280; font-weight: 400; }
h2 { font-size: 20px; margin: 0 0 10px; border-bottom: 1px solid #e5e7eb; padding-bottom: 6px; }
h3 { font-size: 16px; margin: 20px 0 8px; } h4 { font-size: 14px; margin: 12px 0 6px; }
section { background: #fff; border: 1px solid #e5e7eb; border-radius: 8px; padding: 16px 20px; margin: 16px 0; }
.description { color: #374151; max-width: 80ch; }
dl.problem, dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 8px 0; }
dt { color: #6b7280; } dd { margin: 0; }
nav { font-size: 13px; } nav a { margin-right: 12px; }
a { color: #1f6fb2; text-decoration: none; } a:hover { text-decoration: underline; }
table { border-collapse: collapse; margin: 6px 0 10px; font-size: 13px; }
th, td { border-bottom: 1px solid #e5e7eb; padding: 4px 10px; text-align: left; vertical-align: top; }
th { background: #f3f4f6; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.ci { display: block; color: #6b7280; font-size: 11px; }
td.na, p.na, .na { color: #9ca3af; }
td.small { color: #b45309; font-weight: 600; }
td.pass, .verdict.pass { color: #166534; } td.fail, .verdict.fail { color: #991b1b; font-weight: 600; }
.tag { font-size: 11px; padding: 1px 6px; border-radius: 9px; margin-left: 4px; }
.tag.sel { background: #dbeafe; color: #1e3a8a; } .tag.base { background: #f3f4f6; color: #4b5563; }
.banner { padding: 10px 14px; border-radius: 6px; font-weight: 600; margin: 6px 0 12px; }
.banner.pass { background: #dcfce7; color: #166534; border: 1px solid #86efac; }
.banner.fail { background: #fee2e2; color: #991b1b; border: 1px solid #fca5a5; font-size: 16px; }
.banner.unknown { background: #f3f4f6; color: #4b5563; }
.note { color: #6b7280; font-size: 12px; margin: 2px 0 8px; }
.formula { font-family: ui-monospace, monospace; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
figure { margin: 0; } svg.chart { max-width: 100%; height: auto; background: #fff; }
footer { max-width: 1180px; margin: 0 auto; padding: 8px 24px 32px; color: #9ca3af; font-size: 12px; }
@media print { body { background: #fff; } section { break-inside: avoid-page; border: none; } nav { display: none; } }
""".strip()

# Nothing may be fetched: no script, no remote style, font, image or frame.
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def render(params: Mapping[str, Any], inputs: Inputs) -> str:
    """The whole page; a pure function of params and inputs (same inputs, same bytes)."""
    name = str(params.get("name") or "mlspec")
    links = [("summary", "Summary"), ("gates", "Gates")]
    links += [(f"obj-{_slug(o.name)}", o.name) for o in inputs.objectives]
    links += [("combined", "Combined score"), ("profile", "Monitoring reference")]
    nav = "<nav>" + "".join(f'<a href="#{e(a)}">{e(t)}</a>' for a, t in links) + "</nav>"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(name)}: evaluation report</title>",
        f"<style>\n{CSS}\n</style>",
        "</head>",
        "<body>",
        _header(params),
        nav,
        "<main>",
        _summary(inputs),
        _gates(inputs),
        *(_objective(o) for o in inputs.objectives),
        _combined(inputs),
        _profile(inputs),
        "</main>",
        "<footer>Written by the mlspec report step from the run's artifacts. Self-contained: no scripts, nothing fetched.</footer>",
        "</body>",
        "</html>",
    ]
    return "\n".join(parts) + "\n"
