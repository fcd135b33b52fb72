"""Chart builders: valid Vega-Lite (Altair validates in `to_dict()`), the right encodings, and `to_vega_lite` giving the
same chart with its data lifted into named datasets. Frames here are constructed."""

from __future__ import annotations

import json

import altair as alt
import pandas as pd
import pytest

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
    dates = sorted({row["date"] for row in inline_values(spec)})
    assert dates == ["2018-01-01", "2019-01-01", "2020-01-01"]


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


def test_comparison_without_intervals_has_no_error_bars():
    chart = charts.comparison_chart(COMPARISON.drop(columns=["lower", "upper"]), unit="", value_title="x",
                                    decimals=0, status_labels=LABELS)
    assert '"errorbar"' not in json.dumps(chart.to_dict())


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
