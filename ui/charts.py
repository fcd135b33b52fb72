"""Chart builders: pure functions from tidy frames to Altair charts (tested through `chart.to_dict()`, no browser).

Each builder takes display-ready columns (`name`, `period`, `value`, ...) and the texts it shows, already translated,
so it knows nothing about languages, the warehouse or Streamlit.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

# Altair validates every schema object as it is built ("debug mode"), which costs more than building the page. The
# builders' output is validated once in the tests (`chart.to_dict()` validates), so skip it at run time.
alt.utils.schemapi.disable_debug_mode()

# Colour-blind-safe categorical palette (Okabe-Ito) for municipalities; benchmarks are grey and dashed.
MUNICIPALITY_COLOURS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
BENCHMARK_COLOURS = ["#555555", "#999999", "#BBBBBB"]
STATUS_COLOURS = {
    "better": "#1a9850", "similar": "#fdd835", "worse": "#d73027", "higher": "#4575b4", "lower": "#91bfdb",
    "not_compared": "#9e9e9e", "benchmark": "#555555",
    "q1": "#edf8fb", "q2": "#b3cde3", "q3": "#8c96c6", "q4": "#8856a7", "q5": "#810f7c",
}
CHART_HEIGHT = 300  # px of plot; axes, their titles and the legend come on top of it

# Legends and long axis titles. Vega-Lite neither wraps a legend nor an axis title, and a phone's chart is ~300 px
# wide, so a one-row legend ran off the chart's edge (the last names missing) and a rotated axis title off its top.
# A legend below the chart gets as many columns as the plot's width holds: a Vega expression on the chart's `width`
# signal, which Vega re-evaluates when the container is resized (seen in Chromium from 1400 to 390 px and back).
# An entry's width is estimated from its label, generously, so a column count that fits by the estimate fits on
# screen; `tests/test_browser_phone.py` checks the drawn legends on a phone.
LEGEND_LABEL_PX = 14  # font size of legend labels in Streamlit's chart theme; exports draw Vega's smaller 10 px
GLYPH_WIDTH_EM = 0.6  # a generous average glyph width (Source Sans measures ~0.45 em on "Orimattila")
LEGEND_ENTRY_EXTRA_PX = 40  # the symbol, its gap to the label and the gap to the next column
LEGEND_MIN_LABEL_PX = 60  # labelLimit never below this, however narrow the chart
# The page's charts fill the container's width and keep their plot height: Streamlit's theme fits the whole chart,
# legend too, into the height, which on a phone left a plot squeezed by three rows of legend. (Exports set their own.)
GROW_DOWN = alt.AutoSizeParams(type="fit-x", contains="padding")
# Vega sizes a text by its font size, the browser by its line box (~1.35 em): a little more room on top keeps the
# topmost title's line box inside the chart too. Exports set their own padding.
PADDING = {"top": 10, "left": 5, "right": 5, "bottom": 5}
AXIS_TITLE_LINE_CHARS = 36  # ~230 px at Streamlit's 14 px: fits a phone's plot, so a title wraps, never cuts
TITLE_LINE_HEIGHT_PX = 16


# Vega's number format locale per language, so chart labels and tooltips read 10,3 in Finnish and Swedish.
NUMBER_LOCALES = {
    "fi": {"decimal": ",", "thousands": "\u00a0", "grouping": [3], "currency": ["", "\u00a0€"]},
    "sv": {"decimal": ",", "thousands": "\u00a0", "grouping": [3], "currency": ["", "\u00a0€"]},
    "en": {"decimal": ".", "thousands": ",", "grouping": [3], "currency": ["€", ""]},
}


def with_locale(spec: dict, lang: str) -> dict:
    """The spec with the language's number format (Vega-Lite `config.locale`)."""
    config = dict(spec.get("config", {}))
    config["locale"] = {"number": NUMBER_LOCALES.get(lang, NUMBER_LOCALES["fi"])}
    return {**spec, "config": config}


