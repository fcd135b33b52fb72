"""What a reader sees of numbers, dates, counts, ranks, publishers and Streamlit's own labels in each language."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from indicators.comparison import ranking
from tests.test_overview import indicator
from ui.document import document_script, streamlit_labels
from ui.format import date_label, format_number, with_unit
from ui.i18n import set_language
from ui.views import count_text, publisher_label


@pytest.fixture(autouse=True)
def finnish():
    yield
    set_language("fi")


def test_negative_numbers_use_a_true_minus_sign_and_zero_has_none():
    assert format_number(-2.345, 1, "fi") == "\u22122,3"
    assert format_number(-1234.5, 1, "en") == "\u22121,234.5"
    assert with_unit(-0.04, 1, "%", "sv") == "0,0\u00a0%"


def test_english_dates_name_the_month_and_finnish_ones_stay_short():
    assert date_label("2021-03-01", "en") == "1 Mar 2021"
    assert date_label("2021-03-01T06:00:00+00:00", "en") == "1 Mar 2021"
    assert date_label("2021-03-01", "fi") == "1.3.2021"


@pytest.mark.parametrize("lang, count, expected", [
    ("sv", 1, "1 lägesbild"), ("sv", 3, "3 lägesbilder"), ("fi", 1, "1 tilannekuva"), ("fi", 4, "4 tilannekuvaa"),
    ("en", 1, "1 situational"),
])
def test_counts_take_the_right_plural(lang, count, expected):
    set_language(lang)
    assert count_text("situational", count) == expected


def test_values_equal_as_shown_share_a_rank():
    # CONSTRUCTED values: 6.81 and 6.79 both read 6,8 at one decimal.
    table = pd.DataFrame({"region": ["KU1", "KU2", "KU3", "KU4"], "period": ["2023"] * 4,
                          "value": [9.0, 6.81, 6.79, 5.0]})
    ranks = ranking(table, indicator(decimals=1), ["KU1", "KU2", "KU3", "KU4"], "2023").set_index("region")
    assert ranks["position"].to_dict() == {"KU1": 1, "KU2": 2, "KU3": 2, "KU4": 4}


@pytest.mark.parametrize("lang, raw, expected", [
    ("fi", "Statistics Finland (Tilastokeskus, väestörakenne)", "Tilastokeskus, väestörakenne"),
    ("sv", "Työ- ja elinkeinoministeriö, Työnvälitystilasto; Tilastokeskus",
     "Arbets- och näringsministeriet, arbetsförmedlingsstatistiken; Statistikcentralen"),
    ("en", "Työ- ja elinkeinoministeriö, Työnvälitystilasto; Tilastokeskus",
     "Ministry of Economic Affairs and Employment, employment service statistics; Statistics Finland"),
    ("fi", "THL, Sotkanet.fi (via ouzor/sotkanet-shiny)", "THL, Sotkanet.fi"),
    ("sv", "Statistics Finland; Some New Publisher", "Statistikcentralen; Some New Publisher"),
])
def test_publishers_are_named_in_the_readers_language_without_a_mirror(lang, raw, expected):
    set_language(lang)
    assert publisher_label(raw) == expected


def test_streamlit_labels_have_a_finnish_and_swedish_text_and_english_changes_nothing():
    for lang in ("fi", "sv"):
        exact, patterns = streamlit_labels(lang)
        assert exact["Clear all"] and exact["Skip to main content"] != "Skip to main content"
        assert ("Remove ", "", {"fi": "Poista {}", "sv": "Ta bort {}"}[lang]) in patterns
    # An English rule would rewrite a label with itself, and the page's observer would wake on its own change.
    assert streamlit_labels("en") == ({}, [])


def test_the_document_script_sets_the_language_and_carries_the_labels():
    script = document_script("sv")
    assert 'const lang = "sv"' in script
    exact = json.loads(re.search(r"exact = (\{.*?\}), patterns", script).group(1))
    assert exact["Fullscreen"] == "Helskärm"


def test_the_concept_map_names_series_not_fetched_yet_by_their_declared_title(monkeypatch):
    from ui import loading, views
    from ui.views import concept_map_dot

    monkeypatch.setattr(loading, "series_metadata", lambda: {})  # nothing fetched: a warehouse without these series
    theme = loading.catalogue().theme("employment")
    dot = concept_map_dot(theme)
    labels = re.findall(r'\[label="([^"]*)"', dot)
    assert "Työttömät työnhakijat kuukauden lopussa" in labels
    series_ids = {series_id for indicator in theme.indicators for series_id in indicator.formula.series_ids()}
    assert not series_ids & set(labels), "a concept map node is labelled with a bare series id"
    assert views.series_title("statfin.labour_force") == "Työvoima"


def test_a_fetch_failure_is_told_in_the_readers_language_and_an_unknown_code_keeps_the_engines_message():
    from ui.loading import error_text

    english = "Statistics Finland (StatFin/tyonv/12r5): the service answered with a server error (HTTP 500)."
    # CONSTRUCTED status entries, in the form the refresh records them.
    known = {"last_error": english, "last_error_detail": {"code": "server_error", "params": {
        "context": "Statistics Finland (StatFin/tyonv/12r5)", "status": 500, "attempts": 5}}}
    set_language("sv")
    assert error_text(known) == ("Statistics Finland (StatFin/tyonv/12r5): tjänsten svarade med ett serverfel "
                                 "(HTTP 500) efter 5 försök.")
    newer = {"last_error": english, "last_error_detail": {"code": "a_code_of_a_newer_release", "params": {}}}
    other_params = {"last_error": english, "last_error_detail": {"code": "server_error", "params": {"status": 500}}}
    assert error_text(newer) == english and error_text(other_params) == english
