"""The warehouse interface: one contract for storing series with every vintage, and the backend chosen by one setting.

`open_warehouse(location)` returns the backend for a location:
- a path or `file://...`: the local store (`sources.warehouse_local`), the embedded default;
- `postgresql://...`: PostgreSQL (`sources.warehouse_pg`), for a warehouse shared by several app servers.

Every caller (the app, the refresh command, snapshot seeding, the tests) uses only this interface.

Vintages. Every write that changes a series creates a vintage with a warehouse-wide increasing id. Old values are
kept as revisions, so any series can be read as of any vintage: a row is valid from the vintage that wrote it until
the vintage that replaced or withdrew it. A write that changes nothing creates no vintage and stores no rows. The
latest vintage id is the warehouse's data version: caches key on it, and a pinned link carries one (`asof`).

What a write withdraws (`plan_revision`): a stored value whose period lies within the span of periods the new data
covers, but which the new data leaves out or gives as missing. Periods outside that span are kept (a source asked
for 2010 onwards has not withdrawn 1990), and so are regions a fetch says it did not cover (`covered_regions`:
a municipality whose file was missing has not withdrawn its emissions). A write with `merge=False` replaces the
whole series.

Derived tables (`read_derived`, `write_derived`, `prune_derived`) keep what is computed from the series of one data
version, such as every indicator's table, keyed by (version, name, digest). They are a cache: the warehouse never
depends on them, and a reader that finds none computes from the series.
"""

from __future__ import annotations

import hashlib
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sources.contract import DOCUMENT_PREFIX, SERIES_COLUMNS, Provenance, SeriesData, SeriesInfo  # noqa: F401 - DOCUMENT_PREFIX: backends import it here

KEYS = ["region", "period"]
RUN_PREFIX = "run:"  # status keys of refresh runs and the worker (`record_run`), kept out of `status()`
HISTORY_COLUMNS = ["region", "period", "value", "valid_from", "valid_to"]
DEFAULT_LOCK_TIMEOUT_S = 60.0
DERIVED_NAME = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)*$")  # a derived table's name, e.g. `indicator.population`
DERIVED_DIGEST = re.compile(r"^[0-9a-f]{8,64}$")


# --- errors -------------------------------------------------------------------------------------------------------


class WarehouseError(Exception):
    """The warehouse cannot be used as asked; the message says what to check."""


class WarehouseUnavailable(WarehouseError):
    """The warehouse cannot be reached or opened (database down, wrong host, unreadable folder)."""


class SchemaOutdated(WarehouseError):
    """The stored schema is older (or newer) than this code; the message names the migrate command."""


class WarehouseBusy(WarehouseError):
    """Another refresh holds the warehouse's refresh lock beyond the waiting time."""


class WarehouseReadOnly(WarehouseError):
    """The warehouse may be read but not written (e.g. a read-only database role)."""


# --- records ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Vintage:
    """One change of one series: when it was stored, what the publisher said, and what changed."""

    id: int
    series: str
    created_at: str  # when the warehouse committed it (UTC, ISO 8601)
    fetched_at: str | None  # when the data was fetched from the source
    data_updated: str | None  # the publisher's own data date
    content_hash: str  # of the series' current values after this vintage
    new: int
    changed: int
    withdrawn: int
    rows: int  # current rows after this vintage
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Vintage:
        return cls(**{key: data.get(key) for key in cls.__dataclass_fields__})


@dataclass(frozen=True)
class WriteResult:
    """What a write did: rows now current, the counts, and the vintage created (None when nothing changed)."""

    rows: int
    new: int
    changed: int
    withdrawn: int
    vintage: int | None

    @property
    def changed_anything(self) -> bool:
        return self.vintage is not None


@dataclass
class SeriesDump:
    """A series with its whole history, for moving it between backends (`copy-warehouse`)."""

    info: SeriesInfo
    history: pd.DataFrame  # HISTORY_COLUMNS; valid_to NaN/None while current
    vintages: list[tuple[Vintage, Provenance]] = field(default_factory=list)


# --- the interface ------------------------------------------------------------------------------------------------


