"""Streamlit building blocks shared by pages: an indicator panel (trend, comparison, table, source line), key figures,
the concept map, the "old data" badge and the "data as of" line. Data comes from ui.loading; charts from ui.charts;
text through ui.i18n. What only an analyst needs (series ids, commands) goes into an "analyst details" expander.
"""

from __future__ import annotations

import re

import pandas as pd
import streamlit as st

from indicators.catalogue import Indicator, Theme
from indicators.freshness import frequency_of, is_stale, latest_period as latest_period_of
from indicators.regions import AGGREGATE_MIN_COVERAGE, COUNTRY
from indicators.statistics import round_half_up
from ui import charts, loading, state
from ui.format import MINUS, date_label, is_missing, number, period_label, with_unit
from ui.i18n import current_language, pick, t, t_or

# The browser's own Print shows the page, not the app around it: no sidebar, header, toolbar or buttons, the main
# column over the whole sheet, and the open panels and charts kept whole on a page where they fit. Closed panels
# have no content to print (they are computed only when opened); the PDF report holds every indicator.
PRINT_STYLESHEET = """<style>
@media print {
  [data-testid="stSidebar"], [data-testid="stHeader"], [data-testid="stToolbar"], [data-testid="stDecoration"],
  [data-testid="stSidebarCollapsedControl"], [data-testid="stExpandSidebarButton"], [data-testid="stStatusWidget"],
  .stDownloadButton, .stButton, [data-testid="stBaseButton-elementToolbar"] { display: none !important; }
  [data-testid="stMain"], [data-testid="stAppViewContainer"] { margin-left: 0 !important; width: 100% !important; }
  [data-testid="stMainBlockContainer"] { max-width: 100% !important; padding: 0 1rem !important; }
  .stVegaLiteChart, [data-testid="stMetric"], [data-testid="stTable"] { break-inside: avoid; }
  h1, h2, h3 { break-after: avoid; }
}
</style>"""

KIND_COLOURS = {"structural": "#dbe9f6", "situational": "#fde9d9"}


def count_text(thing: str, count: int) -> str:
    """"1 lägesbild", "3 lägesbilder": a count with its noun in the right number (keys `count.<thing>.one|other`;
    Finnish, Swedish and English all have these two forms)."""
    return t(f"count.{thing}.{'one' if count == 1 else 'other'}", n=number(count, 0))


def area_list(municipalities: list[str], benchmark: str) -> list[str]:
    """Selected municipalities, then the benchmark, then the whole country (each once)."""
    return list(dict.fromkeys([*municipalities, benchmark, COUNTRY]))


def names_for(codes: list[str]) -> dict[str, str]:
    registry = loading.regions()
    lang = current_language()
    return {code: registry.name(code, lang) for code in codes}


def indicator_label(catalogue, indicator_id: str) -> str:
    """An indicator as a picker names it, with its theme: "Työttömyysaste · Työllisyys"."""
    indicator = catalogue.indicators[indicator_id]
    return f"{pick(indicator.name.as_dict())} · {pick(catalogue.theme(indicator.theme).name.as_dict())}"


def prefixed_text(prefix: str, key: str) -> str:
    """The text `<prefix>.<key>`: a picker's label for each of its option keys (`partial(prefixed_text, prefix)`)."""
    return t(f"{prefix}.{key}")


def unit_text(indicator: Indicator) -> str:
    """The unit in the chosen language (every catalogue unit has a `unit.<unit>` text; a test keeps it so)."""
    return t(f"unit.{indicator.unit}")


def latest_period(rows: pd.DataFrame, municipalities: list[str]) -> str | None:
    """The newest period in which any selected municipality (or else any area shown) has a value."""
    own = rows[rows["region"].isin(municipalities)]
    source = own if not own.empty else rows
    return None if source.empty else str(source["period"].max())


def period_span(span: tuple[str, str]) -> str:
    first, last = span
    return period_label(first) if first == last else f"{period_label(first)} – {period_label(last)}"


