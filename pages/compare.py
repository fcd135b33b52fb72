"""Compare and share: one indicator for a group of municipalities against a benchmark, with significance, ranking,
trend, map, plain-language summaries, a shareable link and exports."""

from functools import partial

import pandas as pd
import streamlit as st

from ui import charts, loading, narrative, state, views
from ui.format import number, period_label
from ui.i18n import pick, t
from ui.loading import COUNTRY

GROUP_PRESETS = ("selection", "similar", "benchmark_members", "largest_10", "largest_20")
MAX_BENCHMARK_MEMBERS = 40

catalogue = loading.catalogue()
registry = loading.regions()
view = state.current()
notices: list[str] = []

st.title(t("compare.title"))
st.write(t("compare.intro"))

indicator_ids = list(catalogue.indicators)
indicator_key = state.page_choice("indicator", indicator_ids, indicator_ids[0], notices)
group_key = state.page_choice("group", list(GROUP_PRESETS), "selection", notices)

left, middle = st.columns([3, 2])
# A widget's format_func is never a function defined in this script: Streamlit keeps it in the session's widget
# state, also for a closed tab's session while it may reconnect (server.disconnectedSessionTTL, up to 128 sessions),
# and a function of this script holds every global of the run (its tables, charts and map), about 0.5 MB a session.
indicator_id = left.selectbox(t("compare.indicator"), indicator_ids, key=indicator_key,
                              format_func=partial(views.indicator_label, catalogue))
preset = middle.selectbox(t("compare.group"), GROUP_PRESETS, key=group_key,
                          format_func=partial(views.prefixed_text, "compare.group"))
indicator = catalogue.indicators[indicator_id]
table = loading.indicator_table(indicator)


def group_members() -> list[str]:
    if preset == "selection":
        return view.municipalities
    if preset == "similar":
        return loading.peers(view.municipalities[0]).members if view.municipalities else []
    if preset == "benchmark_members":
        members = registry.members(view.benchmark)
        if len(members) <= MAX_BENCHMARK_MEMBERS:
            return members
        preset_size = 20
    else:
        members, preset_size = registry.members(COUNTRY), int(preset.split("_")[1])
    population = loading.indicator_table(catalogue.indicators["population"])
    latest = population[population["region"].isin(members)].sort_values("period").groupby("region").last()
    return latest["value"].sort_values(ascending=False).head(preset_size).index.tolist()


def explain_peers() -> None:
    """The rule behind the "similar municipalities" group, with the figures it used, on screen."""
    peers = loading.peers(view.municipalities[0])
    figures = [catalogue.indicators[figure] for figure in peers.figures.columns]
    band = (t("compare.peers_band", low=number(peers.population_band[0], 0),
              high=number(peers.population_band[1], 0))
            if peers.population_band else t("compare.peers_no_band"))
    st.info(t("compare.peers_rule", name=registry.name(peers.anchor, view.lang),
              group=registry.name(peers.group, view.lang), band=band,
              figures=", ".join(pick(figure.name.as_dict()).lower() for figure in figures)),
            icon=":material/diversity_3:")
    with st.expander(t("compare.peers_figures"), icon=":material/table:"):
        shown = pd.DataFrame({pick(figure.name.as_dict()): peers.figures[figure.id].map(
            lambda value, decimals=figure.decimals: number(value, decimals)) for figure in figures})
        shown.index = [registry.name(code, view.lang) for code in shown.index]
        st.dataframe(shown, width="stretch")

municipalities = group_members()
if preset == "similar" and view.municipalities:
    explain_peers()
if table.empty:
    views.not_fetched(indicator)
    state.keep_in_url(indicator=indicator_id, group=preset)
    st.stop()
if not municipalities:
    st.info(t("theme.pick_municipalities"), icon=":material/arrow_back:")
    st.stop()

periods = sorted(table.loc[table["region"].isin(municipalities), "period"].unique(), reverse=True)
if not periods:  # data, but for other municipalities only
    st.info(t("indicator.no_data_for_selection", count=views.municipalities_with_data(table)),
            icon=":material/location_off:")
    state.keep_in_url(indicator=indicator_id, group=preset)
    st.stop()
