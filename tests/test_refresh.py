"""The refresh engine and `python -m sources refresh`: outcomes, progress, and faults that must leave data untouched.

Every fault test first stores good data, then runs a refresh against a failing service, then checks that the series
files are byte-for-byte what they were and that the failure was reported with a clear reason. The service is the
replay server (a real socket) answering CONSTRUCTED PxWeb answers in the documented format (tests/pxweb_fake.py).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from sources.base import ConfiguredAdapter
from sources.contract import Provenance, SeriesData, now_iso, tidy_frame
from sources.refresh import UNCHANGED, UPDATED, RefreshProgress, refresh
from sources.registry import BUILTIN_KINDS
from sources.settings import ConfigError, load_settings
from sources.warehouse import open_warehouse
from tests.pxweb_fake import (
    REPO_ROOT,
    FakePxWeb,
    cell_value,
    population_table,
    pxweb_config,
    series_entry,
    unemployment_table,
    variable,
)
from tests.replay_server import json_answer
from tests.warehouse_state import stored_state

SERIES = [
    series_entry("statfin.population", table="StatFin/vaerak/11re", content="Väestö 31.12."),
    series_entry("statfin.unemployed", frequency="monthly", table="StatFin/tyonv/12r5", content="Työttömät"),
    series_entry("statfin.labour_force", frequency="monthly", table="StatFin/tyonv/12r5", content="Työvoima"),
]
UNEMPLOYMENT_IDS = ["statfin.unemployed", "statfin.labour_force"]


class Service:
    """The fake Statistics Finland host, the config file pointing at it, and the test's warehouse."""

    def __init__(self, server, tmp_path: Path, monkeypatch) -> None:
        self.fake = FakePxWeb(server)
        self.population = self.fake.add(population_table())
        self.unemployment = self.fake.add(unemployment_table())
        self.config_path = tmp_path / "config.toml"
        self.monkeypatch = monkeypatch
        self.write_config()
        self.warehouse = open_warehouse(load_settings().warehouse_location)

    def write_config(self, extra: str = "", **options) -> None:
        self.config_path.write_text(pxweb_config(self.fake.base_url, SERIES, **options) + extra, encoding="utf-8")
        self.monkeypatch.setenv("TIEDOLLA_CONFIG_FILE", str(self.config_path))

    def refresh(self, **kwargs):
        return refresh(load_settings(), **kwargs)

    def stored_files(self) -> dict[str, tuple]:
        """Per series: vintages, rows and provenance (tests/warehouse_state.py), on either backend."""
        return stored_state(self.warehouse)

    def store_good_data(self) -> dict[str, tuple]:
        report = self.refresh()
        assert report.ok, report.summary_table()
        files = self.stored_files()
        assert set(files) == {series["id"] for series in SERIES}
        return files


@pytest.fixture
def service(replay_server, tmp_path, monkeypatch):
    return Service(replay_server, tmp_path, monkeypatch)


def assert_failed_and_untouched(service: Service, report, before: dict[str, tuple], failed: list[str], reason: str):
    outcomes = {outcome.series: outcome for outcome in report.outcomes}
    assert sorted(o.series for o in report.failed) == sorted(failed)
    for series_id in failed:
        assert reason in outcomes[series_id].reason, outcomes[series_id].reason
        assert reason in service.warehouse.status()[series_id]["last_error"]
    after = service.stored_files()
    assert set(after) == set(before)
    for series_id in failed:  # a failed series gets no vintage and keeps its rows and provenance
        assert after[series_id] == before[series_id]
    assert not report.ok


# --- outcomes and progress ---------------------------------------------------------------------------------------


