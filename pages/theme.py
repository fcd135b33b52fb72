"""A theme page (employment, climate, work ability, well-being), driven entirely by the catalogue.

Key figures first, then the concept map, then situational indicators (what is happening now) and structural
indicators (long-term change) in two separate sections.
"""

import streamlit as st

from ui import loading, state, views
from ui.i18n import pick, t

catalogue = loading.catalogue()
theme = catalogue.theme(st.session_state.get("_theme_id") or catalogue.themes[0].id)
view = state.current()

st.title(f"{theme.icon} {pick(theme.name.as_dict())}".strip())
st.write(pick(theme.description.as_dict()))
if not view.municipalities:
    st.info(t("theme.pick_municipalities"), icon="👈")

headline = next((i for i in theme.indicators if not loading.indicator_table(i).empty), None)
if headline is not None and view.municipalities:
    views.key_figures(headline, view.municipalities, view.benchmark)

with st.expander(t("theme.concept_map"), expanded=False):
    st.caption(t("theme.concept_map_help"))
    st.graphviz_chart(views.concept_map_dot(theme), width="stretch")
    st.markdown("  \n".join(f"- [{pick(i.name.as_dict())}](#{i.id}) · {t(f'kind.{i.kind}')}" for i in theme.indicators))

for kind in ("situational", "structural"):
    indicators = [indicator for indicator in theme.indicators if indicator.kind == kind]
    if not indicators:
        continue
    st.header(t(f"section.{kind}"), divider="gray")
    st.caption(t(f"section.{kind}_help"))
    for indicator in indicators:
        with st.container(border=True):
            views.indicator_panel(indicator, view.municipalities, view.benchmark)
