"""The Syke emissions adapter (ALas) and its CSV parser, against a real local HTTP server.

Every answer here is CONSTRUCTED in the documented format of paastot.hiilineutraalisuomi.fi (/work/shared/SOURCES.md):
`asukasluvut_2025.csv` (`;`, decimal comma; `kuntanro`, `kunta_fi`, `maakunta_fi`, ...) and
`Tulokset_taso_5/kunta_{kuntanro}.csv` (`;`, decimal comma; `kt`, `kt_tuuli`, `GWh`, `hinku_laskenta`,
`päästökauppa`, `vuosi`, `taso_3`, `taso_4`, `taso_5`), with the taso_3 abbreviations listed there. No real ALas
file was available offline; the numbers are made up.
"""

from __future__ import annotations

import math
import socket
import threading
import time

import pandas as pd
import pytest

from sources.contract import (
    BadQuery,
    NotFound,
    SchemaChanged,
    SeriesData,
    SeriesFailed,
    SourceAdapter,
    SourceUnavailable,
    validate_frame,
)
from sources.refresh import refresh
from sources.registry import build_adapter
from sources.settings import get_settings, load_settings
from sources.syke import SectorRule, parse_alas_csv, parse_municipality_list, parse_number, sum_emissions
from sources.warehouse import open_warehouse
from tests.warehouse_state import stored_state

LAST_MODIFIED = {98: "Mon, 08 Jun 2026 09:12:00 GMT", 16: "Sun, 07 Jun 2026 22:00:00 GMT"}

MUNICIPALITIES = (
    "\ufeffkuntanro;kunta_fi;maakunta_fi;asukasluku\n"
    "98;Hollola;Päijät-Häme;23 412\n"
    "16;Asikkala;Päijät-Häme;7 960\n"
)

HEADER = "kt;kt_tuuli;GWh;hinku_laskenta;päästökauppa;vuosi;taso_3;taso_4;taso_5\n"


def alas_file(scale: float) -> str:
    """Two years of one municipality: every sector the series use, one emissions-trading row and one credit row."""
    rows = []
    for year, factor in ((2022, 1.0), (2023, 0.9)):
        for taso_3, taso_4, taso_5, kt, ets in [
            ("Tie", "HeL", "Hen", 40.5, "FALSE"), ("Tie", "TaL", "KuA", 20.25, "FALSE"),
            ("Kul", "Kul", "Asu", 10.0, "FALSE"),
            ("Säh", "Säh", "Asu", 5.0, "FALSE"), ("Kau", "Kau", "Asu", 8.0, "FALSE"),
            ("Ölj", "Ölj", "Asu", 3.0, "FALSE"), ("Muu", "Puu", "Asu", 1.0, "FALSE"),
            ("Maa", "Kot", "Elä", 12.0, "FALSE"), ("Jät", "Kaa", "Yhd", 2.0, "FALSE"),
            ("Teo", "Teo", "Teo", 1000.0, "TRUE"), ("Tuu", "Tuu", "Tuu", -7.0, "FALSE"),
        ]:
            value = f"{kt * factor * scale:.3f}".replace(".", ",")
            hinku = "FALSE" if ets == "TRUE" else "TRUE"  # as in ALas: emissions-trading rows are outside Hinku
            rows.append(f"{value};{value};1,5;{hinku};{ets};{year};{taso_3};{taso_4};{taso_5}\n")
    return HEADER + "".join(rows)


# Sums of alas_file(1.0) for 2022 (2023 is 0.9 times these), per series of the repository's config.
EXPECTED_2022 = {
    "syke.emissions_total": 40.5 + 20.25 + 10 + 5 + 8 + 3 + 1 + 12 + 2 + 1000,
    "syke.emissions_excl_ets": 40.5 + 20.25 + 10 + 5 + 8 + 3 + 1 + 12 + 2,
    "syke.emissions_road_transport": 60.75,
    "syke.emissions_heating": 17.0,
    "syke.emissions_electricity": 10.0,
    "syke.emissions_agriculture": 12.0,
    "syke.emissions_waste": 2.0,
    "syke.hinku_total": 40.5 + 20.25 + 10 + 5 + 8 + 3 + 1 + 12 + 2,
    "syke.hinku_road_transport": 60.75,
    "syke.hinku_heating": 17.0,
    "syke.hinku_electricity": 10.0,
}


