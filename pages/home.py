"""The front page: what Tiedolla is, the four themes, and how fresh the data is."""

import streamlit as st

from ui import loading, state, views
from ui.format import period_label
from ui.i18n import pick, t

FEW_MUNICIPALITIES = 0.5  # a theme whose data cover less than this share of the municipalities says so on its card

st.title(t("home.title"))
st.write(t("home.intro"))

catalogue = loading.catalogue()
latest = loading.theme_latest()
covered = loading.covered_municipalities()
municipalities = len(loading.regions().codes("municipality"))
columns = st.columns(len(catalogue.themes))
for column, theme in zip(columns, catalogue.themes):
    with column.container(border=True):
        st.markdown(f"### {theme.icon} {pick(theme.name.as_dict())}")
        st.write(pick(theme.description.as_dict()))
        structural = sum(1 for i in theme.indicators if i.kind == "structural")
        st.caption(t("home.theme_counts", indicators=views.count_text("indicators", len(theme.indicators)),
                     situational=views.count_text("situational", len(theme.indicators) - structural),
                     structural=views.count_text("structural", structural)))
        if latest.get(theme.id) is None:
            st.caption(f":material/hourglass_empty: {t('home.no_data')}")
        else:
            st.caption(views.with_badge(t("home.latest", period=period_label(latest[theme.id])),
                                        views.stale_badge(latest[theme.id], short=True)))
            theme_covers = set().union(*(covered.get(indicator.id, ()) for indicator in theme.indicators))
            if len(theme_covers) < FEW_MUNICIPALITIES * municipalities:
                st.caption(f":material/location_off: {t('home.few_municipalities', count=len(theme_covers))}")
        page = st.session_state.get("_theme_pages", {}).get(theme.id)
        if page is not None:
            st.page_link(page, label=t("home.open_theme"), icon=":material/arrow_forward:")

st.subheader(t("home.how_title"))
st.markdown(t("home.how"))

state.show_share_link()
