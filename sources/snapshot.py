"""The snapshot adapter: serves the bundled snapshot of real open data (`data/snapshot/`), the offline default.

It is also the worked example of an adapter (see CONTRIBUTING.md): it describes its series and fetches them as tidy
frames with provenance, exactly like an adapter that talks to a web service. The snapshot itself is a warehouse
directory built from `data/raw/` by `data/build_snapshot.py`; the provenance of each series points back to the raw
folder and its PROVENANCE.txt.
"""

from __future__ import annotations

from typing import ClassVar

import requests

from sources.contract import NotFound, SchemaChanged, SeriesData, SeriesInfo
from sources.settings import Settings, SourceConfig
from sources.warehouse import Warehouse, open_warehouse


class SnapshotAdapter:
    kind: ClassVar[str] = "snapshot"
    SOURCE_KEYS: ClassVar[frozenset[str]] = frozenset()
    SERIES_KEYS: ClassVar[frozenset[str]] = frozenset()
    USES_CLIENT_KEYS: ClassVar[bool] = False  # it reads files, no HTTP

    def __init__(self, name: str, config: SourceConfig, settings: Settings,
                 session: requests.Session | None = None) -> None:
        self.name = name
        self.config = config
        self.store = open_warehouse(settings.snapshot_dir)

    def describe(self) -> list[SeriesInfo]:
        infos = []
        for series_id in self.store.series_ids():
            metadata = self.store.metadata(series_id)
            if metadata is None:
                raise SchemaChanged(f"Snapshot series {series_id} has no description; rebuild the snapshot.")
            infos.append(metadata["info"])
        return infos

    def fetch(self, series_ids=None, regions=None, periods=None, progress=None) -> list[SeriesData]:
        available = self.store.series_ids()
        if not available:
            raise NotFound(
                f"The bundled snapshot in {self.store.root} is empty. Run `python data/build_snapshot.py`."
            )
        wanted = available if series_ids is None else series_ids
        unknown = sorted(set(wanted) - set(available))
        if unknown:
            raise NotFound(f"The snapshot has no series {', '.join(unknown)}.")
        results = []
        for series_id in wanted:
            frame = self.store.read([series_id])
            if regions is not None:
                frame = frame[frame["region"].isin(regions)]
            if periods is not None:
                frame = frame[frame["period"].isin(periods)]
            metadata = self.store.metadata(series_id)
            results.append(SeriesData(metadata["info"], frame.reset_index(drop=True), metadata["provenance"]))
            if progress is not None:
                progress(requests=0, cells=len(frame), message=series_id)
        return results


def seed_warehouse(settings: Settings, warehouse: Warehouse | None = None, materialise: bool = True) -> list[str]:
    """Copy every snapshot series the warehouse lacks, or holds only in an older bundled version; returns the ids.

    On first start this fills an empty warehouse (local or PostgreSQL alike). After an upgrade it adds new snapshot
    series and brings series that still hold an older bundled snapshot up to the new one (their description or
    provenance differs from the bundle's): the update is a new vintage, so a pinned link still shows the old values.
    A series a refresh has written (its latest provenance is not the snapshot's) is never touched, so data fetched
    from a source is never replaced by bundled data.

    When it copied anything, it then computes and keeps the indicators of the new data version
    (indicators.materialise, unless `materialise` is false), as a refresh does.
    """
    from sources.registry import build_adapter  # the registry names this module, so import it only when used

    if warehouse is None:
        with open_warehouse(settings.warehouse_location) as opened:
            return seed_warehouse(settings, opened, materialise)
    present = set(warehouse.series_ids())
    adapter = build_adapter("snapshot", settings)
    wanted = [info.id for info in adapter.describe() if info.id not in present
              or _holds_an_older_bundle(warehouse, adapter.store, info.id)]
    if not wanted:
        return []
    if not present:
        warehouse.sync_areas(area_rows())
    for series in adapter.fetch(wanted):
        warehouse.write(series, merge=False)
    if materialise:
        from indicators.materialise import materialise_quietly  # indicators never import sources: no cycle

        materialise_quietly(warehouse)
    return wanted


def _holds_an_older_bundle(warehouse: Warehouse, bundle: Warehouse, series_id: str) -> bool:
    stored, bundled = warehouse.metadata(series_id), bundle.metadata(series_id)
    if stored is None or bundled is None or stored["provenance"].source != "snapshot":
        return False
    return (stored["provenance"], stored["info"]) != (bundled["provenance"], bundled["info"])


def area_rows() -> list[tuple[str, str, str, str, str]]:
    """Every area of the region registry as `(code, level, name_fi, name_sv, name_en)`."""
    from indicators.regions import get_registry

    registry = get_registry()
    return [(code, str(level), registry.name(code, "fi"), registry.name(code, "sv"), registry.name(code, "en"))
            for code, level in registry.areas["level"].items()]
