"""The PostgreSQL warehouse backend: the same series, vintages, status and documents as the local store, in tables
shared by several app servers. `open_warehouse("postgresql://...")` returns it; the semantics are those of
`sources.warehouse` (the revision rule `plan_revision` is shared), and `sources.warehouse_local` is the reference.

Schema. Created and changed only by the numbered files in `sources/migrations/` (`0001_*.sql`, `0002_*.sql`, ...),
applied by `python -m sources migrate` (`PostgresWarehouse.migrate`); the table `schema_version` records which ran.
Every read and write first checks (once per instance) that the stored schema is the one this code needs, so an
outdated database says which command to run instead of failing with an SQL error.

Tables:
    series        id, info (SeriesInfo as JSON), provenance of the latest change, written_at
    vintages      every change of a series or document (`document:<name>`): id from the one sequence `vintage_ids`,
                  counts, content hash and the provenance of that fetch
    observations  every revision: series, region, period, value (NULL = missing), valid_from, valid_to (the
                  vintage that wrote it, the vintage that replaced or withdrew it; NULL while current)
    status        per series or document: last success, last attempt, last error (JSON)
    documents     name, payload, content hash, provenance, written_at
    areas         code, level, name_fi, name_sv, name_en (the region registry, see `sync_areas`)
    derived       version, name, digest, payload: derived tables, a cache computed from one data version
                  (indicators.materialise), pruned to the newest versions

Rules that keep good data safe:
- a write is one transaction: a reader sees the series before it or after it, never half of it, and a writer killed
  mid-write leaves nothing behind (PostgreSQL rolls the transaction back when its connection drops);
- writers of one series are serialised by a transaction-level advisory lock on the series; vintage ids are drawn
  under a second, warehouse-wide advisory lock held until commit, so ids become visible in increasing order and a
  reader who has seen vintage N never later finds a smaller id appearing (a pinned `asof` link stays stable);
- rows are moved with COPY and set-based statements, never row by row; reads fetch a series as one text block
  aggregated in the server and parse it with pyarrow, so a quarter-million rows cost no Python loop.

The view `latest_values`, for other tools (documented in the database too: `COMMENT ON VIEW latest_values`):
    One row per series, region and period with its current value; older revisions are not shown.
    series_id          the series id, e.g. `statfin.unemployed`
    series_title_fi    the series title in Finnish (and `series_title_sv`, `series_title_en`)
    unit               the unit of the values
    region_code        `KU###` municipality, `SK###` sub-region, `MK##` region, `HV##` wellbeing services county,
                       `KR#` municipality group, `SSS` whole country
    area_name_fi       the area's name in Finnish (and `area_name_sv`, `area_name_en`); NULL until `sync_areas` ran
    area_level         municipality, subregion, region, wellbeing_county, municipality_group or country
    period             `YYYY` or `YYYY-MM`
    value              the value; NULL where the publisher gives it as missing
    vintage_id         the vintage that stored the value; the table `vintages` says when and from which source
The group role `tiedolla_reader` (NOLOGIN, created by migration 2 when missing) may read only this view and the
table `vintages`. Give a tool its own login role that is a member:
    CREATE ROLE dashboard LOGIN PASSWORD '...' IN ROLE tiedolla_reader;
The app itself reads the tables, so an app server that must only read needs SELECT on them instead (for example
`GRANT SELECT ON ALL TABLES IN SCHEMA public TO app_reader`); its writes then raise WarehouseReadOnly.
"""

from __future__ import annotations

import io
import logging
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from psycopg import errors as pg_errors, sql
from psycopg.adapt import Loader
from psycopg.conninfo import conninfo_to_dict
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool, PoolTimeout

from sources.contract import SERIES_COLUMNS, Provenance, SeriesData, SeriesInfo, now_iso
from sources.warehouse import (
    DEFAULT_LOCK_TIMEOUT_S,
    DOCUMENT_PREFIX,
    HISTORY_COLUMNS,
    KEYS,
    HeldLock,
    SchemaOutdated,
    SeriesDump,
    Vintage,
    Warehouse,
    WarehouseBusy,
    WarehouseError,
    WarehouseReadOnly,
    WarehouseUnavailable,
    WriteResult,
    check_derived_key,
    check_series_frame,
    content_hash,
    describe_location,
    document_hash,
    empty_series_frame,
    plan_revision,
)

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
MIGRATION_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
MIGRATE_COMMAND = "python -m sources migrate"

# Advisory lock keys (two-int form, so they cannot collide with another application's single-bigint keys).
LOCK_NAMESPACE = 0x74696564  # "tied"
SERIES_LOCK_NAMESPACE = LOCK_NAMESPACE + 1  # second key: hashtext(series id); a collision only serialises two series
REFRESH_LOCK, MIGRATE_LOCK, COMMIT_ORDER_LOCK = 1, 2, 3
LOCK_POLL_S = 0.1

POOL_MIN, POOL_MAX = 1, 4
CONNECT_TIMEOUT_S = 10
APPLICATION_NAME = "tiedolla"

# The shapes of the text blocks the server aggregates (comma-separated; codes never contain commas or quotes:
# region and period codes are validated on every write).
CURRENT_TYPES = {"region": pa.string(), "period": pa.string(), "value": pa.float64()}
HISTORY_TYPES = {**CURRENT_TYPES, "valid_from": pa.int64(), "valid_to": pa.int64()}

