"""The local warehouse backend: one parquet file per series in a folder, every revision and vintage inside it.

Layout of the folder:
    series/<series id>.parquet   rows `series, region, period, value, valid_from, valid_to`: every revision, valid
                                 from the vintage that wrote it until the one that replaced it (null while current);
                                 schema metadata `tiedolla` = JSON with `info`, `provenance`, `written_at` and the
                                 series' `vintages` (each with the provenance of its fetch)
    vintages.json                index of all vintages, derived from the series files and repaired from them
    status.json                  per series: last successful fetch, last attempt, last error
    documents/<name>             documents (boundaries) with `<name>.meta.json`
    derived/<version>/<name>.<digest>
                                 derived tables (indicators.materialise): a cache computed from the series of one
                                 data version, written atomically, pruned to the newest versions; deleting the
                                 folder loses nothing but the time to compute it again
    .write.lock, .refresh.lock   lock files (flock): short per write, long per refresh

Rules that keep good data safe:
- a write validates the frame first, then writes beside the target and renames over it (`os.replace` is atomic on
  POSIX), so a reader sees either the old file or the new one, and a killed writer leaves the old file intact;
  leftover temporary files of killed writers are removed by the next write;
- the index is written after the series file; when a writer was killed in between, the index no longer matches the
  files' signatures and is rebuilt from them (readers do that in memory, the next writer on disk);
- files without revision columns (the bundled snapshot, warehouses from before vintages) read as vintage 0.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sources.contract import SERIES_COLUMNS, Provenance, SeriesData, SeriesInfo, now_iso
from sources.warehouse import (
    DEFAULT_LOCK_TIMEOUT_S,
    DOCUMENT_PREFIX,
    HISTORY_COLUMNS,
    KEYS,
    HeldLock,
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
    document_hash,
    empty_series_frame,
    plan_revision,
    rows_as_of,
)

METADATA_KEY = b"tiedolla"
SCHEMA = pa.schema(
    [
        ("series", pa.dictionary(pa.int32(), pa.string())),
        ("region", pa.dictionary(pa.int32(), pa.string())),
        ("period", pa.dictionary(pa.int32(), pa.string())),
        ("value", pa.float64()),
        ("valid_from", pa.int64()),
        ("valid_to", pa.int64()),
    ]
)
TEMPORARY_SUFFIX = ".tmp"
LEFTOVER_AGE_S = 3600  # a derived table's temporary file this old belongs to a killed writer
_NOT_WRITABLE = (errno.EACCES, errno.EPERM, errno.EROFS)
_thread_lock = threading.RLock()  # flock excludes other processes; this orders the threads of this one


def _process_umask() -> int:
    """The umask, read without changing it (os.umask would set it for every thread meanwhile)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    return 0o022


FILE_MODE = 0o666 & ~_process_umask()  # as an ordinary file would get; mkstemp's own 0600 would lock out readers


