"""The refresh worker (`python -m sources worker`): its schedule, its backoff, and how it stops and fails.

The worker runs as a real process against the fake Statistics Finland host (tests/pxweb_fake.py: CONSTRUCTED
answers in the documented format) and the test's warehouse (either backend, as the test run chooses).
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
from datetime import datetime, timedelta, timezone

import pytest

from sources.schedule import ScheduleError, next_run, parse_schedule, refetch_after
from sources.settings import ConfigError, load_settings
from sources.worker import Worker
from tests.pxweb_fake import REPO_ROOT
from tests.test_refresh import Service

HELSINKI = timezone(timedelta(hours=2))


@pytest.fixture
def service(replay_server, tmp_path, monkeypatch):
    return Service(replay_server, tmp_path, monkeypatch)


# --- the schedule ---------------------------------------------------------------------------------------------------


def test_a_daily_time_runs_later_today_or_tomorrow():
    schedule = parse_schedule("06:00")
    assert next_run(schedule, datetime(2026, 12, 2, 5, 59, tzinfo=HELSINKI)) == datetime(2026, 12, 2, 6, 0,
                                                                                          tzinfo=HELSINKI)
    assert next_run(schedule, datetime(2026, 12, 2, 6, 0, tzinfo=HELSINKI)) == datetime(2026, 12, 3, 6, 0,
                                                                                         tzinfo=HELSINKI)


def test_several_times_a_day_and_intervals():
    twice = parse_schedule("18:00, 06:00")
    assert next_run(twice, datetime(2026, 12, 2, 7, 0)) == datetime(2026, 12, 2, 18, 0)
    assert next_run(twice, datetime(2026, 12, 31, 19, 0)) == datetime(2027, 1, 1, 6, 0)
    assert next_run(parse_schedule("every 6h"), datetime(2026, 12, 2, 7, 0)) == datetime(2026, 12, 2, 13, 0)
    assert parse_schedule("every 30m").interval_s == 1800
    assert parse_schedule("Every 10 s").interval_s == 10


@pytest.mark.parametrize("text", ["6am", "25:00", "every", "every 0s", "every 5 weeks", "", "06:00,"])
def test_an_unreadable_schedule_is_refused_with_examples(text):
    if text == "06:00,":  # a trailing comma is harmless
        assert parse_schedule(text).times
        return
    with pytest.raises(ScheduleError, match="06:00|every|empty|positive"):
        parse_schedule(text)


def test_a_broken_schedule_in_config_is_a_config_error_naming_the_field(monkeypatch):
    monkeypatch.setenv("TIEDOLLA_REFRESH__SCHEDULE", "daily at six")
    with pytest.raises(ConfigError, match=r"\[refresh\] schedule: 'daily at six' is neither"):
        load_settings()


def test_a_source_that_cannot_tell_is_refetched_after_a_quarter_of_its_rhythm():
    assert refetch_after("monthly") == timedelta(days=7.75)
    assert refetch_after("annual") == timedelta(days=91.5)


def test_backoff_doubles_after_runs_that_could_not_happen_and_never_passes_the_schedule(monkeypatch):
    monkeypatch.setenv("TIEDOLLA_REFRESH__SCHEDULE", "06:00")
    monkeypatch.setenv("TIEDOLLA_REFRESH__BACKOFF_INITIAL_S", "60")
    monkeypatch.setenv("TIEDOLLA_REFRESH__BACKOFF_MAX_S", "3600")
    worker = Worker(load_settings())
    now = datetime(2026, 12, 2, 5, 0, tzinfo=HELSINKI)
    waits = []
    for _ in range(8):
        waits.append((worker.next_moment(None, now) - now).total_seconds())
    assert waits == [60, 120, 240, 480, 960, 1920, 3600, 3600]
    late = datetime(2026, 12, 2, 5, 59, tzinfo=HELSINKI)  # the schedule comes first
    assert worker.next_moment(None, late) == datetime(2026, 12, 2, 6, 0, tzinfo=HELSINKI)
    assert worker.next_moment(object(), now) == datetime(2026, 12, 2, 6, 0, tzinfo=HELSINKI)  # a run resets it
    assert worker.backoff_s is None


# --- the worker process ---------------------------------------------------------------------------------------------


class WorkerProcess:
    """`python -m sources worker` in its own process group, with its log lines collected as they come."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "sources", "worker", *args], cwd=REPO_ROOT, env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                        start_new_session=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, text: str, count: int = 1, timeout: float = 60) -> list[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [line for line in self.lines if text in line]
            if len(found) >= count:
                return found
            if self.process.poll() is not None and not self._reader.is_alive():
                break
            time.sleep(0.05)
        raise AssertionError(f"no {count}x {text!r} in the worker's log:\n" + "\n".join(self.lines))

    def stop(self, signum=signal.SIGTERM, timeout: float = 30) -> int:
        os.killpg(self.process.pid, signum)
        code = self.process.wait(timeout=timeout)
        self._reader.join(timeout=5)
        return code

    def close(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


@pytest.fixture
def start_worker():
    started: list[WorkerProcess] = []

    def start(*args: str, **env: str) -> WorkerProcess:
        worker = WorkerProcess({**os.environ, **env}, *args)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.close()


def status_json() -> dict:
    result = subprocess.run([sys.executable, "-m", "sources", "status"], cwd=REPO_ROOT, env=dict(os.environ),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_worker_refreshes_at_start_then_only_what_is_due_and_stops_cleanly_on_sigterm(service, start_worker):
    worker = start_worker(TIEDOLLA_REFRESH__SCHEDULE="every 1s")
    first, second = worker.wait_for("run finished", count=2)
    assert "checked 3, due 3, fetched 3" in first
    assert "checked 3, due 0, fetched 0, requests 3; 0 failed" in second
    assert worker.wait_for("next run")
    started = time.monotonic()
    assert worker.stop() == 0
    assert time.monotonic() - started < 10
    assert worker.lines[-1].endswith("worker: stopped")
    report = status_json()
    assert report["worker"]["state"] == "stopped" and report["worker"]["schedule"] == "every 1s"
    assert report["last_run"]["trigger"] == "worker" and report["last_run"]["ok"] is True


def test_sigterm_in_the_middle_of_a_refresh_stops_after_the_batch_in_flight(service, start_worker):
    service.unemployment.delay_s = 2.0  # the unemployment table's data query takes 2 s
    worker = start_worker(TIEDOLLA_REFRESH__SCHEDULE="every 1h")
    deadline = time.monotonic() + 30
    while not service.fake.posts(service.unemployment) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert service.fake.posts(service.unemployment), "\n".join(worker.lines)
    assert worker.stop() == 0
    assert any("received SIGTERM" in line for line in worker.lines)
    assert worker.lines[-1].endswith("worker: stopped")


def test_a_worker_killed_mid_refresh_releases_the_lock_and_the_next_refresh_proceeds(service, start_worker):
    service.store_good_data()
    before = service.stored_files()
    service.unemployment.delay_s = 30.0  # the worker will be killed while it waits for this answer
    service.unemployment.updated = "2026-07-01T05:00:00Z"  # so the unemployment table is due
    worker = start_worker(TIEDOLLA_REFRESH__SCHEDULE="every 1h")
    deadline = time.monotonic() + 30
    posts = len(service.fake.posts(service.unemployment))
    while len(service.fake.posts(service.unemployment)) == posts and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(service.fake.posts(service.unemployment)) > posts, "\n".join(worker.lines)
    worker.stop(signal.SIGKILL)
    assert service.stored_files() == before  # nothing half-written

    service.unemployment.delay_s = 0.0
    result = subprocess.run([sys.executable, "-m", "sources", "refresh", "--due"], cwd=REPO_ROOT,
                            env={**os.environ, "TIEDOLLA_REFRESH_LOCK_TIMEOUT_S": "2"}, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr  # not 3: the killed worker's lock is gone
    assert "due 2, fetched 2" in result.stdout


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_an_unreachable_source_is_recorded_and_waits_for_the_schedule_not_a_backoff(service, start_worker):
    worker = start_worker(TIEDOLLA_REFRESH__SCHEDULE="every 1h", TIEDOLLA_REFRESH__BACKOFF_INITIAL_S="1",
                          TIEDOLLA_SOURCES__STATFIN__BASE_URL=f"http://127.0.0.1:{closed_port()}/PxWeb/api/v1/fi/")
    finished = worker.wait_for("run finished")[0]
    assert "3 failed" in finished
    assert len(worker.wait_for("FAILED statfin.")) == 3
    next_line = worker.wait_for("next run")[0]
    assert "backing off" not in next_line  # the source is retried at the schedule's next run, an hour later
    when = datetime.fromisoformat(next_line.rsplit("next run ", 1)[1])
    assert timedelta(minutes=59) < when - datetime.now().astimezone() <= timedelta(hours=1)
    report = status_json()
    assert report["next_run"] == when.isoformat() and report["worker"]["state"] == "waiting"
    assert [entry["series"] for entry in report["failed_series"]] == sorted(
        ["statfin.labour_force", "statfin.population", "statfin.unemployed"])
    assert "cannot connect" in report["failed_series"][0]["error"]


def test_an_unreachable_warehouse_backs_off_and_the_worker_still_stops_cleanly(service, start_worker):
    worker = start_worker(TIEDOLLA_WAREHOUSE_URL=f"postgresql://tiedolla@127.0.0.1:{closed_port()}/tiedolla",
                          TIEDOLLA_REFRESH__SCHEDULE="every 1h", TIEDOLLA_REFRESH__BACKOFF_INITIAL_S="0.5")
    failures = worker.wait_for("run failed", count=3, timeout=60)
    assert "127.0.0.1" in failures[0]
    assert worker.wait_for("backing off 0.5 s") and worker.wait_for("backing off 1 s")
    assert worker.stop() == 0


def test_auto_enabled_tells_the_run_script_whether_to_start_the_worker():
    def auto(value: str | None) -> int:
        env = {key: value for key, value in os.environ.items() if key != "TIEDOLLA_REFRESH__AUTO"}
        if value is not None:
            env["TIEDOLLA_REFRESH__AUTO"] = value
        return subprocess.run([sys.executable, "-m", "sources", "worker", "--auto-enabled"], cwd=REPO_ROOT,
                              env=env, capture_output=True, timeout=60).returncode

    assert auto(None) == 1  # off by default (config.toml)
    assert auto("true") == 0


def free_port() -> int:
    return closed_port()


def test_the_run_script_starts_the_worker_beside_the_app_when_auto_is_on_and_stops_both(service, start_worker):
    port = free_port()
    run = subprocess.Popen([str(REPO_ROOT / "tiedolla.sh"), "run", "--server.port", str(port)], cwd=REPO_ROOT,
                           env={**os.environ, "TIEDOLLA_REFRESH__AUTO": "true",
                                "TIEDOLLA_REFRESH__SCHEDULE": "every 1h"},
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(line.rstrip() for line in run.stdout), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not any("worker: run finished" in line for line in lines):
            time.sleep(0.2)
        assert any("worker: run finished: checked 3, due 3, fetched 3" in line for line in lines), "\n".join(lines)
        worker_pid = status_json()["worker"]["pid"]
        os.kill(worker_pid, 0)  # the worker is running beside the app
    finally:
        os.killpg(run.pid, signal.SIGTERM)
        run.wait(timeout=30)
    reader.join(timeout=5)
    time.sleep(0.5)
    with pytest.raises(ProcessLookupError):
        os.kill(worker_pid, 0)  # and stopped with it
    assert any("worker: stopped" in line for line in lines)
