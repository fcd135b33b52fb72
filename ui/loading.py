"""The one loading module between the pages and the data layers; all Streamlit caching lives here.

Pages call these functions and never touch `sources/` or `indicators/` for data themselves. Cached values are keyed by
the warehouse's data version (the newest modification time of its files), so a refresh makes the next read fresh, and
changing a selection on a page only filters cached frames: it never reloads the warehouse or recomputes indicators.
Failures are not cached (Streamlit does not cache a raised exception).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from indicators.catalogue import Catalogue, Indicator, get_catalogue
from indicators.formulas import Engine
from indicators.regions import RegionRegistry, get_registry
from sources.settings import Settings, get_settings
from sources.snapshot import seed_warehouse
from sources.warehouse import Warehouse

CACHE_TTL_S = 3600  # an upper bound; the data version in every key already makes a refresh visible at once
CACHE_MAX_ENTRIES = 256
_seed_lock = threading.Lock()
_seeded: set[str] = set()  # warehouse directories already checked against the snapshot in this process


def settings() -> Settings:
    return get_settings()


def warehouse() -> Warehouse:
    return Warehouse(settings().warehouse_dir)


def catalogue() -> Catalogue:
    return get_catalogue()


def regions() -> RegionRegistry:
    return get_registry()


def ensure_warehouse() -> list[str]:
    """Fill the warehouse from the bundled snapshot where it lacks series (first start). Thread-safe; checked once
    per process and warehouse, not on every page run."""
    root = str(settings().warehouse_dir)
    if root in _seeded:
        return []
    with _seed_lock:
        copied = [] if root in _seeded else seed_warehouse(settings())
        _seeded.add(root)
        return copied


_VERSION_MEMO_S = 0.5  # one page run asks many times; a refresh is seen within half a second
_version_memo: dict[str, tuple[float, str]] = {}


def data_version() -> str:
    """Changes whenever any series file or the status file is written (one stat per file, at most twice a second)."""
    store = warehouse()
    memo = _version_memo.get(str(store.root))
    if memo is not None and time.monotonic() - memo[0] < _VERSION_MEMO_S:
        return memo[1]
    paths = list(store.series_dir.glob("*.parquet")) if store.series_dir.exists() else []
    if store.status_path.exists():
        paths.append(store.status_path)
    stamps = [path.stat().st_mtime_ns for path in paths]
    version = f"{store.root}:{len(stamps)}:{max(stamps, default=0)}"
    _version_memo[str(store.root)] = (time.monotonic(), version)
    return version


@st.cache_data(ttl=CACHE_TTL_S, max_entries=CACHE_MAX_ENTRIES, show_spinner=False)
def _indicator_table(indicator_id: str, version: str) -> pd.DataFrame:
    indicator = catalogue().indicators[indicator_id]
    store = warehouse()
    engine = Engine(lambda ids: store.read(ids), regions())
    # Only the area levels the catalogue names for the indicator (e.g. no country value for net migration between
    # municipalities, which sums to about zero there).
    areas = regions().areas
    return engine.compute(indicator, list(areas.index[areas["level"].isin(indicator.regions)]))


def indicator_table(indicator: Indicator) -> pd.DataFrame:
    """The indicator for every municipality and area, all periods (computed once per data version)."""
    return _indicator_table(indicator.id, data_version())


@st.cache_data(ttl=CACHE_TTL_S, max_entries=8, show_spinner=False)
def _coverage(version: str) -> dict[str, tuple[str, str] | None]:
    coverage: dict[str, tuple[str, str] | None] = {}
    for indicator_id in catalogue().indicators:
        table = _indicator_table(indicator_id, version)
        coverage[indicator_id] = None if table.empty else (str(table["period"].min()), str(table["period"].max()))
    return coverage


def coverage() -> dict[str, tuple[str, str] | None]:
    """Indicator id -> (first period, last period) with data, or None when not fetched yet (small; cheap per run)."""
    return _coverage(data_version())


@st.cache_data(ttl=CACHE_TTL_S, max_entries=8, show_spinner=False)
def _series_metadata(version: str) -> dict[str, dict[str, Any]]:
    store = warehouse()
    metadata = {}
    for series_id in store.series_ids():
        meta = store.metadata(series_id)
        if meta is not None:
            metadata[series_id] = meta
    return metadata


def series_metadata() -> dict[str, dict[str, Any]]:
    """Series id -> {"info", "provenance", "written_at"} for everything in the warehouse."""
    return _series_metadata(data_version())


def fetch_status() -> dict[str, dict[str, Any]]:
    return warehouse().status()


@dataclass
class Freshness:
    """How current the warehouse is: the newest successful fetch, and series whose latest refresh failed."""

    last_success: str | None
    failed_series: list[str]


def freshness() -> Freshness:
    """Read from status.json (small). Copying the bundled snapshot is not a fetch, so it does not count: with no
    live fetch yet, `last_success` is None and each chart's own period and data date tell how old the data is."""
    status = fetch_status()
    successes = [entry["last_success"] for entry in status.values()
                 if entry.get("last_success") and entry.get("source") != "snapshot"]
    failed = sorted(series for series, entry in status.items()
                    if entry.get("last_error") and entry.get("last_error_at", "") >= entry.get("last_success", ""))
    return Freshness(max(successes) if successes else None, failed)