def atomic_write_bytes(target: Path, write) -> None:
    """Write through `write(file_path)` to a temporary file beside `target`, fsync it, then rename over target."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=TEMPORARY_SUFFIX, dir=target.parent)
    os.fchmod(handle, FILE_MODE)
    os.close(handle)
    try:
        write(temporary)
        with open(temporary, "rb") as written:
            os.fsync(written.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _signature(path: Path) -> list[int] | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return [stat.st_ino, stat.st_mtime_ns, stat.st_size]


class LocalWarehouse(Warehouse):
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.location = str(self.root)
        self.series_dir = self.root / "series"
        self.documents_dir = self.root / "documents"
        self.derived_dir = self.root / "derived"
        self.status_path = self.root / "status.json"
        self.index_path = self.root / "vintages.json"
        self._index_memo: tuple[Any, dict[str, Any]] | None = None

    # --- files --------------------------------------------------------------------------------------------------

    def path_for(self, series_id: str) -> Path:
        return self.series_dir / f"{series_id}.parquet"

    def _document_meta_path(self, name: str) -> Path:
        return self.documents_dir / f"{name}.meta.json"

    def series_ids(self, as_of: int | None = None) -> list[str]:
        if not self.series_dir.exists():
            return []
        ids = sorted(path.stem for path in self.series_dir.glob("*.parquet"))
        if as_of is None:
            return ids
        first = self._index()["first_vintage"]
        return [series_id for series_id in ids if first.get(series_id, 0) <= as_of]

    def documents(self) -> list[str]:
        if not self.documents_dir.exists():
            return []
        return sorted(path.name[: -len(".meta.json")] for path in self.documents_dir.glob("*.meta.json"))

    def _read_table(self, series_id: str) -> pa.Table | None:
        try:
            table = pq.read_table(self.path_for(series_id))
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise WarehouseUnavailable(f"Cannot read {self.path_for(series_id)}: {exc}") from exc
        if "valid_from" not in table.column_names:  # written before vintages: everything current since vintage 0
            table = table.append_column("valid_from", pa.array([0] * table.num_rows, pa.int64()))
            table = table.append_column("valid_to", pa.nulls(table.num_rows, pa.int64()))
        return table

    @staticmethod
    def _file_metadata(table_or_schema) -> dict[str, Any]:
        raw = (table_or_schema.schema.metadata if hasattr(table_or_schema, "schema") else
               table_or_schema.metadata) or {}
        return json.loads(raw[METADATA_KEY]) if METADATA_KEY in raw else {}

    def _series_metadata(self, series_id: str) -> dict[str, Any]:
        try:
            return self._file_metadata(pq.read_schema(self.path_for(series_id)))
        except FileNotFoundError:
            return {}

    # --- reading ------------------------------------------------------------------------------------------------

    def read(self, series_ids: list[str] | None = None, as_of: int | None = None) -> pd.DataFrame:
        ids = self.series_ids() if series_ids is None else series_ids
        tables = []
        for series_id in ids:
            table = self._read_table(series_id)
            if table is None:
                continue
            if as_of is None:
                mask = pc.is_null(table["valid_to"])
            else:
                valid_to = table["valid_to"]
                mask = pc.and_kleene(pc.less_equal(table["valid_from"], as_of),
                               pc.or_kleene(pc.is_null(valid_to), pc.greater(valid_to, as_of)))
            table = table.filter(mask).select(SERIES_COLUMNS).replace_schema_metadata(None)
            tables.append(table.cast(pa.schema([SCHEMA.field(name) for name in SERIES_COLUMNS])))
        if not tables:
            return empty_series_frame()
        frame = pa.concat_tables(tables).to_pandas()
        for column in SERIES_COLUMNS[:3]:
            frame[column] = frame[column].astype("string")
        return frame

    def metadata(self, series_id: str, as_of: int | None = None) -> dict[str, Any] | None:
        data = self._series_metadata(series_id)
        if not data:
            return None
        provenance, vintage = data["provenance"], None
        for entry in reversed(data.get("vintages", [])):
            if as_of is None or entry["vintage"]["id"] <= as_of:
                provenance, vintage = entry["provenance"], entry["vintage"]["id"]
                break
        else:
            if as_of is not None and data.get("vintages") and as_of < data["vintages"][0]["vintage"]["id"]:
                return None  # the series did not exist yet at that vintage
        provenance = Provenance.from_dict(provenance)
        return {
            "info": SeriesInfo(**data["info"]),
            "provenance": provenance,
            "written_at": data.get("written_at"),
            "vintage": vintage,
            "tables": self._tables_shown(series_id, data, as_of) or [provenance.table],
        }

    def _tables_shown(self, series_id: str, data: dict[str, Any], as_of: int | None) -> list[str]:
        """The tables of every vintage whose values are shown (a series may mix years of two tables)."""
        entries = data.get("vintages", [])
        if len(entries) < 2:
            return [entries[0]["provenance"]["table"]] if entries else []
        columns = pq.read_table(self.path_for(series_id), columns=["valid_from", "valid_to"]).to_pandas()
        shown = set(columns.loc[rows_as_of(columns, as_of), "valid_from"].astype(int))
        return sorted({entry["provenance"]["table"] for entry in entries
                       if entry["vintage"]["id"] in shown and entry["provenance"].get("table")})

    def vintages(self, series_id: str | None = None, limit: int | None = None) -> list[Vintage]:
        records = self._index()["vintages"]
        chosen = [Vintage.from_dict(record) for record in reversed(records)
                  if series_id is None or record["series"] == series_id]
        return chosen[:limit] if limit else chosen

    def vintage(self, vintage_id: int) -> Vintage | None:
        for record in self._index()["vintages"]:
            if record["id"] == vintage_id:
                return Vintage.from_dict(record)
        return None

    def latest_vintage_id(self) -> int:
        return self._index()["latest"]

    def _status_entries(self) -> dict[str, dict[str, Any]]:
        try:
            return json.loads(self.status_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except json.JSONDecodeError:
            # A damaged status file must not stop the app: the series files are the data, status is advisory.
            return {}

    def read_document(self, name: str) -> tuple[bytes, Provenance] | None:
        target, meta_path = self.documents_dir / name, self._document_meta_path(name)
        if not target.exists() or not meta_path.exists():
            return None
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        return target.read_bytes(), Provenance.from_dict(meta["provenance"])

    # --- the vintage index --------------------------------------------------------------------------------------

    def _signatures(self) -> dict[str, list[int] | None]:
        signatures = {series_id: _signature(self.path_for(series_id)) for series_id in self.series_ids()}
        for name in self.documents():
            signatures[DOCUMENT_PREFIX + name] = _signature(self._document_meta_path(name))
        return signatures

    def _index(self) -> dict[str, Any]:
        """The vintage index, checked against the files it was built from (a stat per file) and rebuilt when a
        writer was killed between writing a series and the index."""
        signatures = self._signatures()
        index_signature = _signature(self.index_path)
        memo = self._index_memo
        if memo is not None and memo[0] == (index_signature, signatures):
            return memo[1]
        try:
            stored = json.loads(self.index_path.read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError):
            stored = {}
        index = stored if stored.get("signatures") == signatures else self._build_index(signatures)
        self._index_memo = ((index_signature, signatures), index)
        return index

    def _build_index(self, signatures: dict[str, list[int] | None]) -> dict[str, Any]:
        records: list[dict[str, Any]] = []
        first: dict[str, int] = {}
        for key in signatures:
            if key.startswith(DOCUMENT_PREFIX):
                meta_path = self._document_meta_path(key[len(DOCUMENT_PREFIX):])
                try:
                    entries = json.loads(meta_path.read_text(encoding="utf-8")).get("vintages", [])
                except (FileNotFoundError, json.JSONDecodeError):
                    entries = []
            else:
                entries = self._series_metadata(key).get("vintages", [])
            records.extend(entry["vintage"] for entry in entries)
            first[key] = entries[0]["vintage"]["id"] if entries else 0
        records.sort(key=lambda record: record["id"])
        latest = records[-1]["id"] if records else 0
        return {"latest": latest, "vintages": records, "first_vintage": first, "signatures": signatures}

    def _commit_index(self, before: dict[str, Any], key: str, vintage: Vintage) -> None:
        """Add a vintage just written to `key`'s file to the index `before` the write (under the write lock, where
        the index was made to match the files)."""
        index = dict(before)
        index["vintages"] = index["vintages"] + [vintage.to_dict()]
        index["latest"] = max(index["latest"], vintage.id)
        index["first_vintage"] = {key: vintage.id, **index["first_vintage"]}
        self._save_index({**index, "signatures": self._signatures()})

    def _save_index(self, index: dict[str, Any]) -> None:
        self._index_memo = None
        payload = json.dumps(index, ensure_ascii=False).encode("utf-8")
        atomic_write_bytes(self.index_path, lambda path: Path(path).write_bytes(payload))

    # --- writing ------------------------------------------------------------------------------------------------

    @contextmanager
    def _write_lock(self) -> Iterator[None]:
        """Serialises writers of this folder (processes by flock, threads by a lock) and cleans up after killed
        ones: their temporary files are removed and the index is made to match the files."""
        with self._file_lock(".write.lock"):
            for folder in (self.series_dir, self.documents_dir, self.root):
                if folder.exists():
                    for leftover in folder.glob(f".*{TEMPORARY_SUFFIX}"):
                        leftover.unlink(missing_ok=True)
            if self._stored_signatures() != self._signatures():
                self._save_index(self._build_index(self._signatures()))
            yield

    @contextmanager
    def _file_lock(self, name: str) -> Iterator[None]:
        """An exclusive flock on a lock file of the folder, and the process's thread lock."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            handle = open(self.root / name, "a+")
        except PermissionError as exc:
            raise WarehouseReadOnly(f"The warehouse folder {self.root} is not writable: {exc}") from exc
        with _thread_lock, handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _stored_signatures(self) -> Any:
        try:
            return json.loads(self.index_path.read_text(encoding="utf-8")).get("signatures")
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def write(self, data: SeriesData, merge: bool = True) -> WriteResult:
        frame = check_series_frame(data)
        series_id = data.info.id
        with self._write_lock():
            table = self._read_table(series_id)
            history = (table.select(HISTORY_COLUMNS).to_pandas() if table is not None
                       else pd.DataFrame(columns=HISTORY_COLUMNS))
            history = history.astype({"region": str, "period": str, "value": "float64"})
            stored_metadata = self._file_metadata(table) if table is not None else {}
            current_mask = rows_as_of(history, None)
            revision = plan_revision(history.loc[current_mask, KEYS + ["value"]], frame, merge,
                                     data.covered_regions)
            if not revision.changes_anything:
                self._update_status(series_id, last_success=now_iso(), last_error=None,
                                    source_updated=data.provenance.data_updated, source=data.provenance.source)
                return WriteResult(len(revision.current), 0, 0, 0, None)
            vintage_id = self.latest_vintage_id() + 1
            history = self._apply(history, current_mask, revision, vintage_id)
            vintage = Vintage(
                id=vintage_id, series=series_id, created_at=now_iso(), fetched_at=data.provenance.fetched_at,
                data_updated=data.provenance.data_updated, content_hash=content_hash(revision.current),
                new=revision.new, changed=revision.changed, withdrawn=revision.withdrawn,
                rows=len(revision.current), source=data.provenance.source,
            )
            entries = stored_metadata.get("vintages", []) + [
                {"vintage": vintage.to_dict(), "provenance": data.provenance.to_dict()}]
            index_before = self._index()
            self._write_series_file(series_id, data.info, data.provenance, history, entries)
            self._commit_index(index_before, series_id, vintage)
            self._update_status(series_id, last_success=now_iso(), last_error=None,
                                source_updated=data.provenance.data_updated, source=data.provenance.source)
        return WriteResult(len(revision.current), revision.new, revision.changed, revision.withdrawn, vintage_id)

    @staticmethod
    def _apply(history: pd.DataFrame, current_mask: pd.Series, revision, vintage_id: int) -> pd.DataFrame:
        history = history.copy()
        if not revision.retire.empty:
            retired = history.loc[current_mask, KEYS].reset_index().merge(revision.retire, on=KEYS)["index"]
            history.loc[retired, "valid_to"] = vintage_id
        added = revision.insert.assign(valid_from=vintage_id, valid_to=None)
        return pd.concat([history, added[HISTORY_COLUMNS]], ignore_index=True)

    def _write_series_file(self, series_id: str, info: SeriesInfo, provenance: Provenance,
                           history: pd.DataFrame, entries: list[dict[str, Any]]) -> None:
        history = history.astype({"valid_from": "int64"}).copy()
        history["valid_to"] = pd.array(history["valid_to"], dtype="Int64")
        # Current rows first, each part in region and period order: readers of the latest filter the head.
        history = history.assign(_old=history["valid_to"].notna()).sort_values(
            ["_old", "region", "period", "valid_from"], kind="stable").drop(columns="_old")
        metadata = json.dumps({"info": asdict(info), "provenance": provenance.to_dict(), "written_at": now_iso(),
                               "vintages": entries}, ensure_ascii=False)
        table = pa.Table.from_pandas(history.assign(series=series_id)[SCHEMA.names].astype(
            {"series": str, "region": str, "period": str}), preserve_index=False)
        table = table.cast(SCHEMA).replace_schema_metadata({METADATA_KEY: metadata.encode("utf-8")})
        atomic_write_bytes(self.path_for(series_id), lambda path: pq.write_table(table, path))

    def write_document(self, name: str, payload: bytes, provenance: Provenance) -> None:
        target, meta_path = self.documents_dir / name, self._document_meta_path(name)
        digest = document_hash(payload)
        with self._write_lock():
            try:
                meta = json.loads(meta_path.read_text(encoding="utf-8"))
            except (FileNotFoundError, json.JSONDecodeError):
                meta = {}
            entries = meta.get("vintages", [])
            if not (entries and entries[-1]["vintage"]["content_hash"] == digest and target.exists()):
                vintage = Vintage(id=self.latest_vintage_id() + 1, series=DOCUMENT_PREFIX + name,
                                  created_at=now_iso(), fetched_at=provenance.fetched_at,
                                  data_updated=provenance.data_updated, content_hash=digest,
                                  new=0 if entries else 1, changed=1 if entries else 0, withdrawn=0, rows=1,
                                  source=provenance.source)
                entries = entries + [{"vintage": vintage.to_dict(), "provenance": provenance.to_dict()}]
                atomic_write_bytes(target, lambda path: Path(path).write_bytes(payload))
                text = json.dumps({"provenance": provenance.to_dict(), "written_at": now_iso(),
                                   "vintages": entries}, ensure_ascii=False)
                index_before = self._index()
                atomic_write_bytes(meta_path, lambda path: Path(path).write_text(text, "utf-8"))
                self._commit_index(index_before, DOCUMENT_PREFIX + name, vintage)
            self._update_status(DOCUMENT_PREFIX + name, last_success=now_iso(), last_error=None,
                                source_updated=provenance.data_updated, source=provenance.source)

    def record_failure(self, series_id: str, source: str, message: str, detail: dict[str, Any] | None = None) -> None:
        self._update_status(series_id, last_error=message, last_error_detail=detail, last_error_at=now_iso(),
                            source=source)

    def record_success(self, series_id: str, source: str, data_updated: str | None) -> None:
        self._update_status(series_id, last_success=now_iso(), last_error=None, source_updated=data_updated,
                            source=source)

    def note_status(self, key: str, fields: dict[str, Any]) -> None:
        self._update_status(key, **fields)

    def _update_status(self, series_id: str, **fields: Any) -> None:
        with self._file_lock(".status.lock"):
            status = self._status_entries()
            entry = status.setdefault(series_id, {})
            entry.update(fields)
            entry["last_attempt"] = now_iso()
            payload = json.dumps(status, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8")
            atomic_write_bytes(self.status_path, lambda path: Path(path).write_bytes(payload))

    # --- derived tables -------------------------------------------------------------------------------------------

    def _derived_path(self, version: int, name: str, digest: str) -> Path:
        check_derived_key(version, name, digest)
        return self.derived_dir / str(version) / f"{name}.{digest}"

    def read_derived(self, version: int, name: str, digest: str) -> bytes | None:
        path = self._derived_path(version, name, digest)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise WarehouseUnavailable(f"Cannot read {path}: {exc}") from exc

    def write_derived(self, version: int, name: str, digest: str, payload: bytes) -> None:
        # No write lock: a derived file is written whole and renamed into place, and two writers of one key write
        # the same bytes, so the last rename wins harmlessly.
        path = self._derived_path(version, name, digest)
        try:
            atomic_write_bytes(path, lambda temporary: Path(temporary).write_bytes(payload))
        except OSError as exc:
            if exc.errno in _NOT_WRITABLE:
                raise WarehouseReadOnly(f"The warehouse folder {self.root} is not writable: {exc}") from exc
            raise WarehouseError(f"Cannot write {path}: {exc}") from exc

    def prune_derived(self, keep_versions: int) -> int:
        if not self.derived_dir.exists():
            return 0
        versions = sorted((int(folder.name) for folder in self.derived_dir.iterdir()
                           if folder.is_dir() and folder.name.isdigit()), reverse=True)
        for version in versions[keep_versions:]:
            shutil.rmtree(self.derived_dir / str(version), ignore_errors=True)
        now = time.time()
        for version in versions[:keep_versions]:
            for leftover in (self.derived_dir / str(version)).glob(f".*{TEMPORARY_SUFFIX}"):
                try:
                    if now - leftover.stat().st_mtime > LEFTOVER_AGE_S:
                        leftover.unlink()
                except FileNotFoundError:
                    pass
        return max(0, len(versions) - keep_versions)

    # --- refresh lock -------------------------------------------------------------------------------------------

    @contextmanager
    def refresh_lock(self, timeout_s: float = DEFAULT_LOCK_TIMEOUT_S) -> Iterator[HeldLock]:
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / ".refresh.lock"
        with open(path, "a+") as handle:
            deadline = time.monotonic() + timeout_s
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        handle.seek(0)
                        holder = handle.read().strip() or "another process"
                        raise WarehouseBusy(
                            f"Another refresh of the warehouse {self.root} is running ({holder}); waited "
                            f"{timeout_s:g} s. Try again when it has finished.") from None
                    time.sleep(0.1)
            try:
                handle.seek(0)
                handle.truncate()
                handle.write(f"pid {os.getpid()} on {socket.gethostname()} since {now_iso()}")
                handle.flush()
                yield HeldLock()
            finally:
                handle.seek(0)
                handle.truncate()
                fcntl.flock(handle, fcntl.LOCK_UN)

    # --- moving between backends --------------------------------------------------------------------------------

    def dump_series(self, series_id: str) -> SeriesDump | None:
        table = self._read_table(series_id)
        if table is None:
            return None
        data = self._file_metadata(table)
        history = table.select(HISTORY_COLUMNS).to_pandas().astype({"region": str, "period": str})
        vintages = [(Vintage.from_dict(entry["vintage"]), Provenance.from_dict(entry["provenance"]))
                    for entry in data.get("vintages", [])]
        return SeriesDump(SeriesInfo(**data["info"]), history, vintages)

    def load_series(self, dump: SeriesDump) -> None:
        with self._write_lock():
            if self.path_for(dump.info.id).exists():
                raise ValueError(f"The warehouse {self.root} already has the series {dump.info.id}.")
            entries = [{"vintage": vintage.to_dict(), "provenance": provenance.to_dict()}
                       for vintage, provenance in dump.vintages]
            provenance = dump.vintages[-1][1] if dump.vintages else Provenance("", "", "", "", None, "")
            self._write_series_file(dump.info.id, dump.info, provenance, dump.history, entries)
            self._save_index(self._build_index(self._signatures()))
