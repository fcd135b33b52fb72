"""The one loading module between the pages and the data layers; all Streamlit caching lives here.

Pages call these functions and never touch `sources/` or `indicators/` for data themselves. Cached values are keyed by
the vintage a view shows: the warehouse's latest vintage id, or the vintage a pinned link (`asof`) names. A refresh
creates a vintage, so the next read is fresh; a pinned view keeps its own cached tables, computed from the data as of
its vintage. Changing a selection on a page only filters cached frames: it never reloads the warehouse or
recomputes indicators. Failures are not cached (Streamlit does not cache a raised exception).

The indicators' tables and their coverage are computed once per data version for all processes: a refresh or the
seeding keeps them in the warehouse (indicators.materialise), and a process reads them there (or computes and keeps
what is missing, e.g. for a pinned older version). In the process they are shared resources, not copies: read-only.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import streamlit as st

from indicators import materialise
from indicators.catalogue import Catalogue, Indicator, Theme, get_catalogue
from indicators.peers import PEER_FIGURES, Peers, latest_values, similar_municipalities
from indicators.regions import COUNTRY, RegionRegistry, get_registry  # noqa: F401 - COUNTRY: pages name it here
from sources.settings import Settings, get_settings
from sources.snapshot import seed_warehouse
from sources.status import failed_last, status_report
from sources.warehouse import (  # noqa: F401 - WarehouseBusy: pages catch it
    Vintage,
    Warehouse,
    WarehouseBusy,
    WarehouseError,
    WarehouseReadOnly,
    open_warehouse,
)
from ui.i18n import t_or

log = logging.getLogger(__name__)

CACHE_TTL_S = 3600  # an upper bound; the data version in every key already makes a refresh visible at once
CACHE_MAX_ENTRIES = 256
_seed_lock = threading.Lock()
_seeded: set[str] = set()  # warehouses already migrated and checked against the snapshot in this process
_open_lock = threading.Lock()
_open: dict[str, Warehouse] = {}  # one warehouse object (and so one connection pool) per location and process
PIN_KEY = "_asof"  # session state: the vintage a pinned link shows, or None for the latest


def settings() -> Settings:
    return get_settings()


def warehouse() -> Warehouse:
    location = settings().warehouse_location
    store = _open.get(location)
    if store is None:
        with _open_lock:
            store = _open.get(location) or open_warehouse(location)
            _open[location] = store
    return store


def catalogue() -> Catalogue:
    return get_catalogue()


def regions() -> RegionRegistry:
    return get_registry()


@st.cache_resource(show_spinner=False)
def _catalogue_problems(configuration: str) -> dict[str, list[str]]:
    from indicators.checks import catalogue_problems
    from sources.registry import declared_series

    problems: dict[str, list[str]] = {}
    for problem in catalogue_problems(catalogue(), declared_series(settings())):
        problems.setdefault(problem.indicator, []).append(str(problem))
    return problems


def indicator_problems(indicator_id: str) -> list[str]:
    """Mistakes in an indicator's definition (a series no source offers, a unit without its text): checked once
    per process and configuration, as `python -m sources check` does."""
    from indicators.catalogue import themes_dir
    from sources.settings import config_file

    return _catalogue_problems(f"{config_file()} {themes_dir()}").get(indicator_id, [])


def ensure_warehouse() -> list[str]:
    """Fill the warehouse from the bundled snapshot where it lacks series (first start). Thread-safe; checked once
    per process and warehouse, not on every page run."""
    location = settings().warehouse_location
    if location in _seeded:
        return []
    with _seed_lock:
        if location in _seeded:
            return []
        store = warehouse()
        try:
            store.migrate()  # the first start creates or updates a PostgreSQL schema; the local store has none
            copied = seed_warehouse(settings(), store)
        except WarehouseReadOnly:
            # A server with a role that may only read still shows what the warehouse holds.
            log.warning("The warehouse %s is read-only here; not migrating or seeding it.", location)
            copied = []
        store.check_schema()
        _seeded.add(location)
        return copied


_VERSION_MEMO_S = 0.5  # one page run asks many times; a refresh is seen within half a second
_version_memo: dict[str, tuple[float, int]] = {}


def latest_version() -> int:
    """The warehouse's data version: its latest vintage id (asked of the warehouse at most twice a second)."""
    location = settings().warehouse_location
    memo = _version_memo.get(location)
    if memo is not None and time.monotonic() - memo[0] < _VERSION_MEMO_S:
        return memo[1]
    version = warehouse().latest_vintage_id()
    _version_memo[location] = (time.monotonic(), version)
    return version