def records(frame: pd.DataFrame) -> list[dict]:
    """A frame as plain JSON-ready records (missing -> None), built column-wise because it runs on every page run."""
    columns = []
    for name in frame.columns:
        column = frame[name]
        values = column.to_numpy(dtype=object, na_value=None) if column.dtype != bool else column.to_numpy()
        columns.append(values.tolist())
    names = list(frame.columns)
    return [dict(zip(names, row)) for row in zip(*columns)]


def to_vega_lite(chart: alt.TopLevelMixin) -> dict:
    """The Vega-Lite spec of a chart, built quickly for display.

    Inline data (DataFrames, `alt.Data(values=...)`) is lifted into the spec's top-level `datasets` as plain records,
    so Altair neither sanitises frames nor walks every record while serialising; the result is the same chart.
    """
    datasets: dict[str, object] = {}

    def lift(node):
        data = getattr(node, "data", alt.Undefined)
        values, data_format = None, alt.Undefined
        if isinstance(data, pd.DataFrame):
            values = records(data)
        elif isinstance(data, alt.Data) and data._get("values", alt.Undefined) is not alt.Undefined:
            values, data_format = data.values, data._get("format", alt.Undefined)
        if values is not None or getattr(node, "layer", alt.Undefined) is not alt.Undefined:
            node = node.copy(deep=False)
        if values is not None:
            name = f"tiedolla_{len(datasets)}"
            datasets[name] = values
            node.data = alt.Data(name=name) if data_format is alt.Undefined else alt.Data(name=name, format=data_format)
        if getattr(node, "layer", alt.Undefined) is not alt.Undefined:
            node.layer = [lift(layer) for layer in node.layer]
        return node

    spec = lift(chart).to_dict(validate=False)
    spec["datasets"] = {**spec.get("datasets", {}), **datasets}
    return spec


def legend_below(labels: list[str]) -> alt.Legend:
    """A legend under the plot whose entries wrap into rows, as many columns as the plot's width holds by the
    labels' estimated widths, so no entry is cut or runs off the chart: on a phone, a wide screen or in an export."""
    entries = [round(len(label) * LEGEND_LABEL_PX * GLYPH_WIDTH_EM + LEGEND_ENTRY_EXTRA_PX) for label in labels]
    # One row when all entries fit side by side (each column is as wide as its own entry); else a grid whose
    # columns are each as wide as the widest entry, which then surely fits.
    one_row, widest = sum(entries), max(entries, default=1)
    return alt.Legend(
        orient="bottom", direction="horizontal", title=None,
        columns=alt.ExprRef(f"width >= {one_row} ? {max(len(entries), 1)} : max(1, floor(width / {widest}))"),
        # Only a label longer than the whole plot is shortened (with "…"), rather than drawn past the chart's edge.
        labelLimit=alt.ExprRef(f"max({LEGEND_MIN_LABEL_PX}, width - {LEGEND_ENTRY_EXTRA_PX})"),
    )


def title_lines(name: str, unit: str = "", per_line: int = AXIS_TITLE_LINE_CHARS) -> str | list[str]:
    """An axis title "name (unit)" as lines of about `per_line` characters, for Vega draws an array of strings as
    lines; the unit in brackets is never split. A short title stays one string."""
    words = name.split() + ([f"({unit})"] if unit else [])
    lines: list[str] = []
    for word in words:
        if lines and len(lines[-1]) + 1 + len(word) <= per_line:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines if len(lines) > 1 else name if not lines else lines[0]


def title_above_plot(lines: str | list[str]) -> alt.Axis:
    """A value axis whose title (from `title_lines`) stands above the plot, horizontal and left-aligned with the
    axis labels: a rotated title is limited to the plot's height, and was cut off on a phone."""
    count = 1 if isinstance(lines, str) else len(lines)
    return alt.Axis(titleAngle=0, titleAnchor="end", titleAlign="left", titleBaseline="bottom",
                    titleLineHeight=TITLE_LINE_HEIGHT_PX, titleY=-12 - TITLE_LINE_HEIGHT_PX * (count - 1))


def period_to_date(periods: pd.Series) -> pd.Series:
    """`2024` -> `2024-01-01` (on the year's axis tick); `2024-05` -> `2024-05-01`, as ISO date strings."""
    periods = periods.astype(str)
    return periods.where(periods.str.len() == 7, periods + "-01") + "-01"