def test_refresh_stores_every_series_then_reports_unchanged_then_changed(service):
    first = service.refresh()
    assert [(o.series, o.status) for o in first.outcomes] == [(s["id"], UPDATED) for s in SERIES]
    assert first.outcomes[1].new == 6 * 24
    stored = service.warehouse.read(["statfin.unemployed"])
    assert len(stored) == 6 * 24 and set(stored["region"]) >= {"KU098", "SSS"}
    assert service.warehouse.metadata("statfin.unemployed")["provenance"].attribution == "Statistics Finland"

    second = service.refresh()
    assert [o.status for o in second.outcomes] == [UNCHANGED] * 3

    service.unemployment.value = lambda codes: cell_value(codes) + (1 if codes["alue_23_20260101"] == "KU098"
                                                                     and codes["timeperiod_m"] == "2025M12" else 0)
    third = service.refresh(series=UNEMPLOYMENT_IDS)
    assert [(o.series, o.status, o.changed, o.new) for o in third.outcomes] == [
        ("statfin.unemployed", UPDATED, 1, 0), ("statfin.labour_force", UPDATED, 1, 0),
    ]


def test_progress_events_count_series_requests_and_cells(service):
    events: list[RefreshProgress] = []
    report = service.refresh(progress=events.append)
    assert events[-1].series_done == events[-1].series_total == 3 and events[-1].fraction == 1.0
    assert [e.series_done for e in events] == sorted(e.series_done for e in events)
    # Two folder listings (the publication check), ?config, two metadata reads, two data queries; cells = 5 regions
    # x 6 years + 6 x 24 months x 2 contents.
    assert events[-1].requests == report.requests == 7
    assert events[-1].cells == report.cells == 5 * 6 + 6 * 24 * 2
    assert any("statfin.unemployed: updated" in e.message for e in events)


def test_refresh_of_named_series_fetches_only_their_table(service):
    report = service.refresh(series=["statfin.population"])
    assert [o.series for o in report.outcomes] == ["statfin.population"]
    assert not service.fake.posts(service.unemployment)


def test_unknown_source_or_series_is_a_config_error(service):
    with pytest.raises(ConfigError, match="No source named nosuch"):
        service.refresh(sources=["nosuch"])
    with pytest.raises(ConfigError, match="statfin.nosuch"):
        service.refresh(series=["statfin.nosuch"])


def test_a_query_over_the_cell_limit_is_split_and_stored_whole(service):
    service.fake.config = {"maxValues": 100, "maxCalls": 100, "timeWindow": 1}
    report = service.refresh(series=UNEMPLOYMENT_IDS)
    assert report.ok
    # 6 regions x 24 months x 2 contents = 288 cells; 8 months of all regions (96 cells) per POST -> 3 POSTs.
    assert len(service.fake.posts(service.unemployment)) == 3
    assert all(cells <= 100 for cells in service.unemployment.posted_cells)
    stored = service.warehouse.read(UNEMPLOYMENT_IDS)
    assert len(stored) == 2 * 6 * 24 and not stored.duplicated(["series", "region", "period"]).any()
    row = stored[(stored["series"] == "statfin.unemployed") & (stored["region"] == "KU560")
                 & (stored["period"] == "2025-12")]
    assert row["value"].tolist() == [cell_value({"alue_23_20260101": "KU560", "timeperiod_m": "2025M12",
                                                 "contentscode": "tyonv_1001"})]


# --- faults: a clear reason, and the stored data untouched --------------------------------------------------------


def test_refresh_keeps_old_data_when_the_service_refuses_connections(service, monkeypatch):
    before = service.store_good_data()
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    monkeypatch.setenv("TIEDOLLA_SOURCES__STATFIN__BASE_URL", f"http://127.0.0.1:{closed_port}/PxWeb/api/v1/fi/")
    report = service.refresh()
    assert_failed_and_untouched(service, report, before, [s["id"] for s in SERIES], "cannot connect to")


def test_refresh_keeps_old_data_when_the_service_answers_too_slowly(service, monkeypatch):
    before = service.store_good_data()
    monkeypatch.setenv("TIEDOLLA_SOURCES__STATFIN__TIMEOUT_READ_S", "0.3")
    service.unemployment.delay_s = 1.5
    started = time.monotonic()
    report = service.refresh()
    assert time.monotonic() - started < 5
    assert_failed_and_untouched(service, report, before, UNEMPLOYMENT_IDS, "did not answer within 0.3 s")
    assert report.outcomes[0].series == "statfin.population" and report.outcomes[0].status == UNCHANGED


