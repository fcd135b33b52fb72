"""The PxWeb v1 adapter: json-stat2 decoding, metadata-driven queries, splitting, throttling, provenance.

Network tests run against the replay server (a real socket on 127.0.0.1). The json-stat2 answer of
`test_parse_json_stat2_reads_the_real_statfin_answer` and `test_adapter_stores_the_real_answer_as_tidy_population` is
the REAL answer of StatFin table 11re; all other answers are constructed in the documented format (tests/pxweb_fake.py).
"""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings as hypothesis_settings, strategies as st

from sources.contract import REGION_CODE, BadQuery, NotFound, SchemaChanged, SourceUnavailable, validate_frame
from sources.pxweb import PxWebAdapter, normalise_period, parse_json_stat2, split_query
from sources.registry import build_adapter, load_kind
from sources.settings import ConfigError, load_settings
from tests.pxweb_fake import (
    UNEMPLOYMENT_CONTENTS,
    FakePxWeb,
    FakeTable,
    cell_value,
    months,
    population_table,
    pxweb_config,
    real_answer_path,
    series_entry,
    unemployment_table,
    variable,
)
from tests.replay_server import json_answer

# Opens no warehouse (or only the bundled snapshot's files): the PostgreSQL run leaves it out.
pytestmark = pytest.mark.no_warehouse

UNEMPLOYMENT_SERIES = [
    series_entry("statfin.unemployed", frequency="monthly", table="StatFin/tyonv/12r5", content="Työttömät"),
    series_entry("statfin.labour_force", frequency="monthly", table="StatFin/tyonv/12r5", content="Työvoima"),
    series_entry("statfin.vacancies", frequency="monthly", table="StatFin/tyonv/12r5", content="Avoimet työpaikat"),
]


@pytest.fixture
def configure(tmp_path, monkeypatch):
    """Write a config file, point TIEDOLLA_CONFIG_FILE at it and return the loaded settings."""

    def write(text: str):
        path = tmp_path / "config.toml"
        path.write_text(text, encoding="utf-8")
        monkeypatch.setenv("TIEDOLLA_CONFIG_FILE", str(path))
        return load_settings()

    return write


def real_answer() -> dict:
    return json.loads(real_answer_path().read_text(encoding="utf-8-sig"))


# --- json-stat2 decoding -----------------------------------------------------------------------------------------


def test_parse_json_stat2_reads_the_real_statfin_answer():
    payload = real_answer()
    frame = parse_json_stat2(payload)
    assert list(frame.columns) == payload["id"] + ["value"]
    assert len(frame) == 3
    helsinki = frame[frame["alue_23_20260101"] == "KU091"]
    assert helsinki["timeperiod_y"].astype(str).tolist() == ["2025"]
    assert helsinki["value"].tolist() == [694392.0]
    assert dict(zip(frame["alue_23_20260101"].astype(str), frame["value"])) == {
        "KU049": 325716.0, "KU091": 694392.0, "KU092": 252956.0,
    }


def naive_decode(payload: dict) -> list[tuple]:
    """Cell by cell, the way the json-stat2 format defines it (row-major, last dimension fastest)."""
    codes = []
    for dim_id in payload["id"]:
        index = payload["dimension"][dim_id]["category"]["index"]
        ordered = sorted(index, key=index.get) if isinstance(index, dict) else list(index)
        codes.append(ordered)
    values = payload["value"]
    if isinstance(values, dict):
        values = [values.get(str(i)) for i in range(math.prod(payload["size"]))]
    return [(*combination, value) for combination, value in zip(itertools.product(*codes), values)]


@hypothesis_settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=1, max_value=4), min_size=1, max_size=4),
    list_index=st.booleans(),
    sparse=st.booleans(),
    data=st.data(),
)
def test_parse_json_stat2_agrees_with_cell_by_cell_decoding(sizes, list_index, sparse, data):
    ids = [f"d{k}" for k in range(len(sizes))]
    dimension = {}
    for dim_id, size in zip(ids, sizes):
        codes = [f"{dim_id}c{i}" for i in data.draw(st.permutations(range(size)))]
        index = codes if list_index else {code: position for position, code in enumerate(codes)}
        dimension[dim_id] = {"category": {"index": index, "label": {code: code for code in codes}}}
    cells = math.prod(sizes)
    values = data.draw(st.lists(st.one_of(st.none(), st.integers(-1000, 1000)), min_size=cells, max_size=cells))
    value = {str(i): v for i, v in enumerate(values) if v is not None} if sparse else values
    payload = {"id": ids, "size": sizes, "dimension": dimension, "value": value}
    frame = parse_json_stat2(payload)
    decoded = [
        (*(str(code) for code in row[:-1]), None if np.isnan(row[-1]) else int(row[-1]))
        for row in frame.itertuples(index=False)
    ]
    assert decoded == naive_decode(payload)


