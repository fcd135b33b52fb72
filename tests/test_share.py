"""Compare and share, through AppTest: a link reproduces the view, a preset link opens as written, and tampered or
hostile links never break a page (they fall back to defaults with a notice).

Two things about AppTest shape these tests:

- AppTest runs the app as `ui.serve` does, outside Streamlit's legacy `pages/`-directory mode (tests/conftest.py);
  in that mode a page hash equal to a legacy page's (`compare`, `about`) would run `pages/compare.py` alone, without
  app.py and its sidebar. So app.py always runs and `st.navigation` picks the page, as for a user's deep link.
- AppTest has no browser, and in Streamlit it is the browser that writes a bound sidebar widget's value into the URL
  (as the option's label, repeated for each choice of a multiselect: `municipalities=Hollola&municipalities=Lahti
  (Lahtis)`; tests/test_browser_share.py checks this in Chromium). The page's own choices (`indicator`, `group`,
  `period`, `start`, `index`) are written by the app (`ui.state.keep_in_url`). So a link is the URL the app wrote plus
  the sidebar widgets' labels, exactly as the browser would put them there.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import HealthCheck, example, given, settings, strategies as st
from streamlit.testing.v1 import AppTest
from streamlit.util import calc_hash

from indicators.catalogue import get_catalogue
from indicators.regions import get_registry
from sources.settings import get_settings
from sources.warehouse import open_warehouse
from tests.apptest_helpers import APP_FILE, APP_TIMEOUT_S
from ui.state import benchmark_options, option_labels

PAGES = ("", "employment", "climate", "work_ability", "wellbeing", "compare", "about")
SIDEBAR_KEYS = ("lang", "municipalities", "benchmark")
PAGE_KEYS = ("indicator", "group", "period", "start", "index")
VIEW_STATE = ("lang", "municipalities", "benchmark", "indicator", "group", "period", "start", "index_mode")


@pytest.fixture(scope="module")
def shared_warehouse_dir(tmp_path_factory):
    """One warehouse for the whole module: seeded from the snapshot by the first run (~2 s), reused afterwards."""
    return tmp_path_factory.mktemp("share") / "warehouse"


@pytest.fixture(autouse=True)
def shared_warehouse(isolated_settings, shared_warehouse_dir, monkeypatch):
    # Runs after conftest's isolated_settings (it asks for it), so this module's warehouse wins.
    monkeypatch.setenv("TIEDOLLA_WAREHOUSE_DIR", str(shared_warehouse_dir))
    get_settings.cache_clear()


def open_link(query: dict[str, str | list[str]], url_path: str = "compare") -> AppTest:
    """A new session opening `/<url_path>?<query>`: one run, the way a browser opens a shared link."""
    at = AppTest.from_file(APP_FILE, default_timeout=APP_TIMEOUT_S)
    for key, value in query.items():
        at.query_params[key] = value
    if url_path:  # the default page (home) is what an empty path opens
        at._page_hash = calc_hash(url_path)  # st.Page identifies a page by the hash of its URL path
    return at.run()


def current_url_path(at: AppTest) -> str | None:
    info = at._registered_pages.get(at._finished_page_script_hash)
    return None if info is None else info.get("url_pathname")


def sidebar_link_values(at: AppTest) -> dict[str, str | list[str]]:
    """What the browser writes into the URL for the bound sidebar widgets: the shown label of each choice."""
    lang = at.sidebar.selectbox(key="lang")
    municipalities = at.sidebar.multiselect(key="municipalities")
    benchmark = at.sidebar.selectbox(key="benchmark")
    return {
        "lang": lang.format_func(lang.value),
        "municipalities": [municipalities.format_func(code) for code in municipalities.value],
        "benchmark": benchmark.format_func(benchmark.value),
    }


def view_state(at: AppTest) -> dict[str, object]:
    return {key: at.session_state[key] for key in VIEW_STATE}


def texts(elements) -> list[str]:
    return [element.value for element in elements]


def as_lists(query) -> dict[str, list[str]]:
    return {key: value if isinstance(value, list) else [value] for key, value in query.items()}


# --- a link reproduces the view -------------------------------------------------------------------------------

def test_a_copied_link_reopens_the_same_view_in_a_new_session():
    at = open_link({})
    assert not at.exception
    assert current_url_path(at) == "compare"
    # The user picks municipalities and a benchmark in the sidebar ...
    at.sidebar.multiselect(key="municipalities").set_value(["KU098", "KU398"])  # Hollola, Lahti
    at.sidebar.selectbox(key="benchmark").set_value("MK01")  # Uusimaa
    at.run()
    # ... then the indicator (its periods differ: annual), the group, the period, the trend's start and index mode ...
    at.selectbox(key="indicator__fi").set_value("job_self_sufficiency")
    at.selectbox(key="group__fi").set_value("benchmark_members")
    at.run()
    at.select_slider(key="period__fi").set_value("2015")
    at.select_slider(key="start__fi").set_value("2010")
    at.toggle(key="index_mode").set_value(True)
    at.run()
    # ... and last the language (AppTest formats options in the test's own thread, in Finnish, so no widget is
    # touched after this).
    at.sidebar.selectbox(key="lang").set_value("sv")
    at.run()
    assert not at.exception and not at.warning
    chosen = view_state(at)
    assert chosen == {"lang": "sv", "municipalities": ["KU098", "KU398"], "benchmark": "MK01",
                      "indicator": "job_self_sufficiency", "group": "benchmark_members", "period": "2015",
                      "start": "2010", "index_mode": True}
    written = dict(at.query_params)
    assert written == {"indicator": "job_self_sufficiency", "group": "benchmark_members", "period": "2015",
                       "start": "2010", "index": "1"}
    link = {**written, **sidebar_link_values(at)}
    assert link["municipalities"] == ["Hollola", "Lahti (Lahtis)"]
    assert link["benchmark"] == "Uusimaa (Nyland)" and link["lang"] == "svenska"

    reopened = open_link(link)
    assert not reopened.exception
    assert current_url_path(reopened) == "compare"
    assert view_state(reopened) == chosen
    assert texts(reopened.title) == texts(at.title) == ["Jämförelse och delning"]
    assert texts(reopened.header) == texts(at.header)
    assert texts(reopened.header)[0] == "Arbetsplatssjälvförsörjning, 2015"
    assert texts(reopened.markdown) == texts(at.markdown)  # the same summaries, ranking and trend sentences
    assert not reopened.warning and not reopened.sidebar.warning
    # The reopened view writes the same URL again, and the link it offers for copying carries every choice.
    assert {key: reopened.query_params[key] for key in PAGE_KEYS} == written
    shown_link = reopened.code[-1].value
    # ... and pins the data it shows: `asof` names the warehouse's latest vintage.
    with open_warehouse(get_settings().warehouse_location) as store:  # closed: its pool is not left to GC
        latest = store.latest_vintage_id()
    assert latest > 0
    assert as_lists(parse_qs(urlsplit(shown_link).query)) == as_lists({**link, "asof": str(latest)})


def test_a_preset_link_opens_with_its_values_and_swedish_texts():
    at = open_link({"lang": "svenska", "municipalities": "Hollola",
                    "benchmark": "Päijät-Häme (Päijänne-Tavastland)", "indicator": "job_self_sufficiency",
                    "period": "2015"})
    assert not at.exception
    assert not at.warning and not at.sidebar.warning
    state = view_state(at)
    assert state["lang"] == "sv" and state["municipalities"] == ["KU098"] and state["benchmark"] == "MK07"
    assert state["indicator"] == "job_self_sufficiency" and state["period"] == "2015"
    assert state["group"] == "selection"  # not in the link: the default
    assert at.title[0].value == "Jämförelse och delning"
    assert at.selectbox(key="indicator__sv").label == "Indikator"  # page widgets have a key per language
    assert at.sidebar.multiselect(key="municipalities").label == "Kommuner"
    headers = texts(at.header)
    assert headers[0] == "Arbetsplatssjälvförsörjning, 2015"
    assert "Placering i gruppen" in headers and "Dela den här vyn" in headers
    summary = " ".join(texts(at.markdown))
    assert "Hollola" in summary and "Päijänne-Tavastland" in summary  # the benchmark by its Swedish name
    assert "Päijät-Häme" not in summary
    assert at.query_params["period"] == "2015" and at.query_params["indicator"] == "job_self_sufficiency"


def test_tampered_page_values_fall_back_to_defaults_with_a_notice():
    at = open_link({"indicator": "<script>", "period": "1899", "group": "zzz"})
    assert not at.exception
    state = view_state(at)
    assert state["indicator"] == next(iter(get_catalogue().indicators))  # the first indicator: unemployment rate
    assert state["group"] == "selection"
    assert state["period"] == "2023-10"  # the latest month of the default municipalities
    notice = " ".join(texts(at.main.warning))
    assert "<script>" in notice and "1899" in notice and "zzz" in notice
    assert not at.sidebar.warning  # the sidebar's own values were fine
    assert at.header[0].value == "Työttömyysaste, lokakuu 2023"
    # The link the page writes back no longer carries the tampered values.
    assert {key: at.query_params[key] for key in ("indicator", "group", "period")} == {
        "indicator": "unemployment_rate", "group": "selection", "period": "2023-10"}


@pytest.mark.parametrize("key, value", [
    ("start", "2100"),
    ("index", "yes"),
])
def test_tampered_trend_values_are_named_in_the_notice(key, value):
    at = open_link({key: value})
    assert not at.exception
    assert at.query_params[key] == {"start": "2006-01", "index": "0"}[key]  # the default replaces it either way
    assert value in " ".join(texts(at.main.warning))


def test_every_benchmark_area_has_its_own_link_label():
    registry = get_registry()
    labels = list(option_labels(registry, tuple(benchmark_options(registry))).values())
    assert len(labels) == len(set(labels))


# --- hostile links never break a page -------------------------------------------------------------------------

HOSTILE = [
    "=cmd|' /C calc'!A0", "+SUM(1,1)", "@HYPERLINK(\"http://example.invalid\")", "../../etc/passwd",
    "..\\..\\windows\\win.ini", "%00", "\x00", "%", "%%", "%ZZ", "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "' OR '1'='1'; DROP TABLE municipalities;--", "{{7*7}}", "${jndi:ldap://example.invalid/a}", "{0}", "{name}",
    "[x](javascript:alert(1))", "**bold**", "\u202eenilno", "\ufeffHollola", "Hollola\n", " Hollola", "HOLLOLA",
    "KU098", "KU", "SSS", "MK07", "Helsinki (Helsingfors)", "Päijät-Häme (Päijänne-Tavastland)",
    "Ahvenanmaa (Åland)", "Koko maa (Hela landet)", "svenska", "English", "sv", "fi", "2015", "2020-10", "2020-13",
    "1899", "-1", "0", "1",
    "1e309", "NaN", "inf", "None", "null", "true", "[]", "{}", "selection", "benchmark_members", "largest_10",
    "largest_20", "largest_0", "largest_x", "unemployment_rate", "population", "long_term_unemployed_share",
    "emissions_total", "a" * 5000, "🙂" * 300, "suomi\r\n", "\t", " ",
]
KEYS = [*SIDEBAR_KEYS, *PAGE_KEYS]
EXTRA_KEYS = ["index_mode", "panel_unemployment_rate", "tabs_unemployment_rate", "page", "embed_options_x",
              "__proto__", "_theme_id", "", "municipalities[]", "LANG"]

value = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=60), st.text(min_size=300, max_size=3000))
query_strategy = st.dictionaries(
    keys=st.one_of(st.sampled_from(KEYS), st.sampled_from(EXTRA_KEYS), st.text(min_size=1, max_size=20)),
    values=st.one_of(value, st.lists(value, max_size=14)),
    max_size=9,
)


# Every key repeated, and more valid municipalities than the multiselect takes (12): the first 12 are kept.
EVERY_KEY_TWICE = {
    "lang": ["svenska", "English"], "benchmark": ["Päijät-Häme (Päijänne-Tavastland)", "Uusimaa (Nyland)"],
    "municipalities": ["Asikkala", "Heinola", "Hollola", "Orimattila", "Lahti (Lahtis)", "Helsinki (Helsingfors)",
                       "Espoo (Esbo)", "Vantaa (Vanda)", "Turku (Åbo)", "Tampere (Tammerfors)", "Oulu (Uleåborg)",
                       "Kuopio", "Jyväskylä", "Kotka"],
    "indicator": ["job_self_sufficiency", "population"], "group": ["largest_10", "benchmark_members"],
    "period": ["2015", "2016"], "start": ["2010", "2000"], "index": ["1", "0"],
}


@pytest.mark.parametrize("url_path", PAGES)
@settings(max_examples=12, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(query=query_strategy)
@example(query=EVERY_KEY_TWICE)
def test_no_link_breaks_a_page(url_path, query):
    at = open_link(query, url_path)
    assert not at.exception, (url_path, query, [e.value for e in at.exception])
    assert not at.error, (url_path, query, texts(at.error))
    assert current_url_path(at) == url_path
    assert at.title, (url_path, query)
    assert at.session_state["lang"] in ("fi", "sv", "en")
    assert len(at.session_state["municipalities"]) <= 12


def shown_panels(at: AppTest) -> list[str]:
    """The indicator panels drawn open: each open panel starts with the indicator's heading (anchored by its id)."""
    return [element.proto.anchor for element in at.subheader
            if element.proto.anchor and not element.proto.anchor.startswith("overview_")]