def csv_answer(text: str, status: int = 200, headers: dict | None = None):
    return status, {"Content-Type": "text/csv; charset=utf-8", **(headers or {})}, text.encode("utf-8")


def serve_syke(server, files: dict[int, str] | None = None, municipalities: str = MUNICIPALITIES):
    files = files if files is not None else {98: alas_file(1.0), 16: alas_file(0.5)}
    server.route("GET", "/asukasluvut_2025.csv", lambda request: csv_answer(municipalities))
    for number, text in files.items():
        server.route("GET", f"/Tulokset_taso_5/kunta_{number}.csv",
                     lambda request, text=text, number=number: csv_answer(text, headers={
                         "Last-Modified": LAST_MODIFIED.get(number, LAST_MODIFIED[98])}))


@pytest.fixture
def syke_settings(tmp_path, monkeypatch):
    """The repository's config.toml with the Syke source pointed at the replay server and fast retries."""

    def _settings(base: str, **overrides):
        overrides = {"max_retries": 1, "backoff_base_s": 0.01, "max_calls": 100, "window_s": 1.0, **overrides}
        monkeypatch.setenv("TIEDOLLA_SOURCES__SYKE__BASE_URL", base + "/")
        for key, value in overrides.items():
            monkeypatch.setenv(f"TIEDOLLA_SOURCES__SYKE__{key.upper()}", str(value))
        get_settings.cache_clear()
        return load_settings()

    return _settings


def syke_adapter(settings):
    return build_adapter("syke", settings)


# --- the parser ------------------------------------------------------------------------------------------------------


def test_parse_alas_csv_handles_bom_decimal_commas_thousands_and_empty_cells():
    text = (
        "\ufeffkt;kt_tuuli;GWh;hinku_laskenta;päästökauppa;vuosi;taso_3;taso_4;taso_5\n"
        "1 234,5;1\u00a0234,5;12,25;TRUE;FALSE;2023;Tie;HeL;Hen\n"  # space and no-break space thousands
        "1.234,5;1\u202f234,5;;true;false;2023;Kul;Kul;Asu\n"  # dot thousands with a decimal comma; narrow nbsp
        "0,001;;;FALSE;;2023;Maa;Kot;Elä\n"  # empty cells
        '"−2,5";-2,5;0;1;0;"2 022";Tuu;Tuu;Tuu\n'  # quoted cell, Unicode minus, a year with a space
        "0.5;;;FALSE;TRUE;2022;Teo;Teo;Teo\n"  # a plain decimal point
    )
    frame = parse_alas_csv(text)

    assert frame["kt"].tolist() == [1234.5, 1234.5, 0.001, -2.5, 0.5]
    assert frame["kt_tuuli"].tolist()[:2] == [1234.5, 1234.5]
    assert math.isnan(frame["kt_tuuli"][2]) and math.isnan(frame["GWh"][1])
    assert frame["vuosi"].tolist() == [2023, 2023, 2023, 2022, 2022]
    assert frame["hinku_laskenta"].tolist() == [True, True, False, True, False]
    assert frame["päästökauppa"].isna()[2] and frame["päästökauppa"][4]
    assert frame["taso_3"].tolist() == ["Tie", "Kul", "Maa", "Tuu", "Teo"]
    assert frame["kt"].dtype == "float64"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("12,5", 12.5), ("1 234 567,8", 1234567.8), ("1.234.567", 1234567.0), ("1.234,56", 1234.56),
     ("\u22123,0", -3.0), ("-0,25", -0.25), ("7", 7.0), ("0.5", 0.5)],
)
def test_parse_number_reads_finnish_number_formats(text, expected):
    assert parse_number(text) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["", "  ", "NA", "-", ".."])
def test_parse_number_treats_empty_markers_as_missing(text):
    assert math.isnan(parse_number(text))


@pytest.mark.parametrize("text", ["abc", "1.23.4", "inf", "12,5 kt"])
def test_parse_number_rejects_text(text):
    with pytest.raises(ValueError):
        parse_number(text)


def test_parse_alas_csv_names_missing_columns():
    with pytest.raises(SchemaChanged, match="kt, vuosi"):
        parse_alas_csv("paasto;GWh;hinku_laskenta;päästökauppa;year;taso_3\n1,0;2,0;TRUE;FALSE;2023;Tie\n")


