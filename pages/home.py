"""The front page: what Tiedolla is, the four themes, and how fresh the data is."""

import streamlit as st

from ui import loading
from ui.i18n import pick, t

st.title(t("home.title"))
st.write(t("home.intro"))

catalogue = loading.catalogue()
columns = st.columns(len(catalogue.themes))
for column, theme in zip(columns, catalogue.themes):
    with column.container(border=True):
        st.markdown(f"### {theme.icon} {pick(theme.name.as_dict())}")
        st.write(pick(theme.description.as_dict()))
        structural = sum(1 for i in theme.indicators if i.kind == "structural")
        st.caption(t("home.theme_counts", total=len(theme.indicators), structural=structural,
                     situational=len(theme.indicators) - structural))
        page = st.session_state.get("_theme_pages", {}).get(theme.id)
        if page is not None:
            st.page_link(page, label=t("home.open_theme"), icon=":material/arrow_forward:")

st.subheader(t("home.how_title"))
st.markdown(t("home.how"))
