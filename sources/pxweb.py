"""PxWeb API v1 adapter: Statistics Finland (pxdata.stat.fi) and Traficom (trafi2.stat.fi) as configured instances.

Service: PxWeb API v1, `{base_url}{database}/{folder}/{table}.px` (GET = table metadata, POST = data query), with the
host's limits at `GET {base_url}?config`. Terms: Statistics Finland and Traficom publish these statistics as open data
under CC BY 4.0; cite the publisher ("Statistics Finland", "Traficom") with the table id and date. Every fetched
series carries that attribution in its `Provenance`.

One adapter class serves every PxWeb host: a host is a `[sources.NAME]` table with `kind = "pxweb"` and a `base_url`,
and each series is declared as `[[sources.NAME.series]]` with adapter keys:

    table        "StatFin/tyonv/12r5", or a list of candidate tables tried in order (the first whose metadata has
                 the wanted content is used)
    content      the text of the content value, e.g. "Työttömät" (exact text first, then the unique value that
                 starts with it); or `content_code`, a regular expression matched against value codes
    select       fixed values of other variables, keyed by variable text or code, valued by value code or text,
                 e.g. { "Käyttövoima" = "04" }
    top / since  the latest N periods / periods from "YYYY" or "YYYY-MM" on (default: all periods)

Source keys: `region_code_map` (host code -> official code, e.g. Traficom `MA1` -> `SSS`), `total_values` (value
codes or texts that mean "total" on this host, e.g. Traficom `YH`), `max_retries`, `backoff_base_s`.

Variable codes are never written in code or configuration: since the StatFin change of 8 June 2026 they carry
classification dates (`alue_23_20260101`), so the adapter reads the table metadata first and finds the region, time
and content variables by role and text, then builds the query. Series that share a table are fetched with one
query; a query over the host's cell limit is split into as few POSTs as possible.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import requests
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sources.base import ConfiguredAdapter
from sources.contract import (
    REGION_CODE,
    BadQuery,
    NotFound,
    ProgressCallback,
    Provenance,
    SchemaChanged,
    SeriesData,
    SeriesFailed,
    SourceError,
    now_iso,
    tidy_frame,
)
from sources.http import (
    BACKOFF_BASE_S,
    MAX_RETRIES_DEFAULT,
    TIME_BUDGET_DEFAULT_S,
    SourceClient,
    decode_json,
    host_throttle,
)
from sources.settings import ConfigError, SeriesConfig, Settings, SourceConfig

# Limits used when the host's `?config` answer lacks them: the older documented description of Statistics Finland's
# service (30 calls per 10 s, 100 000 cells per query), lower than today's 40 per 60 s / 120 000, so safe either way.
MAX_CELLS_DEFAULT = 100_000  # cells per query
MAX_CALLS_DEFAULT = 30  # calls per time window
TIME_WINDOW_DEFAULT_S = 10.0

# Variable texts (fi, sv, en) that mark the region and time variables when the metadata does not flag them.
REGION_VARIABLE_TEXTS = ("alue", "kunta", "maakunta", "område", "kommun", "landskap", "area", "region", "municipality")
TIME_VARIABLE_TEXTS = ("vuosi", "kuukausi", "år", "månad", "year", "month")
# Variable texts of the "contents" variable, preferred when a configured content text matches in several variables.
CONTENT_VARIABLE_TEXTS = ("tiedot", "uppgifter", "information", "data", "contents")
# Value texts that mean "all of them" for a variable that cannot be eliminated.
TOTAL_VALUE_TEXTS = ("yhteensä", "kaikki", "totalt", "samtliga", "total", "all")
TOTAL_VALUE_CODES = ("SSS",)
# Official area codes that identify a region variable by its values (SSS alone does not: it is also "total").
AREA_VALUE = re.compile(r"^(KU\d{3}|SK\d{3}|MK\d{2}|HV\d{2})$")
PERIOD_YEAR = re.compile(r"^\d{4}$")
PERIOD_MONTH = re.compile(r"^(\d{4})M(0[1-9]|1[0-2])$")
TIDY_PERIOD = re.compile(r"^\d{4}(-(0[1-9]|1[0-2]))?$")


# --- configuration ---------------------------------------------------------------------------------------------


class PxSourceOptions(BaseModel):
    """The keys of a `[sources.NAME]` table of kind pxweb that this adapter reads."""

    model_config = ConfigDict(extra="ignore")

    base_url: str = Field(min_length=1)
    region_code_map: dict[str, str] = Field(default_factory=dict)
    total_values: list[str] = Field(default_factory=list)
    max_retries: int = Field(default=MAX_RETRIES_DEFAULT, ge=0)
    backoff_base_s: float = Field(default=BACKOFF_BASE_S, ge=0)
    time_budget_s: float = Field(default=TIME_BUDGET_DEFAULT_S, gt=0)
    # The host's documented limits, used when its `?config` does not answer (a guess would be refused with 403).
    max_cells: int = Field(default=MAX_CELLS_DEFAULT, ge=1)
    max_calls: int = Field(default=MAX_CALLS_DEFAULT, ge=1)
    time_window_s: float = Field(default=TIME_WINDOW_DEFAULT_S, gt=0)

    @field_validator("base_url")
    @classmethod
    def _ends_with_slash(cls, value: str) -> str:
        # Table paths are appended to the base, so "…/api/v1/fi" and "…/api/v1/fi/" must mean the same.
        return value if value.endswith("/") else value + "/"


class PxSeriesOptions(BaseModel):
    """The adapter keys of one `[[sources.NAME.series]]` entry (see the module docstring)."""

    model_config = ConfigDict(extra="ignore")

    table: list[str]
    content: str | None = None
    content_code: str | None = None
    select: dict[str, str] = Field(default_factory=dict)
    top: int | None = Field(default=None, ge=1)
    since: str | None = Field(default=None, pattern=TIDY_PERIOD.pattern)

    @field_validator("table", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("table")
    @classmethod
    def _table_paths(cls, value: list[str]) -> list[str]:
        if not value or not all(path.strip("/") for path in value):
            raise ValueError("needs at least one table path such as 'StatFin/tyonv/12r5'")
        return [path.strip("/").removesuffix(".px") for path in value]

    @field_validator("content_code")
    @classmethod
    def _valid_pattern(cls, value: str | None) -> str | None:
        if value is not None:
            re.compile(value)
        return value


# --- metadata --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PxLimits:
    """What the host allows: cells per query and calls per time window."""

    max_cells: int
    max_calls: int
    time_window_s: float
    from_host: bool = True  # read from the host's ?config (else the documented limits in config.toml)


@dataclass(frozen=True)
class PxVariable:
    code: str
    text: str
    values: tuple[str, ...]
    value_texts: tuple[str, ...]
    elimination: bool = False
    time: bool = False
    map: str | None = None

    def text_of(self, value: str) -> str:
        return self.value_texts[self.values.index(value)]


@dataclass(frozen=True)
class PxTable:
    """Table metadata with its region and time variables identified."""

    path: str
    url: str
    title: str
    variables: tuple[PxVariable, ...]
    region: PxVariable
    time: PxVariable

    def others(self) -> list[PxVariable]:
        return [v for v in self.variables if v.code not in (self.region.code, self.time.code)]


@dataclass(frozen=True)
class SeriesPlan:
    """How one configured series is read from one table: fixed values per variable and the wanted periods."""

    series: SeriesConfig
    table: PxTable
    fixed: dict[str, str]  # variable code -> value code, for every variable that is not eliminated
    eliminated: frozenset[str]
    times: tuple[str, ...]  # the table's own time codes
    notes: tuple[str, ...] = ()

    @property
    def group_key(self) -> tuple[str, frozenset[str]]:
        # Series in one table with the same eliminated variables can share a query: the other variables then
        # carry the union of their values, and each series picks its own cells from the answer.
        return (self.table.path, self.eliminated)


@dataclass
class _Collected:
    pieces: list[pd.DataFrame] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    table_id: str = ""


# --- the adapter -------------------------------------------------------------------------------------------------


class PxWebAdapter(ConfiguredAdapter):
    """Any PxWeb API v1 host; which tables and contents make a series is configuration (see module docstring)."""

    kind: ClassVar[str] = "pxweb"
    # The keys config.toml may give beyond the common ones (sources/settings.py checks them, with a "did you mean").
    SOURCE_KEYS: ClassVar[frozenset[str]] = frozenset(PxSourceOptions.model_fields) - {"base_url"}
    SERIES_KEYS: ClassVar[frozenset[str]] = frozenset(PxSeriesOptions.model_fields)
    USES_CLIENT_KEYS: ClassVar[bool] = False  # its own options above hold the client's settings

    def __init__(self, name: str, config: SourceConfig, settings: Settings,
                 session: requests.Session | None = None) -> None:
        super().__init__(name, config, settings, session)
        try:
            self.options = PxSourceOptions.model_validate(config.model_dump())
        except ValidationError as exc:
            raise ConfigError(f"[sources.{name}] (kind pxweb) is invalid: {_validation_problems(exc)}.") from None
        self.series_options: dict[str, PxSeriesOptions] = {}
        for series in config.series:
            try:
                self.series_options[series.id] = PxSeriesOptions.model_validate(series.model_extra or {})
            except ValidationError as exc:
                raise ConfigError(
                    f"[sources.{name}] series '{series.id}' is invalid: {_validation_problems(exc)}."
                ) from None
        self.publisher_name = config.attribution or config.publisher or name
        self.limits: PxLimits | None = None
        # The documented limits until `read_limits` sets the throttle from the host's ?config; either way shared by
        # every process on this machine that calls the host.
        self.client = SourceClient(
            settings.user_agent,
            session,
            timeout=(config.timeout_connect_s, config.timeout_read_s),
            max_retries=self.options.max_retries,
            backoff_base_s=self.options.backoff_base_s,
            time_budget_s=self.options.time_budget_s,
            throttle=self._throttle(self.options.max_calls, self.options.time_window_s),
        )
        self._tables: dict[str, PxTable] = {}

    # --- public interface ------------------------------------------------------------------------------------

    def fetch_batches(self, series_ids: list[str]) -> list[list[str]]:
        """Series that share configured tables, so a refresh fetches each batch in one call and one failing table
        does not fail the others."""
        batches: dict[tuple[str, ...], list[str]] = {}
        for series_id in series_ids:
            batches.setdefault(tuple(self.series_options[series_id].table), []).append(series_id)
        return list(batches.values())

    def fetch(
        self,
        series_ids: list[str] | None = None,
        regions: list[str] | None = None,
        periods: list[str] | None = None,
        progress: ProgressCallback | None = None,
    ) -> list[SeriesData]:
        wanted = self.select_series(series_ids)
        self.read_limits(progress)
        # Each series is planned on its own: one ambiguous or missing content fails that series, with its own
        # reason, and the table's other series are still fetched.
        results: dict[str, SeriesData | SeriesFailed] = {}
        plans: list[SeriesPlan] = []
        for series in wanted:
            try:
                plans.append(self.plan(series, periods, progress))
            except SourceError as exc:
                results[series.id] = SeriesFailed(series.id, exc)
        if not plans:
            raise next(iter(results.values())).error
        groups: dict[tuple[str, frozenset[str]], list[SeriesPlan]] = {}
        for plan in plans:
            groups.setdefault(plan.group_key, []).append(plan)
        for group in groups.values():
            for item in self._fetch_group(group, regions, progress):
                results[item.series_id if isinstance(item, SeriesFailed) else item.info.id] = item
        return [results[series.id] for series in wanted]

    # --- limits and metadata -----------------------------------------------------------------------------------

    def read_limits(self, progress: ProgressCallback | None = None) -> PxLimits:
        """The host's limits from `GET {base}?config`, read once per adapter; documented defaults where missing."""
        if self.limits is not None:
            return self.limits
        answer: Any = {}
        try:
            answer = self._get_json(
                self.options.base_url + "?config", f"{self.publisher_name} (?config)", progress, "limits"
            )
        except (NotFound, BadQuery, SchemaChanged):
            # Some PxWeb installations do not offer ?config: the host's documented limits from config.toml apply.
            answer = {}
        answer = answer if isinstance(answer, dict) else {}
        cell_limits = [_positive_int(answer.get(key)) for key in ("maxValues", "maxCells")]
        cell_limits = [limit for limit in cell_limits if limit]
        options = self.options
        self.limits = PxLimits(
            max_cells=min(cell_limits) if cell_limits else options.max_cells,
            max_calls=_positive_int(answer.get("maxCalls")) or options.max_calls,
            time_window_s=float(_positive_int(answer.get("timeWindow")) or options.time_window_s),
            from_host=bool(cell_limits),
        )
        # The ?config call itself went through the documented limits' throttle, which shares its record of calls.
        self.client.throttle = self._throttle(self.limits.max_calls, self.limits.time_window_s)
        return self.limits

    def _throttle(self, max_calls: int, window_s: float):
        return host_throttle(self.settings.refresh.rate_limit_path, self.options.base_url, max_calls, window_s)

    def publication_markers(self, keys: list[str], progress: ProgressCallback | None = None
                            ) -> dict[str, str | None]:
        """Each series' tables with their `updated` from the folder listings (`GET {base}{folder}/`, one request per
        folder): the cheap question whether the publisher has updated a table since the last fetch. The host's
        limits are read first, so that even these requests keep its rate limit."""
        self.read_limits(progress)
        listings: dict[str, dict[str, str]] = {}
        markers: dict[str, str | None] = {}
        for series_id in keys:
            options = self.series_options.get(series_id)
            if options is None:
                continue
            parts = []
            for path in options.table:
                folder, _, name = path.rpartition("/")
                if folder not in listings:
                    listings[folder] = self._folder_updates(folder, progress)
                parts.append(f"{path}@{listings[folder][name]}" if name in listings[folder] else None)
            markers[series_id] = None if None in parts else ";".join(parts)
        return markers

    def _folder_updates(self, folder: str, progress: ProgressCallback | None) -> dict[str, str]:
        """Table name (`12r5`; also the long pre-June-2026 form) -> `updated`, from a folder listing; empty when the
        listing is missing or has no dates (the series are then fetched by their rhythm)."""
        try:
            listing = self._get_json(f"{self.options.base_url}{folder}/", f"{self.publisher_name} ({folder}/)",
                                     progress, "listing")
        except (NotFound, BadQuery, SchemaChanged):
            return {}
        updates: dict[str, str] = {}
        for item in listing if isinstance(listing, list) else []:
            if isinstance(item, dict) and item.get("type") == "t" and item.get("updated") and item.get("id"):
                name = str(item["id"]).removesuffix(".px")
                updates[name] = updates[re.sub(r"^.*_pxt_", "", name)] = str(item["updated"])
        return updates

    def table(self, path: str, progress: ProgressCallback | None = None) -> PxTable:
        """Metadata of a table (GET), read once per adapter and table."""
        if path not in self._tables:
            url = f"{self.options.base_url}{path}.px"
            payload = self._get_json(url, self._context(path), progress, "metadata")
            self._tables[path] = parse_metadata(payload, path, url, self._context(path))
        return self._tables[path]

    def plan(self, series: SeriesConfig, periods: list[str] | None = None, progress=None) -> SeriesPlan:
        """Resolve a configured series against table metadata: the first candidate table with the content wins."""
        options = self.series_options[series.id]
        reasons: list[str] = []
        for path in options.table:
            try:
                table = self.table(path, progress)
                return self._plan_in_table(series, options, table, periods)
            except (NotFound, BadQuery) as exc:
                if len(options.table) == 1:
                    raise
                reasons.append(str(exc))
        raise NotFound(
            f"{self.publisher_name}: none of the tables {', '.join(options.table)} offers series '{series.id}': "
            + " ".join(reasons)
        )

    def _plan_in_table(
        self, series: SeriesConfig, options: PxSeriesOptions, table: PxTable, periods: list[str] | None
    ) -> SeriesPlan:
        context = self._context(table.path)
        fixed: dict[str, str] = {}
        notes: list[str] = []
        if options.content is not None or options.content_code is not None:
            variable, value = find_content(table, options.content, options.content_code, context)
            fixed[variable.code] = value
            notes.append(f"{variable.text}: {variable.text_of(value)} ({value})")
        for wanted_variable, wanted_value in options.select.items():
            variable = _find_variable(table, wanted_variable, context)
            value = _find_value(variable, wanted_value, context)
            fixed[variable.code] = value
            notes.append(f"{variable.text}: {variable.text_of(value)} ({value})")
        eliminated: set[str] = set()
        for variable in table.others():
            if variable.code in fixed:
                continue
            if variable.elimination:
                eliminated.add(variable.code)
            else:
                fixed[variable.code] = self._total_value(variable, context)
        times = select_times(table.time, options.top, options.since, periods, context)
        return SeriesPlan(series, table, fixed, frozenset(eliminated), times, tuple(notes))

    def _total_value(self, variable: PxVariable, context: str) -> str:
        """The value standing for "all" of a variable the host does not let the query leave out."""
        if len(variable.values) == 1:
            return variable.values[0]
        configured = [total.casefold() for total in self.options.total_values]
        for candidates in (configured, [code.casefold() for code in TOTAL_VALUE_CODES], TOTAL_VALUE_TEXTS):
            for code, text in zip(variable.values, variable.value_texts):
                if code.casefold() in candidates or text.strip().casefold() in candidates:
                    return code
        raise BadQuery(
            f"{context}: the variable '{variable.text}' cannot be left out and has no total value; "
            f"choose one in config.toml, e.g. select = {{ \"{variable.text}\" = \"{variable.value_texts[0]}\" }}."
        )

    # --- data --------------------------------------------------------------------------------------------------

    def _fetch_group(
        self, plans: list[SeriesPlan], regions: list[str] | None, progress: ProgressCallback | None
    ) -> list[SeriesData | SeriesFailed]:
        table = plans[0].table
        context = self._context(table.path)
        region_map = self.options.region_code_map
        wanted_regions = set(regions) if regions is not None else None
        region_values = [
            code
            for code in table.region.values
            if REGION_CODE.fullmatch(region_map.get(code, code))
            and (wanted_regions is None or region_map.get(code, code) in wanted_regions)
        ]
        if not region_values:
            raise SchemaChanged(
                f"{context}: the region variable '{table.region.text}' has no official region codes "
                f"(KU###, MK##, SSS; first values: {', '.join(table.region.values[:5])}). Set region_code_map in "
                "config.toml if the host uses its own codes."
            )
        wanted_times = {time for plan in plans for time in plan.times}
        time_values = [code for code in table.time.values if code in wanted_times]
        fixed_values: dict[str, list[str]] = {}
        for variable in table.others():
            chosen = {plan.fixed[variable.code] for plan in plans if variable.code in plan.fixed}
            if chosen:
                fixed_values[variable.code] = [code for code in variable.values if code in chosen]
        other_cells = math.prod(len(values) for values in fixed_values.values())
        chunks = split_query(len(region_values), len(time_values), other_cells, self.read_limits().max_cells)
        if not chunks:
            raise BadQuery(
                f"{context}: one region and period alone need {other_cells} cells, more than the host allows "
                f"({self.read_limits().max_cells}); configure fewer series from this table."
            )
        collected = {plan.series.id: _Collected() for plan in plans}
        for number, (region_slice, time_slice) in enumerate(chunks, start=1):
            selection: dict[str, list[str]] = {}
            for variable in table.variables:
                if variable.code == table.region.code:
                    selection[variable.code] = region_values[region_slice]
                elif variable.code == table.time.code:
                    selection[variable.code] = time_values[time_slice]
                elif variable.code in fixed_values:
                    selection[variable.code] = fixed_values[variable.code]
            cells = math.prod(len(values) for values in selection.values())
            part = f" part {number}/{len(chunks)}" if len(chunks) > 1 else ""
            try:
                payload = self._post_json(table.url, context, query_body(selection), progress, cells, part)
            except BadQuery as exc:
                if getattr(exc, "status", None) != 403:
                    raise
                limits = self.read_limits()
                origin = "the host's ?config" if limits.from_host else "max_cells in config.toml (no ?config answer)"
                raise BadQuery(
                    f"{context}: the host refused the query (HTTP 403); it may be too large for the host. It asked "
                    f"{cells} cells{part}, split into {len(chunks)} queries of at most {limits.max_cells} cells as "
                    f"{origin} allows; lower max_cells for [sources.{self.name}] in config.toml."
                ) from None
            frame = parse_json_stat2(payload)
            table_id = _table_id(payload) or table.path.rsplit("/", 1)[-1]
            for plan in plans:
                piece = self._series_rows(frame, plan, selection, context)
                collected[plan.series.id].pieces.append(piece)
                collected[plan.series.id].table_id = table_id
                if isinstance(payload.get("updated"), str):
                    collected[plan.series.id].updated.append(payload["updated"])
        results = []
        fetched_at = now_iso()
        for plan in plans:
            gathered = collected[plan.series.id]
            frame = pd.concat(gathered.pieces, ignore_index=True)
            if frame.empty or frame["value"].isna().all():
                results.append(SeriesFailed(plan.series.id, NotFound(
                    f"{context}: the service returned no values for '{plan.series.id}'. The table may have been "
                    "emptied or the selection no longer exists; the warehouse keeps its previous data."
                )))
                continue
            provenance = Provenance(
                source=self.name,
                table=gathered.table_id,
                request_url=table.url,
                fetched_at=fetched_at,
                data_updated=max(gathered.updated) if gathered.updated else None,
                licence=self.config.licence,
                attribution=self.config.attribution,
                notes=(f"{table.title} ({table.path})", *plan.notes),
            )
            results.append(SeriesData(self.info_for(plan.series), frame, provenance))
        return results

    def _series_rows(
        self, frame: pd.DataFrame, plan: SeriesPlan, selection: dict[str, list[str]], context: str
    ) -> pd.DataFrame:
        """Pick one series' cells from a decoded answer and map them to the tidy schema."""
        table = plan.table
        for required in (table.region.code, table.time.code):
            if required not in frame.columns:
                raise SchemaChanged(
                    f"{context}: the answer lacks the variable '{required}' it was asked for; the service may have "
                    "changed its format."
                )
        mask = np.ones(len(frame), dtype=bool)
        for code, value in plan.fixed.items():
            if code in frame.columns:
                mask &= (frame[code] == value).to_numpy()
            elif len(selection.get(code, ())) > 1:
                raise SchemaChanged(f"{context}: the answer lacks the variable '{code}' it was asked for.")
        for column in frame.columns:
            other = column not in plan.fixed and column not in (table.region.code, table.time.code, "value")
            if other and frame[column].nunique() > 1:
                raise SchemaChanged(f"{context}: the answer splits by '{column}', which the query left out.")
        mask &= frame[table.time.code].isin(plan.times).to_numpy()
        rows = frame.loc[mask]
        region_map = self.options.region_code_map
        region = _map_categories(rows[table.region.code], lambda code: region_map.get(code, code))
        period = _map_categories(rows[table.time.code], normalise_period)
        # Codes outside the official forms (a Traficom sub-area, a host's own aggregate) are not ours to store.
        known = np.array([bool(REGION_CODE.fullmatch(code)) for code in region.categories], dtype=bool)[region.codes]
        return tidy_frame(
            plan.series.id,
            np.asarray(region)[known],
            np.asarray(period)[known],
            rows["value"].to_numpy()[known],
        )

    # --- HTTP ----------------------------------------------------------------------------------------------------

    def _context(self, path: str) -> str:
        return f"{self.publisher_name} ({path})"

    def _send(self, method: str, url: str, context: str, progress: ProgressCallback | None, message: str,
              **kwargs: Any) -> Any:
        # Every HTTP attempt counts as a request, failed ones and retries too (SourceClient reports them).
        response = self.client.send(method, url, context=context, progress=progress, message=message, **kwargs)
        return decode_json(response, context)

    def _get_json(self, url: str, context: str, progress: ProgressCallback | None, what: str) -> Any:
        return self._send("GET", url, context, progress, f"{context}: {what}")

    def _post_json(
        self, url: str, context: str, body: dict, progress: ProgressCallback | None, cells: int, part: str
    ) -> dict:
        payload = self._send("POST", url, context, progress, f"{context}: query{part}", json=body)
        if not isinstance(payload, dict):
            raise SchemaChanged(f"{context}: the answer is not a json-stat2 dataset.")
        if progress is not None:
            progress(cells=cells, message=f"{context}: {cells} cells{part}")
        return payload


