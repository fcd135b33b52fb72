"""A theme page (employment, climate, work ability, well-being), driven entirely by the catalogue.

Key figures first, then the concept map, then situational indicators (what is happening now) and structural
indicators (long-term change) in two separate sections. Old data carry a badge wherever they are shown (the rule is
in indicators.freshness); a theme without data says so once, at the top. `app.py` registers `render` once per theme,
with the theme's id bound (`functools.partial`), so each theme page knows its theme from its own registration.
"""

import streamlit as st

from ui import loading, overview, state, views
from ui.format import period_label
from ui.i18n import pick, t


def render(theme_id: str) -> None:
    catalogue = loading.catalogue()
    theme = catalogue.theme(theme_id)
    view = state.current()
    notices: list[str] = []
    # A shared link names the open panels and tabs; read once per session, so the reader's own choices then hold.
    linked_open = state.link_panels(theme.id, {*catalogue.indicators, *state.PAGE_PANELS}, notices)
    state.link_tabs(set(catalogue.indicators), notices)

    def opened(panel_id: str, default: bool) -> bool:
        return default if linked_open is None else panel_id in linked_open

    st.title(f"{theme.icon} {pick(theme.name.as_dict())}".strip())
    st.write(pick(theme.description.as_dict()))
    if notices:
        st.warning(t("notice.invalid_link", values=", ".join(state.escape_markdown(value) for value in notices)))
    if not view.municipalities:
        st.info(t("theme.pick_municipalities"), icon=":material/arrow_back:")

    coverage = loading.coverage()
    if loading.theme_latest().get(theme.id) is None:
        st.info(t("theme.no_data"), icon=":material/hourglass_empty:")
    else:
        covered = loading.covered_municipalities()
        theme_covers = set().union(*(covered.get(indicator.id, ()) for indicator in theme.indicators))
        missing = [code for code in view.municipalities if code not in theme_covers]
        if missing and len(theme_covers) <= views.FEW_MUNICIPALITIES:
            # Data for a few municipalities only (the bundled emissions: 13 in North Karelia) and some chosen ones
            # are not among them: say which are covered and that a refresh brings the rest, once, here.
            names = views.names_for(sorted(theme_covers))
            st.info(t("theme.none_for_selection", count=len(theme_covers),
                      names=", ".join(sorted(names.values())),
                      missing=", ".join(views.names_for(missing).values())), icon=":material/location_off:")
    # The key figures show what is happening now: the first situational indicator with data (else any with data).
    by_kind = sorted(theme.indicators, key=lambda indicator: indicator.kind != "situational")
    headline = next((i for i in by_kind if coverage.get(i.id)), None)
    if headline is not None and view.municipalities:
        views.key_figures(headline, view.municipalities, view.benchmark)

    open_panels: list[str] = []
    if view.municipalities:
        # The whole theme at a glance; a selected cell opens its indicator's panel (set before the panel is drawn).
        overview_panel = st.expander(t("overview.panel"), expanded=opened("overview", True),
                                     key=f"overview_panel_{theme.id}", on_change="rerun")
        if overview_panel.open:
            open_panels.append("overview")
            with overview_panel:
                chosen_cell = overview.show_overview(theme, view.municipalities, view.benchmark)
            if chosen_cell:
                st.session_state[f"panel_{chosen_cell}"] = True

    concept_map = st.expander(t("theme.concept_map"), expanded=opened("concept_map", False),
                              key=f"concept_map_{theme.id}", on_change="rerun")
    if concept_map.open:
        open_panels.append("concept_map")
        with concept_map:
            st.caption(t("theme.concept_map_help"))
            st.graphviz_chart(views.concept_map_dot(theme), width="stretch")
            indicator_ids = [indicator.id for indicator in theme.indicators]
            chosen = st.selectbox(
                t("theme.concept_map_pick"), [None, *indicator_ids], key=f"concept_pick_{theme.id}",
                format_func=lambda i: "–" if i is None else pick(catalogue.indicators[i].name.as_dict()))
            if chosen is not None:
                with st.container(border=True):
                    views.indicator_panel(catalogue.indicators[chosen], view.municipalities, view.benchmark)

    for kind in ("situational", "structural"):
        indicators = [indicator for indicator in theme.indicators if indicator.kind == kind]
        if not indicators:
            continue
        st.header(t(f"section.{kind}"), divider="gray")
        st.caption(t(f"section.{kind}_help"))
        badges = {indicator.id: views.stale_badge(coverage[indicator.id][1], indicator.frequency)
                  for indicator in indicators if coverage.get(indicator.id)}
        if kind == "situational" and badges and all(badges.values()):
            # Nothing in "what is happening now" is from now: say so before any figure is read as the present.
            newest = views.newest_period([coverage[indicator_id][1] for indicator_id in badges])
            st.warning(t("section.situational_stale", period=period_label(newest)), icon=":material/history:")
        for position, indicator in enumerate(indicators):
            span = coverage.get(indicator.id)
            broken = not span and bool(loading.indicator_problems(indicator.id))
            label = pick(indicator.name.as_dict()) + " · " + (
                views.with_badge(views.period_span(span), badges[indicator.id]) if span
                else t("indicator.config_error_short") if broken else t("indicator.not_fetched_short"))
            # Panels compute only when open (lazy), so a theme of many indicators stays quick to rerun; the first
            # indicator of each section is open to start with.
            panel = st.expander(label, expanded=opened(indicator.id, position == 0), key=f"panel_{indicator.id}",
                                on_change="rerun",
                                icon=None if span else ":material/settings_alert:" if broken
                                else ":material/hourglass_empty:")
            if panel.open:
                open_panels.append(indicator.id)
                with panel:
                    views.indicator_panel(indicator, view.municipalities, view.benchmark)

    # Files for a meeting: made only while this panel is open, and each only when its button is pressed.
    downloads = st.expander(t("theme.downloads"), expanded=opened("downloads", False),
                            key=f"downloads_{theme.id}", on_change="rerun", icon=":material/download:")
    if downloads.open and view.municipalities:
        open_panels.append("downloads")
        with downloads:
            views.theme_download_button(theme, view.municipalities, view.benchmark)
            views.theme_report_button(theme, view.municipalities, view.benchmark)

    state.keep_panels_in_url(open_panels)
    state.show_share_link()
