"""What a person could tell apart in a warehouse, through the interface only, so fault tests run on either backend:
per series, its vintages, its current rows and its provenance. Equal states mean nothing was stored."""

from __future__ import annotations

from typing import Any

from sources.warehouse import Warehouse


def stored_state(store: Warehouse) -> dict[str, tuple[Any, ...]]:
    state = {}
    for series_id in store.series_ids():
        frame = store.read([series_id]).sort_values(["region", "period"]).reset_index(drop=True)
        meta = store.metadata(series_id)
        state[series_id] = (tuple(vintage.id for vintage in store.vintages(series_id)),
                            frame.to_csv(index=False), meta["provenance"] if meta else None)
    return state