def trend_chart(frame: pd.DataFrame, *, unit: str, value_title: str, monthly: bool, decimals: int,
                order: list[str], benchmarks: list[str], index_mode: bool = False) -> alt.Chart:
    """Lines over time, one per area; `frame` has name, period, value. Benchmarks are dashed grey lines."""
    # Only three columns go to the browser: the chart reruns with every selection, and data size is its cost.
    data = frame.assign(date=period_to_date(frame["period"]))[["name", "date", "value"]]
    colours, dashes = [], []
    municipal_index = benchmark_index = 0
    for name in order:
        if name in benchmarks:
            colours.append(BENCHMARK_COLOURS[benchmark_index % len(BENCHMARK_COLOURS)])
            dashes.append([5, 3])
            benchmark_index += 1
        else:
            colours.append(MUNICIPALITY_COLOURS[municipal_index % len(MUNICIPALITY_COLOURS)])
            dashes.append([1, 0])
            municipal_index += 1
    time_format = "%m/%Y" if monthly else "%Y"
    value_format = f",.{decimals}f"
    y_title = title_lines(value_title, unit if not index_mode else "")
    base = alt.Chart(data).encode(
        x=alt.X("date:T", title=None,
                axis=alt.Axis(format=time_format) if monthly else alt.Axis(format="%Y", tickCount="year")),
        y=alt.Y("value:Q", title=y_title, scale=alt.Scale(zero=False), axis=title_above_plot(y_title)),
        color=alt.Color("name:N", title=None, sort=order, scale=alt.Scale(domain=order, range=colours),
                        legend=legend_below(order)),
        strokeDash=alt.StrokeDash("name:N", legend=None, scale=alt.Scale(domain=order, range=dashes)),
        tooltip=[alt.Tooltip("name:N", title=" "), alt.Tooltip("date:T", title=" ", format=time_format),
                 alt.Tooltip("value:Q", title=value_title, format=value_format)],
    )
    lines = base.mark_line(strokeWidth=2.5, point=not monthly)
    return lines.properties(height=CHART_HEIGHT, width="container", autosize=GROW_DOWN, padding=PADDING)


def comparison_chart(frame: pd.DataFrame, *, unit: str, value_title: str, decimals: int,
                     status_labels: dict[str, str], benchmark_value: float | None = None,
                     benchmark_name: str | None = None) -> alt.LayerChart:
    """Horizontal bars per area for one period, coloured by `status`, with 95 % intervals where `lower`/`upper`
    exist and a vertical rule at the benchmark value."""
    frame = frame.assign(status_label=frame["status"].map(status_labels).fillna(frame["status"]))
    used = [status for status in STATUS_COLOURS if status in set(frame["status"])]
    order = frame["name"].tolist()
    has_interval = "lower" in frame and frame["lower"].notna().any()
    columns = ["name", "value", "status", "status_label"] + (["lower", "upper"] if has_interval else [])
    # The value label sits past the interval's end, so the error bar never runs through the number.
    label_at = frame[["value", "upper"]].max(axis=1) if has_interval else frame["value"]
    data = frame[columns].assign(label_at=label_at)
    value_format = f",.{decimals}f"
    tooltip = [alt.Tooltip("name:N", title=" "), alt.Tooltip("value:Q", title=value_title, format=value_format),
               alt.Tooltip("status_label:N", title=" ")]
    if has_interval:
        tooltip += [alt.Tooltip("lower:Q", title="95 % −", format=value_format),
                    alt.Tooltip("upper:Q", title="95 % +", format=value_format)]
    # Every layer names the value axis alike: Vega-Lite joins the layers' titles, and one layer without a title
    # (the error bars') used to leave the axis with none, so the unit was nowhere on the chart.
    x_title = title_lines(value_title, unit)
    labels_shown = [status_labels.get(s, s) for s in used]
    bars = alt.Chart().mark_bar().encode(
        y=alt.Y("name:N", title=None, sort=order),
        x=alt.X("value:Q", title=x_title),
        color=alt.Color("status_label:N", title=None,
                        scale=alt.Scale(domain=labels_shown, range=[STATUS_COLOURS[s] for s in used]),
                        legend=legend_below(labels_shown)),
        tooltip=tooltip,
    )
    layers = [bars]
    if has_interval:
        layers.append(alt.Chart().mark_errorbar(ticks=True, color="#222222").encode(
            y=alt.Y("name:N", sort=order), x=alt.X("lower:Q", title=x_title), x2="upper:Q"))
    labels = alt.Chart().mark_text(align="left", dx=4, color="#222222").encode(
        y=alt.Y("name:N", sort=order), x=alt.X("label_at:Q", title=x_title),
        text=alt.Text("value:Q", format=value_format))
    layers.append(labels)
    chart = alt.layer(*layers, data=data)
    if benchmark_value is not None:
        rule = pd.DataFrame({"value": [benchmark_value], "name": [benchmark_name or ""]})
        chart = chart + alt.Chart(rule).mark_rule(color="#333333", strokeDash=[4, 3], strokeWidth=2).encode(
            x=alt.X("value:Q", title=x_title),
            tooltip=[alt.Tooltip("name:N", title=" "), alt.Tooltip("value:Q", title=value_title, format=value_format)])
    # A step per bar (not a fixed height) keeps bars readable however many areas are compared.
    return chart.properties(height=alt.Step(30), width="container", autosize=GROW_DOWN, padding=PADDING)