def warehouse_reachable() -> bool:
    """Whether the warehouse answers again (after a lost database connection); the next read is then fresh."""
    try:
        version = warehouse().latest_vintage_id()
    except WarehouseError:
        return False
    _version_memo[settings().warehouse_location] = (time.monotonic(), version)
    return True


def pinned_version() -> int | None:
    """The vintage a pinned link shows in this session, or None when the view follows the latest data."""
    return st.session_state.get(PIN_KEY)


def data_version() -> int:
    """The vintage this view shows: the pinned one, else the latest. Every cached table is keyed by it."""
    pinned = pinned_version()
    return pinned if pinned is not None else latest_version()


def parse_pin(raw: str | None) -> tuple[int | None, bool]:
    """A link's `asof` value -> (vintage id, valid). Missing: (None, True). Unknown or malformed: (None, False)."""
    if raw is None or raw == "":
        return None, True
    text = str(raw).strip()
    if not text.isdigit() or len(text) > 12:
        return None, False
    vintage_id = int(text)
    if vintage_id < 1 or vintage_id > latest_version() or vintage(vintage_id) is None:
        return None, False
    return vintage_id, True


def vintage(vintage_id: int) -> Vintage | None:
    return _vintage(settings().warehouse_location, vintage_id)


@st.cache_data(ttl=CACHE_TTL_S, max_entries=64, show_spinner=False)
def _vintage(location: str, vintage_id: int) -> Vintage | None:
    return warehouse().vintage(vintage_id)


@st.cache_data(ttl=CACHE_TTL_S, max_entries=8, show_spinner=False)
def _recent_vintages(location: str, version: int, limit: int) -> list[Vintage]:
    return warehouse().vintages(limit=limit)


def recent_vintages(limit: int = 200) -> list[Vintage]:
    """The newest vintages of the whole warehouse, newest first."""
    return _recent_vintages(settings().warehouse_location, latest_version(), limit)


def _read_only(frame: pd.DataFrame) -> pd.DataFrame:
    """Make a shared frame's numpy arrays read-only, so that writing into it fails loudly (`ValueError: assignment
    destination is read-only`) instead of changing it for every session. Its Arrow-backed string columns are
    immutable anyway, and pandas' copy-on-write gives every frame derived from it (a filter, `assign`) its own data.
    Copied first: while another object still shares a block, copy-on-write would quietly copy it instead of failing."""
    frame = frame.copy(deep=True)
    for block in frame._mgr.blocks:  # pandas has no public way to freeze a frame
        values = block.values
        for array in (values, getattr(values, "_codes", None), getattr(values, "_ndarray", None)):
            if isinstance(array, np.ndarray):
                array.flags.writeable = False
    return frame


# Shared, not copied: st.cache_resource hands every caller the one frame, where st.cache_data would unpickle a fresh
# copy on each call (many per page run). Safe because no caller changes it: pages and views only filter it (which
# copies), the indicators' functions take it as input, and the frame is made read-only so a mistake fails loudly
# (tests/test_materialise.py checks that page runs leave it as it was).
@st.cache_resource(ttl=CACHE_TTL_S, max_entries=CACHE_MAX_ENTRIES, show_spinner=False)
def _materialised_table(indicator_id: str, location: str, version: int, digest: str) -> pd.DataFrame:
    # Read from the warehouse when a refresh, the seeding or another process has kept it for this version and
    # digest; else computed as of the version (a refresh committed meanwhile must not slip newer rows under an older
    # key) and kept for the next process.
    indicator = catalogue().indicators[indicator_id]
    return _read_only(materialise.indicator_table(warehouse(), indicator, version, regions()))


def _indicator_table(indicator_id: str, location: str, version: int) -> pd.DataFrame:
    indicator = catalogue().indicators[indicator_id]
    return _materialised_table(indicator_id, location, version, materialise.indicator_digest(indicator, regions()))


def indicator_table(indicator: Indicator) -> pd.DataFrame:
    """The indicator for every municipality and area, all periods (computed once per data version and kept in the
    warehouse, see indicators.materialise). Shared and read-only: filter it, never change it."""
    return _indicator_table(indicator.id, settings().warehouse_location, data_version())


