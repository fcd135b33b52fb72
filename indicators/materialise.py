"""Materialised indicators: every indicator's table and the coverage, computed once per data version and kept with
the warehouse, so that a new process or replica reads them instead of computing them.

What is kept, per data version (vintage id) and digest:
- `indicator.<id>`: the indicator for every area and period, exactly as `Engine.compute` returns it (the `origin`
  lineage included, which the source line reads), as Arrow IPC (zstd). Never pickle: a warehouse shared by several
  servers must not be able to run code in them.
- `coverage`: per indicator its first and last period and the municipalities it has a value for (JSON), what every
  page's sidebar and the theme pages need before any indicator is shown.
- `summary.<theme>.cells` and `summary.<theme>.references`: the theme's overview summary
  (`indicators.overview.summarise`: every area's latest cell, its trend and quintile, and the benchmark values), as
  Arrow IPC, so the first theme page of a fresh process only picks the chosen areas from it.

The digest says what the stored table was computed with: the indicator's definition in the catalogue, the engine's
code, the region registry and this payload format (a summary's: its indicators' digests and the overview's code). A
changed theme file, a new indicator, another release of the engine or registry thus never reads a stale table: its
digest differs, so it computes its own (and writes that back). The coverage's digest covers every indicator's.
Replicas of two releases against one warehouse each keep their own.

The tables are a cache of what the warehouse's series give; the series stay the data. A missing, unreadable or
mismatched table is computed again from the series (with a log line), never an error, and a warehouse that may only
be read simply computes. `materialise` computes all of a version at once: refreshes and seeding call it when data
change, so the first page of a fresh process finds everything ready.

This module knows the warehouse only by its interface (`read`, `read_derived`, `write_derived`, `prune_derived`),
passed in by the caller: `sources/` calls it, never the other way round.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa
import pyarrow.ipc as pa_ipc

from indicators.catalogue import Catalogue, Indicator, Theme, get_catalogue
from indicators.formulas import RESULT_COLUMNS, Engine, Lineage, empty_result
from indicators.overview import Summary, summarise
from indicators.regions import RegionRegistry, get_registry

if TYPE_CHECKING:
    from sources.warehouse import Warehouse

log = logging.getLogger(__name__)

FORMAT = 1  # of the payloads below; a change of layout changes every digest
COVERAGE = "coverage"
INDICATOR_PREFIX = "indicator."
SUMMARY_PREFIX = "summary."
KEEP_VERSIONS = 3  # data versions whose tables are kept; older (pinned) ones are computed again when asked for
LINEAGE_SEPARATOR = ","  # series ids never contain one (catalogue.SERIES_ID)
COMPRESSION = "zstd"
# The code whose change changes what a stored table holds.
_CODE_FILES = ("catalogue.py", "formulas.py", "regions.py", "materialise.py")
# ... and what a theme summary holds, beyond its indicators' tables.
_SUMMARY_CODE_FILES = ("overview.py", "comparison.py", "statistics.py")


@dataclass(frozen=True)
class Coverage:
    """Per indicator: (first period, last period) with data or None, and the municipalities it has a value for."""

    spans: dict[str, tuple[str, str] | None]
    municipalities: dict[str, frozenset[str]]


@dataclass(frozen=True)
class MaterialiseReport:
    version: int
    computed: int  # tables computed and written
    present: bool  # everything was there already
    seconds: float


# --- digests ------------------------------------------------------------------------------------------------------

_digest_lock = threading.Lock()
_code_digests: dict[int, tuple[RegionRegistry, str]] = {}


def code_digest(registry: RegionRegistry | None = None) -> str:
    """A digest of the engine's code, the region registry and the payload format (once per registry and process)."""
    registry = registry or get_registry()
    known = _code_digests.get(id(registry))
    if known is not None and known[0] is registry:
        return known[1]
    digest = hashlib.sha256(f"format {FORMAT}\n".encode())
    folder = Path(__file__).resolve().parent
    for name in _CODE_FILES:
        digest.update(name.encode() + b"\n" + (folder / name).read_bytes())
    for frame in (registry.municipalities, registry.areas.reset_index()):
        digest.update(pd.util.hash_pandas_object(frame.astype(str), index=False).to_numpy().tobytes())
    value = digest.hexdigest()[:32]
    with _digest_lock:
        _code_digests[id(registry)] = (registry, value)
    return value