def stale_badge(period: str | None, frequency: str | None = None, short: bool = False) -> str:
    """A Markdown badge "vanha tieto: viimeisin lokakuu 2023" when data whose latest period is `period` are old by
    the rule of indicators.freshness, else "". It fits in headings, key figures and expander labels alike. Without a
    frequency, the period's own form tells it ("2023" annual, "2023-10" monthly). `short`: only "vanha tieto", for
    a place that names the period just before it."""
    if not period or not is_stale(str(period), frequency or frequency_of(str(period)), loading.today()):
        return ""
    # No icon inside: a Material icon is a ligature, so readers and screen readers would get the English word
    # "history" in the middle of a Finnish heading.
    return f":orange-badge[{t('freshness.old_short') if short else stale_text(period)}]"


def stale_text(period: str) -> str:
    return t("freshness.old", period=period_label(period))


def with_badge(text: str, badge: str) -> str:
    return f"{text} {badge}" if badge else text


def updated_text(note: loading.SourceNote) -> str:
    """The data dates of a source line: one date when all sources share it, else each source's own date ("Statistics
    Finland 25.2.2025; THL 23.4.2025"), and plainly "not known" where a source gave none."""
    dated = note.updated_by or [("", note.data_updated)]
    dates = {updated for _, updated in dated}
    if len(dates) == 1:
        only = next(iter(dates))
        return date_label(only) if only else t("chart.updated_unknown")
    return "; ".join(f"{publisher_label(label)} {date_label(updated) if updated else t('chart.updated_unknown')}"
                     for label, updated in dated)


_VIA = re.compile(r"\s*\(via [^)]*\)")


def publisher_label(text: str | None) -> str:
    """A publisher's name in the reader's language (ui/locales/*/publishers.toml), without the "(via …)" of a
    mirror, which belongs to the provenance details, not to the source line."""
    if not text:
        return ""
    text = _VIA.sub("", text).strip()
    return t_or(f"publisher.{text}", "") or "; ".join(
        t_or(f"publisher.{part}", part) for part in (part.strip() for part in text.split(";")))


def source_line(rows: pd.DataFrame, note: loading.SourceNote | None = None) -> str:
    note = note or loading.source_note(rows)
    if note is None:
        return ""
    source = "; ".join(dict.fromkeys(publisher_label(publisher) for publisher in note.publishers))
    if len(note.tables) > 1:  # the rows come from several tables: name them all, not only the latest
        source += f" ({t('chart.tables', tables=', '.join(note.tables))})"
    text = t(
        "chart.source",
        source=source,
        period=period_span((note.first_period, note.last_period)),
        updated=updated_text(note),
        licence=", ".join(note.licences),
    )
    if note.areas:  # area values are sums of today's municipalities, also for years before a merger
        text += " " + t("chart.areas")
    return text


def fetched_at(rows: pd.DataFrame) -> str:
    note = loading.source_note(rows)
    return (note.fetched_at if note else None) or ""


def stale_warning(rows: pd.DataFrame, note: loading.SourceNote | None = None) -> None:
    note = note or loading.source_note(rows)
    if note and note.stale_errors:
        st.warning(t("chart.stale", error=note.stale_errors[0][:300]), icon=":material/warning:")


def analyst_details(text: str) -> None:
    """Series ids, file names and commands: for the analyst who maintains the data, out of a resident's way."""
    with st.expander(t("indicator.analyst_details"), icon=":material/terminal:"):
        st.markdown(text)


def not_fetched(indicator: Indicator) -> None:
    """An indicator without data: a mistake in its definition is said as one, never as data that a refresh would
    bring. The reader gets plain words; the file, field, series ids and commands are in the analyst details."""
    problems = loading.indicator_problems(indicator.id)
    if problems:
        st.error(t("indicator.config_error"), icon=":material/settings_alert:")
        analyst_details(t("indicator.config_error_details", problems="; ".join(problems)))
        return
    st.info(t("indicator.not_fetched", definition=pick(indicator.description.as_dict())),
            icon=":material/hourglass_empty:")
    analyst_details(t("indicator.not_fetched_details", series=", ".join(indicator.formula.series_ids())))