@st.cache_data(ttl=CACHE_TTL_S, max_entries=CACHE_MAX_ENTRIES, show_spinner=False)
def _peers(anchor: str, location: str, version: int) -> Peers:
    groups = regions().municipalities.set_index("code")["municipality_group"]
    population = latest_values(_indicator_table("population", location, version))
    figures = pd.DataFrame({figure: latest_values(_indicator_table(figure, location, version))
                            for figure in PEER_FIGURES})
    return similar_municipalities(anchor, groups, population, figures)


def peers(anchor: str) -> Peers:
    """The municipalities most like `anchor` (indicators.peers), on the data version shown."""
    return _peers(anchor, settings().warehouse_location, data_version())


@st.cache_data(ttl=CACHE_TTL_S, max_entries=CACHE_MAX_ENTRIES, show_spinner=False)
def _comparison(indicator_id: str, location: str, version: int, municipalities: tuple[str, ...], benchmark: str,
                period: str) -> tuple[pd.DataFrame, float | None, str]:
    from indicators.comparison import compare_group

    indicator = catalogue().indicators[indicator_id]
    return compare_group(_indicator_table(indicator_id, location, version), indicator, list(municipalities),
                         benchmark, period)


def comparison(indicator: Indicator, municipalities: list[str], benchmark: str, period: str
               ) -> tuple[pd.DataFrame, float | None, str]:
    """The municipalities against the benchmark in `period`: rows `region, value, lower, upper, status, small`, the
    benchmark's value and the method ("wilson", "byar", "quintile"); once per data version and selection."""
    return _comparison(indicator.id, settings().warehouse_location, data_version(), tuple(municipalities), benchmark,
                       period)


@st.cache_resource(ttl=CACHE_TTL_S, max_entries=8, show_spinner=False)
def _theme_summary_of(theme_id: str, location: str, version: int, digest: str):
    from indicators.overview import Summary

    # Kept in the warehouse with the tables (a refresh or the seeding wrote it); else summarised from the tables
    # (read or computed) and kept. Shared like the tables (a new selection reads it, about 1 MB, where cache_data
    # would unpickle it each time); `select` only filters it.
    summary = materialise.theme_summary(warehouse(), catalogue().theme(theme_id), version,
                                        lambda indicator: _indicator_table(indicator.id, location, version), regions())
    return Summary(_read_only(summary.cells), _read_only(summary.references), MappingProxyType(summary.methods))


def _theme_summary(theme_id: str, location: str, version: int):
    digest = materialise.summary_digest(catalogue().theme(theme_id), regions())
    return _theme_summary_of(theme_id, location, version, digest)


@st.cache_data(ttl=CACHE_TTL_S, max_entries=CACHE_MAX_ENTRIES, show_spinner=False)
def _theme_overview(theme_id: str, location: str, version: int, municipalities: tuple[str, ...],
                    benchmark: str) -> pd.DataFrame:
    from indicators.overview import select

    return select(_theme_summary(theme_id, location, version), catalogue().theme(theme_id).indicators,
                  list(municipalities), benchmark)


def theme_overview(theme: Theme, municipalities: list[str], benchmark: str) -> pd.DataFrame:
    """Every indicator of the theme for the municipalities and the benchmark (indicators.overview.theme_overview):
    latest value, trend and status per cell. The theme's tables are summarised once per data version, so a new
    selection or benchmark only picks and tests rows."""
    return _theme_overview(theme.id, settings().warehouse_location, data_version(), tuple(municipalities),
                           benchmark)


@st.cache_data(ttl=CACHE_TTL_S, max_entries=CACHE_MAX_ENTRIES, show_spinner=False)
def _ranking(indicator_id: str, location: str, version: int, regions: tuple[str, ...], period: str) -> pd.DataFrame:
    from indicators.comparison import ranking as rank

    indicator = catalogue().indicators[indicator_id]
    return rank(_indicator_table(indicator_id, location, version), indicator, list(regions), period)


def ranking(indicator: Indicator, regions: list[str], period: str) -> pd.DataFrame:
    """Each region's position among `regions` in `period` (1 = highest), ties sharing a position."""
    return _ranking(indicator.id, settings().warehouse_location, data_version(), tuple(regions), period)


