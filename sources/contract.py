"""The source contract: what every adapter offers, returns and raises.

An adapter describes the series it offers (`describe`) and fetches them (`fetch`) as a tidy frame with the fixed
schema `series, region, period, value` plus a `Provenance` record. Region codes are official: `KU###` municipality,
`SK###` sub-region, `MK##` region, `HV##` wellbeing services county, `SSS` whole country. Periods are `YYYY` or
`YYYY-MM`. Failures are typed `SourceError`s whose message tells a user what happened and what to do.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np
import pandas as pd

SERIES_COLUMNS = ["series", "region", "period", "value"]
DOCUMENT_PREFIX = "document:"  # documents' vintages and status keys share the series' key space
REGION_CODE = re.compile(r"^(KU\d{3}|SK\d{3}|MK\d{2}|HV\d{2}|KR\d|SSS)$")
PERIOD_CODE = re.compile(r"^\d{4}(-(0[1-9]|1[0-2]))?$")


# --- errors -------------------------------------------------------------------------------------------------------


class SourceError(Exception):
    """Base of all source failures. `str(error)` is written for the person reading the CLI, in English.

    `code` and `params`, where given, let the app say the same in the reader's language (`source_error.<code>` in
    ui/locales); an error without a code is shown as its message.
    """

    def __init__(self, message: str = "", *, code: str | None = None, **params: Any) -> None:
        super().__init__(message)
        self.code = code
        self.params = params

    def detail(self) -> dict[str, Any] | None:
        """`{"code", "params"}` for the warehouse status, or None when the error has no code."""
        return {"code": self.code, "params": self.params} if self.code else None


class SourceUnavailable(SourceError):
    """The service did not answer, answered with an error, or refused because of rate limits."""


class NotFound(SourceError):
    """The table, indicator or series does not exist (any more) at the source."""


class SchemaChanged(SourceError):
    """The answer does not have the shape the adapter knows: the source changed its format."""


class BadQuery(SourceError):
    """The request asked for something the source cannot answer (unknown region, too large, wrong id-title pair)."""


# --- descriptions ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SeriesInfo:
    """What a series is: enough for a user to judge it and for the catalogue to use it."""

    id: str
    title: dict[str, str]
    unit: str
    publisher: str
    licence: str
    home_url: str
    frequency: str = "annual"  # "annual" or "monthly"
    measure: str = "count"  # "count" (summable), "rate" or "amount"
    description: dict[str, str] = field(default_factory=dict)
    source: str = ""


@dataclass(frozen=True)
class Provenance:
    """Where a fetched frame came from; it travels with the data into the warehouse and under every chart."""

    source: str
    table: str
    request_url: str
    fetched_at: str
    data_updated: str | None
    licence: str
    attribution: str = ""
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["notes"] = list(self.notes)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Provenance:
        known = {key: data.get(key) for key in cls.__dataclass_fields__}
        known["notes"] = tuple(data.get("notes") or ())
        return cls(**known)


@dataclass
class SeriesData:
    """One fetched series: tidy rows plus where they came from."""

    info: SeriesInfo
    frame: pd.DataFrame
    provenance: Provenance
    # The regions this fetch answered for, when it could not cover all it asked (a municipality file missing):
    # stored values of other regions are then kept, not withdrawn. None: the fetch covers every region.
    covered_regions: frozenset[str] | None = None
    # Why the fetch is incomplete (which regions failed), when it is: the refresh stores the rest and reports the
    # series as partly failed, so the gap is shown rather than passed off as success.
    partial_reason: str | None = None
    partial_detail: dict[str, Any] | None = None  # the same as `{"code", "params"}`, for the app to translate


@dataclass
class SeriesFailed:
    """One series of a fetch that failed on its own, with its own reason, while the others were fetched.

    `fetch` may return one in place of a series' SeriesData; a failure shared by every series asked for (the host
    is down) is raised instead, as before.
    """

    series_id: str
    error: SourceError


@runtime_checkable
class SourceAdapter(Protocol):
    """The interface every adapter implements. `name` is the configured instance name, e.g. `statfin`."""

    kind: ClassVar[str]
    name: str

    def describe(self) -> list[SeriesInfo]:
        """The series this adapter offers, without network access where the configuration suffices."""
        ...

    def fetch(
        self,
        series_ids: list[str] | None = None,
        regions: list[str] | None = None,
        periods: list[str] | None = None,
        progress: ProgressCallback | None = None,
    ) -> list[SeriesData | SeriesFailed]:
        """Fetch the named series (all when None); raise a SourceError subclass when all of them failed, and return
        a SeriesFailed for a series that failed on its own."""
        ...


# --- optional capabilities: an adapter offers them by having the method; the refresh asks with isinstance --------


@runtime_checkable
class FetchesBatches(Protocol):
    """Optional: series fetched together (e.g. several contents of one PxWeb table). Each batch is one `fetch` call,
    so one failing table does not fail the others. Without it, the refresh fetches one series per call."""

    def fetch_batches(self, series_ids: list[str]) -> list[list[str]]: ...


@runtime_checkable
class FetchesDocuments(Protocol):
    """Optional: non-tabular data (e.g. boundary GeoJSON), stored with `Warehouse.write_document` under its name.
    Refreshed when no series filter is given."""

    def document_names(self) -> list[str]:
        """The names of the documents it stores, without network access (the due check keeps a status per name)."""
        ...

    def fetch_documents(self, progress: ProgressCallback | None = None) -> list[tuple[str, bytes, Provenance]]: ...


@runtime_checkable
class ChecksPublication(Protocol):
    """Optional: an adapter that can tell cheaply whether its source has published since the last fetch, so that
    `refresh --due` fetches only what changed."""

    def publication_markers(self, keys: list[str], progress: ProgressCallback | None = None
                            ) -> dict[str, str | None]:
        """For each series id (or `DOCUMENT_PREFIX` + document name) asked, a short text that changes whenever the
        source publishes new data: a table's `updated`, an indicator's `data-updated`, an ETag or Last-Modified.
        None where the source cannot tell cheaply. Raises a SourceError when the source cannot be asked at all."""
        ...


class ProgressCallback(Protocol):
    def __call__(self, *, requests: int = 0, cells: int = 0, message: str = "") -> None: ...


# --- helpers shared by adapters ---------------------------------------------------------------------------------


def now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def tidy_frame(series: Any, region: Any, period: Any, value: Any) -> pd.DataFrame:
    """Build a frame in the fixed schema with the fixed dtypes (strings, float64 values with NaN for missing)."""
    frame = pd.DataFrame(
        {
            "series": pd.Series(series, dtype="string") if not isinstance(series, str) else series,
            "region": pd.Series(region, dtype="string"),
            "period": pd.Series(period, dtype="string"),
            "value": pd.to_numeric(pd.Series(value), errors="coerce").astype("float64"),
        }
    )
    frame["series"] = frame["series"].astype("string")
    return frame[SERIES_COLUMNS]


def annual_years(periods: list[str], what: str) -> list[int]:
    """The years among requested periods, for a source that publishes annual data only; BadQuery when none are."""
    years = sorted({int(period) for period in periods if re.fullmatch(r"\d{4}", str(period))})
    if not years:
        raise BadQuery(f"{what} are annual; the periods {', '.join(map(str, periods[:5]))} are not years.")
    return years


def validate_frame(frame: pd.DataFrame, context: str) -> pd.DataFrame:
    """Check a frame against the schema before it may replace anything in the warehouse.

    Raises SchemaChanged naming `context` when columns, codes or periods are wrong, or when the frame is empty.
    """
    missing = [column for column in SERIES_COLUMNS if column not in frame.columns]
    if missing:
        raise SchemaChanged(f"{context}: the data lacks the columns {', '.join(missing)}.")
    if frame.empty:
        raise SchemaChanged(f"{context}: the source returned no rows; the warehouse keeps its previous data.")
    if not pd.api.types.is_float_dtype(frame["value"]):
        raise SchemaChanged(f"{context}: values are not numbers ({frame['value'].dtype}).")
    bad_regions = frame.loc[~frame["region"].astype(str).str.fullmatch(REGION_CODE), "region"].unique()
    if len(bad_regions):
        raise SchemaChanged(f"{context}: unknown region codes {', '.join(map(str, bad_regions[:5]))}.")
    bad_periods = frame.loc[~frame["period"].astype(str).str.fullmatch(PERIOD_CODE), "period"].unique()
    if len(bad_periods):
        raise SchemaChanged(f"{context}: unknown period codes {', '.join(map(str, bad_periods[:5]))}.")
    if frame.duplicated(["series", "region", "period"]).any():
        raise SchemaChanged(f"{context}: the data has duplicate rows for the same region and period.")
    if np.isinf(frame["value"].to_numpy(dtype="float64", na_value=np.nan)).any():
        raise SchemaChanged(f"{context}: the data has infinite values.")
    return frame