# --- pure functions: metadata, query planning, json-stat2 ---------------------------------------------------------


def parse_metadata(payload: Any, path: str, url: str, context: str) -> PxTable:
    """Table metadata (`{"title", "variables": [...]}`) with the region and time variables identified.

    SchemaChanged when the answer is not table metadata or has no region or time variable.
    """
    if isinstance(payload, list):
        raise SchemaChanged(f"{context}: {path} is a folder listing, not a table; check the table path in config.toml.")
    if not isinstance(payload, dict) or not isinstance(payload.get("variables"), list):
        raise SchemaChanged(f"{context}: the table metadata has no list of variables; the service may have changed.")
    variables = []
    for raw in payload["variables"]:
        try:
            values = tuple(str(value) for value in raw["values"])
            texts = tuple(str(text) for text in raw.get("valueTexts") or values)
            variable = PxVariable(
                code=str(raw["code"]),
                text=str(raw.get("text") or raw["code"]),
                values=values,
                value_texts=texts,
                elimination=bool(raw.get("elimination", False)),
                time=bool(raw.get("time", False)),
                map=raw.get("map"),
            )
        except (KeyError, TypeError) as exc:
            raise SchemaChanged(f"{context}: a variable in the table metadata lacks {exc}.") from None
        if len(variable.values) != len(variable.value_texts):
            raise SchemaChanged(
                f"{context}: variable '{variable.text}' has {len(values)} values but {len(texts)} texts."
            )
        variables.append(variable)
    time = find_time_variable(variables)
    if time is None:
        raise SchemaChanged(
            f"{context}: the table has no time variable (variables: {_variable_list(variables)}); "
            "the table may have changed."
        )
    region = find_region_variable([v for v in variables if v.code != time.code])
    if region is None:
        raise SchemaChanged(
            f"{context}: the table has no region variable (none of {_variable_list(variables)} has municipality "
            "codes or is called Alue/Område/Area). The table may have changed; check the table id in config.toml."
        )
    return PxTable(path, url, str(payload.get("title") or path), tuple(variables), region, time)