# A theme whose data cover at most this many municipalities has partial data (a regional source, the bundled
# emissions of 13 municipalities): the theme page names them rather than leaving the others blank.
FEW_MUNICIPALITIES = 100


def no_benchmark_reason(indicator: Indicator) -> str:
    """The text key saying why an area has no value: a rate that only comes for municipalities cannot be summed;
    a sum or ratio needs values from at least 90 % of the area's municipalities (indicators.regions)."""
    formula = indicator.formula
    if formula.type in ("value", "change", "index") and formula.aggregate == "none":
        return "indicator.no_benchmark_municipal_only"
    return "indicator.no_benchmark_coverage"


def municipalities_with_data(table: pd.DataFrame) -> int:
    return int(table.loc[table["region"].astype(str).str.startswith("KU"), "region"].nunique())


def newest_period(periods: list[str]) -> str | None:
    return latest_period_of(periods)


def wide_table(rows: pd.DataFrame, order: list[str], decimals: int) -> pd.DataFrame:
    """The table alternative of a trend: a row per period (newest first), a column per area in `order`, values
    written in the reader's number format."""
    wide = rows.pivot_table(index="period", columns="name", values="value", aggfunc="first")
    wide = wide[[name for name in order if name in wide.columns]].sort_index(ascending=False)
    wide.index = [period_label(period) for period in wide.index]
    return wide.map(lambda value: number(value, decimals))


def rebased(rows: pd.DataFrame, start: str) -> pd.DataFrame:
    """Each area's values as an index, its value in `start` = 100; areas without a value then are left out."""
    base = rows[rows["period"] == start].set_index("region")["value"]
    return rows.assign(value=rows["value"] / rows["region"].map(base) * 100).dropna(subset=["value"])


