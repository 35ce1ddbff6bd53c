"""The monitoring report: one self-contained HTML page (inline SVG, no script, no network)."""

from __future__ import annotations

from html import escape as e
from typing import Any

from mlspec.monitor.monitors import Result
from mlspec.report.charts import histogram_pair, inline, number

STYLE = """body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem;color:#111827}
table{border-collapse:collapse;margin:.5rem 0 1rem}td,th{border:1px solid #e5e7eb;padding:.25rem .5rem;text-align:left}
.fired,.drift,.fail,.error{color:#b91c1c;font-weight:600}.ok{color:#15803d}.skipped{color:#6b7280}
.charts{display:flex;flex-wrap:wrap;gap:.5rem}"""


def _num(v: Any) -> str:
    return number(v) if isinstance(v, int | float) else "—"


def _section(r: Result) -> str:
    out = [
        f'<section><h2>{e(r.name)} <small>({e(r.type)})</small> <span class="{e(r.status)}">{e(r.status)}</span></h2>',
        f"<p>{e(r.summary)}</p>",
    ]
    if r.verdicts:
        rows = "".join(
            f"<tr><td><code>{e(v.column)}</code></td><td>{e(v.test or '')}</td><td>{_num(v.statistic)}</td>"
            f'<td>{_num(v.threshold)}</td><td class="{e(v.status)}">{e(v.status)}</td><td>{e(v.message)}</td></tr>'
            for v in r.verdicts
        )
        out.append(
            "<table><tr><th>column</th><th>test</th><th>statistic</th><th>threshold</th>"
            f"<th>verdict</th><th>why</th></tr>{rows}</table>"
        )
    charts = [
        inline(
            histogram_pair(
                v.histogram["labels"],
                v.histogram["reference"],
                v.histogram["current"],
                title=v.column,
            )
        )
        for v in r.verdicts
        if v.histogram
    ]
    if charts:
        out.append('<div class="charts">' + "".join(charts) + "</div>")
    out.append("</section>")
    return "\n".join(out)


def page(system: str, version: int | None, current: str, results: list[Result]) -> str:
    fired = sum(r.fired for r in results)
    head = (
        f"<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>mlspec monitor: {e(system)}</title><style>{STYLE}</style></head><body>"
        f"<h1>Monitoring {e(system)}, version {e(str(version))}</h1>"
        f"<p>Current data: <code>{e(current)}</code>. {fired} of {len(results)} monitors fired.</p>"
    )
    return head + "\n".join(_section(r) for r in results) + "</body></html>\n"
