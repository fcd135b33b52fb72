"""The view state shared by all pages (language, municipalities, benchmark), read from the sidebar widgets.

The widgets live in app.py and are bound to the URL (`bind="query-params"`), so a copied link reproduces the view.
Option labels in the URL must not depend on the chosen language, or switching language would drop the selection:
municipalities and areas are labelled by their Finnish name, with the Swedish name in brackets where it differs.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import streamlit as st

from indicators.regions import COUNTRY, RegionRegistry
from ui.i18n import current_language

LANGUAGE_LABELS = {"fi": "suomi", "sv": "svenska", "en": "English"}
BENCHMARK_LEVELS = ("region", "wellbeing_county", "subregion", "municipality_group", "country")


@dataclass(frozen=True)
class ViewState:
    lang: str
    municipalities: list[str]
    benchmark: str


def option_label(registry: RegionRegistry, code: str) -> str:
    """Language-independent label for URLs and pickers: `Parainen (Pargas)`, `Hollola`."""
    finnish, swedish = registry.name(code, "fi"), registry.name(code, "sv")
    return finnish if finnish == swedish else f"{finnish} ({swedish})"


def option_labels(registry: RegionRegistry, codes: tuple[str, ...]) -> dict[str, str]:
    return _option_labels(id(registry), registry, codes)


@lru_cache(maxsize=8)
def _option_labels(_registry_id: int, registry: RegionRegistry, codes: tuple[str, ...]) -> dict[str, str]:
    labels = {code: option_label(registry, code) for code in codes}
    # Two areas can share a name (Åland is both a region and a wellbeing services county); the URL holds the label,
    # so such labels carry their code to stay distinct.
    counts: dict[str, int] = {}
    for label in labels.values():
        counts[label] = counts.get(label, 0) + 1
    return {code: f"{label} [{code}]" if counts[label] > 1 else label for code, label in labels.items()}


def benchmark_options(registry: RegionRegistry) -> list[str]:
    return list(_benchmark_options(id(registry), registry))


@lru_cache(maxsize=4)
def _benchmark_options(_registry_id: int, registry: RegionRegistry) -> tuple[str, ...]:
    codes = []
    for level in BENCHMARK_LEVELS:
        codes.extend(sorted(registry.codes(level), key=lambda code: registry.name(code, "fi")))
    return tuple(codes)


def current() -> ViewState:
    return ViewState(
        lang=current_language(),
        municipalities=list(st.session_state.get("municipalities") or []),
        benchmark=st.session_state.get("benchmark") or COUNTRY,
    )


def page_choice(key: str, options: list[str], default: str, notices: list[str]) -> str:
    """Prepare a page widget whose option labels depend on the language; returns the widget key to draw it with.

    The choice itself (an id such as `unemployment_rate`) lives in `st.session_state[key]` and in the URL under `key`.
    The widget gets a key per language, because a browser that has just switched language still answers with the
    previous language's label, which matches no option and would silently reset the choice. A fresh widget is seeded
    from the remembered choice, or on a new session from the URL: an unknown value there (a tampered or outdated
    link) is noted for the page's notice and replaced by the default.
    """
    widget_key = f"{key}__{current_language()}"
    if widget_key in st.session_state and st.session_state[widget_key] in options:
        st.session_state[key] = st.session_state[widget_key]  # the user's latest choice
        return widget_key
    if key not in st.session_state:
        raw = st.query_params.get(key)
        if raw is not None and raw not in options:
            notices.append(str(raw))
        st.session_state[key] = raw if raw in options else default
    elif st.session_state[key] not in options:
        st.session_state[key] = default
    st.session_state[widget_key] = st.session_state[key]
    return widget_key


def page_flag(key: str, widget_key: str, notices: list[str]) -> None:
    """Seed an on/off page widget from the URL (`1` or `0`); anything else is noted and read as off."""
    if widget_key in st.session_state:
        return
    raw = st.query_params.get(key)
    if raw not in (None, "0", "1"):
        notices.append(str(raw))
    st.session_state[widget_key] = raw == "1"


def escape_markdown(text: str, limit: int = 60) -> str:
    """A value from outside (a URL) shown inertly: as a short code span, so no link, image or formatting renders."""
    text = " ".join(str(text).split())[:limit].replace("`", "'")
    return f"`{text}`" if text else "` `"


def keep_in_url(**values: object) -> None:
    """Write page choices into the URL so a copied link reproduces them."""
    for key, value in values.items():
        if st.query_params.get(key) != str(value):
            st.query_params[key] = str(value)


# The tabs of an indicator panel, by a language-independent id, and a theme page's panels that are not indicators.
PANEL_TABS = ("trend", "compare", "map", "table")
PAGE_PANELS = ("overview", "concept_map", "downloads")
OPEN_KEY, TABS_KEY = "open", "tabs"  # URL: `open=id,id` (open panels), `tabs=id:compare,id:table` (their tabs)


def link_panels(page_id: str, known: set[str], notices: list[str]) -> set[str] | None:
    """The panels a link opens (`open=a,b`; `open=` opens none), read once per session and page, so a panel the
    reader then closes stays closed. None when the link says nothing. An id that names nothing (a tampered or
    outdated link) is noted for the page's notice; ids of other pages' panels are ignored."""
    seed_key = f"_open_from_link_{page_id}"
    if seed_key not in st.session_state:
        raw = st.query_params.get(OPEN_KEY)
        ids = None if raw is None else [part for part in str(raw).split(",") if part]
        notices.extend(part for part in ids or [] if part not in known)
        st.session_state[seed_key] = None if ids is None else set(ids)
    return st.session_state[seed_key]


def link_tabs(known: set[str], notices: list[str]) -> None:
    """Seed each panel's open tab from a link (`tabs=unemployment_rate:compare`), once per session; a pair that
    names an unknown panel or tab is noted and left at the first tab."""
    if "_tabs_from_link" in st.session_state:
        return
    st.session_state["_tabs_from_link"] = True
    for pair in [part for part in str(st.query_params.get(TABS_KEY) or "").split(",") if part]:
        panel, _, tab = pair.partition(":")
        if panel in known and tab in PANEL_TABS:
            st.session_state.setdefault(tab_choice_key(panel), tab)
        else:
            notices.append(pair)


def tab_choice_key(panel: str) -> str:
    return f"tab_of_{panel}"


def open_tab(panel: str) -> str:
    """The id of the panel's open tab: the reader's latest choice, else the link's, else the first."""
    return st.session_state.get(tab_choice_key(panel), PANEL_TABS[0])


