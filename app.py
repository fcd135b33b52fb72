"""Tiedolla: the app frame. Page config, the shared sidebar (language, municipalities, benchmark), navigation.

No data logic here: the pages render, `ui.loading` loads. Start it with `./tiedolla.sh run` (`python -m ui.serve`;
see README for why not a bare `streamlit run app.py`).
"""

from __future__ import annotations

from functools import partial

import streamlit as st

from indicators.catalogue import CatalogueError
from pages import theme as theme_page
from sources.settings import ConfigError
from sources.warehouse import SchemaOutdated, WarehouseError, WarehouseUnavailable, describe_location
from ui import loading
from ui.document import STYLESHEET, document_script
from ui.format import date_label, period_label
from ui.i18n import LANGUAGES, current_language, pick, set_language, t
from ui.state import LANGUAGE_LABELS, benchmark_options, escape_markdown, option_labels
from ui.views import PRINT_STYLESHEET

RECONNECT_CHECK_S = 5  # how often a page that lost the warehouse asks whether it is back
APP_NAME = "Tiedolla"

st.set_page_config(page_title=APP_NAME, page_icon="📊", layout="wide")
st.html(PRINT_STYLESHEET + STYLESHEET)  # style blocks only: they take no room on the page


def invalid_url_values(key: str, valid: set[str]) -> list[str]:
    """Values in the URL for a bound widget that it will ignore (a tampered or outdated link)."""
    return [value for value in st.query_params.get_all(key) if value and value not in valid]


def sidebar(default_language: str, default_municipalities: list[str], default_benchmark: str) -> list[str]:
    notices: list[str] = []
    language_labels = set(LANGUAGE_LABELS.values())
    notices += invalid_url_values("lang", language_labels)
    lang = st.sidebar.selectbox(
        "Kieli · Språk · Language", LANGUAGES, index=LANGUAGES.index(default_language),
        format_func=LANGUAGE_LABELS.get, key="lang", bind="query-params",
    )
    set_language(lang)
    registry = loading.regions()
    municipalities = registry.codes("municipality")
    labels = option_labels(registry, tuple(municipalities))
    notices += invalid_url_values("municipalities", set(labels.values()))
    st.sidebar.multiselect(
        t("sidebar.municipalities"), municipalities,
        default=[code for code in default_municipalities if code in labels],
        format_func=labels.get, key="municipalities", bind="query-params", max_selections=12,
        # No "Select N matches": with it, Enter after typing "Lahti" added every fuzzy match (Vesilahti, ...).
        select_all=False,
        help=t("sidebar.municipalities_help"),
    )
    areas = benchmark_options(registry)
    area_labels = option_labels(registry, tuple(areas))
    notices += invalid_url_values("benchmark", set(area_labels.values()))
    st.sidebar.selectbox(
        t("sidebar.benchmark"), areas,
        index=areas.index(default_benchmark) if default_benchmark in areas else areas.index("SSS"),
        format_func=area_labels.get, key="benchmark", bind="query-params", help=t("sidebar.benchmark_help"),
    )
    return notices


def navigation_links(box, sections: dict[str, list]) -> None:
    """The pages as links under their section names. Streamlit's own sidebar navigation nests its sections in a way
    screen readers misread (axe: "list", "listitem"), so the app draws it with page links."""
    with box:
        for title, pages in sections.items():
            st.markdown(f"**{escape_markdown(title)}**")
            for page in pages:
                st.page_link(page)


def pin_from_link() -> list[str]:
    """Read a link's `asof` once per session (a pinned link shows the data of that vintage); keep it in the
    address on every page. Returns the link's value when it names no vintage (tampered or from another warehouse)."""
    if loading.PIN_KEY not in st.session_state:
        raw = st.query_params.get("asof")
        vintage_id, valid = loading.parse_pin(raw)
        st.session_state[loading.PIN_KEY] = vintage_id
        if not valid:
            st.query_params.pop("asof", None)
            return [str(raw)]
    pinned = loading.pinned_version()
    if pinned is not None and st.query_params.get("asof") != str(pinned):
        st.query_params["asof"] = str(pinned)
    return []


def show_latest() -> None:
    st.session_state[loading.PIN_KEY] = None
    st.query_params.pop("asof", None)


def pinned_notice() -> None:
    """A pinned view that newer data has overtaken says so, with a way to the latest data."""
    pinned = loading.pinned_version()
    if pinned is None or pinned >= loading.latest_version():
        return
    vintage = loading.vintage(pinned)
    with st.container(border=True):
        st.info(t("notice.pinned", date=date_label(vintage.created_at if vintage else None), vintage=pinned),
                icon=":material/push_pin:")
        st.button(t("notice.show_latest"), on_click=show_latest, icon=":material/update:", key="show_latest")