def test_refresh_waits_as_told_by_retry_after_on_429_and_then_succeeds(service):
    attempts = []

    def rate_limited_once(request):
        attempts.append(request.at)
        if len(attempts) == 1:
            return 429, {"Retry-After": "1", "Content-Type": "text/plain"}, b"Too many requests"
        service.unemployment.data_override = None
        return service.fake._data_answer(service.unemployment, request)

    service.unemployment.data_override = rate_limited_once
    report = service.refresh(series=UNEMPLOYMENT_IDS)
    assert report.ok and [o.status for o in report.outcomes] == [UPDATED, UPDATED]
    posts = [request.at for request in service.fake.posts(service.unemployment)]
    assert len(posts) == 2 and posts[1] - posts[0] >= 1.0


def test_refresh_keeps_old_data_when_the_service_returns_500(service):
    before = service.store_good_data()
    service.unemployment.data_override = lambda request: (500, {"Content-Type": "text/plain"}, b"Internal error")
    report = service.refresh()
    assert_failed_and_untouched(service, report, before, UNEMPLOYMENT_IDS, "server error (HTTP 500)")
    assert len(service.fake.posts(service.unemployment)) == 1 + 2  # the good refresh, then 1 retry


def test_refresh_keeps_old_data_when_the_answer_is_malformed_json(service):
    before = service.store_good_data()
    service.unemployment.data_override = lambda request: json_answer(b'{"version": "2.0", "id": ["alue_23_')
    report = service.refresh()
    assert_failed_and_untouched(service, report, before, UNEMPLOYMENT_IDS, "is not valid JSON")


def test_refresh_keeps_old_data_when_the_metadata_has_no_region_variable(service):
    before = service.store_good_data()
    changed = {"title": "Työnhakijat (constructed: region variable gone)", "variables": [
        variable("timeperiod_m", "Kuukausi", ["2025M12"], time=True),
        variable("contentscode", "Tiedot", ["tyonv_1001", "tyonv_1002"], ["Työttömät", "Työvoima"]),
    ]}
    service.unemployment.metadata_override = lambda request: json_answer(json.dumps(changed, ensure_ascii=False))
    report = service.refresh()
    assert_failed_and_untouched(service, report, before, UNEMPLOYMENT_IDS, "no region variable")


def test_refresh_keeps_old_data_when_the_result_is_empty(service):
    before = service.store_good_data()
    empty = {
        "version": "2.0", "class": "dataset", "updated": "2026-05-20T05:00:00Z",
        "id": ["alue_23_20260101", "timeperiod_m", "contentscode"], "size": [0, 0, 2],
        "dimension": {
            "alue_23_20260101": {"category": {"index": {}, "label": {}}},
            "timeperiod_m": {"category": {"index": {}, "label": {}}},
            "contentscode": {"category": {"index": {"tyonv_1001": 0, "tyonv_1002": 1}}},
        },
        "value": [],
    }
    service.unemployment.data_override = lambda request: json_answer(json.dumps(empty))
    report = service.refresh()
    assert_failed_and_untouched(service, report, before, UNEMPLOYMENT_IDS, "returned no values")


