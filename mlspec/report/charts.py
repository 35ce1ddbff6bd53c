"""Tiny SVG charts for the evaluation report: no matplotlib, no scripts, no network.

Why by hand: the report must be byte-identical for the same inputs and open offline. A
plotting library brings fonts, random element ids and creation dates; these functions
write every coordinate with a fixed number of decimals, so the same numbers always give
the same text. Each function returns one standalone ``<svg>`` (it parses as XML) that opens
with a ``<title>`` (its accessible name); user text is escaped. `inline` adapts one for an
HTML5 page.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape

SVG_NS = "http://www.w3.org/2000/svg"
PALETTE = ("#1f6fb2", "#e4761b", "#2e9e4f", "#c8374b", "#7a5bb5", "#8c5a3c", "#d264b6", "#6b7280")
GRID, AXIS, TEXT, MUTED = "#e5e7eb", "#6b7280", "#111827", "#9ca3af"
WIDTH, HEIGHT = 360, 280
MARGIN = {"left": 52, "right": 14, "top": 28, "bottom": 42}
CHAR_W = 6.2  # average glyph width at font-size 11, for layout only


@dataclass(frozen=True)
class Series:
    """One line of a line chart."""

    name: str
    x: Sequence[float | None]
    y: Sequence[float | None]
    color: str | None = None
    dashed: bool = False
    width: float = 2.0


# ----------------------------------------------------------------------------- formatting


def _c(v: float) -> str:
    """A pixel coordinate: one decimal, never '-0.0'."""
    s = f"{v:.1f}"
    return "0.0" if s == "-0.0" else s


def _tick(v: float) -> str:
    s = f"{round(v, 10):g}"
    return "0" if s == "-0" else s


def number(v: float | None) -> str:
    """About four significant digits (no trailing zeros), without an exponent for everyday magnitudes."""
    if v is None:
        return "n/a"
    if isinstance(v, bool | int):
        return str(int(v))
    if not math.isfinite(v):
        return str(v)
    a = abs(v)
    if a == 0:
        return "0"
    if a >= 1e6 or a < 1e-4:
        return f"{v:.3g}"
    decimals = min(6, max(0, 3 - math.floor(math.log10(a))))
    s = f"{v:.{decimals}f}"
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return s[1:] if s.startswith("-") and float(s) == 0 else s


def _finite(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _pairs(xs: Sequence[float | None], ys: Sequence[float | None]) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in zip(xs, ys, strict=False) if _finite(x) and _finite(y)]


def _clip(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[: chars - 1] + "…"


# ----------------------------------------------------------------------------- scaffolding


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """Round tick values (steps of 1, 2 or 5 x 10^k) covering [lo, hi]."""
    if hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first, last = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
    return [round(k * step, 12) for k in range(first, last + 1)]


def _domain(values: Sequence[float]) -> tuple[float, float, list[float]]:
    lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
    if hi - lo < 1e-12:
        lo, hi = lo - 0.5, hi + 0.5
    ticks = _ticks(lo, hi)
    return ticks[0], ticks[-1], ticks


@dataclass(frozen=True)
class _Axes:
    x0: float
    x1: float
    y0: float
    y1: float
    left: float
    top: float
    w: float
    h: float

    def px(self, x: float) -> float:
        return self.left + (x - self.x0) / (self.x1 - self.x0) * self.w

    def py(self, y: float) -> float:
        return self.top + self.h - (y - self.y0) / (self.y1 - self.y0) * self.h

    def points(self, pairs: Sequence[tuple[float, float]]) -> str:
        """Polyline points; consecutive points that round to one pixel are written once."""
        out: list[str] = []
        for x, y in pairs:
            p = f"{_c(self.px(x))},{_c(self.py(y))}"
            if not out or out[-1] != p:
                out.append(p)
        return " ".join(out)


def _svg(title: str, width: float, height: float, body: list[str]) -> str:
    head = (
        f'<svg xmlns="{SVG_NS}" width="{_c(width)}" height="{_c(height)}" '
        f'viewBox="0 0 {_c(width)} {_c(height)}" role="img" class="chart" '
        f'font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="11">'
    )
    t = escape(title)
    heading = f'<text x="{_c(width / 2)}" y="17" text-anchor="middle" font-size="13" font-weight="600" fill="{TEXT}">{t}</text>'
    return "\n".join([head, f"<title>{t}</title>", heading, *body, "</svg>"]) + "\n"


def _frame(
    ax: _Axes, xticks: list[float], yticks: list[float], x_label: str, y_label: str
) -> list[str]:
    out = []
    bottom, right = ax.top + ax.h, ax.left + ax.w
    for t in yticks:
        y = _c(ax.py(t))
        out.append(f'<line x1="{_c(ax.left)}" y1="{y}" x2="{_c(right)}" y2="{y}" stroke="{GRID}"/>')
        out.append(
            f'<text x="{_c(ax.left - 5)}" y="{y}" dy="3.5" text-anchor="end" fill="{AXIS}">{_tick(t)}</text>'
        )
    for t in xticks:
        x = _c(ax.px(t))
        out.append(f'<line x1="{x}" y1="{_c(ax.top)}" x2="{x}" y2="{_c(bottom)}" stroke="{GRID}"/>')
        out.append(
            f'<text x="{x}" y="{_c(bottom + 14)}" text-anchor="middle" fill="{AXIS}">{_tick(t)}</text>'
        )
    out.append(
        f'<rect x="{_c(ax.left)}" y="{_c(ax.top)}" width="{_c(ax.w)}" height="{_c(ax.h)}" fill="none" stroke="{AXIS}"/>'
    )
    out.append(
        f'<text x="{_c(ax.left + ax.w / 2)}" y="{_c(bottom + 32)}" text-anchor="middle" fill="{TEXT}">{escape(x_label)}</text>'
    )
    cy = _c(ax.top + ax.h / 2)
    out.append(
        f'<text x="14" y="{cy}" transform="rotate(-90 14 {cy})" text-anchor="middle" fill="{TEXT}">{escape(y_label)}</text>'
    )
    return out


def _no_data(title: str, width: float = WIDTH, height: float = 120) -> str:
    return _svg(
        title,
        width,
        height,
        [
            f'<text x="{_c(width / 2)}" y="{_c(height / 2 + 10)}" text-anchor="middle" fill="{MUTED}">no data</text>'
        ],
    )


def _legend(
    items: list[tuple[str, str, bool]], left: float, top: float, width: float
) -> tuple[list[str], float]:
    """Legend entries (name, color, dashed) flowed in rows; returns the elements and height."""
    out: list[str] = []
    x, y = left, top
    for name, color, dashed in items:
        label = _clip(name, 28)
        w = 26 + len(label) * CHAR_W + 12
        if x > left and x + w > left + width:
            x, y = left, y + 16
        dash = ' stroke-dasharray="4 3"' if dashed else ""
        out.append(
            f'<line x1="{_c(x)}" y1="{_c(y)}" x2="{_c(x + 20)}" y2="{_c(y)}" stroke="{color}" stroke-width="2"{dash}/>'
        )
        out.append(
            f'<text x="{_c(x + 24)}" y="{_c(y)}" dy="3.5" fill="{TEXT}">{escape(label)}</text>'
        )
        x += w
    return out, (y - top + 16 if items else 0)


def _plot_box(width: float, height: float) -> tuple[float, float, float, float]:
    m = MARGIN
    return m["left"], m["top"], width - m["left"] - m["right"], height - m["top"] - m["bottom"]


# ----------------------------------------------------------------------------- charts


def line_chart(
    series: Sequence[Series],
    *,
    title: str,
    x_label: str,
    y_label: str,
    x_range: tuple[float, float] | None = None,
    y_range: tuple[float, float] | None = None,
    diagonal: bool = False,
    width: float = WIDTH,
    height: float = HEIGHT,
) -> str:
    """Lines (with a legend when there are several); `diagonal` adds the dashed y = x line."""
    data = [(s, _pairs(s.x, s.y)) for s in series]
    data = [(s, p) for s, p in data if p]
    if not data:
        return _no_data(title, width)
    xs = [x for _, p in data for x, _ in p]
    ys = [y for _, p in data for _, y in p]
    x0, x1, xt = _domain(xs) if x_range is None else (*x_range, _ticks(*x_range))
    y0, y1, yt = _domain(ys) if y_range is None else (*y_range, _ticks(*y_range))
    items = [
        (s.name, s.color or PALETTE[i % len(PALETTE)], s.dashed) for i, (s, _) in enumerate(data)
    ]
    legend_h = 0.0
    legend: list[str] = []
    if len(data) > 1:
        legend, legend_h = _legend(
            items, MARGIN["left"], height, width - MARGIN["left"] - MARGIN["right"]
        )
    left, top, w, h = _plot_box(width, height)
    ax = _Axes(x0, x1, y0, y1, left, top, w, h)
    body = _frame(ax, xt, yt, x_label, y_label)
    if diagonal:
        lo, hi = max(x0, y0), min(x1, y1)
        body.append(
            f'<line x1="{_c(ax.px(lo))}" y1="{_c(ax.py(lo))}" x2="{_c(ax.px(hi))}" y2="{_c(ax.py(hi))}" '
            f'stroke="{MUTED}" stroke-dasharray="4 4"/>'
        )
    for (s, pairs), (_, color, dashed) in zip(data, items, strict=True):
        dash = ' stroke-dasharray="6 4"' if dashed else ""
        body.append(
            f'<polyline points="{ax.points(pairs)}" fill="none" stroke="{color}" '
            f'stroke-width="{s.width:g}" stroke-linejoin="round"{dash}><title>{escape(s.name)}</title></polyline>'
        )
    body += legend
    return _svg(title, width, height + legend_h + (6 if legend_h else 0), body)


def roc_chart(series: Sequence[Series], *, title: str = "ROC curve") -> str:
    """True- against false-positive rate, with the chance diagonal."""
    return line_chart(
        series,
        title=title,
        x_label="false positive rate",
        y_label="true positive rate",
        x_range=(0.0, 1.0),
        y_range=(0.0, 1.0),
        diagonal=True,
    )


def pr_chart(series: Sequence[Series], *, title: str = "Precision-recall curve") -> str:
    """Precision against recall (each Series has x = recall, y = precision)."""
    return line_chart(
        series,
        title=title,
        x_label="recall",
        y_label="precision",
        x_range=(0.0, 1.0),
        y_range=(0.0, 1.0),
    )


def calibration_chart(
    mean_predicted: Sequence[float | None],
    fraction_positive: Sequence[float | None],
    count: Sequence[int | None] | None = None,
    *,
    title: str = "Calibration",
    color: str = PALETTE[0],
) -> str:
    """Observed frequency against mean predicted probability per bin, with the ideal line."""
    counts = list(count) if count is not None else [None] * len(mean_predicted)
    points = [
        (float(x), float(y), n)
        for x, y, n in zip(mean_predicted, fraction_positive, counts, strict=False)
        if _finite(x) and _finite(y) and n != 0
    ]
    if not points:
        return _no_data(title)
    left, top, w, h = _plot_box(WIDTH, HEIGHT)
    ax = _Axes(0.0, 1.0, 0.0, 1.0, left, top, w, h)
    ticks = _ticks(0.0, 1.0)
    body = _frame(ax, ticks, ticks, "mean predicted probability", "fraction positive")
    body.append(
        f'<line x1="{_c(ax.px(0))}" y1="{_c(ax.py(0))}" x2="{_c(ax.px(1))}" y2="{_c(ax.py(1))}" '
        f'stroke="{MUTED}" stroke-dasharray="4 4"><title>perfectly calibrated</title></line>'
    )
    body.append(
        f'<polyline points="{ax.points([(x, y) for x, y, _ in points])}" fill="none" stroke="{color}" stroke-width="2"/>'
    )
    for x, y, n in points:
        tip = f"predicted {number(x)}, observed {number(y)}" + (
            f", {n} rows" if n is not None else ""
        )
        body.append(
            f'<circle cx="{_c(ax.px(x))}" cy="{_c(ax.py(y))}" r="3.5" fill="{color}"><title>{escape(tip)}</title></circle>'
        )
    return _svg(title, WIDTH, HEIGHT, body)


def bar_chart(
    values: Mapping[str, float | None],
    *,
    title: str,
    x_label: str = "",
    errors: Mapping[str, float | None] | None = None,
    top: int = 15,
    color: str = PALETTE[0],
) -> str:
    """Horizontal bars of the `top` largest |values| (ties by name), with optional ± error whiskers."""
    items = sorted(
        ((str(k), float(v)) for k, v in values.items() if _finite(v)),
        key=lambda kv: (-abs(kv[1]), kv[0]),
    )[:top]
    if not items:
        return _no_data(title)
    err = {k: float(e) for k, e in (errors or {}).items() if _finite(e)}
    labels = [_clip(k, 26) for k, _ in items]
    left = 12 + max(len(s) for s in labels) * CHAR_W
    bar_h, gap = 14, 6
    plot_h = len(items) * (bar_h + gap) + gap
    width = max(WIDTH, left + 260)
    w = width - left - 60  # room for the value labels on the right
    extent = [v + s * err.get(k, 0.0) for k, v in items for s in (-1, 1)]
    lo, hi, ticks = _domain([0.0, *extent])
    ax = _Axes(lo, hi, 0.0, 1.0, left, MARGIN["top"], w, plot_h)
    body: list[str] = []
    bottom = ax.top + plot_h
    for t in ticks:
        x = _c(ax.px(t))
        body.append(
            f'<line x1="{x}" y1="{_c(ax.top)}" x2="{x}" y2="{_c(bottom)}" stroke="{GRID}"/>'
        )
        body.append(
            f'<text x="{x}" y="{_c(bottom + 14)}" text-anchor="middle" fill="{AXIS}">{_tick(t)}</text>'
        )
    zero = ax.px(0.0)
    for i, ((name, v), label) in enumerate(zip(items, labels, strict=True)):
        y = ax.top + gap + i * (bar_h + gap)
        x_a, x_b = sorted((zero, ax.px(v)))
        tip = f"{name}: {number(v)}" + (f" ± {number(err[name])}" if name in err else "")
        body.append(
            f'<text x="{_c(left - 6)}" y="{_c(y + bar_h / 2)}" dy="3.5" text-anchor="end" fill="{TEXT}">{escape(label)}</text>'
        )
        body.append(
            f'<rect x="{_c(x_a)}" y="{_c(y)}" width="{_c(max(x_b - x_a, 0.5))}" height="{bar_h}" fill="{color}" '
            f'fill-opacity="0.85"><title>{escape(tip)}</title></rect>'
        )
        end = x_b
        if name in err:
            e1, e2 = ax.px(v - err[name]), ax.px(v + err[name])
            cy = _c(y + bar_h / 2)
            body.append(
                f'<line x1="{_c(e1)}" y1="{cy}" x2="{_c(e2)}" y2="{cy}" stroke="{TEXT}" stroke-width="1"/>'
            )
            end = max(end, e1, e2)
        shown = number(v)
        start = min(x_a, ax.px(v - err.get(name, 0.0)))
        if (
            v < 0 and start - 4 - len(shown) * CHAR_W > left
        ):  # a negative bar: its value on its left
            body.append(
                f'<text x="{_c(start - 4)}" y="{_c(y + bar_h / 2)}" dy="3.5" text-anchor="end" fill="{AXIS}">{shown}</text>'
            )
        else:
            body.append(
                f'<text x="{_c(end + 4)}" y="{_c(y + bar_h / 2)}" dy="3.5" fill="{AXIS}">{shown}</text>'
            )
    body.append(
        f'<line x1="{_c(zero)}" y1="{_c(ax.top)}" x2="{_c(zero)}" y2="{_c(bottom)}" stroke="{AXIS}"/>'
    )
    if x_label:
        body.append(
            f'<text x="{_c(left + w / 2)}" y="{_c(bottom + 32)}" text-anchor="middle" fill="{TEXT}">{escape(x_label)}</text>'
        )
    return _svg(title, width, bottom + (40 if x_label else 24), body)


def _blend(frac: float) -> str:
    """White-blue ramp: 0 -> #f7fbff, 1 -> #08306b."""
    lo, hi = (247, 251, 255), (8, 48, 107)
    f = min(1.0, max(0.0, frac))
    return "#" + "".join(f"{round(a + (b - a) * f):02x}" for a, b in zip(lo, hi, strict=True))