# `||` rather than concat(): a third faster on a large series. A NULL value becomes an empty field; floats print in
# shortest exact notation (extra_float_digits, see `_configure`).
_ROW_TEXT = "region || ',' || period || ',' || coalesce(value::text, '')"
_HISTORY_ROW_TEXT = f"{_ROW_TEXT} || ',' || valid_from || ',' || coalesce(valid_to::text, '')"

# One series' current rows in any order, as one text block (what a write compares with).
_CURRENT_ROWS = f"""
    SELECT string_agg({_ROW_TEXT}, E'\\n') FROM observations WHERE series = %(series)s AND valid_to IS NULL"""
# One series' current rows in region and period order, as the local store keeps them (the aggregate keeps its
# subquery's order; the partial index `observations_current` delivers it without sorting).
_CURRENT_BLOCK = f"""
    SELECT string_agg({_ROW_TEXT}, E'\\n') FROM (
        SELECT region, period, value FROM observations
        WHERE series = {{series}} AND valid_to IS NULL ORDER BY region, period) AS current_rows"""
# The rows valid at a vintage, in the order the local store keeps them: current rows first, then older revisions.
_AS_OF_BLOCK = f"""
    SELECT string_agg({_ROW_TEXT}, E'\\n') FROM (
        (SELECT region, period, value FROM observations
         WHERE series = {{series}} AND valid_to IS NULL AND valid_from <= %(as_of)s ORDER BY region, period)
        UNION ALL
        (SELECT region, period, value FROM observations
         WHERE series = {{series}} AND valid_to > %(as_of)s AND valid_from <= %(as_of)s
         ORDER BY region, period, valid_from)) AS rows_then"""
_HISTORY_BLOCK = f"""
    SELECT string_agg({_HISTORY_ROW_TEXT}, E'\\n') FROM (
        (SELECT region, period, value, valid_from, valid_to FROM observations
         WHERE series = %(series)s AND valid_to IS NULL ORDER BY region, period, valid_from)
        UNION ALL
        (SELECT region, period, value, valid_from, valid_to FROM observations
         WHERE series = %(series)s AND valid_to IS NOT NULL ORDER BY region, period, valid_from)) AS history"""

VINTAGE_COLUMNS = ("id", "series", "created_at", "fetched_at", "data_updated", "content_hash", "new", "changed",
                   "withdrawn", "rows", "source")
_SELECT_VINTAGE = f"SELECT {', '.join(VINTAGE_COLUMNS)} FROM vintages"


class _TextAsBytes(Loader):
    """Load text results as bytes: the aggregated blocks go straight to pyarrow without a str round trip."""

    def load(self, data) -> bytes:
        return bytes(data)


# --- migrations ---------------------------------------------------------------------------------------------------


def migration_files() -> list[tuple[int, str, Path]]:
    """(version, name, path) of the migration files, numbered 1, 2, ... without gaps."""
    found = []
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        match = MIGRATION_FILE.match(path.name)
        if match:
            found.append((int(match.group(1)), path.stem, path))
    if [version for version, _, _ in found] != list(range(1, len(found) + 1)):
        raise WarehouseError(f"The migration files in {MIGRATIONS_DIR} are not numbered 0001, 0002, ... without "
                             f"gaps: {', '.join(path.name for _, _, path in found)}.")
    return found


# --- small conversions ----------------------------------------------------------------------------------------------


class _SessionLock(HeldLock):
    """The advisory lock lives as long as its session: if the connection breaks (a database restart, a network
    cut, an administrator ending the session), another refresh may take the lock, so this one must stop."""

    def __init__(self, connection: psycopg.Connection, location: str) -> None:
        self.connection = connection
        self.location = location

    def verify(self) -> None:
        try:
            self.connection.execute("SELECT 1")
        except psycopg.Error:
            raise WarehouseError(
                f"The refresh lost its lock on the PostgreSQL warehouse at {self.location}: the database session "
                "holding it ended. The refresh stops here so that it cannot overlap another one; every series "
                "written so far is kept, and the next run fetches the rest.") from None


def _iso(moment: datetime | None) -> str | None:
    """A stored timestamp in the format of `now_iso()` (UTC, seconds), as the local store writes it."""
    return None if moment is None else moment.astimezone(UTC).replace(microsecond=0).isoformat()


def _parse_block(block: bytes | None, types: dict[str, pa.DataType]) -> pa.Table | None:
    if not block:
        return None
    return pa_csv.read_csv(
        io.BytesIO(block),
        read_options=pa_csv.ReadOptions(column_names=list(types)),
        parse_options=pa_csv.ParseOptions(quote_char=False),
        convert_options=pa_csv.ConvertOptions(column_types=types, null_values=[""], strings_can_be_null=False),
    )


def _csv_bytes(table: pa.Table) -> bytes:
    """A table as CSV for COPY ... (FORMAT csv): nulls as empty fields, floats in shortest exact notation."""
    buffer = io.BytesIO()
    pa_csv.write_csv(table, buffer, pa_csv.WriteOptions(include_header=False, quoting_style="needed"))
    return buffer.getvalue()


def _copy_in(cursor: psycopg.Cursor, statement: sql.Composable, table: pa.Table) -> None:
    with cursor.copy(statement) as copy:
        copy.write(_csv_bytes(table))


def _fetch_blocks(connection: psycopg.Connection, query: str, params: dict[str, Any]) -> list[tuple]:
    """Rows of a query whose text columns (series ids and aggregated blocks) arrive as bytes."""
    with connection.cursor() as cursor:
        cursor.adapters.register_loader("text", _TextAsBytes)
        return cursor.execute(query, params).fetchall()