def vintage_caption() -> None:
    """The sidebar names the data version shown, so a screenshot or a meeting note can cite it."""
    version = loading.data_version()
    vintage = loading.vintage(version) if version else None
    if vintage is None:
        return
    key = "sidebar.vintage_pinned" if loading.pinned_version() is not None else "sidebar.vintage_latest"
    st.sidebar.caption(t(key, vintage=version, date=date_label(vintage.created_at)))


def theme_periods(catalogue) -> None:
    """The sidebar names how far each theme's data reach ("Työllisyys: lokakuu 2023"), so old data are seen before
    any page is opened."""
    latest = loading.theme_latest()
    lines = [f"{pick(theme.name.as_dict())}: "
             + (period_label(latest[theme.id]) if latest.get(theme.id) else t("sidebar.theme_no_data"))
             for theme in catalogue.themes]
    st.sidebar.caption(t("sidebar.theme_latest") + "  \n" + "  \n".join(lines))


def main() -> None:
    try:
        settings = loading.settings()
        catalogue = loading.catalogue()
    except (ConfigError, CatalogueError) as exc:
        set_language("fi")
        st.error(t("error.config", message=str(exc)))
        st.stop()
    navigation_box = st.sidebar.container()  # first in the sidebar, filled once the pages are known
    notices = sidebar(settings.default_language, settings.default_municipalities, settings.default_region)
    if notices:
        shown = ", ".join(escape_markdown(value) for value in sorted(set(notices)))
        st.sidebar.warning(t("notice.invalid_link", values=shown[:300]))
    try:
        loading.ensure_warehouse()
        pin_notices = pin_from_link()
    except SchemaOutdated as exc:  # a role that may not migrate meets an older schema: name the command
        st.error(t("error.warehouse_schema", location=describe_location(settings.warehouse_location),
                   message=str(exc)), icon=":material/database:")
        st.stop()
    except WarehouseError as exc:  # unreachable database, unreadable folder: say where and what to check
        warehouse_down(settings, exc)
    except Exception as exc:  # the app must still explain itself when the bundled data cannot be read
        st.error(t("error.warehouse", message=str(exc)))
        st.stop()
    if pin_notices:
        shown = ", ".join(escape_markdown(value) for value in pin_notices)
        st.warning(t("notice.invalid_asof", values=shown[:120]), icon=":material/history:")
    pinned_notice()

    home = st.Page("pages/home.py", title=t("nav.home"), icon=":material/home:", default=True)
    themes = [
        st.Page(partial(theme_page.render, theme.id), title=pick(theme.name.as_dict()), icon=theme.icon or None,
                url_path=theme.id)
        for theme in catalogue.themes
    ]
    compare = st.Page("pages/compare.py", title=t("nav.compare"), icon=":material/compare_arrows:", url_path="compare")
    about = st.Page("pages/about.py", title=t("nav.about"), icon=":material/info:", url_path="about")
    sections = {t("nav.section_main"): [home], t("nav.section_themes"): themes,
                t("nav.section_tools"): [compare, about]}
    page = st.navigation(sections, position="hidden")
    navigation_links(navigation_box, sections)
    # The browser tab names the page and the document its language (screen readers pronounce by it).
    st.set_page_config(page_title=f"{page.title} – {APP_NAME}")
    st.html(document_script(current_language()), unsafe_allow_javascript=True)
    # The home page links to the theme pages (st.page_link needs the page objects of this run).
    st.session_state["_theme_pages"] = dict(zip((theme.id for theme in catalogue.themes), themes))
    try:  # the database can go away between any two reads of a run
        vintage_caption()
        theme_periods(catalogue)
        freshness = loading.freshness()
        st.sidebar.caption(t("sidebar.data_as_of", date=date_label(freshness.last_success))
                           if freshness.last_success else t("sidebar.snapshot_only"))
        if freshness.failed_series:
            st.sidebar.warning(t("sidebar.stale", count=len(freshness.failed_series)), icon=":material/warning:")
        st.sidebar.caption(t("sidebar.footer"))
        page.run()
    except WarehouseUnavailable as exc:
        warehouse_down(settings, exc)


def warehouse_down(settings, exc: Exception) -> None:
    """The warehouse cannot be reached: say where and what to check, and come back by itself once it answers
    again (a database restart, a network break), without the reader reloading the page."""
    st.error(t("error.warehouse_unavailable", location=describe_location(settings.warehouse_location),
               message=str(exc)), icon=":material/database:")
    st.caption(t("error.warehouse_retry", seconds=RECONNECT_CHECK_S))

    @st.fragment(run_every=RECONNECT_CHECK_S)
    def reconnect() -> None:
        if loading.warehouse_reachable():
            st.rerun()

    reconnect()
    st.stop()


main()