def indicator_panel(indicator: Indicator, municipalities: list[str], benchmark: str) -> None:
    """Heading (with the old-data badge when the latest period shown is old), information need, then trend /
    comparison / table tabs with the source line beneath."""
    table = loading.indicator_table(indicator)
    areas = area_list(municipalities, benchmark)
    rows = table[table["region"].isin(areas)]
    last = None if rows.empty else str(rows["period"].max())
    st.subheader(with_badge(pick(indicator.name.as_dict()), stale_badge(last, indicator.frequency)),
                 anchor=indicator.id)
    st.caption(f"**{t('indicator.need')}:** {pick(indicator.need.as_dict())}  \n"
               f"{pick(indicator.description.as_dict())}")
    if table.empty:
        not_fetched(indicator)
        return
    if rows.empty:  # data, but for other municipalities only (a source covering a few municipalities)
        st.info(t("indicator.no_data_for_selection", count=municipalities_with_data(table)),
                icon=":material/location_off:")
        return
    names = names_for(areas)
    rows = rows.assign(name=rows["region"].map(names))
    order = [names[code] for code in areas if code in set(rows["region"])]
    benchmarks = [names[code] for code in areas if code not in municipalities]
    unit = unit_text(indicator)
    name = pick(indicator.name.as_dict())
    # Lazy tabs: only the open tab's content is computed, so a page of many indicators reruns quickly.
    # The tabs' widget is keyed per language (its value is the label, which a language switch changes); the open
    # tab is remembered by id, so it stays open across languages and goes into a shared link.
    labels = {tab: t(f"tab.{tab}") for tab in state.PANEL_TABS}
    tabs = st.tabs(list(labels.values()), key=f"tabs_{indicator.id}__{current_language()}", on_change="rerun",
                   default=labels[state.open_tab(indicator.id)])
    trend_tab, compare_tab, map_tab, table_tab = tabs
    state.remember_tab(indicator.id, next((tab for tab, panel in zip(labels, tabs) if panel.open), "trend"))
    if trend_tab.open:
        with trend_tab:
            span = period_span((str(rows["period"].min()), str(rows["period"].max())))
            show_chart(charts.trend_chart(rows, unit=unit, value_title=name, monthly=indicator.frequency == "monthly",
                                          decimals=indicator.decimals, order=order, benchmarks=benchmarks),
                       chart_alt("trend", name, span, latest_values(rows, order), indicator.decimals, unit))
    if compare_tab.open:
        with compare_tab:
            period = latest_period(rows, municipalities)
            latest = rows[rows["period"] == period]
            latest = latest.set_index("name").reindex([n for n in order if n in set(latest["name"])]).reset_index()
            latest = latest.assign(status=["benchmark" if n in benchmarks else "not_compared" for n in latest["name"]])
            st.markdown(f"**{name}, {period_label(period)}**")
            show_chart(charts.comparison_chart(latest, unit=unit, value_title=name, decimals=indicator.decimals,
                                               status_labels=status_labels()),
                       chart_alt("bars", name, period_label(period), list(zip(latest["name"], latest["value"])),
                                 indicator.decimals, unit))
    if map_tab.open:
        with map_tab:
            municipal = table[table["region"].str.startswith("KU")]
            period = latest_period(municipal, municipalities)
            if period is None:
                st.info(t("indicator.no_municipal_values"), icon=":material/location_off:")
            else:
                st.markdown(f"**{name}, {period_label(period)}**")
                map_section(indicator, table, period, municipalities, name)
    if table_tab.open:
        with table_tab:
            st.dataframe(wide_table(rows, order, indicator.decimals), width="stretch", height=260)
            trend = charts.trend_chart(rows, unit=unit, value_title=name, monthly=indicator.frequency == "monthly",
                                       decimals=indicator.decimals, order=order, benchmarks=benchmarks)
            span = period_span((str(rows["period"].min()), str(rows["period"].max())))
            export_buttons(trend, rows[["name", "region", "period", "value"]],
                           export_meta(indicator, rows, f"{name}, {span}", span,
                                       benchmarks=[code for code in areas if code not in municipalities]),
                           f"tiedolla_{indicator.id}")
    shown = set(rows["region"])
    absent = [names[code] for code in areas if code not in municipalities and code not in shown]
    if absent:  # a benchmark line that is not drawn is explained, never silently missing
        st.caption(t(no_benchmark_reason(indicator), areas=", ".join(absent),
                     share=number(AGGREGATE_MIN_COVERAGE * 100, 0)))
    note = loading.source_note(rows)
    st.caption(source_line(rows, note))
    stale_warning(rows, note)
    revisions_since_pin(indicator, areas, names)


def municipality_map(indicator: Indicator, table: pd.DataFrame, period: str, municipalities: list[str],
                     value_title: str):
    """The choropleth of every municipality's value in `period`, the chosen ones outlined, with the values drawn."""
    shapes = loading.municipality_shapes()
    registry = loading.regions()
    lang = current_language()
    values = table[(table["period"] == period) & table["region"].str.startswith("KU")]
    values = values.assign(name=values["region"].map(lambda code: registry.name(code, lang)))
    chart = charts.map_chart(shapes.data, shapes.code_expression, values, value_title=value_title,
                             decimals=indicator.decimals, highlighted=municipalities)
    return chart, values, shapes


def map_alt(indicator: Indicator, values: pd.DataFrame, period: str, municipalities: list[str],
            value_title: str) -> str:
    """A map's accessible name: what and when, the chosen municipalities' values; every value is in its table."""
    chosen = values.set_index("region").reindex([code for code in municipalities if code in set(values["region"])])
    return chart_alt("map", value_title, period_label(period), list(zip(chosen["name"], chosen["value"])),
                     indicator.decimals, unit_text(indicator))