def _vintage(row: tuple) -> Vintage:
    record = dict(zip(VINTAGE_COLUMNS, row, strict=True))
    record["created_at"] = _iso(record["created_at"])
    return Vintage(**record)


# --- the backend ----------------------------------------------------------------------------------------------------


class PostgresWarehouse(Warehouse):
    """The warehouse in a PostgreSQL database at `url` (`postgresql://user:password@host:port/dbname`)."""

    def __init__(self, url: str, connect_timeout_s: float = CONNECT_TIMEOUT_S) -> None:
        self.url = url
        self.connect_timeout_s = connect_timeout_s
        self._conninfo: dict[str, Any] = {}
        self.location = describe_location(url)
        try:
            self._conninfo = conninfo_to_dict(url)
        except psycopg.ProgrammingError as exc:
            raise WarehouseUnavailable(
                f"The warehouse location {self.location} is not a valid PostgreSQL URL: {self._scrub(str(exc))}. "
                "Use postgresql://user:password@host:port/database.") from None
        self.location = self._scrub(self.location)  # a password given as `?password=` too
        self._pool: ConnectionPool | None = None
        self._pool_lock = threading.Lock()
        self._schema_checked = False

    # --- connections ----------------------------------------------------------------------------------------------

    def _connect_kwargs(self, application_name: str = APPLICATION_NAME) -> dict[str, Any]:
        return {"connect_timeout": max(1, int(self.connect_timeout_s)), "application_name": application_name}

    @staticmethod
    def _configure(connection: psycopg.Connection) -> None:
        connection.execute(
            # Floats print in shortest exact notation whatever the server's default: values must round-trip.
            "SET extra_float_digits = 3;"
            # No parallel plans: the aggregated blocks rely on their subquery's row order, which a Gather would mix.
            "SET max_parallel_workers_per_gather = 0;"
            # A large series' keys fit in memory for the retirement join and the as-of sort.
            "SET work_mem = '64MB';"
            # Compiling (~0.15 s) costs more than these scans of one series gain from it.
            "SET jit = off")
        if not connection.autocommit:
            connection.commit()

    def _connect(self, application_name: str = APPLICATION_NAME, autocommit: bool = True) -> psycopg.Connection:
        """A connection outside the pool (refresh lock, migrations, probing), errors told in the warehouse's terms."""
        try:
            connection = psycopg.connect(self.url, autocommit=autocommit, **self._connect_kwargs(application_name))
        except psycopg.OperationalError as exc:
            raise self._unavailable(str(exc)) from None
        self._configure(connection)
        return connection

    def _open_pool(self) -> ConnectionPool:
        with self._pool_lock:
            if self._pool is None:
                # Probe first: a refused or unknown host fails here at once with libpq's reason, where the pool
                # would retry quietly until its timeout.
                self._connect().close()
                pool = ConnectionPool(self.url, min_size=POOL_MIN, max_size=POOL_MAX, open=False,
                                      kwargs=self._connect_kwargs(), configure=self._configure,
                                      check=ConnectionPool.check_connection, timeout=self.connect_timeout_s,
                                      name=f"tiedolla {self.location}")
                pool.open(wait=False)
                self._pool = pool
            return self._pool

    def close(self) -> None:
        with self._pool_lock:
            if self._pool is not None:
                self._pool.close()
                self._pool = None

    @contextmanager
    def _transaction(self, writing: bool = False) -> Iterator[psycopg.Connection]:
        """A pooled connection in one transaction, after the schema check; database errors become warehouse
        errors that say what to check."""
        pool = self._open_pool()
        try:
            with pool.connection() as connection:
                if not self._schema_checked:
                    self._check_schema_on(connection)
                with connection.transaction():
                    yield connection
        except PoolTimeout:
            try:
                self._connect().close()  # raises WarehouseUnavailable with libpq's reason when the server is gone
            except WarehouseUnavailable:
                self.close()  # a fresh pool once the server is back, not one still in its reconnect backoff
                raise
            raise self._unavailable(f"no pooled connection became free within {self.connect_timeout_s:g} s "
                                    f"(all {POOL_MAX} are busy)") from None
        except (pg_errors.InsufficientPrivilege, pg_errors.ReadOnlySqlTransaction) as exc:
            raise self._not_allowed(exc, writing) from None
        except (pg_errors.QueryCanceled, pg_errors.LockNotAvailable, psycopg.errors.TransactionRollback) as exc:
            # The server answered but gave up on the statement (timeout, deadlock): nothing was stored.
            raise WarehouseError(
                f"The PostgreSQL warehouse at {self.location} did not complete the operation: "
                f"{self._scrub(' '.join(str(exc).split()))}. Nothing was changed; try again.") from None
        except psycopg.OperationalError as exc:
            self.close()  # the server went away (restart, network): the next call opens a fresh pool and probes
            raise self._unavailable(str(exc)) from None

    # --- messages ---------------------------------------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        password = self._conninfo.get("password")
        return text.replace(password, "***") if password else text

    def _where(self) -> str:
        host = self._conninfo.get("host") or os.environ.get("PGHOST")
        port = self._conninfo.get("port") or os.environ.get("PGPORT") or "5432"
        if not host:
            return f"the default Unix socket folder (/var/run/postgresql), port {port}"
        if host.startswith("/"):
            return f"the Unix socket folder {host}, port {port}"
        return f"host {host}, port {port}"

    def _unavailable(self, reason: str) -> WarehouseUnavailable:
        reason = self._scrub(" ".join(reason.split()))
        return WarehouseUnavailable(
            f"Cannot reach the PostgreSQL warehouse at {self.location} ({self._where()}): {reason}. Check that the "
            "database server is running and accepts connections there, and that the warehouse URL names the right "
            "host, port, database and user.")

    def _role(self) -> str:
        return self._conninfo.get("user") or os.environ.get("PGUSER") or "(default user)"

    def _not_allowed(self, exc: Exception, writing: bool) -> WarehouseError:
        detail = self._scrub(" ".join(str(exc).split()))
        if writing:
            return WarehouseReadOnly(
                f"The PostgreSQL warehouse at {self.location} may only be read by the role {self._role()}: {detail}. "
                "Refresh and seed with the role that owns the warehouse tables; this role can still read.")
        return WarehouseUnavailable(
            f"The role {self._role()} may not read the PostgreSQL warehouse at {self.location}: {detail}. Grant it "
            "SELECT on the warehouse tables (a member of tiedolla_reader may read only the view latest_values).")

    # --- schema -----------------------------------------------------------------------------------------------------

    @staticmethod
    def _stored_versions(connection: psycopg.Connection) -> list[int]:
        exists = connection.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()[0]
        if not exists:
            return []
        return [row[0] for row in connection.execute("SELECT version FROM schema_version ORDER BY version")]

    def _check_schema_on(self, connection: psycopg.Connection) -> None:
        files = migration_files()
        newest = files[-1][0] if files else 0
        with connection.transaction():
            stored = self._stored_versions(connection)
        current = stored[-1] if stored else 0
        if current < newest:
            pending = ", ".join(name for version, name, _ in files if version not in stored)
            state = ("has no Tiedolla schema yet" if not stored else
                     f"has schema version {current}, older than the version {newest} this code needs")
            raise SchemaOutdated(f"The PostgreSQL warehouse at {self.location} {state} (pending: {pending}). Run "
                                 f"`{MIGRATE_COMMAND}` to bring it up to date.")
        if current > newest:
            raise SchemaOutdated(
                f"The PostgreSQL warehouse at {self.location} has schema version {current}, newer than the version "
                f"{newest} this code knows: it was migrated by a newer Tiedolla. Update this installation to the "
                "same version (do not migrate an older one back).")
        self._schema_checked = True

    def check_schema(self) -> None:
        self._schema_checked = False
        with self._transaction():
            pass

    def _pass_on_warning(self, notice: psycopg.errors.Diagnostic) -> None:
        """A migration's own warnings (e.g. the reader role could not be created) reach the person migrating."""
        if notice.severity_nonlocalized == "WARNING":
            log.warning("Migrating %s: %s", self.location, notice.message_primary)

    def migrate(self) -> list[str]:
        """Apply the pending migrations in order, each in its own transaction, while holding the migration lock:
        a second process migrating at the same time waits and then finds nothing left to do."""
        applied: list[str] = []
        connection = self._connect(f"{APPLICATION_NAME} migrate", autocommit=True)
        connection.add_notice_handler(self._pass_on_warning)
        try:
            try:
                connection.execute(f"SET lock_timeout = '{int(DEFAULT_LOCK_TIMEOUT_S)}s'")
                connection.execute("SELECT pg_advisory_lock(%s, %s)", (LOCK_NAMESPACE, MIGRATE_LOCK))
            except pg_errors.LockNotAvailable:
                raise WarehouseBusy(f"Another process has been migrating the PostgreSQL warehouse at {self.location} "
                                    f"for over {DEFAULT_LOCK_TIMEOUT_S:g} s; try again when it has finished.") from None
            try:
                connection.execute("RESET lock_timeout")
                stored = set(self._stored_versions(connection))
                pending = [(version, name, path) for version, name, path in migration_files()
                           if version not in stored]
                if pending:  # an up-to-date schema needs no DDL, so a read-only role may call this too
                    connection.execute("""CREATE TABLE IF NOT EXISTS schema_version (
                        version integer PRIMARY KEY, name text NOT NULL,
                        applied_at timestamptz NOT NULL DEFAULT now())""")
                for version, name, path in pending:
                    try:
                        with connection.transaction():
                            connection.execute(path.read_text(encoding="utf-8"))
                            connection.execute("INSERT INTO schema_version (version, name) VALUES (%s, %s)",
                                               (version, name))
                    except psycopg.ProgrammingError as exc:  # an SQL error in the file (not a privilege error)
                        if isinstance(exc, pg_errors.InsufficientPrivilege):
                            raise
                        raise WarehouseError(
                            f"The migration {name} failed on the PostgreSQL warehouse at {self.location} and was "
                            f"rolled back ({', '.join(applied) or 'none'} applied before it): "
                            f"{self._scrub(' '.join(str(exc).split()))}") from None
                    applied.append(name)
            finally:
                connection.execute("SELECT pg_advisory_unlock(%s, %s)", (LOCK_NAMESPACE, MIGRATE_LOCK))
        except (pg_errors.InsufficientPrivilege, pg_errors.ReadOnlySqlTransaction) as exc:
            raise self._not_allowed(exc, writing=True) from None
        except psycopg.OperationalError as exc:
            raise self._unavailable(str(exc)) from None
        finally:
            connection.close()
        self._schema_checked = False
        return applied

    # --- reading ----------------------------------------------------------------------------------------------------

    def series_ids(self, as_of: int | None = None) -> list[str]:
        with self._transaction() as connection:
            rows = connection.execute(
                """SELECT s.id FROM series s
                   WHERE %(as_of)s::bigint IS NULL
                      OR coalesce((SELECT min(v.id) FROM vintages v WHERE v.series = s.id), 0) <= %(as_of)s
                   ORDER BY s.id""", {"as_of": as_of}).fetchall()
        return [row[0] for row in rows]

    def documents(self) -> list[str]:
        with self._transaction() as connection:
            rows = connection.execute("SELECT name FROM documents ORDER BY name").fetchall()
        return [row[0] for row in rows]

    def read(self, series_ids: list[str] | None = None, as_of: int | None = None) -> pd.DataFrame:
        block = (_CURRENT_BLOCK if as_of is None else _AS_OF_BLOCK).format(series="wanted.id")
        with self._transaction() as connection:
            if series_ids is None:
                wanted = "SELECT id, 0 AS position FROM series"
                order = "wanted.id"
                params: dict[str, Any] = {"as_of": as_of}
            else:
                wanted = "SELECT * FROM unnest(%(ids)s::text[]) WITH ORDINALITY AS given(id, position)"
                order = "wanted.position"
                params = {"as_of": as_of, "ids": list(series_ids)}
            # Walk the current index in its order rather than collect and sort (stale statistics right after a
            # large write would otherwise pick a bitmap scan and a sort).
            connection.execute("SET LOCAL enable_bitmapscan = off; SET LOCAL enable_sort = off")
            rows = _fetch_blocks(
                connection, f"SELECT wanted.id, ({block}) FROM ({wanted}) AS wanted ORDER BY {order}", params)
        tables = []
        for series_id, text in rows:
            table = _parse_block(text, CURRENT_TYPES)
            if table is None:
                continue
            series = pc.take(pa.array([series_id.decode()], pa.string()), np.zeros(table.num_rows, dtype=np.int32))
            tables.append(table.add_column(0, "series", series))
        if not tables:
            return empty_series_frame()
        # Straight into pandas' "string" dtype (the dtype LocalWarehouse.read returns), without a per-value copy.
        string_dtype = pd.StringDtype()
        return pa.concat_tables(tables).to_pandas(
            types_mapper=lambda arrow_type: string_dtype if arrow_type == pa.string() else None)[SERIES_COLUMNS]

    def _current_rows(self, connection: psycopg.Connection, series_id: str) -> pd.DataFrame:
        block = _fetch_blocks(connection, _CURRENT_ROWS, {"series": series_id})[0][0]
        table = _parse_block(block, CURRENT_TYPES)
        if table is None:
            return pd.DataFrame({"region": pd.Series(dtype=str), "period": pd.Series(dtype=str),
                                 "value": pd.Series(dtype="float64")})
        return table.to_pandas()

    def metadata(self, series_id: str, as_of: int | None = None) -> dict[str, Any] | None:
        with self._transaction() as connection:
            stored = connection.execute("SELECT info, provenance, written_at FROM series WHERE id = %s",
                                        (series_id,)).fetchone()
            if stored is None:
                return None
            chosen = connection.execute(
                """SELECT id, provenance FROM vintages
                   WHERE series = %(series)s AND (%(as_of)s::bigint IS NULL OR id <= %(as_of)s)
                   ORDER BY id DESC LIMIT 1""", {"series": series_id, "as_of": as_of}).fetchone()
            if chosen is None and as_of is not None:
                has_vintages = connection.execute("SELECT EXISTS (SELECT FROM vintages WHERE series = %s)",
                                                  (series_id,)).fetchone()[0]
                if has_vintages:
                    return None  # the series did not exist yet at that vintage
            # The tables of every vintage whose values are shown (a series may mix years of two tables).
            tables = [row[0] for row in connection.execute(
                """SELECT DISTINCT v.provenance ->> 'table' FROM vintages v
                   WHERE v.series = %(series)s AND v.id IN (
                       SELECT DISTINCT valid_from FROM observations
                       WHERE series = %(series)s AND valid_from <= coalesce(%(as_of)s::bigint, valid_from)
                         AND (valid_to IS NULL OR valid_to > coalesce(%(as_of)s::bigint, valid_to)))
                   ORDER BY 1""", {"series": series_id, "as_of": as_of}).fetchall() if row[0]]
        info, provenance, written_at = stored
        vintage = None
        if chosen is not None:
            vintage, provenance = chosen
        provenance = Provenance.from_dict(provenance)
        return {"info": SeriesInfo(**info), "provenance": provenance, "written_at": _iso(written_at),
                "vintage": vintage, "tables": tables or [provenance.table]}

    def vintages(self, series_id: str | None = None, limit: int | None = None) -> list[Vintage]:
        query = sql.SQL(_SELECT_VINTAGE)
        params: list[Any] = []
        if series_id is not None:
            query += sql.SQL(" WHERE series = %s")
            params.append(series_id)
        query += sql.SQL(" ORDER BY id DESC")
        if limit:
            query += sql.SQL(" LIMIT %s")
            params.append(limit)
        with self._transaction() as connection:
            rows = connection.execute(query, params).fetchall()
        return [_vintage(row) for row in rows]

    def vintage(self, vintage_id: int) -> Vintage | None:
        with self._transaction() as connection:
            row = connection.execute(_SELECT_VINTAGE + " WHERE id = %s", (vintage_id,)).fetchone()
        return _vintage(row) if row else None

    def latest_vintage_id(self) -> int:
        with self._transaction() as connection:
            return connection.execute("SELECT coalesce(max(id), 0) FROM vintages").fetchone()[0]

    def _status_entries(self) -> dict[str, dict[str, Any]]:
        with self._transaction() as connection:
            rows = connection.execute("SELECT key, entry FROM status ORDER BY key").fetchall()
        # Keys sorted as the local store's status.json has them (jsonb keeps its own key order).
        return {key: dict(sorted(entry.items())) for key, entry in rows}

    def read_document(self, name: str) -> tuple[bytes, Provenance] | None:
        with self._transaction() as connection:
            row = connection.execute("SELECT payload, provenance FROM documents WHERE name = %s",
                                     (name,)).fetchone()
        return None if row is None else (bytes(row[0]), Provenance.from_dict(row[1]))

    # --- writing ----------------------------------------------------------------------------------------------------

    @staticmethod
    def _lock_series(connection: psycopg.Connection, key: str) -> None:
        connection.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (SERIES_LOCK_NAMESPACE, key))

    @staticmethod
    def _next_vintage_id(connection: psycopg.Connection) -> int:
        """Draw the next vintage id while holding the commit-order lock until this transaction ends."""
        connection.execute("SELECT pg_advisory_xact_lock(%s, %s)", (LOCK_NAMESPACE, COMMIT_ORDER_LOCK))
        return connection.execute("SELECT nextval('vintage_ids')").fetchone()[0]

    def _before_commit(self, connection: psycopg.Connection) -> None:
        """Called last inside every write transaction; tests replace it to stop a writer just before COMMIT."""

    def write(self, data: SeriesData, merge: bool = True) -> WriteResult:
        frame = check_series_frame(data)  # a bad frame is refused before the database is touched
        series_id, provenance = data.info.id, data.provenance
        with self._transaction(writing=True) as connection:
            self._lock_series(connection, series_id)
            current = self._current_rows(connection, series_id)
            revision = plan_revision(current, frame, merge, data.covered_regions)
            success = {"last_success": now_iso(), "last_error": None, "source_updated": provenance.data_updated,
                       "source": provenance.source}
            if not revision.changes_anything:
                self._update_status(connection, series_id, success)
                self._before_commit(connection)
                return WriteResult(len(revision.current), 0, 0, 0, None)
            cursor = connection.cursor()
            retires_all = not revision.retire.empty and len(revision.retire) == len(current)
            if not revision.retire.empty and not retires_all:  # staged before the commit-order lock, held briefly
                cursor.execute('CREATE TEMPORARY TABLE retiring (region text COLLATE "C", period text COLLATE "C") '
                               "ON COMMIT DROP")
                _copy_in(cursor, sql.SQL("COPY retiring (region, period) FROM STDIN (FORMAT csv)"),
                         pa.Table.from_pandas(revision.retire[KEYS].astype(str), preserve_index=False))
                cursor.execute("ANALYZE retiring")
            after_hash = content_hash(revision.current)
            vintage_id = self._next_vintage_id(connection)
            self._upsert_series(connection, data.info, provenance)
            if retires_all:  # a full replacement needs no join with the retired keys
                cursor.execute("UPDATE observations SET valid_to = %s WHERE series = %s AND valid_to IS NULL",
                               (vintage_id, series_id))
            elif not revision.retire.empty:
                cursor.execute("""UPDATE observations o SET valid_to = %s FROM retiring r
                                  WHERE o.series = %s AND o.valid_to IS NULL
                                    AND o.region = r.region AND o.period = r.period""", (vintage_id, series_id))
            if not revision.insert.empty:
                inserted = revision.insert[KEYS + ["value"]].astype({"region": str, "period": str})
                table = pa.Table.from_pandas(inserted, preserve_index=False)
                table = table.append_column("series", pa.repeat(pa.scalar(series_id, pa.string()), len(inserted)))
                table = table.append_column("valid_from", pa.repeat(pa.scalar(vintage_id, pa.int64()), len(inserted)))
                _copy_in(cursor, sql.SQL("COPY observations (region, period, value, series, valid_from) "
                                         "FROM STDIN (FORMAT csv)"), table)
            vintage = Vintage(
                id=vintage_id, series=series_id, created_at=now_iso(), fetched_at=provenance.fetched_at,
                data_updated=provenance.data_updated, content_hash=after_hash,
                new=revision.new, changed=revision.changed, withdrawn=revision.withdrawn,
                rows=len(revision.current), source=provenance.source)
            self._insert_vintage(connection, vintage, provenance)
            self._update_status(connection, series_id, success)
            self._before_commit(connection)
        return WriteResult(len(revision.current), revision.new, revision.changed, revision.withdrawn, vintage_id)

    @staticmethod
    def _upsert_series(connection: psycopg.Connection, info: SeriesInfo, provenance: Provenance) -> None:
        connection.execute(
            """INSERT INTO series (id, info, provenance, written_at) VALUES (%s, %s, %s, %s)
               ON CONFLICT (id) DO UPDATE SET info = EXCLUDED.info, provenance = EXCLUDED.provenance,
                                              written_at = EXCLUDED.written_at""",
            (info.id, Jsonb(asdict(info)), Jsonb(provenance.to_dict()), now_iso()))

    @staticmethod
    def _insert_vintage(connection: psycopg.Connection, vintage: Vintage, provenance: Provenance) -> None:
        record = vintage.to_dict()
        connection.execute(
            f"INSERT INTO vintages ({', '.join(VINTAGE_COLUMNS)}, provenance) "
            f"VALUES ({', '.join(['%s'] * len(VINTAGE_COLUMNS))}, %s)",
            [record[column] for column in VINTAGE_COLUMNS] + [Jsonb(provenance.to_dict())])

    @staticmethod
    def _update_status(connection: psycopg.Connection, key: str, fields: dict[str, Any]) -> None:
        connection.execute(
            """INSERT INTO status (key, entry) VALUES (%s, %s)
               ON CONFLICT (key) DO UPDATE SET entry = status.entry || EXCLUDED.entry""",
            (key, Jsonb({**fields, "last_attempt": now_iso()})))

    def write_document(self, name: str, payload: bytes, provenance: Provenance) -> None:
        key = DOCUMENT_PREFIX + name
        digest = document_hash(payload)
        with self._transaction(writing=True) as connection:
            self._lock_series(connection, key)
            stored = connection.execute("SELECT content_hash FROM documents WHERE name = %s", (name,)).fetchone()
            if stored is None or stored[0] != digest:
                vintage = Vintage(id=self._next_vintage_id(connection), series=key, created_at=now_iso(),
                                  fetched_at=provenance.fetched_at, data_updated=provenance.data_updated,
                                  content_hash=digest, new=0 if stored else 1, changed=1 if stored else 0,
                                  withdrawn=0, rows=1, source=provenance.source)
                connection.execute(
                    """INSERT INTO documents (name, payload, content_hash, provenance, written_at)
                       VALUES (%s, %s, %s, %s, %s)
                       ON CONFLICT (name) DO UPDATE SET payload = EXCLUDED.payload,
                           content_hash = EXCLUDED.content_hash, provenance = EXCLUDED.provenance,
                           written_at = EXCLUDED.written_at""",
                    (name, payload, digest, Jsonb(provenance.to_dict()), now_iso()))
                self._insert_vintage(connection, vintage, provenance)
            self._update_status(connection, key, {"last_success": now_iso(), "last_error": None,
                                                  "source_updated": provenance.data_updated,
                                                  "source": provenance.source})
            self._before_commit(connection)

    def record_failure(self, series_id: str, source: str, message: str, detail: dict[str, Any] | None = None) -> None:
        with self._transaction(writing=True) as connection:
            self._update_status(connection, series_id, {"last_error": message, "last_error_detail": detail,
                                                        "last_error_at": now_iso(), "source": source})

    def note_status(self, key: str, fields: dict[str, Any]) -> None:
        with self._transaction(writing=True) as connection:
            self._update_status(connection, key, fields)

    def record_success(self, series_id: str, source: str, data_updated: str | None) -> None:
        with self._transaction(writing=True) as connection:
            self._update_status(connection, series_id, {"last_success": now_iso(), "last_error": None,
                                                        "source_updated": data_updated, "source": source})

    # --- derived tables -----------------------------------------------------------------------------------------------

    def read_derived(self, version: int, name: str, digest: str) -> bytes | None:
        check_derived_key(version, name, digest)
        with self._transaction() as connection:
            row = connection.execute("SELECT payload FROM derived WHERE version = %s AND name = %s AND digest = %s",
                                     (version, name, digest)).fetchone()
        return None if row is None else bytes(row[0])

    def write_derived(self, version: int, name: str, digest: str, payload: bytes) -> None:
        check_derived_key(version, name, digest)
        with self._transaction(writing=True) as connection:
            connection.execute(
                """INSERT INTO derived (version, name, digest, payload) VALUES (%s, %s, %s, %s)
                   ON CONFLICT (version, name, digest) DO UPDATE SET payload = EXCLUDED.payload,
                       written_at = now()""", (version, name, digest, payload))

    def prune_derived(self, keep_versions: int) -> int:
        with self._transaction(writing=True) as connection:
            return connection.execute(
                """WITH kept AS (SELECT DISTINCT version FROM derived ORDER BY version DESC LIMIT %s),
                        dropped AS (DELETE FROM derived WHERE version NOT IN (SELECT version FROM kept)
                                    RETURNING version)
                   SELECT count(DISTINCT version) FROM dropped""", (keep_versions,)).fetchone()[0]

    def sync_areas(self, rows: list[tuple[str, str, str | None, str | None, str | None]]) -> None:
        """Insert or update areas `(code, level, name_fi, name_sv, name_en)`, e.g. from the region registry, so that
        `latest_values` can show area names; areas not named are left as they are."""
        with self._transaction(writing=True) as connection, connection.cursor() as cursor:
            cursor.executemany(
                """INSERT INTO areas (code, level, name_fi, name_sv, name_en) VALUES (%s, %s, %s, %s, %s)
                   ON CONFLICT (code) DO UPDATE SET level = EXCLUDED.level, name_fi = EXCLUDED.name_fi,
                       name_sv = EXCLUDED.name_sv, name_en = EXCLUDED.name_en""",
                [tuple(row) for row in rows])

    # --- refresh lock -----------------------------------------------------------------------------------------------

    @contextmanager
    def refresh_lock(self, timeout_s: float = DEFAULT_LOCK_TIMEOUT_S) -> Iterator[HeldLock]:
        """A session-level advisory lock on a connection of its own, held for the whole refresh; it is released
        when the refresh ends or its process dies (the connection closes)."""
        holder = f"{APPLICATION_NAME} refresh, pid {os.getpid()} on {socket.gethostname()}"[:63]
        connection = self._connect(holder)
        try:
            deadline = time.monotonic() + timeout_s
            while not connection.execute("SELECT pg_try_advisory_lock(%s, %s)",
                                         (LOCK_NAMESPACE, REFRESH_LOCK)).fetchone()[0]:
                if time.monotonic() >= deadline:
                    raise WarehouseBusy(
                        f"Another refresh of the PostgreSQL warehouse at {self.location} is running "
                        f"({self._refresh_holder(connection)}); waited {timeout_s:g} s. Try again when it has "
                        "finished.")
                time.sleep(LOCK_POLL_S)
            try:
                yield _SessionLock(connection, self.location)
            finally:
                if not connection.closed and not connection.broken:
                    connection.execute("SELECT pg_advisory_unlock(%s, %s)", (LOCK_NAMESPACE, REFRESH_LOCK))
        except psycopg.OperationalError as exc:
            raise self._unavailable(str(exc)) from None
        finally:
            connection.close()

    @staticmethod
    def _refresh_holder(connection: psycopg.Connection) -> str:
        row = connection.execute(
            """SELECT a.application_name, a.client_addr::text, a.backend_start
               FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
               WHERE l.locktype = 'advisory' AND l.granted AND l.database = (
                     SELECT oid FROM pg_database WHERE datname = current_database())
                 AND l.classid = %s::bigint::oid AND l.objid = %s::bigint::oid AND l.objsubid = 2""",
            (LOCK_NAMESPACE, REFRESH_LOCK)).fetchone()
        if row is None or not row[0]:
            return "another session"
        name, client, since = row
        return f"{name}{f' from {client}' if client else ''}, since {_iso(since)}"

    # --- moving between backends ------------------------------------------------------------------------------------

    def dump_series(self, series_id: str) -> SeriesDump | None:
        with self._transaction() as connection:
            stored = connection.execute("SELECT info FROM series WHERE id = %s", (series_id,)).fetchone()
            if stored is None:
                return None
            block = _fetch_blocks(connection, _HISTORY_BLOCK, {"series": series_id})[0][0]
            rows = connection.execute(
                f"{_SELECT_VINTAGE.replace('FROM', ', provenance FROM')} WHERE series = %s ORDER BY id",
                (series_id,)).fetchall()
        table = _parse_block(block, HISTORY_TYPES)
        if table is None:
            history = pd.DataFrame({column: pd.Series(dtype="float64") for column in HISTORY_COLUMNS})
        else:
            history = table.to_pandas()
        history = history.astype({"region": str, "period": str})
        vintages = [(_vintage(row[:-1]), Provenance.from_dict(row[-1])) for row in rows]
        return SeriesDump(SeriesInfo(**stored[0]), history, vintages)

    def load_series(self, dump: SeriesDump) -> None:
        series_id = dump.info.id
        with self._transaction(writing=True) as connection:
            self._lock_series(connection, series_id)
            if connection.execute("SELECT EXISTS (SELECT FROM series WHERE id = %s)", (series_id,)).fetchone()[0]:
                raise ValueError(f"The warehouse {self.location} already has the series {series_id}.")
            ids = [vintage.id for vintage, _ in dump.vintages]
            taken = connection.execute("SELECT id FROM vintages WHERE id = ANY(%s) ORDER BY id", (ids,)).fetchall()
            if taken:
                raise ValueError(
                    f"The warehouse {self.location} already has vintages with the ids "
                    f"{', '.join(str(row[0]) for row in taken[:5])} that the series {series_id} brings; load it "
                    "into a warehouse whose vintages do not overlap (e.g. an empty one).")
            provenance = dump.vintages[-1][1] if dump.vintages else Provenance("", "", "", "", None, "")
            self._upsert_series(connection, dump.info, provenance)
            history = dump.history
            if len(history):
                table = pa.table({
                    "series": pa.repeat(pa.scalar(series_id, pa.string()), len(history)),
                    "region": pa.array(history["region"].astype(str).to_numpy(dtype=object), pa.string()),
                    "period": pa.array(history["period"].astype(str).to_numpy(dtype=object), pa.string()),
                    "value": pa.array(history["value"].to_numpy(dtype="float64"), pa.float64(), from_pandas=True),
                    "valid_from": pa.array(history["valid_from"].to_numpy(dtype="int64"), pa.int64()),
                    "valid_to": pa.array(pd.array(history["valid_to"], dtype="Int64"), pa.int64()),
                })
                with connection.cursor() as cursor:
                    _copy_in(cursor, sql.SQL("COPY observations (series, region, period, value, valid_from, "
                                             "valid_to) FROM STDIN (FORMAT csv)"), table)
            for vintage, vintage_provenance in dump.vintages:
                self._insert_vintage(connection, vintage, vintage_provenance)
            if ids:
                # Later writes must draw ids above the loaded ones; under the commit-order lock no writer draws
                # meanwhile.
                connection.execute("SELECT pg_advisory_xact_lock(%s, %s)", (LOCK_NAMESPACE, COMMIT_ORDER_LOCK))
                connection.execute(
                    """SELECT setval('vintage_ids', %(top)s)
                       WHERE %(top)s > (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM vintage_ids)""",
                    {"top": max(ids)})
            self._before_commit(connection)