def test_a_refresh_killed_midway_leaves_the_warehouse_readable_with_old_data(service):
    before = service.store_good_data()
    old_unemployed = service.warehouse.read(["statfin.unemployed"])
    service.population.value = lambda codes: 1.0  # new population values: written before the kill
    service.unemployment.delay_s = 20  # the second table hangs: the refresh is killed while waiting for it
    process = subprocess.Popen(
        [sys.executable, "-m", "sources", "refresh", "--source", "statfin"],
        cwd=REPO_ROOT, env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while not service.fake.posts(service.unemployment)[1:] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert service.fake.posts(service.unemployment)[1:], "the refresh never reached the slow table"
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL

    after = service.stored_files()
    for series_id in UNEMPLOYMENT_IDS:
        assert after[series_id] == before[series_id]
    pd.testing.assert_frame_equal(service.warehouse.read(["statfin.unemployed"]), old_unemployed)
    assert set(service.warehouse.read(["statfin.population"])["value"]) == {1.0}
    assert sorted(service.warehouse.series_ids()) == sorted(s["id"] for s in SERIES)


# --- snapshot and documents --------------------------------------------------------------------------------------


class FakeSnapshot(ConfiguredAdapter):
    """Stands in for the snapshot kind, to see whether refresh fetches it (loading the settings builds every source
    once to check its configuration)."""

    kind = "snapshot"
    fetched = 0

    def fetch(self, series_ids=None, regions=None, periods=None, progress=None):
        FakeSnapshot.fetched += 1
        provenance = Provenance("snapshot", "bundled", "", now_iso(), None, "CC BY 4.0")
        return [
            SeriesData(self.info_for(series), tidy_frame(series.id, ["KU098"], ["2020"], [1.0]), provenance)
            for series in self.select_series(series_ids)
        ]


class FakeDocuments(ConfiguredAdapter):
    """A source with documents only, like the boundaries adapter."""

    kind = "fakedocs"
    fail = False

    def fetch(self, series_ids=None, regions=None, periods=None, progress=None):
        return []

    def document_names(self):
        return ["kunnat.geojson"]

    def fetch_documents(self, progress=None):
        if FakeDocuments.fail:
            raise ConnectionResetError("the map service hung up")
        progress(requests=1, cells=0, message="boundaries")
        return [("kunnat.geojson", b'{"type": "FeatureCollection", "features": []}',
                 Provenance("maps", "kunta4500k", "http://maps.test/", now_iso(), "2026-01-01", "CC BY 4.0"))]


SNAPSHOT_SOURCE = """
[sources.snapshot]
kind = "snapshot"
[[sources.snapshot.series]]
id = "snapshot.population"
title = { fi = "Väestö" }
unit = "n"
"""
DOCUMENT_SOURCE = """
[sources.maps]
kind = "fakedocs"
"""


def test_the_snapshot_source_is_refreshed_only_when_named(service, monkeypatch):
    monkeypatch.setitem(BUILTIN_KINDS, "snapshot", "tests.test_refresh:FakeSnapshot")
    service.write_config(extra=SNAPSHOT_SOURCE)
    FakeSnapshot.fetched = 0
    report = service.refresh()
    assert FakeSnapshot.fetched == 0 and "snapshot.population" not in {o.series for o in report.outcomes}
    report = service.refresh(sources=["snapshot"])
    assert [(o.series, o.status) for o in report.outcomes] == [("snapshot.population", UPDATED)]


def test_documents_are_stored_and_their_failure_reported(service, monkeypatch):
    monkeypatch.setitem(BUILTIN_KINDS, "fakedocs", "tests.test_refresh:FakeDocuments")
    service.write_config(extra=DOCUMENT_SOURCE)
    FakeDocuments.fail = False
    report = service.refresh(sources=["maps"])
    assert [(o.series, o.status) for o in report.outcomes] == [("documents:maps", UPDATED)]
    payload, provenance = service.warehouse.read_document("kunnat.geojson")
    assert payload.startswith(b'{"type"') and provenance.table == "kunta4500k"

    FakeDocuments.fail = True
    report = service.refresh(sources=["maps"])
    assert report.failed[0].series == "documents:maps" and "ConnectionResetError" in report.failed[0].reason
    assert service.warehouse.read_document("kunnat.geojson")[0] == payload


# --- the command line ----------------------------------------------------------------------------------------------


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sources", "refresh", *args],
        cwd=REPO_ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=60,
    )


def test_cli_exits_0_when_every_series_is_refreshed(service):
    result = run_cli()
    assert result.returncode == 0, result.stderr
    assert "[3/3] statfin.labour_force: updated" in result.stdout
    assert "3 updated, 0 unchanged, 0 failed" in result.stdout