def test_parse_json_stat2_rejects_an_answer_whose_values_do_not_fill_its_dimensions():
    payload = real_answer()
    payload["value"] = payload["value"][:2]
    with pytest.raises(SchemaChanged, match="2 values for 3 cells"):
        parse_json_stat2(payload)


def test_parse_json_stat2_rejects_what_is_not_a_dataset():
    with pytest.raises(SchemaChanged, match="not a json-stat2 dataset"):
        parse_json_stat2({"title": "metadata", "variables": []})


def test_periods_become_years_and_months():
    assert normalise_period("2025") == "2025"
    assert normalise_period("2024M05") == "2024-05"
    assert normalise_period("2024Q1") is None


# --- splitting -----------------------------------------------------------------------------------------------------


@hypothesis_settings(max_examples=200, deadline=None)
@given(
    regions=st.integers(1, 40), times=st.integers(1, 40), other=st.integers(1, 5), limit=st.integers(1, 400)
)
def test_split_query_covers_every_cell_once_in_the_fewest_parts_within_the_limit(regions, times, other, limit):
    parts = split_query(regions, times, other, limit)
    if other > limit:
        assert parts == []
        return
    covered = [(r, t) for region_slice, time_slice in parts
               for r in range(regions)[region_slice] for t in range(times)[time_slice]]
    assert sorted(covered) == [(r, t) for r in range(regions) for t in range(times)]
    assert all(len(range(regions)[rs]) * len(range(times)[ts]) * other <= limit for rs, ts in parts)
    # No rectangular tiling with equal-sized blocks does better (brute force over block shapes).
    fewest = min(
        math.ceil(regions / r) * math.ceil(times / t)
        for r in range(1, regions + 1) for t in range(1, times + 1) if r * t * other <= limit
    )
    assert len(parts) == fewest


# --- the adapter against the replay server ---------------------------------------------------------------------


def test_pxweb_kind_is_registered():
    assert load_kind("pxweb") is PxWebAdapter


def test_adapter_stores_the_real_answer_as_tidy_population(replay_server, configure):
    fake = FakePxWeb(replay_server)
    table = fake.add(population_table())
    table.data_override = lambda request: json_answer(real_answer_path().read_bytes())  # the REAL answer
    settings = configure(pxweb_config(fake.base_url, [
        series_entry("statfin.population", table="StatFin/vaerak/11re", content="Väestö 31.12.", top=1),
    ]))
    [data] = build_adapter("statfin", settings).fetch()

    frame = validate_frame(data.frame, "test")
    assert frame.set_index("region").loc["KU091", "value"] == 694392.0
    assert set(frame["period"]) == {"2025"} and set(frame["series"]) == {"statfin.population"}
    assert data.provenance.table == "11re"
    assert data.provenance.data_updated == "2026-04-01T05:00:00Z"
    assert data.provenance.attribution == "Statistics Finland" and data.provenance.licence == "CC BY 4.0"
    assert data.provenance.request_url == fake.base_url + "StatFin/vaerak/11re.px"
    assert data.provenance.fetched_at

    # The query was built from the metadata: its codes, json-stat2, the latest year, eliminated age and sex left out.
    [post] = fake.posts(table)
    query = json.loads(post.body)
    assert query["response"] == {"format": "json-stat2"}
    selections = {entry["code"]: entry["selection"] for entry in query["query"]}
    assert set(selections) == {"alue_23_20260101", "timeperiod_y", "contentscode"}
    assert selections["timeperiod_y"] == {"filter": "item", "values": ["2025"]}
    assert selections["contentscode"]["values"] == ["vaerak-vaesto"]