def revised_since_pin(indicator: Indicator) -> pd.DataFrame:
    """For a pinned view: the indicator's values that later vintages have revised, with the value shown and the
    latest value (`region, period, value, latest`); empty when the view is not pinned or nothing was revised."""
    pinned, latest = pinned_version(), latest_version()
    if pinned is None or pinned >= latest:
        return pd.DataFrame(columns=["region", "period", "value", "latest"])
    return _revisions(indicator.id, settings().warehouse_location, pinned, latest)


@st.cache_data(ttl=CACHE_TTL_S, max_entries=64, show_spinner=False)
def _revisions(indicator_id: str, location: str, pinned: int, latest: int) -> pd.DataFrame:
    keys = ["region", "period"]
    then = _indicator_table(indicator_id, location, pinned)[keys + ["value"]]
    now = _indicator_table(indicator_id, location, latest)[keys + ["value"]].rename(columns={"value": "latest"})
    joined = then.merge(now, on=keys, how="left")
    # Compared as shown: a change below the indicator's shown decimals (an area sum moving by a few persons) is no
    # revision a reader could see.
    decimals = catalogue().indicators[indicator_id].decimals
    shown, latest = joined["value"].round(decimals), joined["latest"].round(decimals)
    same = (shown == latest) | (shown.isna() & latest.isna())
    return joined[~same].reset_index(drop=True)


@st.cache_resource(ttl=CACHE_TTL_S, max_entries=8, show_spinner=False)
def _coverage_record(location: str, version: int, digest: str) -> materialise.Coverage:
    # Kept in the warehouse with the indicators' tables; when missing, made from them (read or computed) and kept.
    record = materialise.coverage(warehouse(), version, lambda indicator: _indicator_table(indicator.id, location,
                                                                                           version),
                                  catalogue(), regions())
    # Shared like the tables: read-only views, so a caller cannot change them for every session.
    return materialise.Coverage(MappingProxyType(dict(record.spans)), MappingProxyType(dict(record.municipalities)))


def _coverage_of(location: str, version: int) -> materialise.Coverage:
    return _coverage_record(location, version, materialise.coverage_digest(catalogue(), regions()))


def _coverage(location: str, version: int) -> Mapping[str, tuple[str, str] | None]:
    return _coverage_of(location, version).spans


def coverage() -> Mapping[str, tuple[str, str] | None]:
    """Indicator id -> (first period, last period) with data, or None when not fetched yet (small; cheap per run)."""
    return _coverage(settings().warehouse_location, data_version())


@st.cache_data(ttl=CACHE_TTL_S, max_entries=8, show_spinner=False)
def _theme_latest(location: str, version: int) -> dict[str, str | None]:
    from indicators.freshness import latest_period

    spans = _coverage(location, version)
    return {theme.id: latest_period([spans[i.id][1] for i in theme.indicators if spans.get(i.id)])
            for theme in catalogue().themes}


def theme_latest() -> dict[str, str | None]:
    """Theme id -> the latest period any of its indicators reaches (a year reaches past a month of that year), or
    None when the theme has no data at all; from the cached coverage, once per data version."""
    return _theme_latest(settings().warehouse_location, data_version())


def _covered_municipalities(location: str, version: int) -> Mapping[str, frozenset[str]]:
    return _coverage_of(location, version).municipalities


def covered_municipalities() -> Mapping[str, frozenset[str]]:
    """Indicator id -> the municipalities it has any value for (a source may cover only a few municipalities)."""
    return _covered_municipalities(settings().warehouse_location, data_version())


FINNISH_TIME = ZoneInfo("Europe/Helsinki")


def today() -> date:
    """Today in Finland, against which the app judges whether data are old (indicators.freshness)."""
    return datetime.now(FINNISH_TIME).date()


@st.cache_resource(ttl=CACHE_TTL_S, max_entries=8, show_spinner=False)
def _series_metadata(location: str, version: int) -> Mapping[str, Mapping[str, Any]]:
    # Shared and read-only (asked by every source line of a page run); its records are frozen dataclasses.
    store = warehouse()
    metadata = {}
    for series_id in store.series_ids():
        meta = store.metadata(series_id, as_of=version)
        if meta is not None:
            metadata[series_id] = MappingProxyType({**meta, "tables": tuple(meta.get("tables") or ())})
    return MappingProxyType(metadata)