def heatmap(
    labels: Sequence[object],
    matrix: Sequence[Sequence[float | None]],
    *,
    title: str = "Confusion matrix",
    x_label: str = "predicted",
    y_label: str = "actual",
) -> str:
    """A square table of counts; colour is the share of its row (recall per actual class)."""
    n = len(labels)
    if n == 0 or len(matrix) != n or any(len(r) != n for r in matrix):
        return _no_data(title)
    names = [_clip(str(label), 14) for label in labels]
    cell = max(22.0, min(56.0, 280.0 / n))
    left = 30 + max(len(s) for s in names) * CHAR_W
    top = MARGIN["top"] + 24
    width = max(WIDTH * 0.75, left + n * cell + 16)
    height = top + n * cell + 24
    body = [
        f'<text x="{_c(left + n * cell / 2)}" y="{_c(top - 20)}" text-anchor="middle" fill="{TEXT}">{escape(x_label)}</text>',
        f'<text x="12" y="{_c(top + n * cell / 2)}" transform="rotate(-90 12 {_c(top + n * cell / 2)})" text-anchor="middle" fill="{TEXT}">{escape(y_label)}</text>',
    ]
    for j, name in enumerate(names):
        body.append(
            f'<text x="{_c(left + (j + 0.5) * cell)}" y="{_c(top - 5)}" text-anchor="middle" fill="{AXIS}">{escape(name)}</text>'
        )
    font = 11 if cell >= 30 else 9
    for i, row in enumerate(matrix):
        cells = [float(v) if _finite(v) else 0.0 for v in row]
        total = sum(cells)
        y = top + i * cell
        body.append(
            f'<text x="{_c(left - 6)}" y="{_c(y + cell / 2)}" dy="3.5" text-anchor="end" fill="{AXIS}">{escape(names[i])}</text>'
        )
        for j, v in enumerate(cells):
            frac = v / total if total > 0 else 0.0
            tip = f"actual {labels[i]}, predicted {labels[j]}: {number(v)} ({frac:.1%} of the row)"
            body.append(
                f'<rect x="{_c(left + j * cell)}" y="{_c(y)}" width="{_c(cell)}" height="{_c(cell)}" '
                f'fill="{_blend(frac)}" stroke="#ffffff"><title>{escape(tip)}</title></rect>'
            )
            body.append(
                f'<text x="{_c(left + (j + 0.5) * cell)}" y="{_c(y + cell / 2)}" dy="3.5" text-anchor="middle" '
                f'font-size="{font}" fill="{"#ffffff" if frac > 0.5 else TEXT}">{number(v)}</text>'
            )
    return _svg(title, width, height, body)