def test_parse_alas_csv_rejects_unreadable_cells_with_the_line():
    with pytest.raises(SchemaChanged, match="line 3"):
        parse_alas_csv(HEADER + "1,0;;;TRUE;FALSE;2023;Tie;;\nsalainen;;;TRUE;FALSE;2023;Tie;;\n")


def test_parse_municipality_list_gives_official_codes():
    frame = parse_municipality_list(MUNICIPALITIES)
    assert frame.to_dict("records") == [{"kuntanro": 98, "region": "KU098", "name": "Hollola"},
                                        {"kuntanro": 16, "region": "KU016", "name": "Asikkala"}]


def test_sum_emissions_applies_the_declared_rows():
    rows = parse_alas_csv(alas_file(1.0))
    heating = sum_emissions(rows, SectorRule(taso_3=("Säh", "Kau", "Ölj", "Muu")))
    assert heating.set_index("vuosi")["kt"].to_dict() == pytest.approx({2022: 17.0, 2023: 15.3})
    without_ets = sum_emissions(rows, SectorRule(exclude_taso_3=("Tuu",), exclude_emissions_trading=True))
    assert without_ets.set_index("vuosi")["kt"][2022] == pytest.approx(EXPECTED_2022["syke.emissions_excl_ets"])
    hinku = sum_emissions(rows, SectorRule(hinku_only=True))
    assert len(hinku) == 2


# --- happy path ------------------------------------------------------------------------------------------------------


def test_fetch_sums_kt_per_municipality_year_and_configured_sectors(replay_server, syke_settings):
    serve_syke(replay_server)
    adapter = syke_adapter(syke_settings(replay_server.base))

    results = {data.info.id: data for data in adapter.fetch()}

    assert set(results) == set(EXPECTED_2022)
    for series_id, expected in EXPECTED_2022.items():
        frame = validate_frame(results[series_id].frame, series_id).set_index(["region", "period"])["value"]
        assert frame[("KU098", "2022")] == pytest.approx(expected)
        assert frame[("KU098", "2023")] == pytest.approx(expected * 0.9)
        assert frame[("KU016", "2022")] == pytest.approx(expected * 0.5)
    assert results["syke.emissions_total"].info.unit == "kt CO2e"
    assert isinstance(adapter, SourceAdapter) and adapter.kind == "syke_emissions"


def test_one_request_per_municipality_and_cached_for_further_batches(replay_server, syke_settings):
    serve_syke(replay_server)
    adapter = syke_adapter(syke_settings(replay_server.base))

    assert adapter.fetch_batches(["syke.emissions_total", "syke.emissions_waste"]) == [
        ["syke.emissions_total", "syke.emissions_waste"]
    ]
    adapter.fetch(series_ids=["syke.emissions_total"])
    adapter.fetch(series_ids=["syke.emissions_waste"])

    assert len(replay_server.calls("GET", "/asukasluvut_2025.csv")) == 1
    assert len(replay_server.calls("GET", "/Tulokset_taso_5/kunta_98.csv")) == 1
    assert len(replay_server.calls("GET", "/Tulokset_taso_5/kunta_16.csv")) == 1


def test_only_requested_municipalities_are_fetched(replay_server, syke_settings):
    serve_syke(replay_server)
    adapter = syke_adapter(syke_settings(replay_server.base))

    [total] = adapter.fetch(series_ids=["syke.emissions_total"], regions=["KU098", "MK07"], periods=["2023"])

    assert set(total.frame["region"]) == {"KU098"} and set(total.frame["period"]) == {"2023"}
    assert not replay_server.calls("GET", "/Tulokset_taso_5/kunta_16.csv")


def test_requests_are_throttled(replay_server, syke_settings):
    serve_syke(replay_server)
    adapter = syke_adapter(syke_settings(replay_server.base, max_calls=1, window_s=0.2))
    adapter.fetch(series_ids=["syke.emissions_total"])
    times = [call.at for call in replay_server.requests]
    assert len(times) == 3 and times[-1] - times[0] >= 0.38


def test_unknown_or_regional_codes_are_bad_queries(replay_server, syke_settings):
    serve_syke(replay_server)
    adapter = syke_adapter(syke_settings(replay_server.base))
    with pytest.raises(BadQuery, match="KU999"):
        adapter.fetch(regions=["KU999"])
    with pytest.raises(BadQuery, match="municipalities only"):
        adapter.fetch(regions=["MK07", "SSS"])