# The map's named datasets: between reruns only their rows change, never the spec (see `map_chart`).
MAP_VALUES = "tiedolla_map_values"
MAP_SELECTED = "tiedolla_map_selected"


def map_chart(shapes: alt.Data | alt.UrlData, code_expression: str, values: pd.DataFrame, *, value_title: str,
              decimals: int, highlighted: list[str], scheme: str = "blues") -> alt.LayerChart:
    """Choropleth of all municipalities; `code_expression` (Vega) gives each shape its KU code, `values` has
    region, name, value. Municipalities without a value are light grey; the highlighted ones are outlined.

    The shapes are the layered chart's data, given once rather than to each layer, so Altair never copies them
    (it deep-copies a layer's inline data each time the layer is combined or changed). The values and the outlined
    municipalities are named datasets that the shapes look up: a rerun with other values or another selection gives
    the same spec with other rows, and Streamlit then swaps the drawn chart's data in place."""
    value_format = f",.{decimals}f"
    # Every municipality is drawn grey first; those with a value are coloured on top (a missing value stays grey,
    # never the lowest colour of the scale).
    background = alt.Chart().mark_geoshape(fill="#e6e6e6", stroke="white", strokeWidth=0.25).encode(
        tooltip=[alt.Tooltip("name:N", title=" ")])
    fill = alt.Chart().transform_filter("isValid(datum.value)").mark_geoshape(stroke="white", strokeWidth=0.25).encode(
        color=alt.Color("value:Q", title=value_title, scale=alt.Scale(scheme=scheme),
                        legend=alt.Legend(orient="top-left", format=value_format, gradientLength=160)),
        tooltip=[alt.Tooltip("name:N", title=" "), alt.Tooltip("value:Q", title=value_title, format=value_format)],
    )
    outline = alt.Chart().transform_lookup(
        lookup="code", from_=alt.LookupData(alt.Data(name=MAP_SELECTED), "region", ["selected"]),
    ).transform_filter("datum.selected === true").mark_geoshape(fill=None, stroke="#d7191c", strokeWidth=1.8)
    datasets = {
        MAP_VALUES: records(values[["region", "name", "value"]]),
        MAP_SELECTED: [{"region": code, "selected": True} for code in dict.fromkeys(highlighted)],
    }
    chart = alt.layer(background, fill, outline, data=shapes, datasets=datasets).transform_calculate(
        code=code_expression,
    ).transform_lookup(lookup="code", from_=alt.LookupData(alt.Data(name=MAP_VALUES), "region", ["name", "value"]))
    return chart.project(type="mercator").properties(height=560, width="container")