def test_one_table_feeds_three_series_from_one_metadata_read_and_one_query(replay_server, configure):
    fake = FakePxWeb(replay_server)
    table = fake.add(unemployment_table())
    settings = configure(pxweb_config(fake.base_url, UNEMPLOYMENT_SERIES))
    fetched = build_adapter("statfin", settings).fetch()

    assert [data.info.id for data in fetched] == ["statfin.unemployed", "statfin.labour_force", "statfin.vacancies"]
    assert len(fake.metadata_reads(table)) == 1 and len(fake.posts(table)) == 1 and len(fake.config_reads()) == 1
    content_codes = {"statfin.unemployed": "tyonv_1001", "statfin.labour_force": "tyonv_1002",
                     "statfin.vacancies": "tyonv_1003"}
    for data in fetched:
        frame = validate_frame(data.frame, data.info.id)
        assert len(frame) == 6 * 24
        row = frame[(frame["region"] == "KU098") & (frame["period"] == "2025-05")].iloc[0]
        expected = cell_value({"alue_23_20260101": "KU098", "timeperiod_m": "2025M05",
                               "contentscode": content_codes[data.info.id]})
        assert row["value"] == expected
        assert data.info.frequency == "monthly"
        assert any(UNEMPLOYMENT_CONTENTS[content_codes[data.info.id]] in note for note in data.provenance.notes)


def test_top_and_requested_periods_and_regions_narrow_the_query(replay_server, configure):
    fake = FakePxWeb(replay_server)
    table = fake.add(unemployment_table())
    series = [series_entry("statfin.unemployed", table="StatFin/tyonv/12r5", content="Työttömät", top=3)]
    settings = configure(pxweb_config(fake.base_url, series))
    [data] = build_adapter("statfin", settings).fetch(regions=["KU016", "SSS"])
    assert sorted(set(data.frame["period"])) == ["2025-10", "2025-11", "2025-12"]
    assert sorted(set(data.frame["region"])) == ["KU016", "SSS"]
    assert table.posted_cells == [2 * 3]


def test_a_series_is_found_by_its_content_text_in_the_second_candidate_table(replay_server, configure):
    fake = FakePxWeb(replay_server)
    activity = fake.add(FakeTable(
        path="StatFin/tyokay/115b",
        title="Väestö pääasiallisen toiminnan mukaan (constructed; no employment rate in it)",
        variables=[
            variable("alue_23_20260101", "Alue", ["SSS", "KU098"], ["KOKO MAA", "Hollola"], map="Alue 2026"),
            variable("timeperiod_y", "Vuosi", ["2023", "2024"], time=True),
            variable("contentscode", "Tiedot", ["vaesto", "tyolliset"], ["Väestö", "Työlliset"]),
        ],
    ))
    key_figures = fake.add(FakeTable(
        path="Kuntien_avainluvut/uusin/142h",
        title="Kuntien avainluvut (constructed)",
        variables=[
            variable("alue_23_20260101", "Alue", ["SSS", "KU098"], ["KOKO MAA", "Hollola"], map="Alue 2026"),
            variable("timeperiod_y", "Vuosi", ["2023", "2024"], time=True),
            variable("contentscode", "Tiedot", ["M411", "M180"], ["Väkiluku", "Työllisyysaste, %"]),
        ],
        value=lambda codes: 70.5 if codes["contentscode"] == "M180" else 1000.0,
    ))
    series = [series_entry("statfin.employment_rate", unit="%", measure="rate", content="Työllisyysaste",
                           table=["StatFin/tyokay/115b", "Kuntien_avainluvut/uusin/142h"])]
    settings = configure(pxweb_config(fake.base_url, series))
    [data] = build_adapter("statfin", settings).fetch()
    assert set(data.frame["value"]) == {70.5}
    assert data.provenance.request_url.endswith("Kuntien_avainluvut/uusin/142h.px")
    assert len(fake.posts(activity)) == 0 and len(fake.posts(key_figures)) == 1


def test_an_ambiguous_content_text_names_the_candidates(replay_server, configure):
    fake = FakePxWeb(replay_server)
    fake.add(unemployment_table())
    series = [series_entry("statfin.x", table="StatFin/tyonv/12r5", content="Työ")]
    settings = configure(pxweb_config(fake.base_url, series))
    with pytest.raises(BadQuery, match="matches several values of 'Tiedot'.*Työvoima"):
        build_adapter("statfin", settings).fetch()


def test_an_unknown_content_lists_what_the_table_offers(replay_server, configure):
    fake = FakePxWeb(replay_server)
    fake.add(unemployment_table())
    series = [series_entry("statfin.x", table="StatFin/tyonv/12r5", content="Pitkäaikaistyöttömät")]
    settings = configure(pxweb_config(fake.base_url, series))
    with pytest.raises(NotFound, match="no content 'Pitkäaikaistyöttömät'.*Avoimet työpaikat"):
        build_adapter("statfin", settings).fetch()