def test_provenance_has_last_modified_and_attribution(replay_server, syke_settings):
    serve_syke(replay_server)
    [total] = syke_adapter(syke_settings(replay_server.base)).fetch(series_ids=["syke.emissions_total"])
    provenance = total.provenance
    assert provenance.data_updated == "2026-06-08"  # the latest Last-Modified of the data files
    assert provenance.attribution == "Syke"
    assert provenance.licence == "CC BY 4.0"
    assert provenance.request_url.endswith("/Tulokset_taso_5/kunta_{kuntanro}.csv")
    assert any("without Tuu" in note for note in provenance.notes)


def test_a_municipality_without_a_file_is_noted_and_the_others_kept(replay_server, syke_settings):
    serve_syke(replay_server, files={98: alas_file(1.0)})  # kunta_16.csv answers 404
    [total] = syke_adapter(syke_settings(replay_server.base)).fetch(series_ids=["syke.emissions_total"])
    assert set(total.frame["region"]) == {"KU098"}
    assert any("KU016" in note for note in total.provenance.notes)


# --- the fault matrix ------------------------------------------------------------------------------------------------


def test_connection_refused_is_source_unavailable(syke_settings):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(SourceUnavailable, match="cannot connect"):
        syke_adapter(syke_settings(f"http://127.0.0.1:{port}")).fetch()


def test_timeout_is_source_unavailable(replay_server, syke_settings):
    release = threading.Event()
    serve_syke(replay_server)

    def slow(request):
        release.wait(2.0)
        return csv_answer(alas_file(1.0))

    replay_server.route("GET", "/Tulokset_taso_5/kunta_98.csv", slow)
    adapter = syke_adapter(syke_settings(replay_server.base, timeout_read_s=0.2, max_retries=0))
    started = time.monotonic()
    try:
        with pytest.raises(SourceUnavailable, match="did not answer within 0.2 s"):
            adapter.fetch()
    finally:
        release.set()
    assert time.monotonic() - started < 1.5


def test_429_with_retry_after_is_honoured_then_succeeds(replay_server, syke_settings):
    serve_syke(replay_server)
    answers = iter([(429, {"Retry-After": "1"}, b"slow down")])
    replay_server.route("GET", "/asukasluvut_2025.csv",
                        lambda request: next(answers, None) or csv_answer(MUNICIPALITIES))

    results = syke_adapter(syke_settings(replay_server.base)).fetch(series_ids=["syke.emissions_total"])

    first, second = replay_server.calls("GET", "/asukasluvut_2025.csv")
    assert second.at - first.at >= 0.9
    assert not results[0].frame.empty


def test_server_error_is_retried_then_source_unavailable(replay_server, syke_settings):
    serve_syke(replay_server)
    replay_server.route("GET", "/Tulokset_taso_5/kunta_98.csv", lambda request: (500, {}, b"error"))
    with pytest.raises(SourceUnavailable, match="HTTP 500"):
        syke_adapter(syke_settings(replay_server.base, max_retries=2)).fetch()
    assert len(replay_server.calls("GET", "/Tulokset_taso_5/kunta_98.csv")) == 3


def test_a_malformed_file_is_that_municipalitys_failure_not_the_whole_fetchs(replay_server, syke_settings):
    serve_syke(replay_server, files={98: "<html><body>Palvelu on huoltokatkolla</body></html>", 16: alas_file(1)})
    results = syke_adapter(syke_settings(replay_server.base)).fetch()
    assert len(results) == len(EXPECTED_2022) and all(isinstance(result, SeriesData) for result in results)
    for result in results:
        assert set(result.frame["region"]) == {"KU016"}
        assert result.covered_regions == frozenset({"KU016"})  # Hollola's stored values are kept, not withdrawn
        assert "1 of 2 municipality files could not be used" in result.partial_reason
        assert "KU098: kunta_98.csv unreadable" in result.partial_reason and "missing" in result.partial_reason


def test_a_file_with_renamed_columns_is_that_municipalitys_failure(replay_server, syke_settings):
    renamed = alas_file(1.0).replace("kt;kt_tuuli", "ktCO2e;kt_tuuli", 1)
    serve_syke(replay_server, files={98: renamed, 16: alas_file(1.0)})
    results = syke_adapter(syke_settings(replay_server.base)).fetch()
    assert all("columns kt are missing" in result.partial_reason for result in results)