def series_metadata() -> Mapping[str, Mapping[str, Any]]:
    """Series id -> {"info", "provenance", "written_at", "vintage"} for every series, as of the view's vintage."""
    return _series_metadata(settings().warehouse_location, data_version())


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
    failed = sorted(series for series, entry in status.items() if failed_last(entry))
    return Freshness(max(successes) if successes else None, failed)


@dataclass
class SourceNote:
    """What goes under a chart: where the numbers come from, for which period, and how fresh they are."""

    publishers: list[str]
    tables: list[str]
    licences: list[str]
    first_period: str
    last_period: str
    data_updated: str | None  # the newest of the series' data dates
    fetched_at: str | None
    stale_errors: list[str]
    # (publisher, data date or None) per source of the rows: one entry per publisher, or per publisher and table
    # where one publisher's tables have different dates. Empty in a note made by hand: then `data_updated` is said.
    updated_by: list[tuple[str, str | None]] = field(default_factory=list)
    areas: bool = False  # the rows include areas (sub-regions, regions, ..., the country), computed on today's division


def source_note(frame: pd.DataFrame) -> SourceNote | None:
    """Provenance of the series that actually produced the rows of `frame` (its `origin` column)."""
    if frame.empty:
        return None
    used = sorted({series_id for lineage in frame["origin"].dropna().unique() for series_id in lineage.series})
    metadata = series_metadata()
    status = fetch_status()
    publishers, tables, licences, updated, fetched, errors = [], [], [], [], [], []
    dated: list[tuple[str, str, str | None]] = []
    for series_id in used:
        meta = metadata.get(series_id)
        if meta is None:
            continue
        provenance = meta["provenance"]
        publishers.append(provenance.attribution or meta["info"].publisher)
        dated.append((publishers[-1], provenance.table, provenance.data_updated))
        tables.extend(meta.get("tables") or [provenance.table])  # every table whose rows are shown
        licences.append(provenance.licence)
        if provenance.data_updated:
            updated.append(provenance.data_updated)
        if provenance.fetched_at:
            fetched.append(provenance.fetched_at)
        entry = status.get(series_id, {})
        if failed_last(entry):
            errors.append(error_text(entry))
    return SourceNote(
        publishers=list(dict.fromkeys(publishers)),
        tables=list(dict.fromkeys(tables)),
        licences=list(dict.fromkeys(licences)),
        first_period=str(frame["period"].min()),
        last_period=str(frame["period"].max()),
        data_updated=max(updated) if updated else None,
        fetched_at=max(fetched) if fetched else None,
        stale_errors=errors,
        updated_by=dates_by_source(dated),
        areas=bool((~frame["region"].astype(str).str.startswith("KU")).any()),
    )


def dates_by_source(dated: list[tuple[str, str, str | None]]) -> list[tuple[str, str | None]]:
    """(publisher, table, data date) per series -> (label, data date): a publisher once when all its series share
    a date, else "publisher (table)" per table, so a chart mixing data of different dates shows each of them."""
    by_publisher: dict[str, set[str | None]] = {}
    for publisher, _, updated in dated:
        by_publisher.setdefault(publisher, set()).add(updated)
    labelled = [(publisher if len(by_publisher[publisher]) == 1 else f"{publisher} ({table})", updated)
                for publisher, table, updated in dated]
    return list(dict.fromkeys(labelled))


def error_text(entry: dict[str, Any]) -> str:
    """A fetch failure from the warehouse status in the reader's language where its code is known (the CLI's
    English message otherwise)."""
    detail = entry.get("last_error_detail") or {}
    if detail.get("code"):
        try:
            text = t_or(f"source_error.{detail['code']}", "",
                        **{name: str(value) for name, value in (detail.get("params") or {}).items()})
        except (KeyError, IndexError):  # a code from a newer version with other parameters: the message then
            text = ""
        if text:  # else a code this release has no text for
            return text
    return str(entry.get("last_error") or "")


def run_refresh(progress=None, sources: list[str] | None = None):
    """Fetch every configured live source into the warehouse (sources.refresh) and drop cached frames. Does not wait
    for a refresh running elsewhere (the worker, the command line, another replica): WarehouseBusy at once."""
    from sources.refresh import refresh

    report = refresh(settings(), sources=sources, progress=progress, trigger="app", lock_timeout_s=0)
    st.cache_data.clear()
    # The shared tables are keyed by data version, so the new version's are fresh anyway; dropping the old ones
    # frees their memory, as clearing the data caches does (a pinned view reads its version's again).
    for shared in (_materialised_table, _coverage_record, _theme_summary, _series_metadata):
        shared.clear()
    _version_memo.clear()
    return report


