"""SVG charts: valid XML with a title, deterministic text, escaped labels, odd data handled."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable

import pytest

from mlspec.report import charts
from mlspec.report.charts import Series

NS = "{" + charts.SVG_NS + "}"

CURVE = [i / 50 for i in range(51)]
CHARTS: dict[str, Callable[[], str]] = {
    "roc": lambda: charts.roc_chart(
        [
            Series("gbt <selected>", CURVE, [x**0.3 for x in CURVE]),
            Series("baseline", [0.0, 1.0], [0.0, 1.0], dashed=True),
        ]
    ),
    "pr": lambda: charts.pr_chart([Series("lr", CURVE, [1 - 0.5 * x for x in CURVE])]),
    "line": lambda: charts.line_chart(
        [Series("loss", [1, 2, 3, 4], [0.9, 0.5, 0.41, 0.4])],
        title="Loss",
        x_label="epoch",
        y_label="loss",
    ),
    "calibration": lambda: charts.calibration_chart(
        [0.1, 0.3, 0.5, 0.9], [0.12, 0.25, 0.55, 0.8], [100, 80, 60, 0]
    ),
    "bar": lambda: charts.bar_chart(
        {f"f{i}": (-1) ** i / (i + 1) for i in range(30)},
        errors={"f0": 0.1},
        title="Importance",
        x_label="drop",
    ),
    "heatmap": lambda: charts.heatmap(
        ["cat", "dog", "<bird>"], [[50, 3, 1], [4, 40, 6], [0, 2, 30]]
    ),
    "scatter": lambda: charts.scatter(
        [i * 0.5 for i in range(3000)],
        [i * 0.5 + (i % 7) for i in range(3000)],
        title="Residuals",
        x_label="prediction",
        y_label="actual",
    ),
}


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{NS}svg"
    assert root[0].tag == f"{NS}title" and root[0].text  # the accessible name comes first
    assert root.get("role") == "img" and root.get("viewBox")
    return root


@pytest.mark.parametrize("name", sorted(CHARTS))
def test_valid_xml_deterministic_and_offline(name: str) -> None:
    svg = CHARTS[name]()
    assert svg == CHARTS[name]()
    root = parse(svg)
    assert (
        "<script" not in svg
        and "href" not in svg
        and "nan" not in svg.lower().replace("<title>", "")
    )
    for el in root.iter():
        for attr in ("x", "y", "x1", "y1", "cx", "cy", "width", "height"):
            if el.get(attr) is not None:
                float(el.get(attr))  # every coordinate is a plain number


def test_inline_drops_the_namespace_only() -> None:
    svg = CHARTS["roc"]()
    inlined = charts.inline(svg)
    assert "http" not in inlined and inlined.startswith("<svg width=")
    assert inlined.replace("<svg ", f'<svg xmlns="{charts.SVG_NS}" ', 1) == svg


def test_labels_are_escaped() -> None:
    svg = charts.bar_chart({"<script>alert(1)</script>": 1.0, "a&b": 0.5}, title="t <x> & 'y'")
    root = parse(svg)
    assert "<script>" not in svg
    assert root[0].text == "t <x> & 'y'"
    texts = [el.text for el in root.iter(f"{NS}text")]
    assert "a&b" in texts and any(t and t.startswith("<script>") for t in texts)
    heat = parse(CHARTS["heatmap"]())
    assert "<bird>" in [el.text for el in heat.iter(f"{NS}text")]


def test_roc_has_the_diagonal_and_a_legend() -> None:
    root = parse(CHARTS["roc"]())
    dashed = [el for el in root.iter(f"{NS}line") if el.get("stroke-dasharray")]
    assert dashed  # chance line (and the dashed baseline's legend entry)
    assert len(list(root.iter(f"{NS}polyline"))) == 2
    assert "gbt <selected>" in [el.text for el in root.iter(f"{NS}text")]


def test_bar_chart_keeps_the_top_15_by_size() -> None:
    root = parse(CHARTS["bar"]())
    bars = [el for el in root.iter(f"{NS}rect") if el.find(f"{NS}title") is not None]
    assert len(bars) == 15
    tips = [el.find(f"{NS}title").text for el in bars]  # type: ignore[union-attr]
    assert tips[0] == "f0: 1 ± 0.1" and tips[1] == "f1: -0.5" and tips[-1].startswith("f14:")


def test_heatmap_cells_and_counts() -> None:
    root = parse(CHARTS["heatmap"]())
    cells = [el for el in root.iter(f"{NS}rect") if el.find(f"{NS}title") is not None]
    assert len(cells) == 9
    assert cells[0].get("fill") != cells[1].get("fill")
    assert cells[0].find(f"{NS}title").text == "actual cat, predicted cat: 50 (92.6% of the row)"  # type: ignore[union-attr]


def test_scatter_is_capped_and_has_the_identity_line() -> None:
    root = parse(CHARTS["scatter"]())
    points = list(root.iter(f"{NS}circle"))
    assert 0 < len(points) <= 1500
    assert any(
        el.find(f"{NS}title") is not None and el.find(f"{NS}title").text == "y = x"
        for el in root.iter(f"{NS}line")
    )  # type: ignore[union-attr]


def test_calibration_skips_empty_bins() -> None:
    root = parse(CHARTS["calibration"]())
    assert len(list(root.iter(f"{NS}circle"))) == 3


@pytest.mark.parametrize(
    "svg",
    [
        charts.roc_chart([]),
        charts.roc_chart([Series("x", [float("nan")], [None])]),
        charts.bar_chart({}, title="empty"),
        charts.bar_chart({"a": float("inf")}, title="inf"),
        charts.heatmap([], []),
        charts.heatmap(["a", "b"], [[1, 2]]),
        charts.scatter([], [], title="s", x_label="x", y_label="y"),
        charts.calibration_chart([None], [None]),
    ],
)
def test_no_data_is_still_a_chart(svg: str) -> None:
    root = parse(svg)
    assert "no data" in [el.text for el in root.iter(f"{NS}text")]


def test_constant_and_single_point_data() -> None:
    parse(charts.scatter([1.0], [1.0], title="one", x_label="x", y_label="y"))
    parse(
        charts.line_chart(
            [Series("flat", [0, 1, 2], [3, 3, 3])], title="flat", x_label="x", y_label="y"
        )
    )
    parse(charts.bar_chart({"zero": 0.0}, title="zero"))
    parse(charts.heatmap(["a", "b"], [[0, 0], [0, 0]]))


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.84, "0.84"),
        (0.861234, "0.8612"),
        (12.3456, "12.35"),
        (12345.6, "12346"),
        (2e-5, "2e-05"),
        (3e7, "3e+07"),
        (0.0, "0"),
        (-0.00001, "-1e-05"),
        (None, "n/a"),
        (7, "7"),
        (-0.00004, "-4e-05"),
    ],
)
def test_number_format(value: float | None, text: str) -> None:
    assert charts.number(value) == text