def test_every_file_malformed_is_schema_changed_naming_them(replay_server, syke_settings):
    broken = "<html><body>Palvelu on huoltokatkolla</body></html>"
    serve_syke(replay_server, files={98: broken, 16: broken})
    with pytest.raises(NotFound, match="none of the 2 municipality files could be used.*KU016.*unreadable"):
        syke_adapter(syke_settings(replay_server.base)).fetch()


def test_a_renamed_sector_fails_only_the_series_that_uses_it(replay_server, syke_settings):
    recoded = alas_file(1.0).replace(";Tie;", ";TIE;")
    serve_syke(replay_server, files={98: recoded, 16: recoded})
    results = {getattr(result, "series_id", None) or result.info.id: result
               for result in syke_adapter(syke_settings(replay_server.base)).fetch()}
    failed = {series_id for series_id, result in results.items() if isinstance(result, SeriesFailed)}
    assert failed == {"syke.emissions_road_transport", "syke.hinku_road_transport"}
    assert "sector codes Tie" in str(results["syke.emissions_road_transport"].error)
    assert isinstance(results["syke.emissions_total"], SeriesData)


def test_municipality_list_without_numbers_is_schema_changed(replay_server, syke_settings):
    serve_syke(replay_server, municipalities="kunta;nimi\n98;Hollola\n")
    with pytest.raises(SchemaChanged, match="kuntanro"):
        syke_adapter(syke_settings(replay_server.base)).fetch()


def test_changed_sector_codes_are_schema_changed(replay_server, syke_settings):
    recoded = alas_file(1.0).replace(";Tie;", ";TIE;")
    serve_syke(replay_server, files={98: recoded, 16: recoded})
    with pytest.raises(SchemaChanged, match="Tie"):
        syke_adapter(syke_settings(replay_server.base)).fetch(series_ids=["syke.emissions_road_transport"])


def test_empty_result_is_not_found(replay_server, syke_settings):
    serve_syke(replay_server, files={98: HEADER, 16: HEADER})
    with pytest.raises(NotFound, match="no emissions"):
        syke_adapter(syke_settings(replay_server.base)).fetch(series_ids=["syke.emissions_total"])


def test_no_municipality_file_at_all_is_not_found(replay_server, syke_settings):
    serve_syke(replay_server, files={})
    with pytest.raises(NotFound, match="none of the 2 municipality files"):
        syke_adapter(syke_settings(replay_server.base)).fetch()


# --- through the refresh ---------------------------------------------------------------------------------------------


def test_failing_refresh_leaves_the_warehouse_as_it_was(replay_server, syke_settings):
    from sources.refresh import refresh

    serve_syke(replay_server)
    settings = syke_settings(replay_server.base)
    first = refresh(settings, sources=["syke"])
    assert first.ok, first.summary_table()
    assert len(replay_server.calls("GET", "/Tulokset_taso_5/kunta_98.csv")) == 1  # one pass for every series
    warehouse = open_warehouse(settings.warehouse_location)
    before = warehouse.read()
    files_before = stored_state(warehouse)

    replay_server.route("GET", "/Tulokset_taso_5/kunta_16.csv", lambda request: csv_answer("kt;vuosi\n1,0;2023\n"))
    second = refresh(syke_settings(replay_server.base), sources=["syke"])

    assert len(second.failed) == len(EXPECTED_2022)
    pd.testing.assert_frame_equal(warehouse.read(), before)
    assert stored_state(warehouse) == files_before  # no vintage, rows or provenance changed
    assert "missing" in warehouse.status()["syke.emissions_total"]["last_error"]


# --- coverage: a download with missing files is a partial failure, never a silent success -----------------------

FORTY = [98, 16, 111, 560, 5, 9, 10, 15, 18, 19, 20, 35, 43, 46, 47, 49, 50, 51, 52, 61, 69, 71, 72, 74, 75, 77, 78,
         79, 81, 82, 86, 90, 91, 92, 97, 99, 102, 103, 105, 106]


def forty_municipalities() -> str:
    # Constructed list in Syke's format: 40 real municipality numbers, made-up populations.
    return "kuntanro;kunta_fi;maakunta_fi;asukasluku\n" + "".join(f"{n};Kunta {n};Maakunta;1 000\n" for n in FORTY)


