"""AppTest for app.py and every page: no exception, and the numbers shown match the raw files computed by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.apptest_helpers import open_page, run_app

RAW_UNEMPLOYMENT = Path("data/raw/unemployment-counts-12r5-2006-2023/tyonv_12r5.rda")


def raw_unemployment(municipality_code: str, month: str) -> tuple[int, int]:
    """Unemployed and labour force straight from the raw R file (not through the snapshot)."""
    import warnings

    import pandas as pd
    import rdata

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raw = rdata.conversion.convert(rdata.parser.parse_file(RAW_UNEMPLOYMENT))["tyonv_12r5"]
    rows = raw[(raw["alue"].astype(str) == municipality_code)
               & (pd.to_datetime(raw["time"], unit="D").dt.strftime("%Y-%m") == month)]
    values = dict(zip(rows["tiedot"].astype(str), rows["value"]))
    return int(values["TYOTTOMATLOPUSSA"]), int(values["TYOVOIMATK"])


def finnish_percent(value: float) -> str:
    return f"{value:.1f}".replace(".", ",") + "\u00a0%"  # Finnish style: decimal comma, no-break space before %


@pytest.fixture(scope="module")
def employment():
    at = run_app()
    return open_page(at, "employment")


def test_home_page_renders_with_the_four_themes():
    at = run_app()
    assert not at.exception
    assert at.title[0].value.startswith("Tiedolla")
    text = " ".join(m.value for m in at.markdown)
    for theme in ("Työllisyys", "Ilmasto", "Työkyky", "hyvinvointi"):
        assert theme in text


def test_employment_key_figure_for_hollola_equals_the_raw_file(employment):
    assert not employment.exception
    unemployed, labour_force = raw_unemployment("KU098", "2023-10")
    expected = finnish_percent(100 * unemployed / labour_force)
    metrics = {metric.label: metric.value for metric in employment.metric}
    assert metrics["Hollola"] == expected  # 710 / 10482 = 6,8 %
    assert set(metrics) == {"Asikkala", "Heinola", "Hollola", "Orimattila"}


def test_a_key_figures_change_is_the_difference_of_the_values_shown_and_no_change_has_no_arrow():
    """Heinola's real rate: 12,862 % in October 2023 against 12,835 % a year before (12 5 file), shown as 12,9 and
    12,8: the change a reader works out is +0,1, with the overview's up arrow, not "+0,0" beside an arrow."""
    unemployed, labour_force = raw_unemployment("KU111", "2023-10")
    before_unemployed, before_labour_force = raw_unemployment("KU111", "2022-10")
    assert (f"{100 * unemployed / labour_force:.1f}", f"{100 * before_unemployed / before_labour_force:.1f}") \
        == ("12.9", "12.8")
    at = open_page(run_app(), "employment")
    heinola = next(metric for metric in at.metric if metric.label == "Heinola")
    assert heinola.proto.delta == "+0,1\u00a0%-yks." and heinola.proto.direction == heinola.proto.MetricDirection.UP


def test_no_change_at_the_shown_decimals_reads_0_without_arrow_or_colour_and_a_fall_reads_minus():
    from indicators.catalogue import get_catalogue
    from ui.views import metric_change

    rate = get_catalogue().indicators["unemployment_rate"]  # lower is better
    # CONSTRUCTED values: 6,84 and 6,81 are both shown as 6,8.
    assert metric_change(6.81, 6.84, rate, "%") == ("0,0\u00a0%-yks.", "off", "off")
    assert metric_change(6.74, 6.84, rate, "%") == ("-0,1\u00a0%-yks.", "inverse", "auto")
    assert metric_change(6.86, 6.84, rate, "%") == ("+0,1\u00a0%-yks.", "inverse", "auto")
    assert metric_change(None, 6.84, rate, "%") == (None, "off", "auto")


def test_employment_page_draws_the_open_panels_charts(employment):
    # The first indicator of each section is open: its trend chart is drawn (the others compute when opened).
    assert len(employment.get("vega_lite_chart")) == 2


def test_employment_page_has_both_sections_charts_and_source_lines(employment):
    headers = [header.value for header in employment.header]
    assert any("Tilannekuva" in header for header in headers)
    assert any("Rakenteelliset" in header for header in headers)
    captions = " ".join(caption.value for caption in employment.caption)
    assert "Lähde:" in captions and "Ajanjakso:" in captions and "Tiedot päivitetty:" in captions
    assert "tammikuu 2006 – lokakuu 2023" in captions


def test_indicator_without_data_says_not_fetched_yet(employment):
    labels = [expander.label for expander in employment.expander]
    assert "Pitkäaikaistyöttömät · ei vielä haettu" in labels
    # Data to 2023 are old in 2026: the label goes on with the old-data badge (tests/test_freshness.py).
    assert any(label.startswith("Työttömyysaste · tammikuu 2006 – lokakuu 2023") for label in labels), labels