def map_section(indicator: Indicator, table: pd.DataFrame, period: str, municipalities: list[str],
                value_title: str) -> None:
    """The map of a panel: the chart, the values as a table one step away, and where shapes and values come from."""
    chart, values, shapes = municipality_map(indicator, table, period, municipalities, value_title)
    show_chart(chart, map_alt(indicator, values, period, municipalities, value_title))
    with st.expander(t("map.table"), icon=":material/table:"):
        shown = values.sort_values("value", ascending=False)
        st.dataframe(pd.DataFrame({t("compare.col.area"): shown["name"],
                                   value_title: shown["value"].map(lambda v: number(v, indicator.decimals))}),
                     hide_index=True, width="stretch", height=300)
    st.caption(t("compare.map_caption", boundaries=publisher_label(shapes.attribution), year=shapes.year))


def revisions_since_pin(indicator: Indicator, areas: list[str], names: dict[str, str]) -> None:
    """In a pinned view, the shown values that later vintages revised: the figure shown beside the latest one."""
    revised = loading.revised_since_pin(indicator)
    revised = revised[revised["region"].isin(areas)]
    if revised.empty:
        return
    with st.expander(t("revisions.title", count=len(revised)), icon=":material/history:"):
        st.caption(t("revisions.help", vintage=loading.pinned_version()))
        shown = revised.sort_values(["period", "region"], ascending=[False, True])
        st.dataframe(pd.DataFrame({
            t("compare.col.area"): shown["region"].map(names),
            t("compare.period"): shown["period"].map(period_label),
            t("revisions.shown"): shown["value"].map(lambda v: number(v, indicator.decimals)),
            t("revisions.latest"): shown["latest"].map(lambda v: number(v, indicator.decimals)),
        }), hide_index=True, width="stretch")


def show_chart(chart, alt: str) -> None:
    """Draw an Altair chart through charts.to_vega_lite (fast serialisation; builders are validated in tests).

    `alt` is the chart's accessible name (`chart_alt`). Vega's own descriptions of every mark and axis are English
    ("date: 2006; name: Hollola") and list raw field names, so they are left out: a screen reader hears the chart's
    name and its values in words, and the table tab beside it has every figure.

    A map's shapes are named by their static file's URL when they are served (loading.served_shapes): the browser
    fetches them once, and files made from the same chart (exports) keep them inline."""
    spec = charts.with_locale(loading.served_shapes(charts.to_vega_lite(chart)), current_language())
    config = spec.setdefault("config", {})
    config["aria"] = False
    config["mark"] = {**config.get("mark", {}), "aria": False}
    st.vega_lite_chart(spec, width="stretch", alt=alt)


# A chart's accessible name lists its values up to this many; the table beside it has them all.
ALT_VALUES_NAMED = 12


def chart_alt(kind: str, title: str, period: str, values: list[tuple[str, float | None]], decimals: int,
              unit: str) -> str:
    """The accessible name of a chart: its kind ("trend", "bars", "map"), what and when it shows, the values in
    words, and where the table is."""
    named = [f"{name} {with_unit(value, decimals, unit)}" for name, value in values if not is_missing(value)]
    text = t(f"chart.alt.{kind}", title=title, period=period)
    if named:
        text += " " + t(f"chart.alt.values_{kind}", values="; ".join(named[:ALT_VALUES_NAMED]))
    if len(named) > ALT_VALUES_NAMED:
        text += " " + t("chart.alt.more", count=len(named) - ALT_VALUES_NAMED)
    return f"{text} {t('chart.alt.table')}"


def latest_values(rows: pd.DataFrame, order: list[str]) -> list[tuple[str, float | None]]:
    """(name, latest value) for each line of a trend chart, in the chart's order."""
    latest = rows.dropna(subset=["value"]).sort_values("period").groupby("name")["value"].last()
    return [(name, latest.get(name)) for name in order]