# Digests by the identity of the loaded objects (asked on every page run; a catalogue is loaded once and not changed,
# a changed theme file is a new catalogue). The objects are kept with their digest, so an id is never reused.
_digests: dict[tuple[int, int], tuple[object, RegionRegistry, str]] = {}


def _memo(owner: object, registry: RegionRegistry, make: Callable[[], str]) -> str:
    key = (id(owner), id(registry))
    known = _digests.get(key)
    if known is not None and known[0] is owner and known[1] is registry:
        return known[2]
    value = make()
    with _digest_lock:
        _digests[key] = (owner, registry, value)
    return value


def indicator_digest(indicator: Indicator, registry: RegionRegistry | None = None) -> str:
    """What the indicator's stored table was computed with: its whole definition (any change recomputes it) and
    `code_digest`."""
    registry = registry or get_registry()

    def make() -> str:
        text = code_digest(registry) + "\n" + indicator.model_dump_json()
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
    return _memo(indicator, registry, make)


def coverage_digest(catalogue: Catalogue, registry: RegionRegistry | None = None) -> str:
    """The coverage's digest: every indicator's, so any change of the catalogue (a new indicator too) changes it."""
    registry = registry or get_registry()

    def make() -> str:
        text = "\n".join(f"{indicator_id} {indicator_digest(indicator, registry)}"
                         for indicator_id, indicator in sorted(catalogue.indicators.items()))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
    return _memo(catalogue, registry, make)


def summary_digest(theme: Theme, registry: RegionRegistry | None = None) -> str:
    """A theme summary's digest: its indicators' digests in the theme's order (the summary's order) and the code
    that summarises them."""
    registry = registry or get_registry()

    def make() -> str:
        digest = hashlib.sha256(f"summary format {FORMAT}\n".encode())
        folder = Path(__file__).resolve().parent
        for name in _SUMMARY_CODE_FILES:
            digest.update(name.encode() + b"\n" + (folder / name).read_bytes())
        for indicator in theme.indicators:
            digest.update(f"{indicator.id} {indicator_digest(indicator, registry)}\n".encode())
        return digest.hexdigest()[:32]
    return _memo(theme, registry, make)


def table_name(indicator_id: str) -> str:
    return INDICATOR_PREFIX + indicator_id


def summary_names(theme_id: str) -> tuple[str, str]:
    """The derived tables of a theme's summary: its cells and its references."""
    return f"{SUMMARY_PREFIX}{theme_id}.cells", f"{SUMMARY_PREFIX}{theme_id}.references"


# --- computing ------------------------------------------------------------------------------------------------------


def compute_indicator(store: Warehouse, indicator: Indicator, version: int,
                      registry: RegionRegistry | None = None, available: set[str] | None = None) -> pd.DataFrame:
    """The indicator for every area the catalogue names for it, all periods, from the series as of `version`.
    `available`: the ids of the series stored as of `version`, when known; an indicator none of whose series is
    among them is empty without asking the engine (which would say the same, slowly)."""
    if available is not None and available.isdisjoint(indicator.formula.series_ids()):
        return empty_result()
    registry = registry or get_registry()
    # Always as of the version: a refresh committed meanwhile must not slip newer rows under an older version.
    engine = Engine(lambda ids: store.read(ids, as_of=version), registry)
    # Only the area levels the catalogue names for the indicator (e.g. no country value for net migration between
    # municipalities, which sums to about zero there).
    areas = registry.areas
    return engine.compute(indicator, list(areas.index[areas["level"].isin(indicator.regions)]))