def test_35_of_40_files_missing_is_a_partial_failure_that_keeps_the_missing_municipalities_values(
        replay_server, syke_settings):
    serve_syke(replay_server, files={number: alas_file(1.0) for number in FORTY},
               municipalities=forty_municipalities())
    settings = syke_settings(replay_server.base)
    first = refresh(settings, sources=["syke"], series=["syke.emissions_total"])
    assert first.ok, first.summary_table()
    warehouse = open_warehouse(settings.warehouse_location)
    before = warehouse.read(["syke.emissions_total"])
    assert before["region"].nunique() == 40

    answering = FORTY[:5]  # the other 35 answer 404 now; the 5 publish new numbers
    replay_server.routes = {key: handler for key, handler in replay_server.routes.items()
                            if "kunta_" not in key[1]}
    serve_syke(replay_server, files={number: alas_file(2.0) for number in answering},
               municipalities=forty_municipalities())
    second = refresh(syke_settings(replay_server.base), sources=["syke"], series=["syke.emissions_total"])
    [outcome] = second.outcomes
    assert outcome.status == "partial" and not second.ok
    assert "35 of 40 municipality files could not be used" in outcome.reason
    assert outcome.withdrawn == 0 and outcome.changed == 5 * 2  # two years of the five answering municipalities
    after = warehouse.read(["syke.emissions_total"])
    assert after["region"].nunique() == 40  # nothing withdrawn for a municipality whose file was missing
    kept = after[~after["region"].isin([f"KU{n:03d}" for n in answering])].reset_index(drop=True)
    pd.testing.assert_frame_equal(kept, before[~before["region"].isin([f"KU{n:03d}" for n in answering])]
                                  .reset_index(drop=True))
    assert "35 of 40" in warehouse.status()["syke.emissions_total"]["last_error"]  # the app shows it as stale
    assert "PARTLY FAILED syke.emissions_total" in second.summary_table()


@pytest.mark.parametrize("data_path, served", [("Tulokset_taso_5/kunta_{kuntanro}.csv", "kunta_111.csv"),
                                               ("Tulokset_taso_5/kunta_{kuntanro:03d}.csv", "kunta_098.csv")])
def test_three_digit_and_zero_padded_file_names(replay_server, syke_settings, data_path, served):
    number = int(served[6:9])
    replay_server.route("GET", "/asukasluvut_2025.csv",
                        lambda request: csv_answer(f"kuntanro;kunta_fi\n{number};Kunta\n"))
    replay_server.route("GET", f"/Tulokset_taso_5/{served}", lambda request: csv_answer(alas_file(1.0)))
    [data] = syke_adapter(syke_settings(replay_server.base, data_path=data_path)).fetch(
        series_ids=["syke.emissions_total"])
    assert set(data.frame["region"]) == {f"KU{number:03d}"} and data.partial_reason is None
    assert replay_server.calls("GET", f"/Tulokset_taso_5/{served}")


def test_the_request_count_includes_files_that_answered_404(replay_server, syke_settings):
    serve_syke(replay_server, files={98: alas_file(1.0)})  # Asikkala (16) answers 404
    report = refresh(syke_settings(replay_server.base), sources=["syke"], series=["syke.emissions_total"])
    # The publication check (a HEAD of the folder), the municipality list and both files, the missing one too.
    assert report.requests == 4
    assert len(replay_server.calls("GET")) == 3


# --- the publication check of `refresh --due` ----------------------------------------------------------------------


def test_publication_marker_is_the_results_folders_etag_asked_with_one_head_request(replay_server, syke_settings):
    serve_syke(replay_server)
    replay_server.route("GET", "/Tulokset_taso_5/", lambda request: csv_answer(
        "listing", headers={"ETag": '"v2026-06-08"', "Last-Modified": "Mon, 08 Jun 2026 06:00:00 GMT"}))
    adapter = syke_adapter(syke_settings(replay_server.base))
    ids = [series.id for series in adapter.describe()]
    markers = adapter.publication_markers(ids)
    assert markers == {series_id: 'etag "v2026-06-08"' for series_id in ids}
    assert [call.method for call in replay_server.requests] == ["HEAD"]  # no file was read


def test_without_a_folder_listing_the_marker_is_unknown(replay_server, syke_settings):
    serve_syke(replay_server)  # no route for the folder: 404
    adapter = syke_adapter(syke_settings(replay_server.base))
    assert set(adapter.publication_markers(["syke.emissions_total"]).values()) == {None}