def test_a_theme_page_link_reopens_its_panels_and_tabs_and_spells_out_every_choice():
    """A theme page's link carries the open panels and each one's tab, and names language, municipalities and
    benchmark itself, so a server with other defaults shows the same view."""
    first = open_link({}, "employment")
    assert shown_panels(first) == ["unemployment_rate", "unemployment_rate_annual"]  # one per section by default
    link = parse_qs(urlsplit(first.code[-1].value).query)
    assert link["open"] == ["overview,unemployment_rate,unemployment_rate_annual"]
    assert link["tabs"] == ["unemployment_rate:trend,unemployment_rate_annual:trend"]
    settings = get_settings()
    labels = option_labels(get_registry(), tuple(settings.default_municipalities))
    assert link["lang"] == ["suomi"]
    assert link["municipalities"] == [labels[code] for code in settings.default_municipalities]
    assert link["benchmark"] == ["Päijät-Häme (Päijänne-Tavastland)"]

    chosen = {"lang": "svenska", "municipalities": ["Hollola", "Lahti (Lahtis)"], "benchmark": "Uusimaa (Nyland)",
              "open": "concept_map,vacancies_per_100_unemployed", "tabs": "vacancies_per_100_unemployed:compare"}
    at = open_link(chosen, "employment")
    assert not at.exception
    assert [w.value for w in at.warning if w.icon != ":material/history:"] == []  # old data, but no link notice
    assert shown_panels(at) == ["vacancies_per_100_unemployed"]  # the link's panel, and not the default ones
    assert at.session_state["municipalities"] == ["KU098", "KU398"] and at.session_state["benchmark"] == "MK01"
    # The comparison tab is the one drawn: its heading names the indicator and the period compared.
    assert any(text.startswith("**Lediga arbetsplatser") for text in texts(at.markdown))
    assert at.get("graphviz_chart")  # the concept map is open
    shown = as_lists(parse_qs(urlsplit(at.code[-1].value).query))
    assert {key: shown[key] for key in chosen} == as_lists(chosen)