def scatter(
    x: Sequence[float | None],
    y: Sequence[float | None],
    *,
    title: str,
    x_label: str,
    y_label: str,
    identity: bool = True,
    max_points: int = 1500,
    color: str = PALETTE[0],
) -> str:
    """Points (at most `max_points`, evenly spaced, so the file stays small); `identity` adds y = x on shared axes."""
    pairs = _pairs(x, y)
    if not pairs:
        return _no_data(title)
    if len(pairs) > max_points:
        step = (len(pairs) - 1) / (max_points - 1)
        pairs = [pairs[round(i * step)] for i in range(max_points)]
    if identity:
        lo, hi, ticks = _domain([v for p in pairs for v in p])
        xd = yd = (lo, hi, ticks)
    else:
        xd, yd = _domain([p[0] for p in pairs]), _domain([p[1] for p in pairs])
    left, top, w, h = _plot_box(WIDTH, HEIGHT)
    ax = _Axes(xd[0], xd[1], yd[0], yd[1], left, top, w, h)
    body = _frame(ax, xd[2], yd[2], x_label, y_label)
    body.append(f'<g fill="{color}" fill-opacity="0.45">')
    seen: set[str] = set()
    for px, py in pairs:
        key = f'cx="{_c(ax.px(px))}" cy="{_c(ax.py(py))}"'
        if key not in seen:  # points on the same pixel are drawn once
            seen.add(key)
            body.append(f'<circle {key} r="2"/>')
    body.append("</g>")
    if identity:
        body.append(
            f'<line x1="{_c(ax.px(xd[0]))}" y1="{_c(ax.py(xd[0]))}" x2="{_c(ax.px(xd[1]))}" y2="{_c(ax.py(xd[1]))}" '
            f'stroke="{TEXT}" stroke-dasharray="4 4"><title>y = x</title></line>'
        )
    return _svg(title, WIDTH, HEIGHT, body)


