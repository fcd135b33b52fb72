"""The refresh engine: fetch the configured series, validate them and store them in the warehouse.

One function, `refresh`, serves both `python -m sources refresh` and the app's refresh button (which draws its
progress bar from the `progress` callback). A failing table or series is recorded in the warehouse status and
reported with its reason; it never touches stored data, and the other series carry on.

Adapters may offer the optional capabilities declared in sources/contract.py: `FetchesBatches` (series fetched
together, one failing table not failing the others), `FetchesDocuments` (non-tabular data such as boundaries,
refreshed when no series filter is given) and `ChecksPublication` (what `--due` asks first).

`refresh(..., due=True)` (`python -m sources refresh --due`, and the worker) fetches only what is due. Inside the
lock, each adapter that can (`ChecksPublication`) is asked cheaply what its source has published (a PxWeb folder
listing's `updated`, a Sotkanet indicator's `data-updated`, an ETag or Last-Modified). A series is due when it has
never been fetched from its source, when its last fetch failed, when the source's marker differs from the one seen
at its last fetch, or, where the source cannot tell, when a quarter of its update rhythm has passed since its last
success (sources/schedule.py). Series not due are "current": nothing is fetched for them.

Only one refresh runs at a time for one warehouse: it holds the warehouse's refresh lock (a lock file locally, an
advisory lock in PostgreSQL) and waits up to `refresh_lock_timeout_s` for another one to finish (then WarehouseBusy).
Each series that changes becomes a new vintage; one that comes back unchanged is "unchanged" and stores nothing.
After the lock is released, the indicators of the latest data version are computed and kept in the warehouse
(indicators.materialise), unless they are there already, so that app servers only read them.

Adapters report progress with increments: `progress(requests=1, cells=n, message=...)` per request.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import requests

from sources.contract import (
    DOCUMENT_PREFIX,
    ChecksPublication,
    FetchesBatches,
    FetchesDocuments,
    SeriesFailed,
    SourceError,
    now_iso,
    validate_frame,
)
from sources.http import make_session
from sources.registry import build_adapters
from sources.schedule import fastest_rhythm, refetch_after
from sources.settings import ConfigError, Settings
from sources.status import RUN_RECORD, failed_last
from sources.warehouse import HeldLock, Warehouse, WarehouseError, open_warehouse

SNAPSHOT_KIND = "snapshot"  # the bundled data; the app seeds from it separately, so refresh skips it unless named
UPDATED, UNCHANGED, FAILED = "updated", "unchanged", "failed"
PARTIAL = "partial"  # stored what came, but part of the series failed (e.g. some municipality files were missing)
CURRENT = "current"  # `due` mode: the source has not published since the last fetch, so nothing was fetched
FETCHED = (UPDATED, UNCHANGED, PARTIAL)  # outcomes of a series that was fetched and stored (wholly or in part)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RefreshProgress:
    """One step of a refresh, for a progress bar or a log line. Counts are totals so far."""

    series_done: int
    series_total: int
    requests: int
    cells: int
    message: str = ""

    @property
    def fraction(self) -> float:
        return self.series_done / self.series_total if self.series_total else 1.0


RefreshProgressCallback = Callable[[RefreshProgress], None]


@dataclass(frozen=True)
class SeriesOutcome:
    """What a refresh did to one series (or document): updated, unchanged, or failed with a reason."""

    source: str
    series: str
    status: str
    new: int = 0
    changed: int = 0
    rows: int = 0
    reason: str = ""
    withdrawn: int = 0
    vintage: int | None = None


@dataclass
class RefreshReport:
    outcomes: list[SeriesOutcome] = field(default_factory=list)
    requests: int = 0
    cells: int = 0
    started_at: str = field(default_factory=now_iso)
    finished_at: str = ""
    due_mode: bool = False
    checked: int = 0  # series asked about with a publication check
    due: int = 0  # series found due (all of them outside due mode)
    stopped: bool = False  # stopped early on request (SIGTERM to the worker); the rest waits for the next run
    materialised: int | None = None  # the data version whose indicators this refresh computed and kept

    @property
    def fetched(self) -> int:
        return sum(o.status in FETCHED for o in self.outcomes)

    def counts_line(self) -> str:
        return f"checked {self.checked}, due {self.due}, fetched {self.fetched}, requests {self.requests}"

    def record(self, trigger: str) -> dict:
        """What `python -m sources status` and About the data show of this run."""
        return {"trigger": trigger, "mode": "due" if self.due_mode else "all", "started_at": self.started_at,
                "finished_at": self.finished_at, "checked": self.checked, "due": self.due,
                "fetched": self.fetched, "requests": self.requests, "ok": self.ok, "stopped": self.stopped,
                "failed": [o.series for o in self.failed]}

    @property
    def failed(self) -> list[SeriesOutcome]:
        """Series that failed wholly or in part (a partial one stored what it got)."""
        return [outcome for outcome in self.outcomes if outcome.status in (FAILED, PARTIAL)]

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary_table(self) -> str:
        """A plain-text table of the outcomes, then the reasons of failures."""
        header = ("source", "series", "status", "new", "changed", "withdrawn", "rows", "vintage")
        rows = [
            (o.source, o.series, o.status)
            + ((str(o.new), str(o.changed), str(o.withdrawn), str(o.rows), str(o.vintage or "-"))
               if o.status not in (FAILED, CURRENT) else ("-",) * 5)
            for o in self.outcomes
        ]
        widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
        lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in [header, *rows]]
        lines.insert(1, "  ".join("-" * width for width in widths))
        counts = {status: sum(o.status == status for o in self.outcomes)
                  for status in (UPDATED, UNCHANGED, FAILED, PARTIAL, CURRENT)}
        partial = f", {counts[PARTIAL]} partly failed" if counts[PARTIAL] else ""
        current = f", {counts[CURRENT]} current (not due)" if self.due_mode else ""
        lines.append(
            f"{counts[UPDATED]} updated, {counts[UNCHANGED]} unchanged, {counts[FAILED]} failed{partial}{current}; "
            f"{self.requests} requests, {self.cells} cells."
        )
        if self.due_mode:
            lines.append(self.counts_line())
        if self.stopped:
            lines.append("Stopped on request before every due series was fetched; the rest waits for the next run.")
        for outcome in self.failed:
            lines.append(f"{'PARTLY FAILED' if outcome.status == PARTIAL else 'FAILED'} {outcome.series}: "
                         f"{outcome.reason}")
        return "\n".join(lines)


class _Tracker:
    """Turns adapters' increments into cumulative `RefreshProgress` events."""

    def __init__(self, total: int, report: RefreshReport, callback: RefreshProgressCallback | None) -> None:
        self.total = total
        self.done = 0
        self.report = report
        self.callback = callback

    def emit(self, message: str = "") -> None:
        if self.callback is not None:
            self.callback(RefreshProgress(self.done, self.total, self.report.requests, self.report.cells, message))

    def adapter_progress(self, *, requests: int = 0, cells: int = 0, message: str = "") -> None:
        self.report.requests += requests
        self.report.cells += cells
        self.emit(message)

    def finished(self, outcome: SeriesOutcome) -> None:
        self.report.outcomes.append(outcome)
        self.done += 1
        detail = (outcome.reason if outcome.status in (FAILED, CURRENT) else
                  f"{outcome.new} new, {outcome.changed} changed, {outcome.withdrawn} withdrawn"
                  + (f"; {outcome.reason}" if outcome.reason else ""))
        self.emit(f"{outcome.series}: {outcome.status} ({detail})")