def test_climate_theme_of_a_few_municipalities_says_so_once_instead_of_empty_charts():
    # The bundled emissions cover 13 North Karelia municipalities; the default selection is in Päijät-Häme.
    at = open_page(run_app(), "climate")
    assert not at.exception
    infos = [info.value for info in at.info]
    notice = "Sovelluksen mukana tulevat tiedot kattavat tässä teemassa vain 13 kuntaa"
    assert sum(info.startswith(notice) for info in infos) == 1, infos
    assert infos[0].startswith(notice), infos  # at the top
    # The open panels say there are no data for this selection, not that nothing has been fetched.
    assert not any("ei ole vielä" in info for info in infos), infos
    assert not at.get("vega_lite_chart")
    headers = [header.value for header in at.header]
    assert any("Tilannekuva" in h for h in headers) and any("Rakenteelliset" in h for h in headers)


def test_every_theme_page_and_the_about_page_render_without_exception():
    at = run_app()
    for url_path in ("employment", "climate", "work_ability", "wellbeing", "about"):
        open_page(at, url_path)
        assert not at.exception, (url_path, at.exception)
        assert at.title, url_path


def test_swedish_shows_swedish_texts_and_region_names():
    at = run_app({"lang": "svenska", "municipalities": ["Helsinki (Helsingfors)"]})
    open_page(at, "employment")
    assert not at.exception
    assert "Sysselsättning" in at.title[0].value
    assert [metric.label for metric in at.metric] == ["Helsingfors"]


def test_tampered_link_falls_back_to_defaults_with_a_notice():
    at = run_app({"municipalities": ["<script>", "Hollola"], "benchmark": "Atlantis", "lang": "klingon"})
    assert not at.exception
    warnings = " ".join(warning.value for warning in at.sidebar.warning)
    assert "Atlantis" in warnings and "klingon" in warnings
    assert at.session_state["benchmark"] == "MK07"
    assert at.session_state["lang"] == "fi"


def test_concept_map_shows_the_theme_and_leads_to_the_chosen_indicator():
    at = open_page(run_app(), "work_ability")
    at.session_state["concept_map_work_ability"] = True  # the user opens the concept map
    at.run()
    graph = at.get("graphviz_chart")[0].proto.spec
    for indicator_id in ("sickness_allowance_16_64", "pensioners_share", "disability_pension_25_64"):
        assert f'"{indicator_id}"' in graph
    assert '"s_snapshot.kf.pensioners_share" -> "pensioners_share"' in graph  # which series feeds which indicator
    picker = next(box for box in at.selectbox if box.key == "concept_pick_work_ability")
    picker.set_value("pensioners_share").run()
    assert not at.exception
    panels = [heading for heading in at.subheader if not heading.proto.anchor.startswith("overview_")]
    assert panels[0].value.startswith("Eläkeläisten osuus väestöstä")  # and the old-data badge, if old
    assert any(chart for chart in at.get("vega_lite_chart"))


# --- partial data and missing benchmarks, on the real bundled data ------------------------------------------------


def test_climate_names_the_13_bundled_municipalities_and_those_chosen_outside_them():
    # Joensuu is among the 13 North Karelia municipalities with bundled emissions; Hollola is not.
    at = open_page(run_app({"municipalities": ["Joensuu", "Hollola"]}), "climate")
    assert not at.exception
    notices = [info.value for info in at.info if "13 kuntaa" in info.value]
    assert len(notices) == 1, [info.value for info in at.info]
    assert "Heinävesi" in notices[0] and "Tohmajärvi" in notices[0] and "Joensuu" in notices[0]
    assert "eivät kuulu: Hollola" in notices[0] and "päivitetään" in notices[0]
    metrics = {metric.label: metric.value for metric in at.metric}
    assert "Joensuu" in metrics


def test_a_benchmark_that_cannot_be_computed_says_why_beneath_the_chart():
    # Päijät-Häme has no bundled emissions: its line would be missing without a word.
    at = open_page(run_app({"municipalities": ["Joensuu"]}), "climate")
    captions = " ".join(caption.value for caption in at.caption)
    assert "Vertailualueelle (Päijät-Häme, Koko maa) ei ole lukua" in captions
    assert "vähintään 90 %:lta kunnista" in captions


def test_sickness_allowance_has_benchmark_values_from_the_weighted_municipalities():
    # Once missing: a rate the source gives for municipalities only now has area values weighted by an estimate of
    # the population aged 16-64 (the definition says it is approximate).
    at = open_page(run_app(), "work_ability")
    assert not at.exception
    captions = " ".join(caption.value for caption in at.caption)
    assert "likiarvoja" in captions
    assert "Vertailualueelle" not in captions  # Päijät-Häme and the whole country both have a line


def test_the_reason_for_a_missing_benchmark_follows_the_formula():
    from indicators.catalogue import load_catalogue
    from ui.views import no_benchmark_reason

    indicators = load_catalogue().indicators
    # Gini cannot be summed from municipalities at all; emissions per resident could, given enough municipalities.
    assert no_benchmark_reason(indicators["gini"]) == "indicator.no_benchmark_municipal_only"
    assert no_benchmark_reason(indicators["emissions_per_resident"]) == "indicator.no_benchmark_coverage"
    assert no_benchmark_reason(indicators["sickness_allowance_16_64"]) == "indicator.no_benchmark_coverage"