def coverage_of(tables: dict[str, pd.DataFrame]) -> Coverage:
    spans: dict[str, tuple[str, str] | None] = {}
    municipalities: dict[str, frozenset[str]] = {}
    for indicator_id, table in tables.items():
        spans[indicator_id] = None if table.empty else (str(table["period"].min()), str(table["period"].max()))
        regions = table["region"].astype(str)
        municipalities[indicator_id] = frozenset(regions[regions.str.startswith("KU")])
    return Coverage(spans, municipalities)


# --- payloads -------------------------------------------------------------------------------------------------------


class PayloadError(ValueError):
    """A stored payload cannot be read back as what it claims to be."""


def _ipc_bytes(table: pa.Table, digest: str, extra: dict[bytes, bytes] | None = None) -> bytes:
    table = table.replace_schema_metadata({b"tiedolla.format": str(FORMAT).encode(),
                                           b"tiedolla.digest": digest.encode(), **(extra or {})})
    sink = io.BytesIO()
    with pa_ipc.new_file(sink, table.schema, options=pa_ipc.IpcWriteOptions(compression=COMPRESSION)) as writer:
        writer.write_table(table)
    return sink.getvalue()


def _ipc_table(payload: bytes, digest: str) -> pa.Table:
    try:
        table = pa_ipc.open_file(pa.BufferReader(payload)).read_all()
    except (pa.ArrowInvalid, pa.ArrowException, OSError) as exc:
        raise PayloadError(f"not an Arrow IPC file ({exc})") from None
    metadata = table.schema.metadata or {}
    if metadata.get(b"tiedolla.format") != str(FORMAT).encode() or metadata.get(b"tiedolla.digest") != digest.encode():
        raise PayloadError("written with another format or digest than its key says")
    return table


def encode_table(frame: pd.DataFrame, digest: str) -> bytes:
    """An indicator table as Arrow IPC; `origin` as a dictionary of the lineages' series ids."""
    origin = frame["origin"]
    if not isinstance(origin.dtype, pd.CategoricalDtype):
        origin = origin.astype("category")
    categories = [LINEAGE_SEPARATOR.join(lineage.series) for lineage in origin.cat.categories]
    codes = origin.cat.codes.to_numpy(dtype="int32")
    dictionary = pa.DictionaryArray.from_arrays(pa.array(codes, mask=codes < 0),
                                                pa.array(categories, pa.string()))
    columns = {"region": pa.array(frame["region"].astype(str).to_numpy(dtype=object), pa.string()),
               "period": pa.array(frame["period"].astype(str).to_numpy(dtype=object), pa.string())}
    for name in ("value", "numerator", "denominator"):
        columns[name] = pa.array(frame[name].to_numpy(dtype="float64"), pa.float64())
    columns["origin"] = dictionary
    return _ipc_bytes(pa.table(columns), digest)


def decode_table(payload: bytes, digest: str) -> pd.DataFrame:
    """`encode_table`'s bytes back as the frame `Engine.compute` returned; PayloadError when they are not that."""
    table = _ipc_table(payload, digest)
    if table.column_names != RESULT_COLUMNS:
        raise PayloadError(f"columns {table.column_names}, not {RESULT_COLUMNS}")
    if table.num_rows == 0:
        return empty_result()
    origin = table["origin"].combine_chunks()
    if not pa.types.is_dictionary(origin.type):
        raise PayloadError("origin is not a dictionary")
    categories = [Lineage(tuple(text.split(LINEAGE_SEPARATOR)) if text else ()) for text in
                  origin.dictionary.to_pylist()]
    codes = origin.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype("int32")
    frame = pd.DataFrame({
        "region": table["region"].to_pandas().astype("string"),
        "period": table["period"].to_pandas().astype("string"),
        **{name: table[name].to_numpy() for name in ("value", "numerator", "denominator")},
        "origin": pd.Categorical.from_codes(codes, categories=categories),
    })
    return frame.astype({"value": "float64", "numerator": "float64", "denominator": "float64"})


