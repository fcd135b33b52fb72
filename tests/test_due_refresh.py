"""`refresh --due`: only what the sources have published since the last fetch is fetched, and every request counts.

The Statistics Finland host is the fake PxWeb host (tests/pxweb_fake.py): CONSTRUCTED answers in the documented
format, with folder listings that carry each table's `updated`, as PxWeb v1 lists tables. A publisher's update is
played by changing a table's `updated` and its values.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from sources.refresh import CURRENT, FAILED, UPDATED
from sources.status import status_report
from tests.pxweb_fake import REPO_ROOT, cell_value
from tests.test_refresh import SERIES, UNEMPLOYMENT_IDS, Service

ALL_IDS = [series["id"] for series in SERIES]


@pytest.fixture
def service(replay_server, tmp_path, monkeypatch):
    return Service(replay_server, tmp_path, monkeypatch)


def statuses(report) -> dict[str, str]:
    return {outcome.series: outcome.status for outcome in report.outcomes}


def publish(table, updated: str, scale: float = 2.0) -> None:
    """The publisher updates a table: a new `updated` in its folder listing, and new values."""
    table.updated = updated
    table.value = lambda codes: cell_value(codes) * scale


def test_due_fetches_what_was_never_fetched_then_only_tables_the_publisher_has_updated(service):
    first = service.refresh(due=True)
    assert statuses(first) == dict.fromkeys(ALL_IDS, UPDATED)
    assert (first.checked, first.due, first.fetched) == (3, 3, 3)
    population_posts = len(service.fake.posts(service.population))

    second = service.refresh(due=True)
    assert statuses(second) == dict.fromkeys(ALL_IDS, CURRENT)
    assert (second.checked, second.due, second.fetched) == (3, 0, 0)
    # The host's limits and two folder listings (vaerak, tyonv) were all it cost: no metadata, no data query.
    assert second.requests == 3
    assert second.counts_line() == "checked 3, due 0, fetched 0, requests 3"

    before = service.warehouse.latest_vintage_id()
    publish(service.unemployment, "2026-06-20T05:00:00Z")
    third = service.refresh(due=True)
    assert statuses(third) == {"statfin.population": CURRENT, **dict.fromkeys(UNEMPLOYMENT_IDS, UPDATED)}
    assert (third.checked, third.due, third.fetched) == (3, 2, 2)
    assert len(service.fake.posts(service.population)) == population_posts  # population was not fetched again
    assert service.warehouse.latest_vintage_id() == before + 2

    assert statuses(service.refresh(due=True)) == dict.fromkeys(ALL_IDS, CURRENT)  # the new marker was kept


def test_a_series_whose_fetch_failed_is_due_at_the_next_run_though_the_publisher_did_nothing(service):
    service.store_good_data()
    publish(service.unemployment, "2026-06-20T05:00:00Z")
    service.unemployment.data_override = lambda request: (500, {"Content-Type": "text/plain"}, b"down")
    failed = service.refresh(due=True)
    assert statuses(failed) == {"statfin.population": CURRENT, **dict.fromkeys(UNEMPLOYMENT_IDS, FAILED)}

    service.unemployment.data_override = None  # the host is back; its listing still says 2026-06-20
    again = service.refresh(due=True)
    assert statuses(again) == {"statfin.population": CURRENT, **dict.fromkeys(UNEMPLOYMENT_IDS, UPDATED)}


def test_where_the_source_cannot_tell_a_series_is_fetched_again_after_a_quarter_of_its_rhythm(service,
                                                                                              replay_server):
    service.store_good_data()
    # No folder listings at all (a PxWeb installation without them): the check cannot tell.
    for folder in ("StatFin/vaerak", "StatFin/tyonv"):
        replay_server.routes.pop(("GET", f"{service.fake.base_path}{folder}/"))
    recent = service.refresh(due=True)
    assert statuses(recent) == dict.fromkeys(ALL_IDS, CURRENT)  # fetched moments ago: nothing is due

    # Ten days later: the monthly unemployment series (rhythm 31 days, refetched after a quarter of it) is due,
    # the annual population (rhythm 366 days) is not.
    ten_days_ago = (datetime.now(UTC) - timedelta(days=10)).replace(microsecond=0).isoformat()
    for series_id in ALL_IDS:
        service.warehouse.note_status(series_id, {"last_success": ten_days_ago})
    later = service.refresh(due=True)
    assert statuses(later) == {"statfin.population": CURRENT, **dict.fromkeys(UNEMPLOYMENT_IDS, "unchanged")}


def test_cli_due_prints_the_counts_line_and_status_prints_the_last_run(service):
    service.store_good_data()
    result = subprocess.run([sys.executable, "-m", "sources", "refresh", "--due"], cwd=REPO_ROOT,
                            env=dict(os.environ), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "checked 3, due 0, fetched 0, requests 3" in result.stdout
    assert "statfin  statfin.population    current" in result.stdout

    status = subprocess.run([sys.executable, "-m", "sources", "status"], cwd=REPO_ROOT, env=dict(os.environ),
                            capture_output=True, text=True, timeout=60)
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    assert report["last_vintage"]["id"] == service.warehouse.latest_vintage_id()
    assert report["last_run"]["trigger"] == "cli" and report["last_run"]["mode"] == "due"
    assert (report["last_run"]["checked"], report["last_run"]["due"], report["last_run"]["requests"]) == (3, 0, 3)
    assert report["failed_series"] == [] and report["next_run"] is None  # no worker has run


def test_status_lists_failed_series_with_their_reason(service):
    service.store_good_data()
    publish(service.unemployment, "2026-06-20T05:00:00Z")
    service.unemployment.data_override = lambda request: (500, {"Content-Type": "text/plain"}, b"down")
    service.refresh(due=True)
    report = status_report(service.warehouse)
    assert [entry["series"] for entry in report["failed_series"]] == sorted(UNEMPLOYMENT_IDS)
    assert all("HTTP 500" in entry["error"] for entry in report["failed_series"])
    assert report["last_run"]["ok"] is False and sorted(report["last_run"]["failed"]) == sorted(UNEMPLOYMENT_IDS)


def test_a_stop_request_ends_the_refresh_between_batches(service):
    stop = threading.Event()
    stop.set()
    report = service.refresh(due=True, stop=stop)
    assert report.stopped and report.outcomes == []
    assert service.warehouse.latest_vintage_id() == 0


# --- rate limits shared across processes ---------------------------------------------------------------------------


def test_two_refreshes_at_once_share_the_hosts_rate_limit_and_get_no_429(service, tmp_path):
    """Two processes refresh two warehouses from one host that allows 4 calls per 2 s and answers 429 beyond that.
    Each process alone would keep the limit; together they keep it only by sharing the host's request log."""
    service.fake.config = {"maxValues": 120000, "maxCells": 120000, "maxCalls": 4, "timeWindow": 2}
    service.fake.enforce_calls = True
    # A 429 fails the series at once. The documented limits equal the host's (as config.toml has them for
    # Statistics Finland): they govern the first call, before ?config has told the host's own.
    service.write_config(max_retries=0, max_calls=4, time_window_s=2)
    environments = []
    for number in (1, 2):
        env = dict(os.environ, TIEDOLLA_WAREHOUSE_DIR=str(tmp_path / f"warehouse-{number}"))
        env.pop("TIEDOLLA_WAREHOUSE_URL", None)  # two local warehouses: two refreshes that may run together
        environments.append(env)
    started = time.monotonic()
    runs = [subprocess.Popen([sys.executable, "-m", "sources", "refresh"], cwd=REPO_ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for env in environments]
    outputs = [run.communicate(timeout=120)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], "\n----\n".join(outputs)
    assert service.fake.refused == 0
    times = sorted(request.at for request in service.fake.server.calls() if request.at >= started)
    assert len(times) >= 10  # both did their work: limits, metadata and data, twice
    assert max(sum(1 for moment in times if first <= moment < first + 2.0) for first in times) <= 4


# --- a lost lock -------------------------------------------------------------------------------------------------


def test_a_refresh_whose_postgresql_lock_session_ends_stops_before_its_next_batch(replay_server, tmp_path,
                                                                                  monkeypatch, postgres_server,
                                                                                  postgres_url):
    monkeypatch.setenv("TIEDOLLA_WAREHOUSE_URL", postgres_url)
    service = Service(replay_server, tmp_path, monkeypatch)
    service.population.delay_s = 1.0  # the first batch's data query is slow enough to end the lock's session
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["report"] = service.refresh()
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 30
    while not service.fake.posts(service.population) and time.monotonic() < deadline:
        time.sleep(0.02)
    dbname = postgres_url.split("@/", 1)[1].split("?", 1)[0]
    postgres_server.execute(  # as an administrator or a database restart would
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        f"WHERE application_name LIKE 'tiedolla refresh%' AND datname = '{dbname}'")
    thread.join(timeout=60)
    assert "lost its lock" in str(outcome.get("error")), outcome
    assert service.fake.posts(service.unemployment) == []  # the next batch was not fetched
    assert service.warehouse.series_ids() == ["statfin.population"]  # what was fetched under the lock is kept
