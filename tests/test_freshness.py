"""Honest freshness (GitHub issue #11): old data carry a badge, themes say how far their data reach, a theme without
data says so once, source lines give every data date, and residents see no commands or series ids.

Every fixture here is CONSTRUCTED, not real data: a small snapshot of made-up series (its own config.toml, snapshot
folder and theme files, pointed at through TIEDOLLA_CONFIG_FILE and TIEDOLLA_THEMES_DIR), so the tests do not move
when the bundled snapshot is rebuilt. The old series end in 2020-10 and 2016, old on any day after March 2021; the
fresh one ends in the month before the day the test runs.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from indicators.catalogue import get_catalogue
from indicators.freshness import MAX_LAG, frequency_of, is_stale, lag, latest_period, period_end
from sources.contract import Provenance, SeriesData, SeriesInfo
from sources.settings import get_settings
from sources.warehouse import open_warehouse
from tests.apptest_helpers import open_page, run_app
from ui.i18n import set_language
from ui.loading import SourceNote, dates_by_source
from ui.views import source_line, updated_text

TODAY = date(2026, 12, 2)


# --- the rule ---------------------------------------------------------------------------------------------------


def test_monthly_data_are_old_when_more_than_three_months_behind():
    assert not is_stale("2026-09", "monthly", TODAY)  # three months behind December: still current
    assert is_stale("2026-08", "monthly", TODAY)  # four months behind: old
    assert not is_stale("2026-11", "monthly", TODAY) and not is_stale("2026-12", "monthly", TODAY)
    assert lag("2026-08", "monthly", TODAY) == 4 and MAX_LAG["monthly"] == 3


def test_the_monthly_rule_counts_months_across_a_new_year_and_ignores_the_day():
    assert not is_stale("2025-10", "monthly", date(2026, 1, 31))
    assert is_stale("2025-09", "monthly", date(2026, 1, 1))
    assert not is_stale("2026-09", "monthly", date(2026, 12, 31))


def test_annual_data_are_old_when_more_than_two_years_behind():
    assert not is_stale("2024", "annual", TODAY)
    assert is_stale("2023", "annual", TODAY)
    assert not is_stale("2024", "annual", date(2026, 1, 1)) and is_stale("2023", "annual", date(2026, 1, 1))
    assert not is_stale("2026", "annual", TODAY)


def test_quarterly_weekly_and_daily_rhythms_have_their_own_allowances():
    assert not is_stale("2026-Q2", "quarterly", TODAY) and is_stale("2026-Q1", "quarterly", TODAY)
    assert not is_stale("2026-W45", "weekly", TODAY) and is_stale("2026-W44", "weekly", TODAY)  # today: 2026-W49
    assert not is_stale("2026-11-18", "daily", TODAY) and is_stale("2026-11-17", "daily", TODAY)


def test_a_period_after_today_is_not_old_and_a_period_of_another_form_is_refused():
    assert lag("2027-02", "monthly", TODAY) < 0 and not is_stale("2027-02", "monthly", TODAY)
    with pytest.raises(ValueError, match="not a monthly period"):
        is_stale("2023", "monthly", TODAY)
    with pytest.raises(ValueError, match="unknown frequency"):
        is_stale("2023", "yearly", TODAY)


def test_the_latest_of_periods_of_mixed_frequencies_is_the_one_reaching_furthest():
    assert frequency_of("2023") == "annual" and frequency_of("2023-10") == "monthly"
    assert period_end("2023-02") == date(2023, 2, 28) and period_end("2024-Q1") == date(2024, 3, 31)
    assert latest_period(["2023-10", "2023", "2016"]) == "2023"  # the year 2023 reaches past October 2023
    assert latest_period(["2023-12", "2023"]) == "2023-12"
    assert latest_period([]) is None


# --- data dates on the source line (constructed notes) -----------------------------------------------------------


def note(updated_by: list[tuple[str, str | None]], areas: bool = False) -> SourceNote:
    return SourceNote(publishers=["Tilastokeskus", "THL"], tables=["a"], licences=["CC BY 4.0"], first_period="2020",
                      last_period="2024", data_updated=max((d for _, d in updated_by if d), default=None),
                      fetched_at=None, stale_errors=[], updated_by=updated_by, areas=areas)


def test_a_line_of_series_with_different_data_dates_gives_each_date():
    set_language("fi")
    assert updated_text(note([("Tilastokeskus", "2025-02-25"), ("THL", "2025-04-23")])) == \
        "Tilastokeskus 25.2.2025; THL 23.4.2025"
    assert updated_text(note([("Tilastokeskus", "2025-02-25"), ("THL", "2025-02-25")])) == "25.2.2025"
    assert updated_text(note([("Tilastokeskus", None)])) == "ei tiedossa"
    assert updated_text(note([("Tilastokeskus", "2025-02-25"), ("THL", None)])) == \
        "Tilastokeskus 25.2.2025; THL ei tiedossa"


def test_one_publishers_tables_of_different_dates_are_named_by_table():
    assert dates_by_source([("Tilastokeskus", "12r5", "2025-02-25"), ("Tilastokeskus", "115b", "2025-03-01"),
                            ("THL", "127", "2025-04-23"), ("THL", "128", "2025-04-23")]) == [
        ("Tilastokeskus (12r5)", "2025-02-25"), ("Tilastokeskus (115b)", "2025-03-01"), ("THL", "2025-04-23")]


def test_a_line_with_areas_says_they_are_on_the_2026_division():
    set_language("fi")
    assert source_line(pd.DataFrame(), note([("THL", "2025-04-23")], areas=True)).endswith(
        "Alueet vuoden 2026 aluejaon mukaan.")
    assert "aluejaon" not in source_line(pd.DataFrame(), note([("THL", "2025-04-23")]))
    set_language("sv")
    assert "Områden enligt 2026 års områdesindelning." in source_line(pd.DataFrame(), note([("THL", None)], True))
    set_language("en")
    assert "Areas on the 2026 division." in source_line(pd.DataFrame(), note([("THL", None)], True))
    set_language("fi")


# --- the app on a constructed snapshot ---------------------------------------------------------------------------

# The configured default municipalities (Asikkala, Heinola, Hollola, Orimattila).
MUNICIPALITIES = ["KU016", "KU111", "KU098", "KU560"]
AREAS = [*MUNICIPALITIES, "MK07", "SSS"]  # with values of their own for the benchmark and the country


def texts(fi: str, sv: str, en: str) -> str:
    return f'{{ fi = "{fi}", sv = "{sv}", en = "{en}" }}'


def last_month() -> str:
    today = date.today()
    return f"{today.year}-{today.month - 1:02d}" if today.month > 1 else f"{today.year - 1}-12"


def series(series_id: str, periods: list[str], regions: list[str], publisher: str, data_updated: str | None,
           frequency: str, unit: str = "henkilöä") -> SeriesData:
    frame = pd.DataFrame([{"series": series_id, "region": region, "period": period,
                           "value": float(100 + 10 * index + position)}
                          for index, region in enumerate(regions) for position, period in enumerate(periods)])
    info = SeriesInfo(id=series_id, title={"fi": series_id, "sv": series_id, "en": series_id}, unit=unit,
                      publisher=publisher, licence="CC BY 4.0", home_url="", frequency=frequency, measure="count",
                      source="snapshot")
    provenance = Provenance(source="snapshot", table=f"table of {series_id}", request_url="",
                            fetched_at="2026-01-01T00:00:00+00:00", data_updated=data_updated, licence="CC BY 4.0",
                            attribution=publisher)
    return SeriesData(info, frame, provenance)


def indicator(id_: str, name: str, kind: str, frequency: str, formula: str, unit: str, sub_area: str) -> str:
    return f'''
[[indicator]]
id = "{id_}"
name = {texts(name, name, name)}
description = {texts("Konstruoitu testimittari.", "Konstruerad testindikator.", "A constructed test indicator.")}
need = {texts("Testi?", "Test?", "Test?")}
kind = "{kind}"
sub_area = "{sub_area}"
unit = "{unit}"
decimals = 1
polarity = "neutral"
frequency = "{frequency}"
update = "{frequency}"
regions = ["municipality", "region", "country"]
formula = {formula}
'''


def theme(id_: str, name: str, order: int, indicators: str) -> str:
    return f'''[theme]
id = "{id_}"
name = {texts(name, name, name)}
description = {texts("Testiteema.", "Testtema.", "Test theme.")}
order = {order}
sub_areas = [{{ id = "main", name = {texts("Pää", "Huvud", "Main")} }}]
{indicators}'''


@pytest.fixture(scope="module")
def constructed(tmp_path_factory):
    """Config, snapshot and themes, all made up: returns the environment that points the app at them."""
    root = tmp_path_factory.mktemp("freshness")
    months = [f"{year}-{month:02d}" for year in (2019, 2020) for month in range(1, 13)][:22]  # to 2020-10
    with open_warehouse(str(root / "snapshot")) as store:
        store.write(series("snapshot.test_unemployed", months, AREAS, "Tilastokeskus", "2021-03-01", "monthly"))
        store.write(series("snapshot.test_labour_force", months, AREAS, "THL", "2025-04-23", "monthly"))
        store.write(series("snapshot.test_jobs", [str(year) for year in range(2010, 2017)], AREAS, "Tilastokeskus",
                           "2019-09-06", "annual", unit="kpl"))
        store.write(series("snapshot.test_fresh", [last_month()], AREAS, "THL", "2026-11-01", "monthly"))
        store.write(series("snapshot.test_few", ["2024"], ["KU167", "KU276"], "Syke", "2026-06-08", "annual",
                           unit="kpl"))
    config = root / "config.toml"
    config.write_text(f'''snapshot_dir = "{root / "snapshot"}"
[sources.snapshot]
kind = "snapshot"
title = {texts("Testipaketti", "Testpaket", "Test snapshot")}
publisher = "Tiedolla tests"
licence = "CC BY 4.0"

[sources.statfin]
kind = "pxweb"
base_url = "http://127.0.0.1:9/"
title = {texts("Testilähde", "Testkälla", "Test source")}
publisher = "Tilastokeskus"
licence = "CC BY 4.0"

[[sources.statfin.series]]
id = "statfin.test_emissions"
title = {texts("Päästöt", "Utsläpp", "Emissions")}
unit = "kpl"
frequency = "annual"
table = "StatFin/test/1"
content = "Päästöt"
''', encoding="utf-8")
    themes = root / "themes"
    themes.mkdir()
    (themes / "old.toml").write_text(theme("old", "Vanhat luvut", 1, indicator(
        "old_rate", "Vanha osuus", "situational", "monthly",
        '{ type = "ratio", numerator = "snapshot.test_unemployed", denominator = "snapshot.test_labour_force", '
        'scale = 100 }', "%", "main") + indicator(
        "old_jobs", "Vanhat työpaikat", "structural", "annual", '{ type = "value", input = "snapshot.test_jobs" }',
        "kpl", "main")), encoding="utf-8")
    (themes / "fresh.toml").write_text(theme("fresh", "Tuoreet luvut", 2, indicator(
        "fresh_count", "Tuore määrä", "situational", "monthly", '{ type = "value", input = "snapshot.test_fresh" }',
        "henkilöä", "main")), encoding="utf-8")
    (themes / "empty.toml").write_text(theme("empty", "Tyhjä teema", 3, indicator(
        "empty_emissions", "Päästöt", "situational", "annual", '{ type = "value", input = "statfin.test_emissions" }',
        "kpl", "main") + indicator(
        "empty_emissions_structural", "Päästöt pitkällä aikavälillä", "structural", "annual",
        '{ type = "value", input = "statfin.test_emissions" }', "kpl", "main")), encoding="utf-8")
    (themes / "few.toml").write_text(theme("few", "Harvat kunnat", 4, indicator(
        "few_count", "Harvojen kuntien luku", "structural", "annual", '{ type = "value", input = "snapshot.test_few" }',
        "kpl", "main")), encoding="utf-8")
    return {"TIEDOLLA_CONFIG_FILE": str(config), "TIEDOLLA_THEMES_DIR": str(themes)}


@pytest.fixture
def app_env(constructed, isolated_settings, monkeypatch):
    for key, value in constructed.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    get_catalogue.cache_clear()
    yield
    get_catalogue.cache_clear()


def texts_in(node, inside: str | None = None):
    """(text, label of the nearest enclosing expander) for every element with text in an AppTest tree."""
    label = getattr(node, "label", None) if getattr(node, "type", None) == "expander" else None
    here = label if label is not None else inside
    if label is not None:
        yield label, inside
    children = getattr(node, "children", None)
    if children is None:
        for name in ("value", "label", "body"):
            try:
                value = getattr(node, name)
            except Exception:  # noqa: BLE001 - element types differ in what they carry
                continue
            if isinstance(value, str):
                yield value, here
        return
    for child in children.values():
        yield from texts_in(child, here)


def open_theme(theme_id: str):
    at = open_page(run_app(), theme_id)
    assert not at.exception, at.exception
    return at


def test_a_theme_with_old_data_shows_the_badge_in_panel_labels_key_figures_and_the_situational_section(app_env):
    at = open_theme("old")
    labels = [expander.label for expander in at.expander]
    assert any(label.startswith("Vanha osuus · tammikuu 2019 – lokakuu 2020")
               and "vanha tieto: viimeisin lokakuu 2020" in label for label in labels), labels
    assert any(label.startswith("Vanhat työpaikat · 2010 – 2016") and "vanha tieto: viimeisin 2016" in label
               for label in labels), labels
    markdown = [element.value for element in at.markdown]
    assert any(text.startswith("**Vanha osuus, lokakuu 2020**") and "vanha tieto: viimeisin lokakuu 2020" in text
               for text in markdown), markdown
    assert any("vanha tieto: viimeisin lokakuu 2020" in header.value for header in at.subheader)  # the open panel
    warnings = [warning.value for warning in at.warning]
    assert warnings == ["Tämän osion tiedot ovat vanhoja (uusin lokakuu 2020), joten ne eivät kerro nykytilanteesta."]


def test_key_figures_carry_the_source_line_with_each_publishers_data_date(app_env):
    at = open_theme("old")
    captions = [caption.value for caption in at.main.caption]
    # The first caption after the metrics is the key figures' own source line (the panels' come later); the dates
    # follow the publishers in the order the line names them.
    key_line = next(caption for caption in captions if caption.startswith("Lähde:"))
    assert "Ajanjakso: lokakuu 2019 – lokakuu 2020." in key_line
    assert "Tiedot päivitetty: THL 23.4.2025; Tilastokeskus 1.3.2021." in key_line
    assert key_line.endswith("Alueet vuoden 2026 aluejaon mukaan.")
    assert sum("THL 23.4.2025; Tilastokeskus 1.3.2021" in caption for caption in captions) >= 2  # and the chart's


def test_fresh_data_carry_no_badge_and_no_section_notice(app_env):
    at = open_theme("fresh")
    assert not any("vanha tieto" in text for text, _ in texts_in(at.main))
    assert not at.warning


def test_the_sidebar_names_how_far_each_themes_data_reach(app_env):
    at = open_theme("old")
    sidebar = " ".join(caption.value for caption in at.sidebar.caption)
    fresh = date.fromisoformat(last_month() + "-01")
    assert "Tiedot ulottuvat:" in sidebar
    assert "Vanhat luvut: lokakuu 2020" in sidebar
    assert "Harvat kunnat: 2024" in sidebar
    assert "Tyhjä teema: ei vielä tietoja" in sidebar
    months = ["tammikuu", "helmikuu", "maaliskuu", "huhtikuu", "toukokuu", "kesäkuu", "heinäkuu", "elokuu", "syyskuu",
              "lokakuu", "marraskuu", "joulukuu"]
    assert f"Tuoreet luvut: {months[fresh.month - 1]} {fresh.year}" in sidebar


def test_a_theme_without_data_says_so_once_at_the_top_and_on_its_home_card(app_env):
    at = open_theme("empty")
    notice = "Tässä teemassa ei ole vielä tietoja. Mittarit"
    infos = [info.value for info in at.info]
    assert sum(info.startswith(notice) for info in infos) == 1, infos
    assert infos[0].startswith(notice)  # at the top, before the panels' own notes
    assert sum(info.startswith("Tälle mittarille ei ole vielä tietoja.") for info in infos) == 2  # the open panels
    home = run_app()
    cards = [caption.value for caption in home.main.caption]
    assert sum("Tässä teemassa ei ole vielä tietoja." in caption for caption in cards) == 1, cards
    assert any("Uusin tieto: lokakuu 2020" in caption and "vanha tieto" in caption for caption in cards), cards
    assert any(caption.endswith("Tietoja vain 2 kunnasta.") for caption in cards), cards  # the "few" theme


def test_commands_and_series_ids_appear_only_in_the_analyst_details(app_env):
    at = open_theme("empty")
    found = [(text, inside) for text, inside in texts_in(at._tree) if "python -m sources" in text
             or "statfin.test_emissions" in text]
    assert found, "the analyst details name the series and the command"
    assert all(inside == "Tiedot analyytikolle" for _, inside in found), found


def test_a_theme_whose_data_cover_other_municipalities_says_so_once(app_env):
    at = open_theme("few")
    infos = [info.value for info in at.info]
    assert infos[0] == ("Sovelluksen mukana tulevat tiedot kattavat tässä teemassa vain 2 kuntaa: Joensuu, "
                        "Kontiolahti. Valituista niihin eivät kuulu: Asikkala, Heinola, Hollola, Orimattila. Muiden "
                        "kuntien luvut tulevat näkyviin, kun tiedot päivitetään lähteestä."), infos
    assert not any("ei ole vielä tietoja" in info for info in infos)  # the panel does not call it unfetched
