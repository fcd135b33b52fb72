"""The theme overview: status against the benchmark with polarity, quintiles where no interval exists, trend arrows,
missing values, twelve municipalities, cell contrast; and an AppTest of the table on the bundled snapshot.

The tables in the unit tests are CONSTRUCTED (made-up counts and values, in the shape the formula engine gives); the
AppTest reads the real bundled snapshot and checks a cell against the raw unemployment file.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from indicators.catalogue import Indicator
from indicators.comparison import compare_group
from indicators.overview import select, summarise, theme_overview
from tests.test_app import finnish_percent, raw_unemployment

TEXT = {"fi": "x", "sv": "x", "en": "x"}
BENCHMARK = "MK07"


def indicator(identifier: str = "share", polarity: str = "lower_better", interval: str = "proportion",
              frequency: str = "annual", decimals: int = 1) -> Indicator:
    """A constructed indicator: a ratio in % (with an interval) or, with interval "none", a plain value."""
    formula = ({"type": "ratio", "numerator": "test.events", "denominator": "test.persons", "scale": 100}
               if interval != "none" else {"type": "value", "input": "test.values"})
    return Indicator.model_validate({
        "id": identifier, "name": TEXT, "description": TEXT, "need": TEXT, "kind": "structural", "sub_area": "s",
        "unit": "%", "decimals": decimals, "polarity": polarity, "frequency": frequency, "update": frequency,
        "regions": ["municipality", "region"], "formula": formula, "interval": interval,
    })


def ratio_table(rows: list[tuple[str, str, float, float]]) -> pd.DataFrame:
    """CONSTRUCTED rows (region, period, events, persons) -> an indicator table in % as the engine gives it."""
    frame = pd.DataFrame(rows, columns=["region", "period", "numerator", "denominator"])
    frame["value"] = frame["numerator"] / frame["denominator"] * 100
    return frame.astype({"region": "string", "period": "string"})[
        ["region", "period", "value", "numerator", "denominator"]]


def value_table(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["region", "period", "value"]).astype({"region": "string", "period": "string"})
    return frame.assign(numerator=np.nan, denominator=np.nan)


def cell(frame: pd.DataFrame, indicator_id: str, region: str) -> pd.Series:
    rows = frame[(frame["indicator"] == indicator_id) & (frame["region"] == region)]
    assert len(rows) == 1
    return rows.iloc[0]


# The benchmark has 10 %; KU001 5 % and KU002 20 % of 10 000 persons (intervals far from 10 %); KU003 10,4 % of 500
# (interval 8,0-13,4 %, contains 10 %).
SIGNIFICANT = [("MK07", "2023", 10_000, 100_000), ("KU001", "2023", 500, 10_000), ("KU002", "2023", 2_000, 10_000),
               ("KU003", "2023", 52, 500)]


@pytest.mark.no_warehouse
def test_a_lower_is_better_indicator_significantly_lower_than_the_benchmark_is_better():
    share = indicator(polarity="lower_better")
    frame = theme_overview([share], {"share": ratio_table(SIGNIFICANT)}, ["KU001", "KU002", "KU003"], BENCHMARK)
    assert cell(frame, "share", "KU001")["status"] == "better"
    assert cell(frame, "share", "KU002")["status"] == "worse"
    assert cell(frame, "share", "KU003")["status"] == "similar"
    assert cell(frame, "share", BENCHMARK)["status"] == "benchmark"
    first = cell(frame, "share", "KU001")
    assert first["method"] == "wilson" and first["benchmark_value"] == pytest.approx(10.0)
    assert first["lower"] < first["value"] < first["upper"] < 10.0


@pytest.mark.no_warehouse
def test_polarity_turns_the_same_difference_round_and_neutral_says_only_higher_or_lower():
    tables = {"share": ratio_table(SIGNIFICANT)}
    higher = theme_overview([indicator(polarity="higher_better")], tables, ["KU001", "KU002"], BENCHMARK)
    assert [cell(higher, "share", code)["status"] for code in ("KU001", "KU002")] == ["worse", "better"]
    neutral = theme_overview([indicator(polarity="neutral")], tables, ["KU001", "KU002"], BENCHMARK)
    assert [cell(neutral, "share", code)["status"] for code in ("KU001", "KU002")] == ["lower", "higher"]


@pytest.mark.no_warehouse
def test_a_rate_is_tested_with_byar_and_small_counts_are_flagged():
    rate = indicator(interval="rate")
    table = ratio_table([("MK07", "2023", 10_000, 100_000), ("KU001", "2023", 4, 1_000),
                         ("KU002", "2023", 300, 1_000)])
    frame = theme_overview([rate], {"share": table}, ["KU001", "KU002"], BENCHMARK)
    few, many = cell(frame, "share", "KU001"), cell(frame, "share", "KU002")
    assert few["method"] == "byar"
    assert few["small"] and not many["small"]
    assert (few["status"], many["status"]) == ("better", "worse")


@pytest.mark.no_warehouse
def test_without_an_interval_the_colour_is_the_quintile_among_all_municipalities_never_better_or_worse():
    plain = indicator("plain", interval="none")
    # Ten municipalities valued 1..10: quintile = ceil(rank * 5 / 10); only two of them are chosen.
    rows = [(f"KU{index:03d}", "2023", float(index)) for index in range(1, 11)] + [("MK07", "2023", 5.5)]
    frame = theme_overview([plain], {"plain": value_table(rows)}, ["KU001", "KU010"], BENCHMARK)
    assert cell(frame, "plain", "KU001")["status"] == "q1"
    assert cell(frame, "plain", "KU010")["status"] == "q5"
    assert set(frame["method"]) == {"quintile"}
    assert not {"better", "worse", "similar"} & set(frame["status"])


@pytest.mark.no_warehouse
def test_the_summary_then_selection_agrees_with_compare_group():
    share, plain = indicator(), indicator("plain", interval="none")
    tables = {"share": ratio_table(SIGNIFICANT),
              "plain": value_table([(f"KU{index:03d}", "2023", float(index)) for index in range(1, 11)])}
    chosen = ["KU001", "KU002", "KU003"]
    frame = theme_overview([share, plain], tables, chosen, BENCHMARK)
    for item in (share, plain):
        expected, _, _ = compare_group(tables[item.id], item, chosen, BENCHMARK, "2023")
        shown = frame[(frame["indicator"] == item.id) & frame["region"].isin(chosen)]
        assert shown["status"].tolist() == expected["status"].tolist()


@pytest.mark.no_warehouse
def test_trend_compares_with_the_same_period_a_year_before_as_shown():
    annual = indicator("annual", interval="none", decimals=1)
    monthly = indicator("monthly", interval="none", frequency="monthly", decimals=1)
    annual_rows = [("KU001", "2022", 5.0), ("KU001", "2023", 6.0),      # up
                   ("KU002", "2022", 6.0), ("KU002", "2023", 5.0),      # down
                   ("KU003", "2022", 5.01), ("KU003", "2023", 5.04),    # both shown as 5,0: flat
                   ("KU004", "2021", 9.0), ("KU004", "2023", 1.0)]      # no 2022: no arrow
    # October against October a year before, not against September (which is higher than October 2023).
    monthly_rows = [("KU001", "2022-10", 4.0), ("KU001", "2023-09", 9.0), ("KU001", "2023-10", 5.0)]
    frame = theme_overview([annual, monthly], {"annual": value_table(annual_rows),
                                               "monthly": value_table(monthly_rows)},
                           ["KU001", "KU002", "KU003", "KU004"], BENCHMARK)
    trends = {code: cell(frame, "annual", code)["trend"] for code in ("KU001", "KU002", "KU003", "KU004")}
    assert trends == {"KU001": "up", "KU002": "down", "KU003": "flat", "KU004": None}
    october = cell(frame, "monthly", "KU001")
    assert (october["period"], october["previous_period"], october["previous_value"], october["trend"]) == (
        "2023-10", "2022-10", 4.0, "up")


@pytest.mark.no_warehouse
def test_missing_values_stay_missing_and_each_area_shows_its_own_latest_period():
    share, absent = indicator(), indicator("absent")
    # KU002's data end in 2022; the benchmark has no 2022 value, so KU002 cannot be tested; KU009 has no data.
    table = ratio_table([*SIGNIFICANT, ("KU002", "2022", 900, 10_000)])
    table = table[~((table["region"] == "KU002") & (table["period"] == "2023"))]
    frame = theme_overview([share, absent], {"share": table}, ["KU001", "KU002", "KU009"], BENCHMARK)
    earlier, nothing = cell(frame, "share", "KU002"), cell(frame, "share", "KU009")
    assert earlier["period"] == "2022" and earlier["value"] == pytest.approx(9.0)
    assert earlier["status"] == "not_compared" and np.isnan(earlier["benchmark_value"])
    assert nothing["status"] == "no_data" and np.isnan(nothing["value"]) and pd.isna(nothing["period"])
    assert nothing["trend"] is None
    # An indicator without a table gets a row per area, all without values.
    assert frame[frame["indicator"] == "absent"]["status"].tolist() == ["no_data"] * 4
    assert frame[frame["indicator"] == "absent"]["value"].isna().all()


@pytest.mark.no_warehouse
def test_twelve_municipalities_give_thirteen_cells_per_indicator_in_the_chosen_order():
    share, plain = indicator(), indicator("plain", interval="none")
    codes = [f"KU{index:03d}" for index in range(40, 0, -3)][:12]  # not in code order
    tables = {"share": ratio_table([("MK07", "2023", 10_000, 100_000)]
                                   + [(code, "2023", 50 + 10 * n, 1_000) for n, code in enumerate(codes)]),
              "plain": value_table([(code, "2023", float(n)) for n, code in enumerate(codes)])}
    frame = theme_overview([share, plain], tables, codes, BENCHMARK)
    assert len(frame) == 2 * 13
    assert frame["region"].tolist() == (codes + [BENCHMARK]) * 2
    assert frame["indicator"].tolist() == ["share"] * 13 + ["plain"] * 13
    # One summary serves any selection: picking from it gives what a fresh computation gives.
    summary = summarise([share, plain], tables)
    pd.testing.assert_frame_equal(select(summary, [share, plain], codes[:3], BENCHMARK),
                                  theme_overview([share, plain], tables, codes[:3], BENCHMARK))


@pytest.mark.no_warehouse
def test_every_cell_colour_meets_wcag_aa_with_its_text():
    from ui.overview import CELL_COLOURS, MIN_CONTRAST, contrast_ratio

    assert contrast_ratio("#ffffff", "#000000") == pytest.approx(21.0)
    assert contrast_ratio("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)  # the familiar near miss
    for status, (background, text) in CELL_COLOURS.items():
        assert contrast_ratio(background, text) >= MIN_CONTRAST, status


@pytest.mark.no_warehouse
def test_every_status_and_arrow_has_its_text_in_every_language():
    from indicators.statistics import COMPARISON_RESULTS
    from ui.i18n import LANGUAGES, catalogue

    keys = [f"overview.status.{status}" for status in (*COMPARISON_RESULTS, "q1", "q2", "q3", "q4", "q5",
                                                       "benchmark", "no_data")]
    keys += [f"overview.trend.{trend}" for trend in ("up", "down", "flat")]
    keys += [f"overview.text.{trend}" for trend in ("up", "down", "flat", "no_trend")]
    for lang in LANGUAGES:
        missing = [key for key in keys if not catalogue(lang).get(key)]
        assert not missing, (lang, missing)


def overview_script():
    """Runs under AppTest: the overview of the employment theme, then the theme's panels as pages/theme.py draws
    them, opened the way the page opens the one whose cell was selected."""
    import streamlit as st

    from ui import loading, overview

    loading.ensure_warehouse()
    theme = loading.catalogue().theme("employment")
    chosen = overview.show_overview(theme, ["KU098", "KU016"], "MK07")
    if chosen:
        st.session_state[f"panel_{chosen}"] = True
    for item in theme.indicators:
        panel = st.expander(item.id, expanded=False, key=f"panel_{item.id}", on_change="rerun")
        if panel.open:
            with panel:
                st.write(f"panel {item.id} open")


def open_panels(at) -> list[str]:
    return [element.value.removeprefix("panel ").removesuffix(" open") for element in at.markdown
            if element.value.startswith("panel ")]


def test_the_overview_shows_finnish_numbers_for_the_real_municipalities_and_a_selected_cell_opens_its_panel():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(overview_script, default_timeout=120).run()
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table.columns) == ["Hollola", "Asikkala", "Päijät-Häme (vertailualue)"]
    unemployed, labour_force = raw_unemployment("KU098", "2023-10")
    hollola = table.loc["Työttömyysaste (%)", "Hollola"]
    # 710 / 10 482 = 6,8 %, October 2023, with an arrow for the change from October 2022.
    assert hollola.startswith(finnish_percent(100 * unemployed / labour_force).removesuffix("\u00a0%") + " ")
    assert hollola.endswith(" 10/2023") and hollola.split(" ")[1] in {"↑", "↓", "→"}
    assert "," in table.loc["Työttömyysaste (%)", "Päijät-Häme (vertailualue)"]
    assert open_panels(at) == []
    # The text alternative, in words, is written when its expander is opened.
    assert not any("Hollola: 6," in element.value for element in at.markdown)
    at.session_state["overview_text_employment"] = True
    at.run()
    text = " ".join(element.value for element in at.markdown)
    assert "- Hollola: 6,8\u00a0%, lokakuu 2023; parempi kuin vertailualue; " in text

    at.session_state["overview_employment"] = {"selection": {"cells": [[0, "Hollola"]]}}
    at.run()
    assert open_panels(at) == ["unemployment_rate"]
    links = [element.value for element in at.markdown if "](#" in element.value]
    assert links == ["Valittu indikaattori avautuu alempana: [Työttömyysaste](#unemployment_rate)"]
    # The reader closes the panel; the cell is still selected, and the panel stays closed.
    at.session_state["panel_unemployment_rate"] = False
    at.run()
    assert open_panels(at) == []


@pytest.mark.no_warehouse
def test_the_legend_says_better_or_worse_only_for_tested_colours():
    from ui.overview import legend_html

    only_quintiles = legend_html({"q1", "q4", "benchmark", "no_data"})
    assert "Ei testiä" in only_quintiles and "viidennes" in only_quintiles
    assert "parempi kuin" not in only_quintiles and "huonompi kuin" not in only_quintiles
    tested = legend_html({"better", "worse", "benchmark"})
    assert "parempi kuin vertailualue" in tested and "viidennes" not in tested
    assert "↑ suurempi kuin vuotta aiemmin" in tested