def test_metadata_without_a_region_variable_raises_schema_changed(replay_server, configure):
    fake = FakePxWeb(replay_server)
    fake.add(FakeTable(
        path="StatFin/tyonv/12r5",
        title="Koko maan työttömät (constructed: no region variable)",
        variables=[
            variable("timeperiod_m", "Kuukausi", months(2025, 2025), time=True),
            variable("contentscode", "Tiedot", ["tyonv_1001"], ["Työttömät"]),
        ],
    ))
    settings = configure(pxweb_config(fake.base_url, UNEMPLOYMENT_SERIES[:1]))
    with pytest.raises(SchemaChanged, match="no region variable"):
        build_adapter("statfin", settings).fetch()


def test_traficom_whole_country_is_mapped_and_two_power_sources_come_from_one_query(replay_server, configure):
    fake = FakePxWeb(replay_server, base_path="/PXWeb/api/v1/fi/")
    table = fake.add(FakeTable(
        path="TraFi/Liikennekaytossa_olevat_ajoneuvot/010_kanta_tau_101",
        title="Liikennekäytössä olevat henkilöautot (constructed)",
        variables=[
            variable("Alue", "Alue", ["MA1", "MA07", "KU098", "KU111"],
                     ["Koko maa", "Päijät-Häme", "Hollola", "Heinola"]),
            variable("Merkki", "Merkki", ["YH", "Toyota", "Skoda"], ["Yhteensä", "Toyota", "Skoda"]),
            variable("Käyttövoima", "Käyttövoima", ["YH", "01", "02", "04"],
                     ["Yhteensä", "Bensiini", "Diesel", "Sähkö"]),
            variable("Vuosi", "Vuosi", ["2023", "2024", "2025"], time=True),
        ],
        value=lambda codes: {"YH": 1000.0, "04": 50.0}[codes["Käyttövoima"]] * (10 if codes["Alue"] == "MA1" else 1),
        bom=True,  # Traficom's answers may start with a byte-order mark
    ))
    series = [
        series_entry("traficom.cars_total", table=table.path, select={"Käyttövoima": "YH"}),
        series_entry("traficom.cars_electric", table=table.path, select={"Käyttövoima": "Sähkö"}),
    ]
    settings = configure(pxweb_config(fake.base_url, series, name="traficom", attribution="Traficom",
                                      region_code_map={"MA1": "SSS"}, total_values=["YH"]))
    total, electric = build_adapter("traficom", settings).fetch()

    assert len(fake.posts(table)) == 1
    query = {entry["code"]: entry["selection"]["values"] for entry in json.loads(fake.posts(table)[0].body)["query"]}
    assert query["Käyttövoima"] == ["YH", "04"] and query["Merkki"] == ["YH"]
    assert "MA07" not in query["Alue"]  # not an official code: never asked for
    for data, national in ((total, 10_000.0), (electric, 500.0)):
        frame = validate_frame(data.frame, data.info.id)
        assert set(frame["region"]) == {"SSS", "KU098", "KU111"}
        assert frame.set_index(["region", "period"]).loc[("SSS", "2025"), "value"] == national
        assert data.provenance.attribution == "Traficom"


def test_limits_come_from_config_once_and_fall_back_to_documented_defaults(replay_server, configure):
    fake = FakePxWeb(replay_server, config={"maxValues": 500})  # no maxCalls / timeWindow: defaults
    fake.add(unemployment_table())
    fake.add(population_table())
    series = UNEMPLOYMENT_SERIES + [series_entry("statfin.population", table="StatFin/vaerak/11re", content="Väestö")]
    settings = configure(pxweb_config(fake.base_url, series))
    adapter = build_adapter("statfin", settings)
    adapter.fetch()
    adapter.fetch(["statfin.population"])
    assert len(fake.config_reads()) == 1
    assert (adapter.limits.max_cells, adapter.limits.max_calls, adapter.limits.time_window_s) == (500, 30, 10.0)

    fake.config = None  # a host without ?config
    adapter = build_adapter("statfin", settings)
    adapter.fetch(["statfin.population"])
    assert adapter.limits.max_cells == 100_000