def find_time_variable(variables: list[PxVariable]) -> PxVariable | None:
    """The variable flagged `time: true`, else the one called Vuosi/Kuukausi/År/Year/..."""
    for variable in variables:
        if variable.time:
            return variable
    for variable in variables:
        if variable.text.strip().casefold().startswith(TIME_VARIABLE_TEXTS):
            return variable
    return None


def find_region_variable(variables: list[PxVariable]) -> PxVariable | None:
    """The region variable: a map attached, a region-like text, or official area codes among its values.

    Among several candidates the one with most official area codes wins (e.g. "Alue" over a "Kuntaryhmä").
    """
    candidates = []
    for variable in variables:
        area_codes = sum(1 for value in variable.values if AREA_VALUE.fullmatch(value))
        by_text = variable.text.strip().casefold().startswith(REGION_VARIABLE_TEXTS)
        if variable.map or by_text or area_codes >= 2:
            candidates.append((area_codes, bool(variable.map), by_text, variable))
    if not candidates:
        return None
    # max() keeps the first of equals, so the metadata order breaks ties.
    return max(candidates, key=lambda candidate: candidate[:3])[3]


def find_content(
    table: PxTable, content: str | None, content_code: str | None, context: str
) -> tuple[PxVariable, str]:
    """The (variable, value code) whose value text is `content` (exact, else the unique value starting with it),
    or whose value code matches the regular expression `content_code`."""
    matches: list[tuple[int, PxVariable, list[str]]] = []
    for variable in table.others():
        if content_code is not None:
            found = [code for code in variable.values if re.fullmatch(content_code, code)]
            strength = 2
        else:
            wanted = content.strip().casefold()
            found = [c for c, t in zip(variable.values, variable.value_texts) if t.strip().casefold() == wanted]
            strength = 2
            if not found:
                found = [c for c, t in zip(variable.values, variable.value_texts)
                         if t.strip().casefold().startswith(wanted)]
                strength = 1
        if found:
            preferred = variable.text.strip().casefold().startswith(CONTENT_VARIABLE_TEXTS)
            matches.append((strength * 2 + preferred, variable, found))
    described = f"content code /{content_code}/" if content_code is not None else f"content '{content}'"
    if not matches:
        available = "; ".join(
            f"{v.text}: {', '.join(v.value_texts[:8])}{' ...' if len(v.values) > 8 else ''}" for v in table.others()
        )
        raise NotFound(f"{context}: the table has no {described}. It offers {available}.")
    _, variable, found = max(matches, key=lambda match: match[0])
    if len(found) > 1:
        texts = ", ".join(f"'{variable.text_of(code)}'" for code in found[:6])
        raise BadQuery(
            f"{context}: {described} matches several values of '{variable.text}' ({texts}); "
            "give the full text in config.toml."
        )
    return variable, found[0]


