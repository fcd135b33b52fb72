"""Chart builders: valid Vega-Lite (Altair validates in `to_dict()`), the right encodings, and `to_vega_lite` giving the
same chart with its data lifted into named datasets; legends and axis titles drawn whole at a phone's width and a
wide screen's (rendered with vl-convert, no browser). Frames here are constructed."""

from __future__ import annotations

import json
import re
from xml.etree import ElementTree

import altair as alt
import pandas as pd
import pytest
import vl_convert

from indicators.regions import RAW_DIR
from ui import charts
from ui.loading import BUNDLED_BOUNDARIES

# Opens no warehouse (or only the bundled snapshot's files): the PostgreSQL run leaves it out.
pytestmark = pytest.mark.no_warehouse

TREND = pd.DataFrame({
    "name": ["Hollola"] * 3 + ["Päijät-Häme"] * 3,
    "period": ["2018", "2019", "2020"] * 2,
    "value": [9.1, 8.4, None, 12.0, 11.2, 13.5],
})
COMPARISON = pd.DataFrame({
    "name": ["Hollola", "Heinola", "Päijät-Häme"],
    "value": [10.3, 15.9, 14.6],
    "lower": [9.8, 15.2, None],
    "upper": [10.9, 16.8, None],
    "status": ["better", "worse", "benchmark"],
})
LABELS = {"better": "better", "worse": "worse", "benchmark": "benchmark"}


def inline_values(spec: dict) -> list:
    return [row for rows in spec.get("datasets", {}).values() if isinstance(rows, list) for row in rows]


def test_trend_chart_is_valid_and_dashes_only_the_benchmark():
    chart = charts.trend_chart(TREND, unit="%", value_title="Työttömyysaste", monthly=False, decimals=1,
                               order=["Hollola", "Päijät-Häme"], benchmarks=["Päijät-Häme"])
    spec = chart.to_dict()  # validates against the Vega-Lite schema
    encoding = spec["encoding"]
    assert encoding["strokeDash"]["scale"] == {"domain": ["Hollola", "Päijät-Häme"], "range": [[1, 0], [5, 3]]}
    assert encoding["y"]["title"] == "Työttömyysaste (%)"
    assert encoding["color"]["scale"]["domain"] == ["Hollola", "Päijät-Häme"]  # every line has its legend entry
    dates = sorted({row["date"] for row in inline_values(spec)})
    assert dates == ["2018-01-01", "2019-01-01", "2020-01-01"]


def test_a_long_axis_title_wraps_into_lines_that_give_the_whole_title():
    name = "Arbetslösas andel av arbetskraften, sysselsättningsstatistiken"
    chart = charts.trend_chart(TREND, unit="kpl / 100 työtöntä", value_title=name, monthly=False, decimals=1,
                               order=["Hollola", "Päijät-Häme"], benchmarks=["Päijät-Häme"])
    y = chart.to_dict()["encoding"]["y"]
    lines = y["title"]
    assert isinstance(lines, list) and len(lines) >= 2
    assert " ".join(lines) == f"{name} (kpl / 100 työtöntä)"
    assert all(len(line) <= charts.AXIS_TITLE_LINE_CHARS for line in lines)
    assert lines[-1].endswith("(kpl / 100 työtöntä)")  # the unit is never split over two lines
    assert y["axis"]["titleAngle"] == 0  # horizontal, above the plot: not limited to the plot's height


def test_a_short_axis_title_stays_one_line():
    assert charts.title_lines("Työttömyysaste", "%") == "Työttömyysaste (%)"
    assert charts.title_lines("Indeksi") == "Indeksi"


def test_monthly_periods_become_first_days_of_months():
    assert charts.period_to_date(pd.Series(["2020-10", "2021"])).tolist() == ["2020-10-01", "2021-01-01"]


def test_comparison_chart_draws_intervals_and_the_benchmark_rule():
    chart = charts.comparison_chart(COMPARISON, unit="%", value_title="Työttömyysaste", decimals=1,
                                    status_labels=LABELS, benchmark_value=14.6, benchmark_name="Päijät-Häme")
    spec = chart.to_dict()
    marks = json.dumps(spec)
    assert '"errorbar"' in marks and '"rule"' in marks
    colours = spec["layer"][0]["encoding"]["color"]["scale"]
    assert colours["domain"] == ["better", "worse", "benchmark"]
    assert colours["range"] == [charts.STATUS_COLOURS["better"], charts.STATUS_COLOURS["worse"],
                                charts.STATUS_COLOURS["benchmark"]]