@dataclass
class SourceNote:
    """What goes under a chart: where the numbers come from, for which period, and how fresh they are."""

    publishers: list[str]
    tables: list[str]
    licences: list[str]
    first_period: str
    last_period: str
    data_updated: str | None
    fetched_at: str | None
    stale_errors: list[str]


def source_note(frame: pd.DataFrame) -> SourceNote | None:
    """Provenance of the series that actually produced the rows of `frame` (its `origin` column)."""
    if frame.empty:
        return None
    used = sorted({part.strip() for origin in frame["origin"].dropna().unique()
                   for part in str(origin).replace("/", ",").replace("−", ",").split(",") if part.strip()})
    metadata = series_metadata()
    status = fetch_status()
    publishers, tables, licences, updated, fetched, errors = [], [], [], [], [], []
    for series_id in used:
        meta = metadata.get(series_id)
        if meta is None:
            continue
        provenance = meta["provenance"]
        publishers.append(provenance.attribution or meta["info"].publisher)
        tables.append(provenance.table)
        licences.append(provenance.licence)
        if provenance.data_updated:
            updated.append(provenance.data_updated)
        if provenance.fetched_at:
            fetched.append(provenance.fetched_at)
        entry = status.get(series_id, {})
        if entry.get("last_error"):
            errors.append(entry["last_error"])
    return SourceNote(
        publishers=list(dict.fromkeys(publishers)),
        tables=list(dict.fromkeys(tables)),
        licences=list(dict.fromkeys(licences)),
        first_period=str(frame["period"].min()),
        last_period=str(frame["period"].max()),
        data_updated=max(updated) if updated else None,
        fetched_at=max(fetched) if fetched else None,
        stale_errors=errors,
    )


def run_refresh(progress=None, sources: list[str] | None = None):
    """Fetch every configured live source into the warehouse (sources.refresh) and drop cached frames."""
    from sources.refresh import refresh

    report = refresh(settings(), sources=sources, progress=progress)
    st.cache_data.clear()
    _version_memo.clear()
    return report


_BOUNDARY_DOCUMENT = "boundaries_municipalities.geojson"


@dataclass
class Shapes:
    """Municipality shapes for maps: Vega data, a Vega expression giving each shape its KU code, and attribution."""

    data: Any
    code_expression: str
    attribution: str
    year: str


@st.cache_data(ttl=CACHE_TTL_S, max_entries=4, show_spinner=False)
def _shapes(version: str) -> tuple[Any, str, str, str]:
    import json

    from indicators.regions import MERGER_MAP, RAW_DIR

    stored = warehouse().read_document(_BOUNDARY_DOCUMENT)
    if stored is not None:
        payload, provenance = stored
        geojson = json.loads(payload)
        return ({"values": geojson["features"]}, "'KU' + datum.properties.kunta",
                provenance.attribution, provenance.table)
    topojson = json.loads((RAW_DIR / "boundaries" / "finland-hva-2021.topo.json").read_text(encoding="utf-8"))
    # The bundled shapes are of the 2021 division: a municipality merged since then takes its new code, so its area
    # is coloured with the municipality it joined (Pertunmaa with Mäntyharju from 2025).
    expression = "'KU' + datum.properties.id"
    for old, new in MERGER_MAP.items():
        expression = f"datum.properties.id == '{old[2:]}' ? '{new}' : ({expression})"
    data = {"values": topojson, "format": {"type": "topojson", "feature": "munis"}}
    return data, expression, "Statistics Finland (1:4.5M, 2021) via Yle geodata, CC BY 4.0", "2021"


def municipality_shapes() -> Shapes:
    """Current boundaries from the warehouse when a refresh has fetched them, else the bundled 2021 shapes."""
    import altair as alt

    data, expression, attribution, year = _shapes(data_version())
    if "format" in data:
        shapes = alt.Data(values=data["values"], format=alt.DataFormat(**data["format"]))
    else:
        shapes = alt.Data(values=data["values"])
    return Shapes(shapes, expression, attribution, year)