def select_times(
    time: PxVariable, top: int | None, since: str | None, periods: list[str] | None, context: str
) -> tuple[str, ...]:
    """The table's time codes to ask for: the latest `top`, those from `since` on, those in `periods` (tidy form).

    Explicit codes rather than PxWeb's `top` filter, because a query that must be split is split along them.
    """
    normalised = [(code, normalise_period(code)) for code in time.values]
    unsupported = [code for code, period in normalised if period is None]
    if unsupported:
        raise SchemaChanged(
            f"{context}: periods like '{unsupported[0]}' are neither years nor months (2024, 2024M05); "
            "this table cannot be stored in the YYYY / YYYY-MM schema."
        )
    chosen = sorted(normalised, key=lambda pair: pair[1])
    if since is not None:
        chosen = [pair for pair in chosen if pair[1] >= since]
    if periods is not None:
        wanted = set(periods)
        chosen = [pair for pair in chosen if pair[1] in wanted]
    if top is not None:
        chosen = chosen[-top:]
    if not chosen:
        raise NotFound(f"{context}: no periods of '{time.text}' match the requested ones.")
    return tuple(code for code, _ in chosen)


def normalise_period(code: str) -> str | None:
    """PxWeb time code to the tidy period: `2024` -> `2024`, `2024M05` -> `2024-05`; None for other forms."""
    if PERIOD_YEAR.fullmatch(code):
        return code
    month = PERIOD_MONTH.fullmatch(code)
    return f"{month.group(1)}-{month.group(2)}" if month else None


