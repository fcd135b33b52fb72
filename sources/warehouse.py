"""The local data store: one parquet file per series, with the series description and provenance inside it.

Layout of `warehouse_dir`:
    series/<series id>.parquet   rows `series, region, period, value`; schema metadata `tiedolla` = JSON with
                                 `info` (SeriesInfo), `provenance` and `written_at`
    status.json                  per series: last successful fetch, last attempt, last error

Rules that keep good data safe:
- a write validates the frame first, then writes beside the target and renames over it (`os.replace` is atomic on
  POSIX), so a reader sees either the old file or the new one, and a killed writer leaves the old file intact;
- a write merges: rows of the old file whose region and period the new data does not cover are kept, so a source
  that stops publishing old years does not erase them;
- a failed fetch only records the error in status.json; the series file is untouched.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sources.contract import SERIES_COLUMNS, Provenance, SeriesData, SeriesInfo, now_iso, validate_frame

METADATA_KEY = b"tiedolla"
SCHEMA = pa.schema(
    [
        ("series", pa.dictionary(pa.int32(), pa.string())),
        ("region", pa.dictionary(pa.int32(), pa.string())),
        ("period", pa.dictionary(pa.int32(), pa.string())),
        ("value", pa.float64()),
    ]
)
_status_lock = threading.Lock()


def _atomic_write_bytes(target: Path, write) -> None:
    """Write through `write(file_path)` to a temporary file beside `target`, fsync it, then rename over target."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(handle)
    try:
        write(temporary)
        with open(temporary, "rb") as written:
            os.fsync(written.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class Warehouse:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.series_dir = self.root / "series"
        self.status_path = self.root / "status.json"

    # --- reading ------------------------------------------------------------------------------------------------

    def series_ids(self) -> list[str]:
        if not self.series_dir.exists():
            return []
        return sorted(path.stem for path in self.series_dir.glob("*.parquet"))

    def is_empty(self) -> bool:
        return not self.series_ids()

    def path_for(self, series_id: str) -> Path:
        return self.series_dir / f"{series_id}.parquet"

    def read(self, series_ids: list[str] | None = None) -> pd.DataFrame:
        """Rows of the named series (all when None) in one frame; unknown ids are simply absent."""
        ids = self.series_ids() if series_ids is None else [s for s in series_ids if self.path_for(s).exists()]
        if not ids:
            return pd.DataFrame({column: pd.Series(dtype="string") for column in SERIES_COLUMNS[:3]}).assign(
                value=pd.Series(dtype="float64")
            )
        tables = [pq.read_table(self.path_for(series_id)) for series_id in ids]
        frame = pa.concat_tables([table.replace_schema_metadata(None) for table in tables]).to_pandas()
        for column in SERIES_COLUMNS[:3]:
            frame[column] = frame[column].astype("string")
        return frame

    def metadata(self, series_id: str) -> dict[str, Any] | None:
        """`{"info": SeriesInfo, "provenance": Provenance, "written_at": str}` without reading the rows."""
        path = self.path_for(series_id)
        if not path.exists():
            return None
        raw = (pq.read_schema(path).metadata or {}).get(METADATA_KEY)
        if raw is None:
            return None
        data = json.loads(raw)
        return {
            "info": SeriesInfo(**data["info"]),
            "provenance": Provenance.from_dict(data["provenance"]),
            "written_at": data.get("written_at"),
        }

    def status(self) -> dict[str, dict[str, Any]]:
        try:
            return json.loads(self.status_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except json.JSONDecodeError:
            # A damaged status file must not stop the app: the series files are the data, status is advisory.
            return {}

    # --- writing ------------------------------------------------------------------------------------------------

    def write(self, data: SeriesData, merge: bool = True) -> dict[str, int]:
        """Validate and store one series atomically. Returns counts: rows written, new and changed values."""
        frame = data.frame[SERIES_COLUMNS].copy()
        if (frame["series"] != data.info.id).any():
            raise ValueError(f"frame rows do not all belong to series {data.info.id}")
        validate_frame(frame, f"{data.provenance.source} / {data.info.id}")
        previous = self.read([data.info.id]) if self.path_for(data.info.id).exists() else None
        changes = {"rows": len(frame), "new": len(frame), "changed": 0}
        if previous is not None and not previous.empty:
            keys = ["region", "period"]
            joined = frame.merge(previous[keys + ["value"]], on=keys, how="left", suffixes=("", "_old"), indicator=True)
            existed = joined["_merge"] == "both"
            changes["new"] = int((~existed).sum())
            old, new = joined.loc[existed, "value_old"], joined.loc[existed, "value"]
            changes["changed"] = int(((old != new) & ~(old.isna() & new.isna())).sum())
            if merge:
                kept = previous.merge(frame[keys], on=keys, how="left", indicator=True)
                kept = kept[kept["_merge"] == "left_only"].drop(columns="_merge")
                frame = pd.concat([kept[SERIES_COLUMNS], frame], ignore_index=True)
                changes["rows"] = len(frame)
        frame = frame.sort_values(["region", "period"], kind="stable").reset_index(drop=True)
        metadata = json.dumps(
            {"info": asdict(data.info), "provenance": data.provenance.to_dict(), "written_at": now_iso()},
            ensure_ascii=False,
        )
        table = pa.Table.from_pandas(frame.astype({"series": str, "region": str, "period": str}), preserve_index=False)
        table = table.cast(SCHEMA).replace_schema_metadata({METADATA_KEY: metadata.encode("utf-8")})
        _atomic_write_bytes(self.path_for(data.info.id), lambda path: pq.write_table(table, path))
        self._update_status(
            data.info.id,
            last_success=now_iso(),
            last_error=None,
            source_updated=data.provenance.data_updated,
            source=data.provenance.source,
        )
        return changes

    # --- documents (non-tabular data such as boundaries) --------------------------------------------------------

    def write_document(self, name: str, payload: bytes, provenance: Provenance) -> None:
        """Store a document (e.g. GeoJSON boundaries) atomically, with its provenance beside it."""
        target = self.root / "documents" / name
        _atomic_write_bytes(target, lambda path: Path(path).write_bytes(payload))
        meta = json.dumps({"provenance": provenance.to_dict(), "written_at": now_iso()}, ensure_ascii=False)
        _atomic_write_bytes(target.with_name(name + ".meta.json"), lambda path: Path(path).write_text(meta, "utf-8"))
        self._update_status(
            f"document:{name}", last_success=now_iso(), last_error=None,
            source_updated=provenance.data_updated, source=provenance.source,
        )

    def read_document(self, name: str) -> tuple[bytes, Provenance] | None:
        target = self.root / "documents" / name
        meta_path = target.with_name(name + ".meta.json")
        if not target.exists() or not meta_path.exists():
            return None
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        return target.read_bytes(), Provenance.from_dict(meta["provenance"])

    def record_failure(self, series_id: str, source: str, message: str) -> None:
        """Remember that fetching `series_id` failed; its data stays as it was."""
        self._update_status(series_id, last_error=message, last_error_at=now_iso(), source=source)

    def _update_status(self, series_id: str, **fields: Any) -> None:
        with _status_lock:
            status = self.status()
            entry = status.setdefault(series_id, {})
            entry.update(fields)
            entry["last_attempt"] = now_iso()
            payload = json.dumps(status, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8")
            _atomic_write_bytes(self.status_path, lambda path: Path(path).write_bytes(payload))