class Warehouse(ABC):
    """Series with every vintage, their descriptions, fetch status and documents. See the module docstring."""

    location: str

    # reading
    @abstractmethod
    def series_ids(self, as_of: int | None = None) -> list[str]:
        """Ids of the stored series (those that existed at vintage `as_of` when given)."""

    def is_empty(self) -> bool:
        return not self.series_ids()

    @abstractmethod
    def read(self, series_ids: list[str] | None = None, as_of: int | None = None) -> pd.DataFrame:
        """Rows `series, region, period, value` of the named series (all when None), latest or as of a vintage.
        Unknown ids are simply absent."""

    @abstractmethod
    def metadata(self, series_id: str, as_of: int | None = None) -> dict[str, Any] | None:
        """`{"info", "provenance", "written_at", "vintage", "tables"}` of a series (as of a vintage), or None.
        `provenance` is that of the latest vintage; `tables` names the table of every vintage whose values are
        shown, since a series can hold years fetched from two tables."""

    @abstractmethod
    def vintages(self, series_id: str | None = None, limit: int | None = None) -> list[Vintage]:
        """Vintages, newest first (of one series when named)."""

    @abstractmethod
    def vintage(self, vintage_id: int) -> Vintage | None:
        """One vintage by id, or None."""

    @abstractmethod
    def latest_vintage_id(self) -> int:
        """The data version: the newest vintage id, 0 for an empty warehouse. Cheap; asked on every page run."""

    def status(self) -> dict[str, dict[str, Any]]:
        """Per series or document: last success, last attempt, last error, and what the last publication check
        saw (`published_marker`, `last_checked`)."""
        return {key: entry for key, entry in self._status_entries().items() if not key.startswith(RUN_PREFIX)}

    def runs(self) -> dict[str, dict[str, Any]]:
        """The records kept by `record_run`, by name (e.g. "refresh": the last refresh; "worker": its schedule)."""
        return {key.removeprefix(RUN_PREFIX): entry for key, entry in self._status_entries().items()
                if key.startswith(RUN_PREFIX)}

    @abstractmethod
    def _status_entries(self) -> dict[str, dict[str, Any]]:
        """Every status entry, series', documents' and runs' (`status()` and `runs()` split them), in key order."""

    @abstractmethod
    def read_document(self, name: str) -> tuple[bytes, Provenance] | None:
        """A stored document (e.g. boundaries GeoJSON) with its provenance, or None."""

    # writing
    @abstractmethod
    def write(self, data: SeriesData, merge: bool = True) -> WriteResult:
        """Validate and store one series atomically; a change creates a vintage. Raises SchemaChanged for a bad
        frame (nothing stored), WarehouseReadOnly when writing is not allowed."""

    @abstractmethod
    def write_document(self, name: str, payload: bytes, provenance: Provenance) -> None:
        """Store a document atomically with its provenance."""

    @abstractmethod
    def record_failure(self, series_id: str, source: str, message: str, detail: dict[str, Any] | None = None) -> None:
        """Remember that fetching `series_id` failed; its data stays as it was. `detail` (`{"code", "params"}`)
        lets the app say the reason in the reader's language."""

    @abstractmethod
    def record_success(self, series_id: str, source: str, data_updated: str | None) -> None:
        """Remember a successful fetch that changed nothing (no vintage, but the series is current)."""

    @abstractmethod
    def note_status(self, key: str, fields: dict[str, Any]) -> None:
        """Merge `fields` into the status entry of a series or document (e.g. what a publication check saw)."""

    def record_run(self, name: str, fields: dict[str, Any]) -> None:
        """Keep what a refresh run or the worker did, for `python -m sources status` and About the data (shared
        by every replica, since it lives in the warehouse)."""
        self.note_status(RUN_PREFIX + name, fields)

    # locking, schema, moving
    @abstractmethod
    @contextmanager
    def refresh_lock(self, timeout_s: float = DEFAULT_LOCK_TIMEOUT_S) -> Iterator[HeldLock]:
        """Held for a whole refresh: one refresh at a time per warehouse, across processes and machines.
        Waits up to `timeout_s`, then raises WarehouseBusy. The refresh calls `verify()` on what it yields before
        each batch: a lock that can be lost (a database session that broke) then stops the refresh."""

    def migrate(self) -> list[str]:
        """Bring the stored schema up to date; returns the migrations applied (none for a store without one)."""
        return []

    def check_schema(self) -> None:
        """Raise SchemaOutdated when the stored schema is not the one this code needs."""

    @abstractmethod
    def dump_series(self, series_id: str) -> SeriesDump | None:
        """The series with its whole history and vintages."""

    @abstractmethod
    def load_series(self, dump: SeriesDump) -> None:
        """Store a dumped series with its vintages and ids as they were (the series must not exist yet)."""

    def documents(self) -> list[str]:
        """Names of stored documents."""
        return []

    # derived tables: a cache of what is computed from one data version (indicators.materialise), never the data
    def read_derived(self, version: int, name: str, digest: str) -> bytes | None:
        """The payload kept for (`version`, `name`, `digest`), or None. `digest` says what the payload was computed
        with (e.g. the catalogue's definition), so two releases against one warehouse each find their own. A
        backend without a cache keeps nothing: its readers compute every time."""
        return None

    def write_derived(self, version: int, name: str, digest: str, payload: bytes) -> None:
        """Keep a payload atomically under (`version`, `name`, `digest`), replacing one of the same key. Raises
        WarehouseReadOnly when writing is not allowed; never touches series, vintages or status."""

    def prune_derived(self, keep_versions: int) -> int:
        """Drop the payloads of all but the newest `keep_versions` data versions that have any; returns how many
        versions were dropped. Readers of a dropped version compute it again."""
        return 0

    def sync_areas(self, rows: list[tuple[str, str, str, str, str]]) -> None:
        """Store area names `(code, level, name_fi, name_sv, name_en)` for readers outside the app (the SQL view of
        the PostgreSQL backend); the local store needs none, the app has the region registry."""

    def close(self) -> None:
        """Release connections (a no-op for the local store)."""

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