def refresh_status() -> dict[str, Any]:
    """`python -m sources status` for the About page: last vintage, last run, failed series, next run."""
    return status_report(warehouse())


def login_configured() -> bool:
    """Whether Streamlit's st.login has an identity provider ([auth] in .streamlit/secrets.toml)."""
    try:
        return "auth" in st.secrets
    except Exception:  # noqa: BLE001 - no secrets file at all, or an unreadable one: no login
        return False


def refresh_permission() -> str:
    """Who may press "Refresh now" here: "allowed"; "login" (sign in first); "off" (`refresh.allow_from_app` is
    false: a public deployment, refreshed by the worker); "no_login" (a login is required but none is configured)."""
    config = settings().refresh
    if not config.allow_from_app:
        return "off"
    if not config.require_login:
        return "allowed"
    if not login_configured():
        return "no_login"
    return "allowed" if st.user.get("is_logged_in", False) else "login"


_BOUNDARY_DOCUMENT = "boundaries_municipalities.geojson"
# Relative to data/raw; see its PROVENANCE.txt.
BUNDLED_BOUNDARIES = "boundaries-2024-2025/Kunnat2025Topo.json"
# Streamlit serves `static/` beside the main script (app.py) at app/static/ when `server.enableStaticServing` is on.
# The map's shapes go there once, named by a digest of their bytes, so a browser fetches (and caches) them once
# instead of receiving them inside every rerun's chart message. The bundled shapes' file is committed there (the
# Docker image's code is read-only); shapes a refresh stored are written there at first use.
SHAPES_STATIC = "shapes"  # subfolder of static/
STATIC_URL = "app/static"  # relative to the page, so a server under a base URL path (server.baseUrlPath) works too


@dataclass
class Shapes:
    """Municipality shapes for maps: Vega data, a Vega expression giving each shape its KU code, and attribution.

    `data` is inline (what vl-convert needs for PNG and SVG files, offline); `url` is where the browser gets the same
    shapes as a static file (see `served_shapes`), or None when they are not served and go inline."""

    data: Any
    code_expression: str
    attribution: str
    year: str
    url: str | None = None


@dataclass(frozen=True)
class _ShapeSource:
    """One version of the shapes, shared by every session (never mutated): the inline values and their format, and
    the static file with the same content, when there is one, with the format the browser reads it in."""

    values: Any
    format: dict[str, str] | None
    code_expression: str
    attribution: str
    year: str
    url: str | None
    url_format: dict[str, str] | None


# The browser's URL for each shape payload now in use, by the payload's id (the payload is kept with it, so the id
# stays its own); a chart spec's dataset that *is* one of these payloads is swapped for the URL.
_served: dict[int, _ShapeSource] = {}
_served_lock = threading.Lock()
_SERVED_MAX = 8


@st.cache_resource(ttl=CACHE_TTL_S, max_entries=4, show_spinner=False)
def _shapes(location: str, version: int) -> _ShapeSource:
    # cache_resource, not cache_data: the payload (180 kB of TopoJSON, or more of GeoJSON) is read-only, and
    # cache_data would unpickle a fresh copy of it on every rerun.
    import json

    from indicators.regions import RAW_DIR

    stored = warehouse().read_document(_BOUNDARY_DOCUMENT)
    if stored is not None:
        payload, provenance = stored
        raw = payload.encode("utf-8") if isinstance(payload, str) else bytes(payload)
        url = _static_shapes_url(raw)
        source = _ShapeSource(json.loads(raw)["features"], None, "'KU' + datum.properties.kunta",
                              provenance.attribution, provenance.table, url, {"type": "json", "property": "features"})
    else:
        # The bundled shapes are Statistics Finland's 2025 division (308 municipalities), the same municipalities as
        # the 2026 division the data are carried onto; an older shape file would leave merged municipalities grey.
        raw = (RAW_DIR / BUNDLED_BOUNDARIES).read_bytes()
        data_format = {"type": "topojson", "feature": "Kunnat2025_geo"}
        source = _ShapeSource(json.loads(raw), data_format, "datum.properties.kunta_k",
                              "Statistics Finland via Kangasalakehitys/kuukausiraportti, CC BY 4.0", "2025",
                              _static_shapes_url(raw), data_format)
    if source.url is not None:
        with _served_lock:
            _served[id(source.values)] = source
            while len(_served) > _SERVED_MAX:
                del _served[next(iter(_served))]
    return source


