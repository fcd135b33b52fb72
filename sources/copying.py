"""Moving a warehouse between backends (`python -m sources copy-warehouse SRC DST`): every series with its whole
history and its vintages under their original ids, so links pinned to a vintage keep showing the same numbers
after the move; then the documents (their latest version, which becomes a new vintage in the target)."""

from __future__ import annotations

from collections.abc import Callable

from sources.warehouse import Warehouse, WarehouseError, describe_location


def copy_warehouse(origin: Warehouse, destination: Warehouse,
                   progress: Callable[[str], None] | None = None) -> dict[str, int]:
    """Copy everything from `origin` into the empty `destination`; returns counts of series, vintages, documents."""
    if not destination.is_empty():
        raise WarehouseError(
            f"The target warehouse {describe_location(destination.location)} already holds series; copy into an "
            "empty one, so that no vintage id is used twice.")
    counts = {"series": 0, "vintages": 0, "documents": 0}
    for series_id in origin.series_ids():
        dump = origin.dump_series(series_id)
        if dump is None:
            continue
        destination.load_series(dump)
        counts["series"] += 1
        counts["vintages"] += len(dump.vintages)
        if progress is not None:
            progress(f"{series_id}: {len(dump.history)} rows, {len(dump.vintages)} vintages")
    for name in origin.documents():
        stored = origin.read_document(name)
        if stored is None:
            continue
        destination.write_document(name, *stored)
        counts["documents"] += 1
        if progress is not None:
            progress(f"document {name}")
    return counts
