"""The Sotkanet adapter against a real local HTTP server.

Every answer the replay server gives here is CONSTRUCTED in the documented formats of THL Sotkanet REST API 1.1
(/work/shared/SOURCES.md: `indicators/{id}` metadata with title{fi,sv,en}, data-updated, organization{id,title};
`regions` as [{id, code, category, title}]; `json?...` as a flat list of {indicator, region, year, gender, value}).
The metadata shape follows a real `indicators/186` answer (organization as an object, decimals, primaryValueType);
values and internal region ids other than the wellbeing services counties (956-978, data/raw/sotkanet-regions) are
made up.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from sources.contract import BadQuery, NotFound, SchemaChanged, SourceAdapter, SourceUnavailable, validate_frame
from sources.registry import build_adapter
from sources.settings import REPO_ROOT, get_settings, load_settings
from sources.sotkanet import (
    SotkanetAdapter,
    discontinued_after,
    official_region_code,
    parse_data,
    parse_regions,
    titles_match,
)
from sources.warehouse import open_warehouse
from tests.replay_server import json_answer
from tests.warehouse_state import stored_state

PREFIX = "/rest/1.1/"


REGIONS = [
    {"id": 100, "code": "98", "category": "KUNTA", "title": {"fi": "Hollola", "sv": "Hollola", "en": "Hollola"}},
    {"id": 101, "code": "16", "category": "KUNTA", "title": {"fi": "Asikkala", "sv": "Asikkala", "en": "Asikkala"}},
    {"id": 200, "code": "7", "category": "MAAKUNTA", "title": {"fi": "Päijät-Häme", "sv": "Päijänne-Tavastland",
                                                                "en": "Päijät-Häme"}},
    {"id": 975, "code": "9", "category": "HYVINVOINTIALUE", "title": {"fi": "Päijät-Hämeen hyvinvointialue"}},
    {"id": 960, "code": "90", "category": "HYVINVOINTIALUE", "title": {"fi": "Helsingin kaupunki"}},
    {"id": 300, "code": "71", "category": "SEUTUKUNTA", "title": {"fi": "Lahden seutukunta"}},
    {"id": 658, "code": "0", "category": "MAA", "title": {"fi": "Koko maa", "sv": "Hela landet",
                                                           "en": "Whole country"}},
    {"id": 400, "code": "6", "category": "SAIRAANHOITOPIIRI", "title": {"fi": "Päijät-Hämeen shp"}},
]


def metadata(indicator: int, title_fi: str, organization: str = "Tilastokeskus") -> dict:
    return {
        "id": indicator,
        "data-updated": "2026-03-31",
        "range": {"start": 1990, "end": 2025},
        "title": {"fi": title_fi, "sv": f"{title_fi} (sv)", "en": f"{title_fi} (en)"},
        "description": {"fi": "<p>Indikaattori kuvaa <b>jotakin</b>.</p>", "sv": "", "en": "<p>The indicator.</p>"},
        "interpretation": {"fi": "", "sv": "", "en": ""},
        "primaryValueType": {"code": "PERCENTAGE", "title": {"fi": "Prosentti", "sv": "Procent", "en": "Percent"}},
        "decimals": 1,
        "organization": {"id": 3, "title": {"fi": organization, "sv": organization, "en": organization}},
    }


POPULATION_META = metadata(127, "Väestö 31.12.")
UNEMPLOYED_META = metadata(181, "Työttömät, % työvoimasta")


def data_rows(indicator: int, years: list[int], base: float) -> list[dict]:
    rows = []
    for year in years:
        for region in REGIONS:
            rows.append({"indicator": indicator, "region": region["id"], "year": year, "gender": "total",
                         "value": base + region["id"] + (year - 2000) / 10})
    return rows


def config_text(base: str, **overrides) -> str:
    """A config file with only the Sotkanet source, pointed at the replay server, with fast retries."""
    options = {"max_retries": 1, "backoff_base_s": 0.01, "timeout_read_s": 5.0, "years_from": 2021,
               "years_to": 2023, "years_per_request": 10, "max_calls": 100, "window_s": 1.0, **overrides}
    lines = [f"{key} = {json.dumps(value)}" for key, value in options.items()]
    return "\n".join([
        "[sources.sotkanet]",
        'kind = "sotkanet"',
        'publisher = "THL"',
        'licence = "CC BY 4.0"',
        'attribution = "THL, Sotkanet.fi"',
        f'base_url = "{base}{PREFIX}"',
        *lines,
        "",
        "[[sources.sotkanet.series]]",
        'id = "sotkanet.population"',
        "indicator = 127",
        'title_guard = "Väestö 31.12."',
        'title = { fi = "Väestö 31.12.", sv = "Befolkning 31.12.", en = "Population 31 Dec" }',
        'unit = "henkilöä"',
        'measure = "count"',
        "",
        "[[sources.sotkanet.series]]",
        'id = "sotkanet.unemployed_share"',
        "indicator = 181",
        'title_guard = "Työttömät, % työvoimasta"',
        'title = { fi = "Työttömät, % työvoimasta", sv = "Arbetslösa", en = "Unemployed" }',
        'unit = "%"',
        'measure = "rate"',
        "",
    ])


@pytest.fixture
def configure(tmp_path, monkeypatch):
    """Write a test config pointing at `base` and return fresh settings (the environment points at the file)."""

    def _configure(base: str, **overrides):
        path = tmp_path / "config.toml"
        path.write_text(config_text(base, **overrides), encoding="utf-8")
        monkeypatch.setenv("TIEDOLLA_CONFIG_FILE", str(path))
        get_settings.cache_clear()
        return load_settings()

    return _configure


def serve_sotkanet(server, data=None, regions=REGIONS, metas=(POPULATION_META, UNEMPLOYED_META)):
    """Routes for regions, metadata and data; `data(request) -> answer` overrides the data route."""
    server.route("GET", PREFIX + "regions", lambda request: json_answer(json.dumps(regions)))
    for meta in metas:
        server.route("GET", f"{PREFIX}indicators/{meta['id']}",
                     lambda request, meta=meta: json_answer(json.dumps(meta)))

    def default_data(request):
        indicator = int(request.query["indicator"][0])
        years = [int(year) for year in request.query["years"]]
        return json_answer(json.dumps(data_rows(indicator, years, 1000.0 if indicator == 127 else 0.0)))

    server.route("GET", PREFIX + "json", data or default_data)


def adapter_for(settings) -> SotkanetAdapter:
    return build_adapter("sotkanet", settings)


# --- happy paths ----------------------------------------------------------------------------------------------------


def test_fetch_maps_internal_region_ids_to_official_codes(replay_server, configure):
    serve_sotkanet(replay_server)
    adapter = adapter_for(configure(replay_server.base))

    [population] = adapter.fetch(series_ids=["sotkanet.population"])

    frame = validate_frame(population.frame, "test")
    # The hospital district (another category) is left out.
    assert set(frame["region"]) == {"KU098", "KU016", "MK07", "HV09", "HV90", "SK071", "SSS"}
    assert set(frame["period"]) == {"2021", "2022", "2023"}
    hollola_2023 = frame[(frame["region"] == "KU098") & (frame["period"] == "2023")]["value"].item()
    assert hollola_2023 == pytest.approx(1000 + 100 + 2.3)
    assert (frame["series"] == "sotkanet.population").all()


def test_data_request_repeats_years_and_asks_for_both_sexes_combined(replay_server, configure):
    serve_sotkanet(replay_server)
    adapter_for(configure(replay_server.base)).fetch(series_ids=["sotkanet.population"])

    [call] = replay_server.calls("GET", PREFIX + "json")
    assert call.query == {"indicator": ["127"], "years": ["2021", "2022", "2023"], "genders": ["total"]}
    assert call.headers["user-agent"].startswith("Tiedolla/")


def test_provenance_carries_data_updated_licence_attribution_and_producer(replay_server, configure):
    serve_sotkanet(replay_server)
    [population] = adapter_for(configure(replay_server.base)).fetch(series_ids=["sotkanet.population"])

    provenance = population.provenance
    assert provenance.data_updated == "2026-03-31"
    assert provenance.licence == "CC BY 4.0"
    assert provenance.attribution == "THL, Sotkanet.fi"
    assert provenance.table == "indicator 127"
    assert "indicator=127" in provenance.request_url
    assert any("Tilastokeskus" in note for note in provenance.notes)  # produced by Statistics Finland, not THL
    assert population.info.description["en"] == "The indicator."  # HTML stripped; config had no description


def test_thl_indicator_gets_no_producer_note(replay_server, configure):
    thl_meta = metadata(181, "Työttömät, % työvoimasta", organization="Terveyden ja hyvinvoinnin laitos (THL)")
    serve_sotkanet(replay_server, metas=(POPULATION_META, thl_meta))
    [unemployed] = adapter_for(configure(replay_server.base)).fetch(series_ids=["sotkanet.unemployed_share"])
    assert not any("produced by" in note for note in unemployed.provenance.notes)


def test_long_year_range_is_split_into_chunks(replay_server, configure):
    serve_sotkanet(replay_server)
    adapter = adapter_for(configure(replay_server.base, years_from=2010, years_to=2022, years_per_request=5))

    [population] = adapter.fetch(series_ids=["sotkanet.population"])

    chunks = [call.query["years"] for call in replay_server.calls("GET", PREFIX + "json")]
    assert [len(chunk) for chunk in chunks] == [5, 5, 3]
    assert sorted(population.frame["period"].unique()) == [str(year) for year in range(2010, 2023)]


def test_metadata_and_regions_are_fetched_once_per_adapter(replay_server, configure):
    serve_sotkanet(replay_server)
    adapter = adapter_for(configure(replay_server.base))

    adapter.fetch(series_ids=["sotkanet.population"])
    adapter.fetch(series_ids=["sotkanet.unemployed_share"])
    adapter.fetch()

    assert len(replay_server.calls("GET", PREFIX + "regions")) == 1
    assert len(replay_server.calls("GET", PREFIX + "indicators/127")) == 1
    assert len(replay_server.calls("GET", PREFIX + "indicators/181")) == 1


def test_regions_and_periods_narrow_the_result(replay_server, configure):
    serve_sotkanet(replay_server)
    adapter = adapter_for(configure(replay_server.base))

    [population] = adapter.fetch(series_ids=["sotkanet.population"], regions=["KU098", "SSS"], periods=["2022"])

    assert sorted(population.frame["region"]) == ["KU098", "SSS"]
    assert set(population.frame["period"]) == {"2022"}
    assert replay_server.calls("GET", PREFIX + "json")[0].query["years"] == ["2022"]


def test_unknown_region_is_a_bad_query(replay_server, configure):
    serve_sotkanet(replay_server)
    with pytest.raises(BadQuery, match="KU999"):
        adapter_for(configure(replay_server.base)).fetch(regions=["KU999"])


def test_progress_counts_requests_and_cells(replay_server, configure):
    serve_sotkanet(replay_server)
    events = []
    adapter_for(configure(replay_server.base)).fetch(
        series_ids=["sotkanet.population"], progress=lambda **event: events.append(event)
    )
    assert sum(event.get("requests", 0) for event in events) == len(replay_server.requests) == 3
    assert sum(event.get("cells", 0) for event in events) == 7 * 3


# --- the id-title guard ----------------------------------------------------------------------------------------------


def test_wrong_id_title_pair_raises_bad_query_naming_both_titles(replay_server, configure):
    wrong = metadata(127, "Kuolleisuus / 100 000 asukasta")  # id 127 pinned as population, but titled otherwise
    serve_sotkanet(replay_server, metas=(wrong, UNEMPLOYED_META))

    with pytest.raises(BadQuery) as error:
        adapter_for(configure(replay_server.base)).fetch(series_ids=["sotkanet.population"])

    assert "Kuolleisuus / 100 000 asukasta" in str(error.value)
    assert "Väestö 31.12." in str(error.value)
    assert not replay_server.calls("GET", PREFIX + "json")  # no data fetched for a wrong pin


@pytest.mark.parametrize(
    ("pinned", "at_source"),
    [
        ("Työkyvyttömyyseläkettä saavat 25 - 64-vuotiaat, % vastaavanikäisestä väestöstä",
         "Työkyvyttömyyseläkettä saavat 25-64-vuotiaat, %  vastaavanikäisestä väestöstä "),
        ("Toimeentulotukea saaneet 25 - 64-vuotiaat, % vastaavanikäisestä väestöstä",
         "Toimeentulotukea saaneet 25 – 64-vuotiaat, % vastaavan ikäisestä väestöstä"),
        ("Työttömät, % työvoimasta", "TYÖTTÖMÄT, % TYÖVOIMASTA"),
        ("THL:n sairastavuusindeksi, ikävakioitu", "THL:n sairastavuusindeksi, ikävakioitu (-2019)"),
        ("Terveyttä edistävää liikuntaa 25 - 64", "Terveyttä edistävää liikuntaa 25&ndash 64"),
    ],
)
def test_title_guard_ignores_spacing_case_and_dash_style(pinned, at_source):
    assert titles_match(pinned, at_source)


@pytest.mark.parametrize(
    ("pinned", "at_source"),
    [
        ("Väestö 31.12.", "Kuolleisuus / 100 000 asukasta"),
        ("Työttömät, % työvoimasta", "Pitkäaikaistyöttömät, % työvoimasta"),
        ("Sairauspäivärahaa saaneet 16 - 64-vuotiaat / 1000 vastaavanikäistä",
         "Sairauspäivärahaa saaneet 16 - 24-vuotiaat / 1000 vastaavanikäistä"),
        ("Väestö 31.12.", ""),
    ],
)
def test_title_guard_rejects_other_indicators(pinned, at_source):
    assert not titles_match(pinned, at_source)


def test_discontinued_indicator_is_accepted_with_a_note(replay_server, configure):
    ended = metadata(181, "Työttömät, % työvoimasta (-2019)")
    serve_sotkanet(replay_server, metas=(POPULATION_META, ended))
    [series] = adapter_for(configure(replay_server.base)).fetch(series_ids=["sotkanet.unemployed_share"])
    assert discontinued_after("Työttömät, % työvoimasta (-2019)") == 2019
    assert any("discontinued" in note and "2019" in note for note in series.provenance.notes)


# --- pure parsers ----------------------------------------------------------------------------------------------------


def test_official_region_codes_are_zero_padded_by_category():
    assert official_region_code("KUNTA", "20") == "KU020"
    assert official_region_code("KUNTA", 98) == "KU098"
    assert official_region_code("MAAKUNTA", "7") == "MK07"
    assert official_region_code("HYVINVOINTIALUE", "9") == "HV09"
    assert official_region_code("HYVINVOINTIALUE", "91") == "HV91"
    assert official_region_code("SEUTUKUNTA", "71") == "SK071"
    assert official_region_code("MAA", "0") == "SSS"
    assert official_region_code("ERVA", "1") is None
    assert official_region_code("KUNTA", "1234") is None


def test_wellbeing_county_ids_from_the_recorded_mapping_get_their_official_codes():
    """data/raw/sotkanet-regions: Sotkanet ids 956-978 with the official county codes (real, from rOpenGov)."""
    table = pd.read_csv(REPO_ROOT / "data" / "raw" / "sotkanet-regions" / "sotkanet_hyvinvointialueet.csv")
    payload = [{"id": int(row.uusi_id), "code": str(row.uusi_code), "category": "HYVINVOINTIALUE",
                "title": {"fi": row.nimi}} for row in table.itertuples()]
    mapping = parse_regions(payload)
    assert len(mapping) == 23
    assert mapping[975] == "HV09"  # Päijät-Häme
    assert mapping[960] == "HV90" and mapping[956] == "HV91"  # Helsinki, Åland


def test_duplicate_official_codes_are_a_schema_change():
    payload = [{"id": 1, "code": "98", "category": "KUNTA"}, {"id": 2, "code": "098", "category": "KUNTA"}]
    with pytest.raises(SchemaChanged, match="KU098"):
        parse_regions(payload)


def test_parse_data_skips_missing_values_and_unknown_regions():
    rows = [{"indicator": 127, "region": 100, "year": 2023, "gender": "total", "value": 5.0},
            {"indicator": 127, "region": 100, "year": 2022, "gender": "total", "value": None},
            {"indicator": 127, "region": 999, "year": 2023, "gender": "total", "value": 1.0}]
    frame = parse_data(rows, 127, {100: "KU098"}, "sotkanet.population")
    assert frame.to_dict("records") == [
        {"series": "sotkanet.population", "region": "KU098", "period": "2023", "value": 5.0}
    ]


# --- the fault matrix ------------------------------------------------------------------------------------------------


def closed_port_base() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_connection_refused_is_source_unavailable(configure):
    adapter = adapter_for(configure(closed_port_base()))
    with pytest.raises(SourceUnavailable, match="cannot connect"):
        adapter.fetch(series_ids=["sotkanet.population"])


def test_timeout_is_source_unavailable(replay_server, configure):
    release = threading.Event()

    def slow(request):
        release.wait(2.0)
        return json_answer("[]")

    serve_sotkanet(replay_server)
    replay_server.route("GET", PREFIX + "regions", slow)
    adapter = adapter_for(configure(replay_server.base, timeout_read_s=0.2, max_retries=0))
    started = time.monotonic()
    try:
        with pytest.raises(SourceUnavailable, match="did not answer within 0.2 s"):
            adapter.fetch(series_ids=["sotkanet.population"])
    finally:
        release.set()
    assert time.monotonic() - started < 1.5


def test_429_with_retry_after_is_honoured_then_succeeds(replay_server, configure):
    serve_sotkanet(replay_server)
    answers = iter([(429, {"Retry-After": "1"}, b"Too Many Requests")])

    def limited(request):
        return next(answers, None) or json_answer(json.dumps(REGIONS))

    replay_server.route("GET", PREFIX + "regions", limited)
    [population] = adapter_for(configure(replay_server.base)).fetch(series_ids=["sotkanet.population"])

    first, second = replay_server.calls("GET", PREFIX + "regions")
    assert second.at - first.at >= 0.9  # waited as told, not the 0.01 s backoff
    assert not population.frame.empty


def test_server_error_is_retried_then_source_unavailable(replay_server, configure):
    serve_sotkanet(replay_server, data=lambda request: (500, {"Content-Type": "text/plain"}, b"oops"))
    with pytest.raises(SourceUnavailable, match="HTTP 500"):
        adapter_for(configure(replay_server.base, max_retries=2)).fetch(series_ids=["sotkanet.population"])
    assert len(replay_server.calls("GET", PREFIX + "json")) == 3


def test_malformed_body_is_schema_changed(replay_server, configure):
    serve_sotkanet(replay_server, data=lambda request: json_answer("<html>Huoltokatko</html>"))
    with pytest.raises(SchemaChanged, match="not valid JSON"):
        adapter_for(configure(replay_server.base)).fetch(series_ids=["sotkanet.population"])


@pytest.mark.parametrize(
    ("route", "payload", "message"),
    [
        ("json", [{"indicator": 127, "region": 100, "year": 2023, "gender": "total"}], "lacks value"),
        ("json", {"data": []}, "not a list"),
        ("regions", [{"id": 100, "code": "98", "title": {"fi": "Hollola"}}], "lacks id, code or category"),
        ("indicators/127", {"id": 127, "name": "Väestö 31.12."}, "no Finnish title"),
    ],
)
def test_changed_schema_is_schema_changed(replay_server, configure, route, payload, message):
    serve_sotkanet(replay_server)
    replay_server.route("GET", PREFIX + route, lambda request: json_answer(json.dumps(payload)))
    with pytest.raises(SchemaChanged, match=message):
        adapter_for(configure(replay_server.base)).fetch(series_ids=["sotkanet.population"])


def test_empty_result_is_not_found(replay_server, configure):
    serve_sotkanet(replay_server, data=lambda request: json_answer("[]"))
    with pytest.raises(NotFound, match="no values for indicator 127"):
        adapter_for(configure(replay_server.base)).fetch(series_ids=["sotkanet.population"])


def test_indicator_missing_at_source_is_not_found(replay_server, configure):
    serve_sotkanet(replay_server, metas=(UNEMPLOYED_META,))  # indicators/127 answers 404
    with pytest.raises(NotFound):
        adapter_for(configure(replay_server.base)).fetch(series_ids=["sotkanet.population"])


# --- configuration ---------------------------------------------------------------------------------------------------


def test_repository_config_declares_guarded_sotkanet_series():
    get_settings.cache_clear()
    settings = load_settings()
    adapter = build_adapter("sotkanet", settings)
    assert isinstance(adapter, SourceAdapter) and adapter.kind == "sotkanet"
    ids = [info.id for info in adapter.describe()]
    assert {"sotkanet.population", "sotkanet.unemployed_share", "sotkanet.sickness_allowance_16_64",
            "sotkanet.social_assistance_25_64", "sotkanet.low_income_rate", "sotkanet.mortality_per_100000",
            "sotkanet.children_placed_outside_home", "sotkanet.disability_pension_25_64",
            "sotkanet.morbidity_index", "sotkanet.long_term_unemployed_share",
            "sotkanet.youth_unemployed_share"} <= set(ids)
    for series in settings.sources["sotkanet"].series:
        assert isinstance(series.model_extra["indicator"], int) and series.model_extra["title_guard"]


# --- through the refresh ---------------------------------------------------------------------------------------------


def test_failing_refresh_leaves_the_warehouse_as_it_was(replay_server, configure):
    from sources.refresh import refresh

    serve_sotkanet(replay_server)
    settings = configure(replay_server.base)
    first = refresh(settings, sources=["sotkanet"])
    assert first.ok, first.summary_table()
    warehouse = open_warehouse(settings.warehouse_location)
    before = warehouse.read(["sotkanet.population", "sotkanet.unemployed_share"])
    files_before = stored_state(warehouse)

    serve_sotkanet(replay_server, data=lambda request: (500, {}, b"down"))
    second = refresh(configure(replay_server.base), sources=["sotkanet"])

    assert {outcome.status for outcome in second.outcomes} == {"failed"}
    pd.testing.assert_frame_equal(warehouse.read(["sotkanet.population", "sotkanet.unemployed_share"]), before)
    assert stored_state(warehouse) == files_before  # no vintage, rows or provenance changed
    assert "HTTP 500" in warehouse.status()["sotkanet.population"]["last_error"]


def test_refresh_killed_midway_leaves_old_data_readable(replay_server, configure, tmp_path):
    """`python -m sources refresh --source sotkanet` in a subprocess, SIGKILLed while its second series hangs."""
    from sources.refresh import refresh

    serve_sotkanet(replay_server)
    settings = configure(replay_server.base)
    assert refresh(settings, sources=["sotkanet"]).ok
    warehouse = open_warehouse(settings.warehouse_location)
    old = warehouse.read(["sotkanet.population", "sotkanet.unemployed_share"])

    hanging, release = threading.Event(), threading.Event()

    def newer_or_hanging(request):
        indicator = int(request.query["indicator"][0])
        if indicator == 181:
            hanging.set()
            release.wait(20.0)
        years = [int(year) for year in request.query["years"]]
        return json_answer(json.dumps(data_rows(indicator, years, 5000.0)))

    serve_sotkanet(replay_server, data=newer_or_hanging)
    env = {**os.environ, "TIEDOLLA_CONFIG_FILE": os.environ["TIEDOLLA_CONFIG_FILE"],
           "TIEDOLLA_WAREHOUSE_DIR": str(settings.warehouse_dir)}
    process = subprocess.Popen([sys.executable, "-m", "sources", "refresh", "--source", "sotkanet"], cwd=REPO_ROOT,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert hanging.wait(30.0), "the refresh never reached the second series"
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10.0)
    finally:
        release.set()
        if process.poll() is None:
            process.kill()
        process.communicate()
    assert process.returncode == -signal.SIGKILL

    with open_warehouse(settings.warehouse_location) as store:
        after = store.read(["sotkanet.population", "sotkanet.unemployed_share"])
    unemployed = after[after["series"] == "sotkanet.unemployed_share"].reset_index(drop=True)
    pd.testing.assert_frame_equal(unemployed, old[old["series"] == "sotkanet.unemployed_share"].reset_index(drop=True))
    population = after[after["series"] == "sotkanet.population"]
    assert len(population) == len(old[old["series"] == "sotkanet.population"])
    assert population["value"].min() > 5000  # the first series was written completely before the kill
    assert not list(Path(settings.warehouse_dir).rglob("*.tmp"))


def test_a_value_sotkanet_no_longer_publishes_is_withdrawn_in_a_new_vintage_and_kept_in_the_old(replay_server,
                                                                                                  configure):
    from sources.refresh import refresh

    serve_sotkanet(replay_server)  # constructed answers: every region, 2021–2023
    settings = configure(replay_server.base)
    assert refresh(settings, sources=["sotkanet"], series=["sotkanet.population"]).ok
    warehouse = open_warehouse(settings.warehouse_location)
    first = warehouse.latest_vintage_id()
    published = warehouse.read(["sotkanet.population"])

    def one_value_gone(request):  # the publisher now gives one region's 2022 value as missing (null)
        indicator, years = int(request.query["indicator"][0]), [int(y) for y in request.query["years"]]
        rows = data_rows(indicator, years, 1000.0)
        rows[len(REGIONS)]["value"] = None
        return json_answer(json.dumps(rows))

    serve_sotkanet(replay_server, data=one_value_gone)
    report = refresh(configure(replay_server.base), sources=["sotkanet"], series=["sotkanet.population"])
    [outcome] = report.outcomes
    assert (outcome.status, outcome.withdrawn, outcome.changed) == ("updated", 1, 0), report.summary_table()
    assert len(warehouse.read(["sotkanet.population"])) == len(published) - 1
    then = warehouse.read(["sotkanet.population"], as_of=first).sort_values(["region", "period"])
    pd.testing.assert_frame_equal(then.reset_index(drop=True),
                                  published.sort_values(["region", "period"]).reset_index(drop=True))
    assert warehouse.vintages("sotkanet.population")[0].withdrawn == 1


# --- the publication check of `refresh --due` ----------------------------------------------------------------------


def test_publication_markers_are_each_indicators_data_updated_and_the_fetch_reuses_the_metadata(replay_server,
                                                                                                 configure):
    serve_sotkanet(replay_server)
    adapter = adapter_for(configure(replay_server.base))
    markers = adapter.publication_markers(["sotkanet.population", "sotkanet.unemployed_share"])
    assert markers == {"sotkanet.population": "indicator 127 data-updated 2026-03-31",
                       "sotkanet.unemployed_share": "indicator 181 data-updated 2026-03-31"}
    assert len(replay_server.calls("GET", f"{PREFIX}indicators/127")) == 1
    adapter.fetch(["sotkanet.population"])
    assert len(replay_server.calls("GET", f"{PREFIX}indicators/127")) == 1  # the check's metadata, reused


def test_an_indicator_without_data_updated_gives_no_marker(replay_server, configure):
    undated = {key: value for key, value in POPULATION_META.items() if key != "data-updated"}
    serve_sotkanet(replay_server, metas=(undated, UNEMPLOYED_META))
    markers = adapter_for(configure(replay_server.base)).publication_markers(["sotkanet.population"])
    assert markers == {"sotkanet.population": None}