def encode_coverage(coverage: Coverage, digest: str) -> bytes:
    record = {"format": FORMAT, "digest": digest,
              "indicators": {indicator_id: {"span": list(span) if span else None,
                                            "municipalities": sorted(coverage.municipalities.get(indicator_id, ()))}
                             for indicator_id, span in coverage.spans.items()}}
    return json.dumps(record, separators=(",", ":")).encode("utf-8")


def decode_coverage(payload: bytes, digest: str, catalogue: Catalogue) -> Coverage:
    try:
        record = json.loads(payload)
        if record.get("format") != FORMAT or record.get("digest") != digest:
            raise PayloadError("written with another format or digest than its key says")
        entries = record["indicators"]
        if set(entries) != set(catalogue.indicators):
            raise PayloadError("does not name the catalogue's indicators")
        spans = {key: (str(entry["span"][0]), str(entry["span"][1])) if entry["span"] else None
                 for key, entry in entries.items()}
        municipalities = {key: frozenset(entry["municipalities"]) for key, entry in entries.items()}
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise PayloadError(f"not a coverage record ({exc})") from None
    return Coverage(spans, municipalities)


# A summary's columns by kind: text (missing as None, as `summarise` makes them) and float64.
_SUMMARY_TEXT = {"indicator", "region", "period", "previous_period", "trend"}
_SUMMARY_COLUMNS = {"cells": ["indicator", "region", "period", "value", "numerator", "denominator", "previous_period",
                              "previous_value", "trend", "quintile"],
                    "references": ["region", "period", "value", "indicator"]}


def summary_payloads(theme_id: str, summary: Summary, digest: str) -> list[tuple[str, bytes]]:
    """A theme summary's derived tables (name, payload), in the order they are written: the references first, as the
    cells name the methods, so a summary whose cells are stored is whole."""
    cells, references = encode_summary(summary, digest)
    cells_name, references_name = summary_names(theme_id)
    return [(references_name, references), (cells_name, cells)]


def encode_summary(summary: Summary, digest: str) -> tuple[bytes, bytes]:
    """A theme summary as two Arrow IPC files (cells, references); the methods go in the cells' metadata."""
    payloads = []
    for part, frame in (("cells", summary.cells), ("references", summary.references)):
        columns = {}
        for name in _SUMMARY_COLUMNS[part]:
            values = frame[name]
            if name in _SUMMARY_TEXT:
                text = values.astype(object)
                columns[name] = pa.array(text.where(text.notna(), None).tolist(), pa.string())
            else:
                columns[name] = pa.array(values.to_numpy(dtype="float64"), pa.float64())
        extra = {b"tiedolla.methods": json.dumps(summary.methods).encode()} if part == "cells" else None
        payloads.append(_ipc_bytes(pa.table(columns), digest, extra))
    return payloads[0], payloads[1]


def decode_summary(cells: bytes, references: bytes, digest: str, theme: Theme) -> Summary:
    """`encode_summary`'s files back as the Summary `summarise` made; PayloadError when they are not that."""
    frames = {}
    methods = None
    for part, payload in (("cells", cells), ("references", references)):
        table = _ipc_table(payload, digest)
        if table.column_names != _SUMMARY_COLUMNS[part]:
            raise PayloadError(f"{part} columns {table.column_names}, not {_SUMMARY_COLUMNS[part]}")
        frame = {}
        for name in table.column_names:
            if name in _SUMMARY_TEXT:
                # `previous_period` stays object with None, the others `str`, as `summarise` returns them
                text = pd.Series(table[name].to_pylist(), dtype=object)
                frame[name] = text if name == "previous_period" else text.astype("str")
            else:
                frame[name] = table[name].to_numpy()
        frames[part] = pd.DataFrame(frame)
        if part == "cells":
            try:
                methods = json.loads((table.schema.metadata or {}).get(b"tiedolla.methods", b""))
            except ValueError:
                methods = None
    if not isinstance(methods, dict) or list(methods) != [indicator.id for indicator in theme.indicators]:
        raise PayloadError("its methods do not name the theme's indicators")
    return Summary(frames["cells"], frames["references"], methods)