class HeldLock:
    """A held refresh lock. This one cannot be lost while its process lives (a file lock)."""

    def verify(self) -> None:
        """Raise WarehouseError when the lock is no longer held."""


# --- choosing a backend -------------------------------------------------------------------------------------------


def is_postgres(location: str | Path) -> bool:
    return str(location).startswith(("postgresql://", "postgres://"))


def describe_location(location: str | Path) -> str:
    """The location without a password, for messages."""
    text = str(location)
    if is_postgres(text) and "@" in text:
        scheme, rest = text.split("://", 1)
        credentials, host = rest.rsplit("@", 1)
        user = credentials.split(":", 1)[0]
        return f"{scheme}://{user}@{host}" if user else f"{scheme}://{host}"
    return text


def open_warehouse(location: str | Path) -> Warehouse:
    """The warehouse at a location: a folder path or `file://` URL (local store), or `postgresql://` (PostgreSQL)."""
    text = str(location)
    if is_postgres(text):
        from sources.warehouse_pg import PostgresWarehouse

        return PostgresWarehouse(text)
    from sources.warehouse_local import LocalWarehouse

    if text.startswith("file://"):
        from urllib.parse import unquote, urlparse

        text = unquote(urlparse(text).path)
    return LocalWarehouse(Path(text))


# --- the revision rule, shared by the backends --------------------------------------------------------------------


@dataclass
class Revision:
    """How a write changes a series: rows to add as of the new vintage and current rows it retires."""

    insert: pd.DataFrame  # region, period, value: new and changed values (and newly missing markers)
    retire: pd.DataFrame  # region, period: current rows superseded or withdrawn by this vintage
    current: pd.DataFrame  # region, period, value: what is current after the write, sorted
    new: int
    changed: int
    withdrawn: int

    @property
    def changes_anything(self) -> bool:
        return not self.insert.empty or not self.retire.empty


def _same(old: pd.Series, new: pd.Series) -> np.ndarray:
    old_values, new_values = old.to_numpy(dtype="float64"), new.to_numpy(dtype="float64")
    return (old_values == new_values) | (np.isnan(old_values) & np.isnan(new_values))


def _covered(periods: pd.Series, incoming: pd.Series) -> np.ndarray:
    """Periods within the span of the incoming periods, compared within one format (YYYY or YYYY-MM)."""
    covered = np.zeros(len(periods), dtype=bool)
    for length in incoming.str.len().unique():
        of_length = incoming[incoming.str.len() == length]
        low, high = of_length.min(), of_length.max()
        covered |= ((periods.str.len() == length) & (periods >= low) & (periods <= high)).to_numpy()
    return covered