def test_a_query_over_the_cell_limit_is_split_into_the_fewest_posts(replay_server, configure):
    fake = FakePxWeb(replay_server, config={"maxValues": 50, "maxCells": 60, "maxCalls": 100, "timeWindow": 1})
    table = fake.add(unemployment_table(regions=["SSS", "KU016", "KU098", "KU111"],
                                        region_texts=["KOKO MAA", "Asikkala", "Hollola", "Heinola"],
                                        periods=months(2023, 2025)[:30]))
    settings = configure(pxweb_config(fake.base_url, UNEMPLOYMENT_SERIES))
    fetched = build_adapter("statfin", settings).fetch()

    # 4 regions x 30 months x 3 contents = 360 cells; 4 months of all regions (48 cells) fit in one POST.
    assert len(fake.posts(table)) == math.ceil(30 / (50 // (4 * 3))) == 8
    assert all(cells <= 50 for cells in table.posted_cells) and sum(table.posted_cells) == 360
    for data in fetched:
        frame = validate_frame(data.frame, data.info.id)
        assert len(frame) == 4 * 30
        assert frame["period"].min() == "2023-01" and frame["period"].max() == "2025-06"


def test_requests_stay_within_the_hosts_calls_per_time_window(replay_server, configure):
    fake = FakePxWeb(replay_server, config={"maxValues": 12, "maxCells": 12, "maxCalls": 5, "timeWindow": 2})
    fake.add(unemployment_table())
    settings = configure(pxweb_config(fake.base_url, UNEMPLOYMENT_SERIES[:1]))
    [data] = build_adapter("statfin", settings).fetch()
    assert len(data.frame) == 6 * 24

    times = sorted(request.at for request in replay_server.requests)
    assert len(times) >= 12  # ?config, metadata and 12 POSTs of 12 cells
    # Any 2-second window holding 6 calls would have its 1st and 6th call less than 2 s apart.
    assert min(later - earlier for earlier, later in zip(times, times[5:])) >= 2.0


def test_a_failed_request_names_the_source_and_table(replay_server, configure):
    fake = FakePxWeb(replay_server)
    table = fake.add(unemployment_table())
    table.data_override = lambda request: (503, {"Content-Type": "text/plain"}, b"maintenance")
    settings = configure(pxweb_config(fake.base_url, UNEMPLOYMENT_SERIES[:1]))
    with pytest.raises(SourceUnavailable, match=r"Statistics Finland \(StatFin/tyonv/12r5\).*HTTP 503"):
        build_adapter("statfin", settings).fetch()
    assert len(fake.posts(table)) == 2  # max_retries = 1


def test_a_broken_series_configuration_is_a_config_error_when_the_configuration_is_loaded(configure):
    # Noticed at load, not only when this source is refreshed.
    with pytest.raises(ConfigError, match="series 'statfin.x'.*table"):
        configure(pxweb_config("http://127.0.0.1:9/", [series_entry("statfin.x", content="Työttömät")]))


def test_region_codes_in_frames_are_official(replay_server, configure):
    fake = FakePxWeb(replay_server)
    fake.add(unemployment_table(regions=["SSS", "KU098", "X1"], region_texts=["KOKO MAA", "Hollola", "Muu"]))
    settings = configure(pxweb_config(fake.base_url, UNEMPLOYMENT_SERIES[:1]))
    [data] = build_adapter("statfin", settings).fetch()
    assert data.frame["region"].astype(str).str.match(REGION_CODE).all()
    assert pd.api.types.is_float_dtype(data.frame["value"])


def test_without_a_limits_answer_the_hosts_documented_limits_from_config_apply(replay_server, configure):
    fake = FakePxWeb(replay_server)
    table = fake.add(unemployment_table())
    fake.config, fake.enforced_cells = None, 100  # ?config answers 404; the host still refuses over 100 cells
    series = [series_entry("statfin.unemployed", frequency="monthly", table="StatFin/tyonv/12r5",
                           content="Työttömät")]
    settings = configure(pxweb_config(fake.base_url, series, max_cells=100))
    [data] = build_adapter("statfin", settings).fetch()
    assert len(data.frame) == 6 * 24
    assert table.posted_cells and max(table.posted_cells) <= 100 and len(table.posted_cells) > 1


def test_a_403_says_the_query_may_be_too_large_and_how_it_was_split(replay_server, configure):
    fake = FakePxWeb(replay_server)
    fake.add(unemployment_table())
    fake.config, fake.enforced_cells = None, 50
    series = [series_entry("statfin.unemployed", frequency="monthly", table="StatFin/tyonv/12r5",
                           content="Työttömät")]
    settings = configure(pxweb_config(fake.base_url, series, max_cells=100))
    with pytest.raises(BadQuery) as raised:
        build_adapter("statfin", settings).fetch()
    message = str(raised.value)
    assert "refused the query (HTTP 403); it may be too large" in message
    assert "of at most 100 cells as max_cells in config.toml (no ?config answer) allows" in message
    assert "table id" not in message