def remember_tab(panel: str, tab: str) -> None:
    st.session_state[tab_choice_key(panel)] = tab


def keep_panels_in_url(open_panels: list[str]) -> None:
    """Write the open panels and their tabs into the URL, so a copied link opens the same ones."""
    keep_in_url(**{OPEN_KEY: ",".join(open_panels),
                   TABS_KEY: ",".join(f"{panel}:{open_tab(panel)}" for panel in open_panels
                                      if panel not in PAGE_PANELS)})


def share_link(pinned: bool = True) -> str:
    """The address of this view: page URL plus every query parameter (sidebar and page choices). Pinned by default
    (`asof` = the vintage shown), so the link shows the same numbers after later refreshes.

    A widget bound to the URL leaves its value out while it equals its default, and the defaults are the server's
    settings (`default_municipalities`, `default_region`, `default_language`): a link that relied on them would show
    other municipalities on a server configured otherwise. So language, municipalities and benchmark are spelled out.
    """
    from urllib.parse import urlencode

    from ui import loading

    base = (st.context.url or "").split("?")[0]
    explicit = sidebar_choices()
    pairs = [(key, value) for key, values in explicit.items() for value in values]
    pairs += [(key, value) for key in st.query_params if key != "asof" and key not in explicit
              for value in st.query_params.get_all(key)]
    version = loading.data_version()
    if pinned and version:
        pairs.append(("asof", str(version)))
    query = urlencode(pairs)
    return f"{base}?{query}" if query else base


def sidebar_choices() -> dict[str, list[str]]:
    """The sidebar's choices as the URL spells them (the language-independent labels of app.py's bound widgets)."""
    from ui import loading

    registry = loading.regions()
    view = current()
    municipalities = option_labels(registry, tuple(registry.codes("municipality")))
    areas = option_labels(registry, tuple(benchmark_options(registry)))
    return {
        "lang": [LANGUAGE_LABELS[view.lang]],
        "municipalities": [municipalities[code] for code in view.municipalities if code in municipalities],
        "benchmark": [areas[view.benchmark]] if view.benchmark in areas else [],
    }


def show_share_link() -> None:
    """The page's "share this view" section: a copyable link that reopens the same view."""
    from ui.i18n import t

    st.header(t("share.title"), divider="gray")
    st.caption(t("share.help"))
    st.code(share_link(), language=None)