def export_buttons(chart, frame: pd.DataFrame, meta, stem: str) -> None:
    """CSV and Excel of the data behind a chart, PNG and SVG of the chart, each carrying title, areas, period, unit,
    source, licence and data vintage in the language of `meta` (see `export_meta`). Files are made only when a
    button is pressed (deferred, outside the page run), so they cost nothing on a page run; everything they need
    is in `meta`, already translated."""
    from ui import exports

    columns = st.columns(4)
    excel = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    buttons = (
        ("CSV", lambda: exports.to_csv_bytes(frame, meta), "csv", "text/csv", ":material/download:"),
        ("Excel", lambda: exports.to_excel_bytes(frame, meta), "xlsx", excel, ":material/download:"),
        ("PNG", lambda: exports.chart_to_png(chart, meta), "png", "image/png", ":material/image:"),
        ("SVG", lambda: exports.chart_to_svg(chart, meta), "svg", "image/svg+xml", ":material/image:"),
    )
    for column, (label, make, suffix, mime, icon) in zip(columns, buttons):
        column.download_button(label, make, f"{stem}.{suffix}", mime, key=f"export_{stem}_{suffix}",
                               on_click="ignore", icon=icon, help=t("export.help", format=label))


# An export names its areas one by one up to this many; a map of every municipality says how many instead.
EXPORT_AREAS_NAMED = 12


def export_meta(indicator: Indicator, rows: pd.DataFrame, title: str, period: str, *,
                benchmarks: list[str] | tuple[str, ...] = (), unit: str | None = None):
    """What an exported file says about itself, in the reader's language: title, definition, the areas of `rows`
    (benchmarks marked), period, unit (the indicator's unless `unit` is given, e.g. an index), decimals, source line,
    licence and the data vintage shown. `benchmarks` are region codes; their rows are marked in the tables."""
    from ui import exports

    codes = list(dict.fromkeys(rows["region"].astype(str))) if "region" in rows else []
    names = names_for(codes)
    if len(codes) > EXPORT_AREAS_NAMED:
        municipal = all(code.startswith("KU") for code in codes)
        areas = t("export.municipalities_many" if municipal else "export.areas_many", count=len(codes))
    else:
        areas = ", ".join(t("export.benchmark_suffix", area=names[code]) if code in benchmarks else names[code]
                          for code in codes)
    return exports.ExportMeta(
        title=title, definition=pick(indicator.description.as_dict()), source=source_line(rows) if len(rows) else "",
        licence=indicator.licence, period=period, fetched_at=fetched_at(rows) if len(rows) else "",
        data_updated=None, url=state.share_link(), areas=areas,
        unit=unit_text(indicator) if unit is None else unit, vintage=loading.data_version(),
        lang=current_language(), decimals=indicator.decimals, benchmarks=tuple(benchmarks),
    )


def status_labels() -> dict[str, str]:
    return {key: t(f"status.{key}") for key in charts.STATUS_COLOURS}


def metric_change(value: float | None, before: float | None, indicator: Indicator, unit: str
                  ) -> tuple[str | None, str, str]:
    """`st.metric`'s delta text, colour and arrow for a change from `before` to `value`. The change is between the
    values as shown (12,9 against 12,8 is +0,1, not the +0,0 of 12,86 - 12,84), as the overview's arrows read it;
    no change shows no arrow and no colour."""
    if value is None or before is None:
        return None, "off", "auto"
    change = float(round_half_up(value, indicator.decimals) - round_half_up(before, indicator.decimals))
    # st.metric reads the direction of its arrow from a leading ASCII "-", not from a true minus sign.
    text = ("+" if change > 0 else "") + with_unit(
        change, indicator.decimals, t("unit.points") if indicator.unit == "%" else unit).replace(MINUS, "-")
    if change == 0:
        return text, "off", "off"
    return text, {"lower_better": "inverse", "neutral": "off"}.get(indicator.polarity, "normal"), "auto"