def split_query(regions: int, times: int, other_cells: int, max_cells: int) -> list[tuple[slice, slice]]:
    """Split a regions x times x other_cells query into the fewest rectangular parts of at most `max_cells` cells.

    Returns (region slice, time slice) pairs covering every cell once; [] when even one region and one period are
    too large. For each possible number of periods per part, the regions per part are as many as fit, so trying
    every period count finds the fewest parts (the loop runs over periods, never over cells).
    """
    if regions == 0 or times == 0:
        return [(slice(0, regions), slice(0, times))]
    if other_cells > max_cells:
        return []
    best: tuple[int, int, int] | None = None  # (parts, periods per part, regions per part)
    for per_time in range(1, times + 1):
        per_region = min(regions, max_cells // (per_time * other_cells))
        if per_region == 0:
            break
        parts = math.ceil(regions / per_region) * math.ceil(times / per_time)
        if best is None or parts < best[0]:
            best = (parts, per_time, per_region)
    _, per_time, per_region = best
    return [
        (slice(r, min(r + per_region, regions)), slice(t, min(t + per_time, times)))
        for t in range(0, times, per_time)
        for r in range(0, regions, per_region)
    ]


def query_body(selection: dict[str, list[str]]) -> dict[str, Any]:
    """The POST body of a PxWeb v1 data query for explicit values, answered as json-stat2."""
    return {
        "query": [
            {"code": code, "selection": {"filter": "item", "values": list(values)}}
            for code, values in selection.items()
        ],
        "response": {"format": "json-stat2"},
    }


def parse_json_stat2(payload: dict) -> pd.DataFrame:
    """Decode a json-stat2 dataset: one row per cell, a column per dimension (named by its id, in `id` order,
    holding category codes as a categorical) and `value` (float64, NaN where the answer has null).

    Vectorised: values are row-major with the last dimension fastest, so dimension k's category position for all
    cells is `np.unravel_index(range(n), size)[k]`, built directly as the positions repeated by the product of the
    later sizes and tiled by the product of the earlier ones. No Python loop runs over cells.

    What is left is the floor for a decoded answer: turning the ~220 000 Python numbers the parser made into float64
    (`np.array`, None -> NaN) costs about as long as `orjson.loads` itself, or 0.4x a stdlib `json.loads`
    (bench/bench_jsonstat.py); the rest is about 1 ms.
    """
    try:
        ids = [str(dim_id) for dim_id in payload["id"]]
        sizes = [int(size) for size in payload["size"]]
        dimensions = payload["dimension"]
    except (KeyError, TypeError, ValueError) as exc:
        raise SchemaChanged(f"The answer is not a json-stat2 dataset (missing or bad {exc}).") from None
    if len(ids) != len(sizes) or "value" in ids:
        raise SchemaChanged("The json-stat2 answer's `id` and `size` do not describe the same dimensions.")
    cells = math.prod(sizes)
    columns: dict[str, Any] = {}
    for position, (dim_id, size) in enumerate(zip(ids, sizes)):
        codes = _category_codes(dimensions.get(dim_id), dim_id, size)
        columns[dim_id] = pd.Categorical.from_codes(
            _category_positions(size, math.prod(sizes[position + 1:]), math.prod(sizes[:position])),
            dtype=pd.CategoricalDtype(codes), validate=False,  # positions are in range by construction
        )
    columns["value"] = _dense_values(payload.get("value"), cells)
    # copy=False: the columns are new arrays of this call; copying them into blocks would double the work.
    return pd.DataFrame(columns, index=pd.RangeIndex(cells), copy=False)


def _category_positions(size: int, inner: int, outer: int) -> np.ndarray:
    """0..size-1, each repeated `inner` times, the whole tiled `outer` times, in the smallest integer type that holds
    them (the one pandas keeps categorical codes in, so it need not convert them)."""
    dtype = np.int8 if size <= np.iinfo(np.int8).max else np.int16 if size <= np.iinfo(np.int16).max else np.int32
    positions = np.arange(size, dtype=dtype)
    if inner != 1:  # 0 too: an empty dimension after this one leaves no cells
        positions = np.repeat(positions, inner)
    return np.tile(positions, outer) if outer != 1 else positions


def _category_codes(dimension: Any, dim_id: str, size: int) -> pd.Index:
    """Category codes of a dimension in index order; `category.index` may be a list or a code -> position map, and
    may be left out for a single category (then `label` names it)."""
    try:
        category = dimension["category"]
        index = category.get("index")
        if index is None:
            index = list(category["label"])
    except (KeyError, TypeError):
        raise SchemaChanged(f"The json-stat2 dimension '{dim_id}' has no categories.") from None
    if isinstance(index, dict):
        codes: list[Any] = [None] * len(index)
        for code, position in index.items():
            if not isinstance(position, int) or not 0 <= position < len(index):
                raise SchemaChanged(f"The json-stat2 dimension '{dim_id}' has a bad category position {position!r}.")
            codes[position] = code
    else:
        codes = list(index)
    if len(codes) != size or len(set(codes)) != size:
        raise SchemaChanged(f"The json-stat2 dimension '{dim_id}' has {len(codes)} categories but size {size}.")
    return pd.Index([str(code) for code in codes], dtype="string")


def _dense_values(values: Any, cells: int) -> np.ndarray:
    """`value` as float64 of length `cells`: a list (None -> NaN) or a sparse position -> value object."""
    if isinstance(values, dict):
        dense = np.full(cells, np.nan)
        if values:
            positions = np.fromiter((int(key) for key in values), dtype=np.int64, count=len(values))
            if positions.min() < 0 or positions.max() >= cells:
                raise SchemaChanged("The json-stat2 answer has values outside its dimensions.")
            dense[positions] = np.array(list(values.values()), dtype="float64")
        return dense
    if not isinstance(values, list):
        raise SchemaChanged("The json-stat2 answer has no list of values.")
    if len(values) != cells:
        raise SchemaChanged(f"The json-stat2 answer has {len(values)} values for {cells} cells.")
    try:
        return np.array(values, dtype="float64")
    except (TypeError, ValueError):
        # Rare hosts send numbers as strings or status symbols in `value`; those become NaN, not a crash.
        return pd.to_numeric(pd.Series(values, dtype="object"), errors="coerce").to_numpy(dtype="float64")


# --- small helpers -----------------------------------------------------------------------------------------------


def _find_variable(table: PxTable, wanted: str, context: str) -> PxVariable:
    key = wanted.strip().casefold()
    for variable in table.others():
        if variable.code.casefold() == key or variable.text.strip().casefold() == key:
            return variable
    raise BadQuery(
        f"{context}: select names the variable '{wanted}', which the table does not have "
        f"(variables: {_variable_list(table.others())})."
    )


def _find_value(variable: PxVariable, wanted: str, context: str) -> str:
    if wanted in variable.values:
        return wanted
    key = wanted.strip().casefold()
    for code, text in zip(variable.values, variable.value_texts):
        if text.strip().casefold() == key:
            return code
    raise BadQuery(
        f"{context}: '{variable.text}' has no value '{wanted}' (values: {', '.join(variable.values[:10])}"
        f"{' ...' if len(variable.values) > 10 else ''})."
    )


def _variable_list(variables: Iterable[PxVariable]) -> str:
    return ", ".join(f"'{variable.text}'" for variable in variables) or "no variables"


def _map_categories(column: pd.Series, function) -> pd.Categorical:
    """Apply `function` to a categorical column's categories only (a few hundred), not to every row."""
    categorical = pd.Categorical(column)
    mapped = [function(str(code)) for code in categorical.categories]
    return pd.Categorical(np.asarray(mapped, dtype=object)[categorical.codes])


def _table_id(payload: dict) -> str | None:
    extension = payload.get("extension")
    if isinstance(extension, dict) and isinstance(extension.get("px"), dict):
        table_id = extension["px"].get("tableid")
        return str(table_id) if table_id else None
    return None


def _positive_int(value: Any) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def _validation_problems(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or 'value'}: {error['msg']}" for error in exc.errors()
    )