def refresh(
    settings: Settings,
    sources: list[str] | None = None,
    series: list[str] | None = None,
    progress: RefreshProgressCallback | None = None,
    session: requests.Session | None = None,
    *,
    due: bool = False,
    stop: threading.Event | None = None,
    trigger: str = "cli",
    lock_timeout_s: float | None = None,
) -> RefreshReport:
    """Refresh the named sources (default: all enabled except the snapshot) and series (default: all of them);
    with `due`, only those due (see the module docstring). `stop`, when set, ends the refresh between batches.
    `trigger` (cli, worker, app) is kept in the run record; `lock_timeout_s` overrides how long to wait for
    another refresh.

    Raises ConfigError when a named source or series does not exist or a source cannot be built; WarehouseError
    when the warehouse cannot be opened or written, or another refresh holds it (WarehouseBusy). Source failures
    are not raised but reported per series (and recorded in the warehouse status).
    """
    own_session = session is None
    session = session or make_session(settings.user_agent)
    try:
        adapters = _build(settings, sources, session)
        work = _plan(adapters, series)
        report = RefreshReport(due_mode=due)
        with_documents = series is None
        document_steps = sum(1 for adapter in adapters.values() if with_documents and _has_documents(adapter))
        tracker = _Tracker(sum(len(ids) for _, ids in work) + document_steps, report, progress)
        timeout = settings.refresh_lock_timeout_s if lock_timeout_s is None else lock_timeout_s
        with open_warehouse(settings.warehouse_location) as warehouse:
            warehouse.check_schema()
            tracker.emit("Waiting for the warehouse")
            with warehouse.refresh_lock(timeout) as lock:
                tracker.emit("Starting refresh")
                rhythms = _rhythms(settings) if due else {}
                for adapter, series_ids in work:
                    if stop is not None and stop.is_set():
                        report.stopped = True
                        break
                    lock.verify()
                    documents = with_documents and _has_documents(adapter)
                    names = adapter.document_names() if documents else []
                    keys = series_ids + [DOCUMENT_PREFIX + name for name in names]
                    markers = _markers(adapter, keys, tracker)
                    wanted = _due(adapter, keys, markers, warehouse, rhythms, tracker) if due else keys
                    report.due += len(wanted)
                    _refresh_series(adapter, [key for key in series_ids if key in wanted], warehouse, tracker,
                                    stop, lock)
                    if documents and any(key.startswith(DOCUMENT_PREFIX) for key in wanted):
                        _refresh_documents(adapter, warehouse, tracker)
                    elif documents:
                        tracker.finished(SeriesOutcome(adapter.name, documents_label(adapter.name), CURRENT,
                                                       reason="not published since last fetch"))
                    _remember_markers(warehouse, report, adapter.name, markers)
                report.finished_at = now_iso()
                warehouse.record_run(RUN_RECORD, report.record(trigger))
            # Outside the lock: the next refresh need not wait for the computing, which reads as of one version.
            # A worker asked to stop leaves it to the pages (or its next run).
            if not report.stopped and not (stop is not None and stop.is_set()):
                _materialise(warehouse, tracker, stop)
        tracker.emit("Refresh finished")
        return report
    finally:
        if own_session:
            session.close()


