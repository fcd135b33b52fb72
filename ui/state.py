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
    return {code: option_label(registry, code) for code in codes}


def benchmark_options(registry: RegionRegistry) -> list[str]:
    codes = []
    for level in BENCHMARK_LEVELS:
        codes.extend(sorted(registry.codes(level), key=lambda code: registry.name(code, "fi")))
    return codes


def current() -> ViewState:
    return ViewState(
        lang=current_language(),
        municipalities=list(st.session_state.get("municipalities") or []),
        benchmark=st.session_state.get("benchmark") or COUNTRY,
    )


def seed_from_url(key: str, options: list[str], default: str, notices: list[str]) -> None:
    """Give a page widget its value from the URL before it is drawn (language-independent ids in the URL).

    An unknown value (a tampered or outdated link) is noted and replaced by the default; it never raises.
    """
    if key not in st.session_state:
        raw = st.query_params.get(key)
        if raw is not None and raw not in options:
            notices.append(str(raw)[:40])
        st.session_state[key] = raw if raw in options else default
    elif st.session_state[key] not in options:
        st.session_state[key] = default


def keep_in_url(**values: object) -> None:
    """Write page choices into the URL so a copied link reproduces them."""
    for key, value in values.items():
        if st.query_params.get(key) != str(value):
            st.query_params[key] = str(value)


def share_link() -> str:
    """The address of this view: page URL plus every query parameter (sidebar and page choices)."""
    from urllib.parse import urlencode

    base = st.context.url or ""
    query = urlencode([(key, value) for key in st.query_params for value in st.query_params.get_all(key)])
    return f"{base}?{query}" if query else base