def test_the_comparison_names_its_value_axis_with_the_unit():
    # Every layer's x carries the title: one layer without it used to leave the axis untitled.
    chart = charts.comparison_chart(COMPARISON, unit="%", value_title="Työttömyysaste", decimals=1,
                                    status_labels=LABELS, benchmark_value=14.6, benchmark_name="Päijät-Häme")
    assert axis_titles(render_svg(chart, 324)) == ["Työttömyysaste (%)"]


def test_comparison_without_intervals_has_no_error_bars():
    chart = charts.comparison_chart(COMPARISON.drop(columns=["lower", "upper"]), unit="", value_title="x",
                                    decimals=0, status_labels=LABELS)
    assert '"errorbar"' not in json.dumps(chart.to_dict())


# The four municipalities of the default view and two benchmarks, one with a long name (a wellbeing services county).
WIDE_TREND_NAMES = ["Asikkala", "Heinola", "Hollola", "Orimattila", "Päijät-Hämeen hyvinvointialue", "Koko maa"]
WIDE_TREND = pd.DataFrame({"name": [name for name in WIDE_TREND_NAMES for _ in range(2)],
                           "period": ["2019", "2020"] * len(WIDE_TREND_NAMES),
                           "value": [float(index) for index in range(2 * len(WIDE_TREND_NAMES))]})
STATUS_TEXTS = {"better": "parempi kuin vertailualue", "worse": "huonompi kuin vertailualue",
                "similar": "samaa tasoa kuin vertailualue", "benchmark": "vertailualue"}
WIDE_COMPARISON = pd.DataFrame({"name": [*WIDE_TREND_NAMES[:4], "Päijät-Häme"], "value": [9.0, 12.9, 6.8, 10.2, 11.6],
                                "status": ["better", "worse", "better", "similar", "benchmark"]})
SVG_NS = "{http://www.w3.org/2000/svg}"


def render_svg(chart, chart_width: int) -> ElementTree.Element:
    """The chart drawn by Vega `chart_width` px wide in all (as the page's container gives it), with the sizes of
    Streamlit's chart theme that matter here: legend labels at 14 px, axis labels shortened past 100 px."""
    spec = charts.to_vega_lite(chart)
    spec["width"] = chart_width  # autosize fit-x: the whole chart, axes and all, fits this width
    spec.setdefault("config", {}).update(legend={"labelFontSize": 14}, axis={"labelLimit": 100})
    return ElementTree.fromstring(vl_convert.vegalite_to_svg(spec))


def texts_of(svg: ElementTree.Element, role: str) -> list[tuple[str, float, float]]:
    """The texts of one role (e.g. legend labels): each one's lines joined, and its x and y in the SVG."""
    found = []

    def walk(node, x, y):
        if match := re.search(r"translate\(([-\d.e]+),\s*([-\d.e]+)", node.get("transform", "")):
            x, y = x + float(match.group(1)), y + float(match.group(2))
        if role in node.get("class", ""):
            for text in node.iter(f"{SVG_NS}text"):
                inner = re.search(r"translate\(([-\d.e]+),\s*([-\d.e]+)", text.get("transform", ""))
                dx, dy = (float(inner.group(1)), float(inner.group(2))) if inner else (0.0, 0.0)
                lines = [span.text or "" for span in text.findall(f"{SVG_NS}tspan")] or [text.text or ""]
                found.append((" ".join(lines), x + dx, y + dy))
            return
        for child in node:
            walk(child, x, y)

    walk(svg, 0.0, 0.0)
    return found


def axis_titles(svg: ElementTree.Element) -> list[str]:
    return [text for text, _, _ in texts_of(svg, "role-axis-title")]