def key_figures(indicator: Indicator, municipalities: list[str], benchmark: str) -> None:
    """A metric per municipality: latest value, change from a year before, and the benchmark in the help text."""
    table = loading.indicator_table(indicator)
    rows = table[table["region"].isin(area_list(municipalities, benchmark))]
    if rows.empty or not municipalities:
        return
    period = latest_period(rows, municipalities)
    steps = 12 if indicator.frequency == "monthly" else 1
    names = names_for(area_list(municipalities, benchmark))
    by_key = rows.set_index(["region", "period"])["value"]
    periods = sorted(rows["period"].unique())
    earlier = periods[periods.index(period) - steps] if periods.index(period) >= steps else None
    unit = unit_text(indicator)
    heading = f"**{pick(indicator.name.as_dict())}, {period_label(period)}**"
    if earlier:
        heading += " · " + t("metric.since", period=period_label(earlier))
    st.markdown(with_badge(heading, stale_badge(period, indicator.frequency)))
    columns = st.columns(min(4, len(municipalities)))
    benchmark_value = by_key.get((benchmark, period))
    for index, code in enumerate(municipalities):
        value = by_key.get((code, period))
        before = by_key.get((code, earlier)) if earlier else None
        delta, delta_color, delta_arrow = metric_change(value, before, indicator, unit)
        with columns[index % len(columns)]:
            st.metric(
                names[code], with_unit(value, indicator.decimals, unit),
                delta=delta, delta_color=delta_color, delta_arrow=delta_arrow,
                help=t("metric.benchmark", name=names[benchmark],
                       value=with_unit(benchmark_value, indicator.decimals, unit)),
            )
    # The same source line as under the charts: where the figures come from and how fresh they are.
    shown = rows[rows["period"].isin([period, earlier]) & rows["region"].isin([*municipalities, benchmark])]
    st.caption(source_line(shown))


def concept_map_dot(theme: Theme) -> str:
    """Graphviz DOT: theme -> sub-areas -> indicators (coloured by kind) -> source series."""
    lines = ['digraph {', 'rankdir=LR; node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11];']
    lines.append(f'theme [label="{pick(theme.name.as_dict())}", fillcolor="#1f4e79", fontcolor=white];')
    for sub in theme.sub_areas:
        lines.append(f'"sub_{sub.id}" [label="{pick(sub.name.as_dict())}", fillcolor="#c6dbef"];')
        lines.append(f'theme -> "sub_{sub.id}";')
    series_nodes: set[str] = set()
    for indicator in theme.indicators:
        label = pick(indicator.name.as_dict()).replace('"', "'")
        kind = t(f"kind.{indicator.kind}")
        lines.append(f'"{indicator.id}" [label="{label}\\n({kind})", fillcolor="{KIND_COLOURS[indicator.kind]}"];')
        lines.append(f'"sub_{indicator.sub_area}" -> "{indicator.id}";')
        for series_id in indicator.formula.series_ids():
            if series_id not in series_nodes:
                series_nodes.add(series_id)
                title = series_title(series_id).replace('"', "'")  # readable; the id is for analysts
                lines.append(f'"s_{series_id}" [label="{title}", shape=note, fillcolor="#f0f0f0", fontsize=9];')
            lines.append(f'"s_{series_id}" -> "{indicator.id}" [style=dashed, color="#888888"];')
    lines.append("}")
    return "\n".join(lines)


def series_title(series_id: str) -> str:
    """A series' name: as stored with its data, else as config.toml declares it, else (a plugin's series not
    fetched yet) its id."""
    meta = loading.series_metadata().get(series_id)
    if meta:
        return pick(meta["info"].title)
    declared = loading.declared_series_titles().get(series_id)
    return pick(declared) if declared else series_id