# --- reading with write-back ----------------------------------------------------------------------------------------


def _read(store: Warehouse, version: int, name: str, digest: str, decode: Callable[[bytes], object]):
    """The decoded payload, or None when it is missing or unusable (logged; the caller computes instead)."""
    from sources.warehouse import WarehouseError  # the interface's errors; sources imports this module lazily

    try:
        payload = store.read_derived(version, name, digest)
    except WarehouseError as exc:  # e.g. a role without SELECT on the table; the series may still be readable
        log.warning("Cannot read the materialised %s of data version %s in %s (%s); computing it.", name, version,
                    store.location, exc)
        return None
    if payload is None:
        return None
    try:
        return decode(payload)
    except PayloadError as exc:
        log.warning("The materialised %s of data version %s in %s is unusable (%s); computing it again.", name,
                    version, store.location, exc)
        return None


def _write(store: Warehouse, version: int, name: str, digest: str, payload: bytes) -> bool:
    """Best effort: a warehouse that may not be written here (a read-only role) just computes each time."""
    from sources.warehouse import WarehouseError, WarehouseReadOnly

    try:
        store.write_derived(version, name, digest, payload)
    except WarehouseReadOnly as exc:
        log.info("Not keeping the computed %s of data version %s: %s", name, version, exc)
        return False
    except WarehouseError as exc:
        log.warning("Could not keep the computed %s of data version %s in %s: %s", name, version, store.location,
                    exc)
        return False
    return True


def indicator_table(store: Warehouse, indicator: Indicator, version: int, registry: RegionRegistry | None = None,
                    write_back: bool = True) -> pd.DataFrame:
    """The indicator's table of `version`: the materialised one when the warehouse has it for this digest, else
    computed from the series (and kept, when `write_back` and the warehouse lets us)."""
    digest = indicator_digest(indicator, registry)
    name = table_name(indicator.id)
    table = _read(store, version, name, digest, lambda payload: decode_table(payload, digest))
    if table is not None:
        return table
    table = compute_indicator(store, indicator, version, registry)
    if write_back:
        _write(store, version, name, digest, encode_table(table, digest))
    return table


def coverage(store: Warehouse, version: int, table: Callable[[Indicator], pd.DataFrame],
             catalogue: Catalogue | None = None, registry: RegionRegistry | None = None,
             write_back: bool = True) -> Coverage:
    """The coverage of `version`: materialised, else from the indicators' tables (`table(indicator)`, which may
    read them materialised or compute them) and kept."""
    catalogue = catalogue or get_catalogue()
    digest = coverage_digest(catalogue, registry)
    found = _read(store, version, COVERAGE, digest, lambda payload: decode_coverage(payload, digest, catalogue))
    if found is not None:
        return found
    found = coverage_of({indicator_id: table(indicator) for indicator_id, indicator in catalogue.indicators.items()})
    if write_back:
        _write(store, version, COVERAGE, digest, encode_coverage(found, digest))
    return found


def theme_summary(store: Warehouse, theme: Theme, version: int, table: Callable[[Indicator], pd.DataFrame],
                  registry: RegionRegistry | None = None, write_back: bool = True) -> Summary:
    """The theme's overview summary of `version`: materialised, else summarised from its indicators' tables
    (`table(indicator)`, which may read them materialised or compute them) and kept."""
    digest = summary_digest(theme, registry)
    found = _read_summary(store, version, theme, digest)
    if found is not None:
        return found
    found = summarise(theme.indicators, {indicator.id: table(indicator) for indicator in theme.indicators})
    if write_back:
        all(_write(store, version, name, digest, payload)  # stops at the first refused write
            for name, payload in summary_payloads(theme.id, found, digest))
    return found