# A chart on a 390 px phone (in a theme page's panel), and on a 1400 px screen.
@pytest.mark.parametrize("chart_width", [324, 1300])
@pytest.mark.parametrize("builder", ["trend", "comparison"])
def test_every_legend_entry_is_drawn_whole_inside_the_chart(builder, chart_width):
    if builder == "trend":
        chart = charts.trend_chart(WIDE_TREND, unit="%", value_title="Työttömyysaste, vuosikeskiarvo",
                                   monthly=False, decimals=1, order=WIDE_TREND_NAMES,
                                   benchmarks=WIDE_TREND_NAMES[4:])
        expected = WIDE_TREND_NAMES
    else:
        chart = charts.comparison_chart(WIDE_COMPARISON, unit="%", value_title="Työttömyysaste", decimals=1,
                                        status_labels=STATUS_TEXTS, benchmark_value=11.6,
                                        benchmark_name="Päijät-Häme")
        expected = [STATUS_TEXTS[status] for status in ("better", "similar", "worse", "benchmark")]
    svg = render_svg(chart, chart_width)
    width = float(svg.get("width"))
    labels = texts_of(svg, "role-legend-label")
    assert [text for text, _, _ in labels] == expected  # none missing, none shortened with "…"
    for text, x, _ in labels:
        # Vega does not say how wide it drew a text: estimated at 0.55 em a glyph, at 14 px.
        assert 0 <= x and x + len(text) * 14 * 0.55 <= width, (text, x, width)
    rows = {round(y) for _, _, y in labels}
    assert (len(rows) > 1) == (chart_width < 600)  # entries wrap into rows on a phone, one row on a wide screen


@pytest.mark.parametrize("builder", ["trend", "comparison", "map"])
def test_fast_serialisation_gives_the_same_chart_and_data(builder):
    if builder == "trend":
        chart = charts.trend_chart(TREND, unit="%", value_title="x", monthly=False, decimals=1,
                                   order=["Hollola", "Päijät-Häme"], benchmarks=["Päijät-Häme"])
    elif builder == "comparison":
        chart = charts.comparison_chart(COMPARISON, unit="%", value_title="x", decimals=1, status_labels=LABELS,
                                        benchmark_value=14.6, benchmark_name="Päijät-Häme")
    else:
        topology = json.loads((RAW_DIR / BUNDLED_BOUNDARIES).read_text(encoding="utf-8"))
        shapes = alt.Data(values=topology, format=alt.DataFormat(type="topojson", feature="Kunnat2025_geo"))
        chart = charts.map_chart(shapes, "datum.properties.kunta_k",
                                 pd.DataFrame({"region": ["KU098"], "name": ["Hollola"], "value": [10.3]}),
                                 value_title="x", decimals=1, highlighted=["KU098"])
    slow, fast = chart.to_dict(), charts.to_vega_lite(chart)
    # Same marks and encodings; the data rows are the same, only named differently.
    def strip(spec):
        return json.dumps({k: v for k, v in spec.items() if k not in ("datasets", "data")}, sort_keys=True)

    assert strip(_without_data_refs(slow)) == strip(_without_data_refs(fast))
    assert sorted(map(json.dumps, _all_rows(slow))) == sorted(map(json.dumps, _all_rows(fast)))


def test_the_bundled_map_has_a_shape_for_every_current_municipality_and_no_other():
    # A municipality without a shape would be missing from the map; a shape of a merged one would stay grey.
    from indicators.regions import get_registry

    topology = json.loads((RAW_DIR / BUNDLED_BOUNDARIES).read_text(encoding="utf-8"))
    codes = [shape["properties"]["kunta_k"] for shape in topology["objects"]["Kunnat2025_geo"]["geometries"]]
    assert len(codes) == len(set(codes)) == 308
    assert set(codes) == set(get_registry().codes("municipality"))


def _without_data_refs(node):
    if isinstance(node, dict):
        return {k: _without_data_refs(v) for k, v in node.items() if k not in ("data", "datasets")}
    if isinstance(node, list):
        return [_without_data_refs(item) for item in node]
    return node


def _all_rows(spec) -> list:
    """Every data row of a spec, whether in top-level datasets or inline `data.values` anywhere."""
    rows = []
    if isinstance(spec, dict):
        for values in spec.get("datasets", {}).values():
            rows.extend(values if isinstance(values, list) else [values])
        inline = spec.get("data", {}).get("values") if isinstance(spec.get("data"), dict) else None
        if inline is not None:
            rows.extend(inline if isinstance(inline, list) else [inline])
        for key, value in spec.items():
            if key not in ("datasets", "data"):
                rows.extend(_all_rows(value))
    elif isinstance(spec, list):
        for item in spec:
            rows.extend(_all_rows(item))
    return rows