period_key = state.page_choice("period", periods, periods[0], notices)
all_periods = sorted(table["period"].unique())
start_key = state.page_choice("start", all_periods, all_periods[0], notices)
state.page_flag("index", "index_mode", notices)
period = st.select_slider(t("compare.period"), options=list(reversed(periods)), key=period_key,
                          format_func=period_label)
state.keep_in_url(indicator=indicator_id, group=preset, period=period)
if notices:
    st.warning(t("notice.invalid_link", values=", ".join(state.escape_markdown(value) for value in notices)))

names = views.names_for([*municipalities, view.benchmark, COUNTRY])
name = pick(indicator.name.as_dict())
# Inside a sentence the name starts in lower case ("Hollola: työttömyysaste 8,1 %"), abbreviations ("THL:n") stay.
name_in_sentence = name if name[1:2].isupper() else name[:1].lower() + name[1:]
unit = views.unit_text(indicator)
comparison, benchmark_value, method = loading.comparison(indicator, municipalities, view.benchmark, period)
comparison = comparison.assign(name=comparison["region"].map(names))
benchmark_name = names[view.benchmark]
source = views.source_line(table[table["region"].isin([*municipalities, view.benchmark])])

# --- comparison -----------------------------------------------------------------------------------------------
st.header(t("compare.comparison_title", name=name, period=period_label(period)), divider="gray")
if badge := views.stale_badge(periods[0], indicator.frequency):  # even the group's latest figures are old
    st.markdown(badge)
chart_rows = pd.concat([
    comparison,
    pd.DataFrame([{"region": view.benchmark, "name": benchmark_name, "value": benchmark_value,
                   "lower": None, "upper": None, "status": "benchmark", "small": False}]),
], ignore_index=True) if benchmark_value is not None else comparison
comparison_chart = charts.comparison_chart(
    chart_rows.assign(name=[f"{n} *" if s else n for n, s in zip(chart_rows["name"], chart_rows["small"])]),
    unit=unit, value_title=name, decimals=indicator.decimals, status_labels=views.status_labels(),
    benchmark_value=benchmark_value, benchmark_name=benchmark_name,
)
chart_tab, table_tab = st.tabs([t("tab.compare"), t("tab.table")])
with chart_tab:
    views.show_chart(comparison_chart, views.chart_alt("bars", name, period_label(period),
                                                       list(zip(chart_rows["name"], chart_rows["value"])),
                                                       indicator.decimals, unit))
with table_tab:
    shown = comparison.assign(
        status=comparison["status"].map(views.status_labels()),
    )[["name", "value", "lower", "upper", "status", "small"]]
    shown.columns = [t("compare.col.area"), name, t("compare.col.lower"), t("compare.col.upper"),
                     t("compare.col.status"), t("compare.col.small")]
    st.dataframe(shown, hide_index=True, width="stretch")
st.caption(t(f"compare.method.{method}") + " " + (t("compare.small_note") if comparison["small"].any() else ""))
st.caption(source)

summaries = [
    narrative.comparison_text(row.name, name_in_sentence, row.value, benchmark_name, benchmark_value, unit,
                              indicator.decimals, row.status if method != "quintile" else "not_compared")
    for row in comparison.itertuples()
]
st.markdown("\n".join(f"- {text}" for text in summaries[:12]))

views.export_buttons(comparison_chart,
                     chart_rows.assign(period=period)[["name", "region", "period", "value", "lower", "upper",
                                                       "status", "small"]],
                     views.export_meta(indicator, table[table["region"].isin([*municipalities, view.benchmark])
                                                        & (table["period"] == period)],
                                       f"{name}, {period_label(period)}", period_label(period),
                                       benchmarks=[view.benchmark]),
                     f"tiedolla_{indicator_id}_{period}")