def test_a_theme_page_link_with_unknown_panels_or_tabs_opens_with_a_notice():
    at = open_link({"open": "no_such_indicator,population", "tabs": "population:pie,nothing:trend"}, "wellbeing")
    assert not at.exception
    notice = " ".join(texts(at.warning))
    assert "no_such_indicator" in notice and "population:pie" in notice and "nothing:trend" in notice
    assert shown_panels(at) == ["population"]  # the known panel opens, at its first tab
    assert at.get("vega_lite_chart")  # its trend is drawn


def test_the_theme_overview_shows_every_municipality_and_a_selected_cell_opens_its_panel():
    """The overview table on the theme page (real bundled data): a column per chosen municipality and the
    benchmark, Finnish numbers; choosing the cell of an indicator opens that indicator's panel below."""
    at = open_link({"municipalities": ["Hollola", "Lahti (Lahtis)"], "open": "overview"}, "employment")
    assert not at.exception
    overview = next(frame for frame in at.dataframe if frame.proto.id and "overview_employment" in frame.proto.id)
    shown = overview.value
    assert {"Hollola", "Lahti"} <= set(shown.columns) and any("Päijät-Häme" in column for column in shown.columns)
    assert shown.map(lambda text: "," in str(text)).any().any()  # decimal commas
    assert shown_panels(at) == []  # the link opened the overview only
    row = list(shown.index).index(next(label for label in shown.index if str(label).startswith("Avoimet")))
    at.session_state["overview_employment"] = {"selection": {"cells": [[row, "Hollola"]]}}
    at.run()
    assert not at.exception
    assert shown_panels(at) == ["vacancies_per_100_unemployed"]


def test_the_downloads_panel_makes_the_pdf_report_of_the_view():
    at = open_link({"municipalities": ["Hollola"], "open": "downloads"}, "employment")
    assert not at.exception
    make = next(button for button in at.button if button.key == "report_employment_make")
    make.click().run()
    assert not at.exception
    wanted, pdf = at.session_state["report_employment"]
    assert pdf.startswith(b"%PDF") and wanted[1] == ("KU098",)
    assert at.get("download_button")  # the zip and the finished report are offered