def inline(svg: str) -> str:
    """The chart for an HTML5 page: the parser puts <svg> in the SVG namespace by itself, so
    the declaration goes and the page holds no URL at all."""
    return svg.replace(f' xmlns="{SVG_NS}"', "", 1)


def histogram_pair(
    labels: Sequence[str],
    reference: Sequence[float],
    current: Sequence[float],
    *,
    title: str,
    names: tuple[str, str] = ("reference", "current"),
) -> str:
    """Two shares per bin side by side (reference, current): the monitor report's histograms."""
    if not labels:
        return _no_data(title)
    left, top, w, h = _plot_box(WIDTH, HEIGHT)
    _, hi, yticks = _domain([0.0, *reference, *current])
    ax = _Axes(0.0, float(len(labels)), 0.0, hi, left, top + 14, w, h - 14)
    body = _frame(ax, [], yticks, "", "share")
    slot = w / len(labels)
    bar = max(slot * 0.4, 0.5)
    for i, (name, a, b) in enumerate(zip(labels, reference, current, strict=True)):
        x = ax.left + i * slot + slot * 0.1
        for k, (v, color) in enumerate(((a, PALETTE[0]), (b, PALETTE[1]))):
            y = ax.py(max(v, 0.0))
            body.append(
                f'<rect x="{_c(x + k * bar)}" y="{_c(y)}" width="{_c(bar)}" height="{_c(ax.py(0.0) - y)}" '
                f'fill="{color}" fill-opacity="0.8"><title>{escape(name)}: {names[k]} {number(v)}</title></rect>'
            )
    if len(labels) <= 12:
        for i, name in enumerate(labels):
            body.append(
                f'<text x="{_c(ax.left + (i + 0.5) * slot)}" y="{_c(ax.top + ax.h + 14)}" text-anchor="middle" fill="{AXIS}">{escape(_clip(name, 8))}</text>'
            )
    legend, _ = _legend(
        [(names[0], PALETTE[0], False), (names[1], PALETTE[1], False)], left, top + 4, w
    )
    return _svg(title, WIDTH, HEIGHT, body + legend)