def _materialise(warehouse: Warehouse, tracker: _Tracker, stop=None) -> None:
    """Compute and keep the indicators of the latest data version (indicators.materialise), so that app servers
    read them instead of each computing them; nothing to do when they are kept already (a refresh that changed
    nothing). Never fails the refresh: the series are stored, and pages compute what is missing."""
    from indicators.materialise import materialise_quietly  # indicators never import this module: no cycle

    version = warehouse.latest_vintage_id()
    tracker.emit(f"Computing the indicators of data version {version}")
    done = materialise_quietly(warehouse, version, stop=stop.is_set if stop is not None else None)
    if done is not None and not done.present:
        tracker.report.materialised = version


def documents_label(source: str) -> str:
    """The outcome (and status key) of one source's documents in a refresh, e.g. `documents:boundaries`."""
    return f"documents:{source}"


def _rhythms(settings: Settings) -> dict[str, str]:
    """Series id -> update rhythm: the fastest `update` of the catalogue's indicators that use the series, else the
    series' own `update` or `frequency` in config.toml."""
    from indicators.catalogue import get_catalogue  # the catalogue knows nothing of sources: no import cycle

    by_series: dict[str, list[str]] = {}
    for indicator in get_catalogue().indicators.values():
        for series_id in indicator.formula.series_ids():
            by_series.setdefault(series_id, []).append(indicator.update)
    rhythms = {}
    for source in settings.sources.values():
        for series in source.series:
            own = series.update or series.frequency
            rhythms[series.id] = fastest_rhythm(by_series.get(series.id, []) + [own]) or "annual"
    return rhythms


