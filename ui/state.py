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


def share_link(pinned: bool = True) -> str:
    """The address of this view: page URL plus every query parameter (sidebar and page choices). Pinned by default
    (`asof` = the vintage shown), so the link shows the same numbers after later refreshes."""
    from urllib.parse import urlencode

    from ui import loading

    base = (st.context.url or "").split("?")[0]
    pairs = [(key, value) for key in st.query_params if key != "asof" for value in st.query_params.get_all(key)]
    version = loading.data_version()
    if pinned and version:
        pairs.append(("asof", str(version)))
    query = urlencode(pairs)
    return f"{base}?{query}" if query else base