def plan_revision(current: pd.DataFrame, incoming: pd.DataFrame, merge: bool = True,
                  covered_regions: frozenset[str] | None = None) -> Revision:
    """Compare the current rows of a series with a validated new frame (both with region, period, value).

    `covered_regions`: the regions the fetch answered for, when not all (see SeriesData); a value of another region
    that the new frame leaves out is kept, not withdrawn."""
    current = current[KEYS + ["value"]].astype({"region": str, "period": str, "value": "float64"})
    incoming = incoming[KEYS + ["value"]].astype({"region": str, "period": str, "value": "float64"})
    joined = current.merge(incoming, on=KEYS, how="outer", suffixes=("_old", ""), indicator=True)
    in_old, in_new = joined["_merge"] != "right_only", joined["_merge"] != "left_only"
    both = (in_old & in_new).to_numpy()
    same = np.zeros(len(joined), dtype=bool)
    same[both] = _same(joined.loc[both, "value_old"], joined.loc[both, "value"])
    old_missing = joined["value_old"].isna().to_numpy()
    new_missing = joined["value"].isna().to_numpy()
    only_old = (in_old & ~in_new).to_numpy()
    dropped = only_old & (_covered(joined["period"], incoming["period"]) if merge else True)
    if covered_regions is not None:
        dropped &= joined["region"].isin(covered_regions).to_numpy()

    replaced = both & ~same  # a new value, or a value now given as missing
    withdrawn = int((replaced & new_missing & ~old_missing).sum() + (dropped & ~old_missing).sum())
    changed = int((replaced & ~new_missing & ~old_missing).sum())
    new = int(((~in_old).to_numpy() & ~new_missing).sum() + (replaced & old_missing & ~new_missing).sum())

    insert = joined.loc[(~in_old).to_numpy() | replaced, KEYS + ["value"]]
    retire = joined.loc[replaced | dropped, KEYS]
    keep = joined.loc[~(replaced | dropped) & in_old.to_numpy(), KEYS + ["value_old"]].rename(
        columns={"value_old": "value"})
    after = pd.concat([keep, insert], ignore_index=True).sort_values(KEYS, kind="stable").reset_index(drop=True)
    return Revision(insert.reset_index(drop=True), retire.reset_index(drop=True), after, new, changed, withdrawn)


def check_derived_key(version: int, name: str, digest: str) -> None:
    """Refuse a derived table's key that could not be a file name or that a caller mistyped."""
    if not isinstance(version, int) or version < 0:
        raise ValueError(f"a derived table's version must be a vintage id, not {version!r}")
    if not DERIVED_NAME.match(name):
        raise ValueError(f"'{name}' is not a derived table's name (like 'indicator.population')")
    if not DERIVED_DIGEST.match(digest):
        raise ValueError(f"'{digest}' is not a hexadecimal digest")


def document_hash(payload: bytes) -> str:
    """The content hash of a document: the same bytes again create no vintage."""
    return hashlib.sha256(payload).hexdigest()[:32]


def content_hash(current: pd.DataFrame) -> str:
    """A hash of a series' current values that does not depend on row order or storage."""
    ordered = current.sort_values(KEYS, kind="stable")
    digest = hashlib.sha256()
    digest.update(pd.util.hash_pandas_object(ordered[KEYS + ["value"]], index=False).to_numpy().tobytes())
    return digest.hexdigest()[:32]


def check_series_frame(data: SeriesData) -> pd.DataFrame:
    """The frame of `data` in the fixed schema, validated; the rows must all belong to the series."""
    from sources.contract import validate_frame

    frame = data.frame[SERIES_COLUMNS].copy()
    if (frame["series"] != data.info.id).any():
        raise ValueError(f"frame rows do not all belong to series {data.info.id}")
    validate_frame(frame, f"{data.provenance.source} / {data.info.id}")
    return frame


def empty_series_frame() -> pd.DataFrame:
    return pd.DataFrame({column: pd.Series(dtype="string") for column in SERIES_COLUMNS[:3]}).assign(
        value=pd.Series(dtype="float64"))


def rows_as_of(history: pd.DataFrame, as_of: int | None) -> pd.Series:
    """Mask of history rows valid at vintage `as_of` (current rows when None)."""
    valid_to = history["valid_to"]
    if as_of is None:
        return valid_to.isna()
    return (history["valid_from"] <= as_of) & (valid_to.isna() | (valid_to > as_of))