def _markers(adapter, keys: list[str], tracker: _Tracker) -> dict[str, str | None]:
    """What the source says it has published, where it can say so cheaply. Asked on every refresh, so that the
    markers kept after a fetch let the next `--due` run skip what has not changed."""
    if not isinstance(adapter, ChecksPublication) or not keys:
        return {}
    tracker.emit(f"{adapter.name}: checking what the source has published")
    try:
        markers = adapter.publication_markers(keys, progress=tracker.adapter_progress)
    except SourceError as exc:  # the source cannot even be asked: fetching then records the failure per series
        log.warning("%s: publication check failed: %s", adapter.name, exc)
        return {}
    tracker.report.checked += sum(1 for key in keys if key in markers)
    return markers


def _due(adapter, keys: list[str], markers: dict[str, str | None], warehouse: Warehouse, rhythms: dict[str, str],
         tracker: _Tracker) -> list[str]:
    """Which of an adapter's series and documents are due (see the module docstring). Series not due are
    reported as current."""
    status = warehouse.status()
    now = datetime.now(UTC)
    due: list[str] = []
    for key in keys:
        entry = status.get(key, {})
        marker = markers.get(key)
        if (entry.get("source") in (None, "snapshot") or not entry.get("last_success") or failed_last(entry)
                or (marker is not None and marker != entry.get("published_marker"))
                or (marker is None and _older_than(entry.get("last_success"), refetch_after(
                    rhythms.get(key, "annual")), now))):
            due.append(key)
        else:
            warehouse.note_status(key, {"last_checked": now_iso()})
            if not key.startswith(DOCUMENT_PREFIX):
                tracker.finished(SeriesOutcome(adapter.name, key, CURRENT, reason="not published since last fetch"
                                               if marker is not None else "fetched recently for its rhythm"))
    return due


def _older_than(moment: str | None, age, now: datetime) -> bool:
    try:
        return moment is None or now - datetime.fromisoformat(moment) > age
    except ValueError:
        return True


def _remember_markers(warehouse: Warehouse, report: RefreshReport, adapter_name: str,
                      markers: dict[str, str | None]) -> None:
    """After a successful fetch, keep the marker seen before it: the next due check compares against it."""
    fetched = {o.series for o in report.outcomes if o.status in FETCHED}
    documents_fetched = documents_label(adapter_name) in fetched
    for key, marker in markers.items():
        if marker is not None and (key in fetched or key.startswith(DOCUMENT_PREFIX) and documents_fetched):
            warehouse.note_status(key, {"published_marker": marker, "last_checked": now_iso()})


def _build(settings: Settings, names: list[str] | None, session) -> dict:
    if names:
        unknown = [name for name in names if name not in settings.sources]
        if unknown:
            known = ", ".join(settings.sources) or "none"
            raise ConfigError(f"No source named {', '.join(unknown)} in the configuration (configured: {known}).")
        chosen = list(dict.fromkeys(names))
    else:
        chosen = [
            name for name, config in settings.sources.items() if config.enabled and config.kind != SNAPSHOT_KIND
        ]
    # build_adapters treats an empty `only` as "all", which would bring the snapshot back in.
    return build_adapters(settings, session=session, only=chosen) if chosen else {}


def _plan(adapters: dict, series: list[str] | None) -> list[tuple[object, list[str]]]:
    offered = {name: [info.id for info in adapter.describe()] for name, adapter in adapters.items()}
    if series is None:
        return [(adapters[name], ids) for name, ids in offered.items()]
    wanted = list(dict.fromkeys(series))
    unknown = [series_id for series_id in wanted if not any(series_id in ids for ids in offered.values())]
    if unknown:
        raise ConfigError(
            f"No refreshable source offers the series {', '.join(unknown)} "
            f"(searched: {', '.join(adapters) or 'no sources'}; the snapshot is searched only with --source snapshot)."
        )
    return [
        (adapters[name], [series_id for series_id in wanted if series_id in ids])
        for name, ids in offered.items()
        if any(series_id in ids for series_id in wanted)
    ]


