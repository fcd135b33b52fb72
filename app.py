"""Tiedolla: the app frame. Page config, the shared sidebar (language, municipalities, benchmark), navigation.

No data logic here: the pages render, `ui.loading` loads. Run with `streamlit run app.py` (see README).
"""

from __future__ import annotations

import streamlit as st

from indicators.catalogue import CatalogueError
from sources.settings import ConfigError
from ui import loading
from ui.format import date_label
from ui.i18n import LANGUAGES, pick, set_language, t
from ui.state import LANGUAGE_LABELS, benchmark_options, escape_markdown, option_labels

st.set_page_config(page_title="Tiedolla", page_icon="📊", layout="wide")


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


def main() -> None:
    try:
        settings = loading.settings()
        catalogue = loading.catalogue()
    except (ConfigError, CatalogueError) as exc:
        set_language("fi")
        st.error(t("error.config", message=str(exc)))
        st.stop()
    notices = sidebar(settings.default_language, settings.default_municipalities, settings.default_region)
    if notices:
        shown = ", ".join(escape_markdown(value) for value in sorted(set(notices)))
        st.sidebar.warning(t("notice.invalid_link", values=shown[:300]))
    try:
        loading.ensure_warehouse()
    except Exception as exc:  # the app must still explain itself when the bundled data cannot be read
        st.error(t("error.warehouse", message=str(exc)))
        st.stop()

    home = st.Page("pages/home.py", title=t("nav.home"), icon=":material/home:", default=True)
    themes = [
        st.Page("pages/theme.py", title=pick(theme.name.as_dict()), icon=theme.icon or None, url_path=theme.id)
        for theme in catalogue.themes
    ]
    compare = st.Page("pages/compare.py", title=t("nav.compare"), icon=":material/compare_arrows:", url_path="compare")
    about = st.Page("pages/about.py", title=t("nav.about"), icon=":material/info:", url_path="about")
    page = st.navigation({t("nav.section_main"): [home], t("nav.section_themes"): themes,
                          t("nav.section_tools"): [compare, about]})
    # The theme page is one script serving every theme; it reads which one from here.
    theme_ids = {theme.id for theme in catalogue.themes}
    st.session_state["_theme_pages"] = dict(zip((theme.id for theme in catalogue.themes), themes))
    st.session_state["_theme_id"] = page.url_path if page.url_path in theme_ids else None
    freshness = loading.freshness()
    st.sidebar.caption(t("sidebar.data_as_of", date=date_label(freshness.last_success)) if freshness.last_success
                       else t("sidebar.snapshot_only"))
    if freshness.failed_series:
        st.sidebar.warning(t("sidebar.stale", count=len(freshness.failed_series)), icon=":material/warning:")
    st.sidebar.caption(t("sidebar.footer"))
    page.run()


main()