def _read_summary(store: Warehouse, version: int, theme: Theme, digest: str) -> Summary | None:
    cells_name, references_name = summary_names(theme.id)
    cells = _read(store, version, cells_name, digest, bytes)
    references = _read(store, version, references_name, digest, bytes) if cells is not None else None
    if cells is None or references is None:
        return None
    try:
        return decode_summary(cells, references, digest, theme)
    except PayloadError as exc:
        log.warning("The materialised summary of %s of data version %s in %s is unusable (%s); summarising again.",
                    theme.id, version, store.location, exc)
        return None


# --- materialising a version ------------------------------------------------------------------------------------------


def materialise(store: Warehouse, version: int | None = None, catalogue: Catalogue | None = None,
                registry: RegionRegistry | None = None, keep_versions: int = KEEP_VERSIONS,
                stop: Callable[[], bool] | None = None) -> MaterialiseReport:
    """Compute and keep every indicator's table and the coverage of `version` (default: the latest), unless the
    coverage for this catalogue is there already: it is written last, so its presence means the rest is too. Then
    drop the tables of all but the newest `keep_versions` versions. Raises WarehouseReadOnly where nothing may be
    written; the caller decides how loud that is. The themes' summaries are kept with the tables, before the
    coverage. `stop` is asked before each indicator: a worker told to stop (SIGTERM) leaves the rest to the pages,
    with no coverage written, so the version counts as not kept."""
    started = time.perf_counter()
    catalogue = catalogue or get_catalogue()
    registry = registry or get_registry()
    version = store.latest_vintage_id() if version is None else version
    digest = coverage_digest(catalogue, registry)
    if _read(store, version, COVERAGE, digest, lambda payload: decode_coverage(payload, digest, catalogue)):
        return MaterialiseReport(version, 0, True, time.perf_counter() - started)
    from sources.warehouse import WarehouseError

    tables = {}
    available = set(store.series_ids(as_of=version))
    for indicator_id, indicator in catalogue.indicators.items():
        if stop is not None and stop():
            log.info("Stopped materialising data version %s after %d indicators.", version, len(tables))
            break
        indicator_key = indicator_digest(indicator, registry)
        try:
            table = compute_indicator(store, indicator, version, registry, available)
        except WarehouseError:
            raise
        except Exception:  # noqa: BLE001 - one broken definition must not keep the others from being kept
            log.exception("Computing the indicator %s of data version %s failed; not materialising it.",
                          indicator_id, version)
            continue
        store.write_derived(version, table_name(indicator_id), indicator_key, encode_table(table, indicator_key))
        tables[indicator_id] = table
    complete = len(tables) == len(catalogue.indicators)
    if complete:  # the coverage needs every table; without it pages compute the missing ones (and fail as before)
        for theme in catalogue.themes:
            summary_key = summary_digest(theme, registry)
            for name, payload in summary_payloads(theme.id, summarise(theme.indicators, tables), summary_key):
                store.write_derived(version, name, summary_key, payload)
        store.write_derived(version, COVERAGE, digest, encode_coverage(coverage_of(tables), digest))
    store.prune_derived(keep_versions)
    seconds = time.perf_counter() - started
    log.info("Materialised %d of %d indicators of data version %s in %s in %.1f s.", len(tables),
             len(catalogue.indicators), version, store.location, seconds)
    return MaterialiseReport(version, len(tables), False, seconds)


def materialise_quietly(store: Warehouse, version: int | None = None,
                        stop: Callable[[], bool] | None = None) -> MaterialiseReport | None:
    """`materialise` for the refresh and seeding: never fails them (the series are stored; pages compute what is
    missing), logs why not instead."""
    from sources.warehouse import WarehouseReadOnly

    try:
        return materialise(store, version, stop=stop)
    except WarehouseReadOnly as exc:
        log.info("Not materialising the indicators: %s", exc)
    except Exception:  # noqa: BLE001 - the data are stored; a failure here only costs the next page the computing
        log.exception("Materialising the indicators of %s failed; pages compute them instead.", store.location)
    return None