def _refresh_series(adapter, series_ids: list[str], warehouse: Warehouse, tracker: _Tracker,
                    stop: threading.Event | None = None, lock: HeldLock | None = None) -> None:
    if not series_ids:
        return
    batches = (adapter.fetch_batches(series_ids) if isinstance(adapter, FetchesBatches)
               else [[series_id] for series_id in series_ids])
    for batch in batches:
        if stop is not None and stop.is_set():
            tracker.report.stopped = True
            return
        if lock is not None:
            lock.verify()  # a lost lock stops the refresh before it fetches and writes more
        tracker.emit(f"{adapter.name}: fetching {', '.join(batch)}")
        try:
            fetched = adapter.fetch(series_ids=batch, progress=tracker.adapter_progress)
        except Exception as exc:  # noqa: BLE001 - any failure of one batch must leave the others running
            reason = _reason(exc, adapter.name)  # once: an unexpected error is logged once, not per series
            for series_id in batch:
                tracker.finished(_failed(warehouse, adapter.name, series_id, exc, reason))
            continue
        by_id = {item.series_id if isinstance(item, SeriesFailed) else item.info.id: item for item in fetched}
        for series_id in batch:
            item = by_id.get(series_id)
            if isinstance(item, SeriesFailed):  # failed on its own; the batch's other series carry on
                tracker.finished(_failed(warehouse, adapter.name, series_id, item.error))
            else:
                tracker.finished(_store(adapter.name, series_id, item, warehouse))


def _store(source: str, series_id: str, data, warehouse: Warehouse) -> SeriesOutcome:
    """Validate and write one fetched series; a failure is recorded and leaves the stored data as it was."""
    try:
        if data is None:
            raise SourceError(f"{source}: the adapter returned no data for '{series_id}'.")
        validate_frame(data.frame, f"{source} / {series_id}")
        result = warehouse.write(data)
    except WarehouseError:
        raise  # the warehouse itself failed (read-only, gone): not this series' fault, stop the refresh
    except Exception as exc:  # noqa: BLE001 - reported per series, never lost
        return _failed(warehouse, source, series_id, exc)
    status = UPDATED if result.changed_anything else UNCHANGED
    if data.partial_reason:  # stored what came; the gap is recorded, so the app shows the series as stale
        warehouse.record_failure(series_id, source, data.partial_reason, data.partial_detail)
        return SeriesOutcome(source, series_id, PARTIAL, result.new, result.changed, result.rows,
                             reason=data.partial_reason, withdrawn=result.withdrawn, vintage=result.vintage)
    return SeriesOutcome(source, series_id, status, result.new, result.changed, result.rows,
                         withdrawn=result.withdrawn, vintage=result.vintage)


def _refresh_documents(adapter, warehouse: Warehouse, tracker: _Tracker) -> None:
    label = documents_label(adapter.name)
    tracker.emit(f"{adapter.name}: fetching documents")
    try:
        documents = adapter.fetch_documents(progress=tracker.adapter_progress)
        for name, payload, provenance in documents:
            warehouse.write_document(name, payload, provenance)
    except WarehouseError:
        raise
    except Exception as exc:  # noqa: BLE001 - a failed document must not stop the series of other sources
        tracker.finished(_failed(warehouse, adapter.name, label, exc))
        return
    tracker.finished(SeriesOutcome(adapter.name, label, UPDATED, new=len(documents), rows=len(documents)))


def _has_documents(adapter) -> bool:
    return isinstance(adapter, FetchesDocuments)


def _failed(warehouse: Warehouse, source: str, series_id: str, exc: Exception,
            reason: str | None = None) -> SeriesOutcome:
    """Record a failure in the warehouse status (the stored data stays as it was) and report it, with the error's
    code for the app to translate."""
    reason = reason or _reason(exc, source)
    warehouse.record_failure(series_id, source, reason, exc.detail() if isinstance(exc, SourceError) else None)
    return SeriesOutcome(source, series_id, FAILED, reason=reason)


def _reason(exc: Exception, source: str) -> str:
    if isinstance(exc, SourceError):
        return str(exc)
    # Not a source failure but a bug or an unexpected answer: keep the traceback in the log, the gist in the report.
    log.exception("Unexpected error while refreshing %s", source)
    return f"{source}: unexpected {type(exc).__name__}: {exc}"
