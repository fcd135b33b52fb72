"""The view state shared by all pages (language, municipalities, benchmark), read from the sidebar widgets.

The widgets live in app.py and are bound to the URL (`bind="query-params"`), so a copied link reproduces the view.
Option labels in the URL must not depend on the chosen language, or switching language would drop the selection:
municipalities and areas are labelled by their Finnish name, with the Swedish name in brackets where it differs.
"""

from __future__ import annotations

from dataclasses import dataclass

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