def reference_in_words(reference: str) -> str:
    """"a | b" -> "A (or, where missing, B)"."""
    ids = [part.strip() for part in reference.split("|")]
    text = series_title(ids[0])
    for fallback in ids[1:]:
        text += " " + t("formula.or_else", series=series_title(fallback))
    return text


def formula_in_words(indicator: Indicator) -> str:
    formula = indicator.formula
    scale = number(formula.scale, 0)
    if formula.type == "ratio":
        text = t("formula.ratio", numerator=reference_in_words(formula.numerator),
                 denominator=reference_in_words(formula.denominator), scale=scale)
    elif formula.type == "difference":
        text = t("formula.difference", minuend=reference_in_words(formula.minuend),
                 subtrahend=reference_in_words(formula.subtrahend))
    elif formula.type == "change":
        text = t("formula.change_relative" if formula.relative else "formula.change",
                 input=reference_in_words(formula.input), periods=formula.periods)
    elif formula.type == "index":
        text = t("formula.index", input=reference_in_words(formula.input), base=formula.base_period)
    else:
        text = t("formula.value", input=reference_in_words(formula.input))
    if formula.resample == "annual_mean":
        text += " " + t("formula.annual_mean")
    return text


def theme_download_button(theme: Theme, municipalities: list[str], benchmark: str) -> None:
    """One button for a zip of the theme's data: a CSV per indicator for the chosen municipalities, the benchmark
    and the whole country, with a README.txt of definitions, sources, licences and the data vintage, in the
    reader's language. The rows and texts are gathered on the page run (cached tables, filtered; the deferred
    callable runs outside the session, where neither the language nor a pinned vintage is known); the files are
    written only when the button is pressed."""
    from ui import exports

    areas = area_list(municipalities, benchmark)
    benchmarks = [code for code in areas if code not in municipalities]
    names = names_for(areas)
    files = []
    for indicator in theme.indicators:
        table = loading.indicator_table(indicator)
        rows = table[table["region"].isin(areas)]
        rows = rows.assign(name=rows["region"].map(names))
        span = period_span((str(rows["period"].min()), str(rows["period"].max()))) if len(rows) else ""
        files.append(exports.ThemeFile(indicator.id, rows[["name", "region", "period", "value"]],
                                       export_meta(indicator, rows, pick(indicator.name.as_dict()), span,
                                                   benchmarks=benchmarks)))
    title, lang, vintage = pick(theme.name.as_dict()), current_language(), loading.data_version()
    st.download_button(t("export.theme_zip"), lambda: exports.theme_zip_bytes(title, files, lang=lang,
                                                                              vintage=vintage),
                       f"tiedolla_{theme.id}.zip", "application/zip", key=f"export_{theme.id}_zip",
                       on_click="ignore", icon=":material/folder_zip:", help=t("export.theme_zip_help"))


def theme_report_button(theme: Theme, municipalities: list[str], benchmark: str) -> None:
    """"Lataa raportti (PDF)": the theme's printable report for the chosen municipalities and benchmark. It is made
    on this page run when asked for (a few seconds, ui.report), because the report needs the reader's language and
    data version, which a deferred download callable does not know; the download then offers the finished file."""
    from ui import report

    key = f"report_{theme.id}"
    wanted = (theme.id, tuple(municipalities), benchmark, current_language(), loading.data_version())
    if st.button(t("report.make"), icon=":material/picture_as_pdf:", key=f"{key}_make", help=t("theme.report_help")):
        with st.spinner(t("report.generating")):
            st.session_state[key] = (wanted, report.theme_report_pdf(theme.id, municipalities, benchmark))
    made = st.session_state.get(key)
    if made is not None and made[0] == wanted:  # a report of another selection is never offered as this one
        st.download_button(t("theme.report_button"), made[1], f"tiedolla_{theme.id}_{t('report.file')}.pdf",
                           "application/pdf", key=f"{key}_download", on_click="ignore", type="primary",
                           icon=":material/download:")
