"""How current the warehouse is, in one place for the command line (`python -m sources status`) and the app.

`failed_last` is the one rule for a stale series: its latest fetch failed after its last success. `status_report`
gathers what an operator asks first: the last vintage, the last refresh run, the series whose last fetch failed,
and when the worker runs next.
"""

from __future__ import annotations

from typing import Any

from sources.warehouse import Warehouse, describe_location

RUN_RECORD = "refresh"  # `Warehouse.runs()` name of the last refresh's record (any trigger)
WORKER_RECORD = "worker"  # `Warehouse.runs()` name of the worker's own record (schedule, next run, heartbeat)


def failed_last(entry: dict[str, Any]) -> bool:
    """Whether a series' latest fetch failed (wholly or in part) after its last success: its data is stale."""
    return bool(entry.get("last_error")) and entry.get("last_error_at", "") >= (entry.get("last_success") or "")


def status_report(warehouse: Warehouse) -> dict[str, Any]:
    """`{"last_vintage", "last_run", "failed_series", "worker", "next_run"}`, JSON-ready."""
    latest = warehouse.latest_vintage_id()
    vintage = warehouse.vintage(latest) if latest else None
    runs = warehouse.runs()
    worker = runs.get(WORKER_RECORD)
    failed = [
        {"series": key, "source": entry.get("source"), "error": entry.get("last_error"),
         "failed_at": entry.get("last_error_at"), "last_success": entry.get("last_success")}
        for key, entry in sorted(warehouse.status().items()) if failed_last(entry)
    ]
    return {
        "warehouse": describe_location(warehouse.location),
        "last_vintage": None if vintage is None else {
            "id": vintage.id, "series": vintage.series, "created_at": vintage.created_at,
            "data_updated": vintage.data_updated},
        "last_run": runs.get(RUN_RECORD),
        "failed_series": failed,
        "worker": worker,
        "next_run": worker.get("next_run") if worker else None,
    }