def test_cli_exits_2_and_prints_reasons_when_some_series_fail(service):
    service.unemployment.data_override = lambda request: (500, {"Content-Type": "text/plain"}, b"Internal error")
    result = run_cli("--source", "statfin")
    assert result.returncode == 2, result.stderr
    assert "1 updated, 0 unchanged, 2 failed" in result.stdout
    assert "FAILED statfin.unemployed: Statistics Finland (StatFin/tyonv/12r5)" in result.stdout
    assert "HTTP 500" in result.stdout


def test_cli_exits_1_on_a_configuration_error_without_a_traceback(service):
    service.config_path.write_text('[sources.statfin]\nkind = "pxweb"\nbase_url = ""\n', encoding="utf-8")
    result = run_cli()
    assert result.returncode == 1
    assert result.stderr.startswith("Configuration error: [sources.statfin] (kind pxweb) is invalid: base_url")
    assert "Traceback" not in result.stderr

    service.write_config()
    result = run_cli("--series", "statfin.nosuch")
    assert result.returncode == 1 and "statfin.nosuch" in result.stderr and "Traceback" not in result.stderr


def test_a_second_refresh_waits_for_the_first_then_exits_3_with_a_clear_message(service, monkeypatch):
    service.store_good_data()
    monkeypatch.setenv("TIEDOLLA_REFRESH_LOCK_TIMEOUT_S", "1")
    before = service.warehouse.latest_vintage_id()
    with service.warehouse.refresh_lock():  # a refresh (here: this test) holds the warehouse
        started = time.monotonic()
        result = run_cli()
        waited = time.monotonic() - started
    assert result.returncode == 3, result.stderr
    assert result.stderr.startswith("Warehouse busy: Another refresh of the ")
    assert "waited 1 s" in result.stderr and "Traceback" not in result.stderr
    assert waited >= 1.0
    assert service.warehouse.latest_vintage_id() == before
    assert run_cli().returncode == 0  # once the first has finished, the next one runs


def test_a_refresh_that_changes_nothing_adds_no_vintage_and_one_that_does_adds_one_per_series(service):
    service.store_good_data()
    version = service.warehouse.latest_vintage_id()
    assert service.refresh().ok
    assert service.warehouse.latest_vintage_id() == version
    service.population.value = lambda codes: cell_value(codes) + 1
    report = service.refresh()
    outcomes = {outcome.series: outcome for outcome in report.outcomes}
    assert outcomes["statfin.population"].status == UPDATED
    assert outcomes["statfin.population"].vintage == version + 1
    assert service.warehouse.latest_vintage_id() == version + 1
    assert "vintage" in report.summary_table().splitlines()[0]


def test_cli_exits_1_naming_the_host_when_the_database_is_unreachable(service, monkeypatch):
    monkeypatch.setenv("TIEDOLLA_WAREHOUSE_URL", "postgresql://tiedolla:secret@127.0.0.1:9/tiedolla")
    result = run_cli()
    assert result.returncode == 1, result.stdout
    assert result.stderr.startswith("Warehouse error:")
    assert "127.0.0.1" in result.stderr and "secret" not in result.stderr
    assert "Traceback" not in result.stderr


def test_one_ambiguous_content_fails_only_its_own_series_with_its_own_reason(service):
    # Constructed config: of three series of table 12r5, one names a content text that matches two values.
    service.write_config(extra="")
    series = [*SERIES[:2], series_entry("statfin.ambiguous", frequency="monthly", table="StatFin/tyonv/12r5",
                                        content="Työ")]
    service.config_path.write_text(pxweb_config(service.fake.base_url, series), encoding="utf-8")
    report = service.refresh()
    outcomes = {outcome.series: outcome for outcome in report.outcomes}
    assert outcomes["statfin.population"].status == UPDATED
    assert outcomes["statfin.unemployed"].status == UPDATED  # the same table as the ambiguous one
    assert outcomes["statfin.ambiguous"].status == "failed"
    assert "content 'Työ' matches several values" in outcomes["statfin.ambiguous"].reason
    assert "statfin.ambiguous" in service.warehouse.status() and not report.ok
    assert service.warehouse.read(["statfin.unemployed"]).shape[0] == 6 * 24