# --- ranking --------------------------------------------------------------------------------------------------
st.header(t("compare.ranking_title"), divider="gray")
ranks = loading.ranking(indicator, municipalities, period)
for row in ranks.head(12).itertuples():
    st.markdown("- " + narrative.ranking_text(names[row.region], name_in_sentence, row.value, row.position, row.total,
                                              unit, indicator.decimals))

# --- trend ----------------------------------------------------------------------------------------------------
st.header(t("compare.trend_title"), divider="gray")
options_left, options_right = st.columns([3, 1])
start = options_left.select_slider(t("compare.start"), options=all_periods, key=start_key, format_func=period_label)
as_index = options_right.toggle(t("compare.index"), key="index_mode")
state.keep_in_url(start=start, index="1" if as_index else "0")
areas = list(dict.fromkeys([*municipalities[:8], view.benchmark, COUNTRY]))
trend = table[table["region"].isin(areas) & (table["period"] >= start)].assign(name=lambda f: f["region"].map(names))
if as_index:
    trend = views.rebased(trend, start)
order = [names[a] for a in areas if a in set(trend["region"])]
trend_chart_title = t("compare.index_title", start=period_label(start)) if as_index else name
trend_chart = charts.trend_chart(trend, unit="" if as_index else unit,
                                 value_title=trend_chart_title,
                                 monthly=indicator.frequency == "monthly", decimals=indicator.decimals, order=order,
                                 benchmarks=[names[view.benchmark], names[COUNTRY]], index_mode=as_index)
trend_chart_tab, trend_table_tab = st.tabs([t("tab.trend"), t("tab.table")])
with trend_chart_tab:
    views.show_chart(trend_chart, views.chart_alt(
        "trend", trend_chart_title, views.period_span((start, str(trend["period"].max()))) if len(trend)
        else period_label(start), views.latest_values(trend, order), indicator.decimals, "" if as_index else unit))
with trend_table_tab:
    st.dataframe(views.wide_table(trend, order, indicator.decimals), width="stretch", height=260)
views.export_buttons(trend_chart, trend[["name", "region", "period", "value"]],
                     views.export_meta(indicator, trend, trend_chart_title,
                                       views.period_span((start, str(trend["period"].max()))) if len(trend)
                                       else period_label(start),
                                       benchmarks=[view.benchmark, COUNTRY],
                                       unit=t("unit.indeksi") if as_index else None),
                     f"tiedolla_{indicator_id}_trend")
for code in municipalities[:4]:
    own = trend[trend["region"] == code].sort_values("period")
    if len(own) >= 2:
        st.markdown("- " + narrative.trend_text(names[code], name_in_sentence, own["period"].iloc[0],
                                                own["value"].iloc[0], own["period"].iloc[-1], own["value"].iloc[-1],
                                                "" if as_index else unit, indicator.decimals, indicator.polarity))
st.caption(source)

# --- map ------------------------------------------------------------------------------------------------------
st.header(t("compare.map_title", period=period_label(period)), divider="gray")
map_chart, map_values, shapes = views.municipality_map(indicator, table, period, municipalities, name)
map_tab, map_table_tab = st.tabs([t("compare.map_tab"), t("tab.table")])
with map_tab:
    views.show_chart(map_chart, views.map_alt(indicator, map_values, period, municipalities, name))
with map_table_tab:
    map_table = map_values.sort_values("value", ascending=False)[["name", "value"]]
    map_table.columns = [t("compare.col.area"), name]
    st.dataframe(map_table, hide_index=True, width="stretch", height=300)
st.caption(t("compare.map_caption", boundaries=views.publisher_label(shapes.attribution), year=shapes.year)
           + " " + source)
views.export_buttons(map_chart,
                     pd.concat([map_values, table[(table["region"] == view.benchmark) & (table["period"] == period)]
                                .assign(name=benchmark_name)])[["name", "region", "period", "value"]],
                     views.export_meta(indicator, map_values, f"{name}, {period_label(period)}", period_label(period),
                                       benchmarks=[view.benchmark]),
                     f"tiedolla_{indicator_id}_{period}_map")

# --- share ----------------------------------------------------------------------------------------------------
state.show_share_link()
