"""The refresh worker: `python -m sources worker` refreshes what is due on the schedule of `[refresh]` in config.toml.

Each run is `refresh(due=True)` under the warehouse's refresh lock, so the worker, the command line and the app's
button on any replica never refresh one warehouse at the same time. The worker runs once at start, then at each
scheduled moment. It logs one line per run and one per failed series. After a run that stored a new data version,
the refresh computes that version's indicators and keeps them in the warehouse (indicators.materialise), so the app
servers only read them; the worker says so in one more line.

- A source that fails is recorded in the warehouse status (the app shows its series as stale) and is tried again
  at the next scheduled run, not sooner.
- A run that cannot happen at all (the warehouse is unreachable, or another refresh holds it) is tried again after
  `backoff_initial_s`, doubling up to `backoff_max_s`, but never later than the next scheduled run.
- SIGTERM or SIGINT stop it cleanly: a run in progress ends after the batch it is fetching, and the rest waits for
  the next run. Killed outright, its lock ends with its process (a lock file's flock, a PostgreSQL session's
  advisory lock), so the next run proceeds.

The worker keeps its schedule and next run in the warehouse (`runs()["worker"]`), for `python -m sources status`
and About the data.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
from datetime import datetime, timedelta

from sources.contract import now_iso
from sources.refresh import RefreshReport, refresh
from sources.schedule import Schedule, next_run, parse_schedule
from sources.settings import ConfigError, Settings
from sources.status import WORKER_RECORD
from sources.warehouse import WarehouseBusy, WarehouseError, describe_location, open_warehouse


def log_line(message: str) -> None:
    print(f"{now_iso()} worker: {message}", flush=True)


class Worker:
    def __init__(self, settings: Settings, stop: threading.Event | None = None, log=log_line,
                 clock=lambda: datetime.now().astimezone()) -> None:
        self.settings = settings
        self.stop = stop or threading.Event()
        self.schedule: Schedule = parse_schedule(settings.refresh.schedule)
        self.log = log
        self.clock = clock
        self.backoff_s: float | None = None

    def run_once(self) -> RefreshReport | None:
        """One due refresh; None when it could not run at all (the reason is logged)."""
        try:
            report = refresh(self.settings, due=True, stop=self.stop, trigger="worker")
        except WarehouseBusy as exc:
            self.log(f"run skipped: another refresh holds the warehouse ({exc})")
            return None
        except (WarehouseError, ConfigError) as exc:
            self.log(f"run failed: {exc}")
            return None
        failed = report.failed
        self.log(f"run finished: {report.counts_line()}; {len(failed)} failed"
                 + ("; stopped on request" if report.stopped else ""))
        for outcome in failed:
            self.log(f"FAILED {outcome.series}: {outcome.reason}")
        if report.materialised is not None:
            self.log(f"indicators of data version {report.materialised} computed and kept for the app servers")
        return report

    def next_moment(self, report: RefreshReport | None, now: datetime) -> datetime:
        """After a run: the next scheduled moment, or sooner with backoff when the run could not happen."""
        scheduled = next_run(self.schedule, now)
        if report is not None:
            self.backoff_s = None
            return scheduled
        config = self.settings.refresh
        self.backoff_s = (config.backoff_initial_s if self.backoff_s is None
                          else min(self.backoff_s * 2, config.backoff_max_s))
        return min(scheduled, now + timedelta(seconds=self.backoff_s))

    def run_forever(self) -> None:
        self.log(f"started (pid {os.getpid()}), schedule {self.schedule.describe()}, warehouse "
                 f"{describe_location(self.settings.warehouse_location)}")
        while not self.stop.is_set():
            report = self.run_once()
            if self.stop.is_set():
                break
            now = self.clock()
            upcoming = self.next_moment(report, now)
            self._record(upcoming, report)
            self.log(f"next run {upcoming.isoformat(timespec='seconds')}"
                     + (f" (backing off {self.backoff_s:g} s)" if self.backoff_s else ""))
            self.stop.wait(max(0.0, (upcoming - self.clock()).total_seconds()))
        self._record(None, None, stopped=True)
        self.log("stopped")

    def _record(self, upcoming: datetime | None, report: RefreshReport | None, stopped: bool = False) -> None:
        fields = {"schedule": self.settings.refresh.schedule, "pid": os.getpid(), "host": socket.gethostname(),
                  "heartbeat": now_iso(), "state": "stopped" if stopped else "waiting",
                  "next_run": upcoming.isoformat(timespec="seconds") if upcoming else None}
        if report is None and not stopped:
            fields["last_problem_at"] = now_iso()
        try:
            with open_warehouse(self.settings.warehouse_location) as warehouse:
                warehouse.record_run(WORKER_RECORD, fields)
        except WarehouseError as exc:  # the warehouse is down: the log says so, the backoff retries
            self.log(f"could not record the schedule in the warehouse: {exc}")


def run_worker(settings: Settings, once: bool = False) -> int:
    """The command: run until SIGTERM/SIGINT (or one run with `once`). Exit 0 when stopped cleanly."""
    stop = threading.Event()

    def request_stop(signum, frame) -> None:
        log_line(f"received {signal.Signals(signum).name}, stopping after the current batch")
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, request_stop)
    worker = Worker(settings, stop)
    if once:
        report = worker.run_once()
        return 0 if report is not None and report.ok else (2 if report is not None else 1)
    worker.run_forever()
    return 0


if __name__ == "__main__":
    sys.exit("Run the worker with: python -m sources worker")