def municipality_shapes() -> Shapes:
    """Current boundaries from the warehouse when a refresh has fetched them, else the bundled 2025 shapes."""
    import altair as alt

    source = _shapes(settings().warehouse_location, data_version())
    if source.format is not None:
        shapes = alt.Data(values=source.values, format=alt.DataFormat(**source.format))
    else:
        shapes = alt.Data(values=source.values)
    return Shapes(shapes, source.code_expression, source.attribution, source.year, source.url)


def served_shapes(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec as the browser gets it: shapes that are served as a static file are named by their URL instead of
    travelling inline in the chart message (Streamlit keeps GeoJSON and TopoJSON in the spec, so they would be sent
    again with every rerun). Every other dataset, and every chart without served shapes, is left as it is."""
    datasets = spec.get("datasets")
    if not datasets:
        return spec
    swapped = {}
    for name, payload in datasets.items():
        source = _served.get(id(payload))
        if source is not None and source.values is payload:
            swapped[name] = {"url": source.url, **({"format": source.url_format} if source.url_format else {})}
    if not swapped:
        return spec

    def point(node: dict[str, Any]) -> dict[str, Any]:
        data = node.get("data")
        if isinstance(data, dict) and data.get("name") in swapped:
            node = {**node, "data": swapped[data["name"]]}
        if isinstance(node.get("layer"), list):
            node = {**node, "layer": [point(layer) for layer in node["layer"]]}
        return node

    spec = point(spec)
    spec["datasets"] = {name: payload for name, payload in datasets.items() if name not in swapped}
    return spec


def _static_shapes_url(raw: bytes) -> str | None:
    """The app URL of a static file holding exactly `raw`, written now if it is not there yet; None (and a log
    line) when static serving is off or the file cannot be written, so the map carries its shapes inline."""
    import hashlib
    import os
    import tempfile

    if not st.get_option("server.enableStaticServing"):
        log.info("server.enableStaticServing is off: map shapes are sent inline with every chart")
        return None
    name = f"municipalities-{hashlib.sha256(raw).hexdigest()[:16]}.json"
    path = static_dir() / SHAPES_STATIC / name
    if not path.is_file():
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Written aside and renamed, so a browser (or another app server) never reads half a file.
            handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".shapes-", suffix=".tmp")
            with os.fdopen(handle, "wb") as file:
                file.write(raw)
            os.chmod(temporary, 0o644)
            os.replace(temporary, path)
        except OSError as exc:
            log.warning("Cannot write the map shapes to %s (%s): they are sent inline with every chart", path, exc)
            return None
    return f"{STATIC_URL}/{SHAPES_STATIC}/{name}"


def static_dir():
    """The folder Streamlit serves at app/static/: `static/` beside the main script, app.py (a pathlib.Path)."""
    from pathlib import Path

    return Path(__file__).resolve().parent.parent / "static"



def declared_series_titles() -> dict[str, dict[str, str]]:
    """Series id -> its {fi, sv, en} title as its source declares it (config.toml, or the adapter's `describe()`
    for the snapshot and plugins): the name of a series not fetched yet, so a concept map or a formula in words
    never shows a bare series id. Read once per process and configuration."""
    from sources.settings import config_file

    return _declared_series_titles(str(config_file()))


@st.cache_resource(show_spinner=False)
def _declared_series_titles(configuration: str) -> dict[str, dict[str, str]]:
    from sources.registry import build_adapter

    titles: dict[str, dict[str, str]] = {}
    for name, config in settings().sources.items():
        if not config.enabled:
            continue
        try:
            infos = config.series or build_adapter(name, settings()).describe()
        except Exception:  # noqa: BLE001 - a source that cannot describe itself leaves its ids as they are
            log.warning("The source %s could not describe its series; its ids stand for their names.", name)
            continue
        titles.update({info.id: dict(info.title) for info in infos if info.title})
    return titles
