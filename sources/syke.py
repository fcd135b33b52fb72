"""Syke: municipal greenhouse gas emissions from the ALas model (Hiilineutraali Suomi, paastot.hiilineutraalisuomi.fi).

Service (base_url in config.toml): `asukasluvut_2025.csv` lists the municipalities (`kuntanro`, `kunta_fi`,
`maakunta_fi`, ...); `Tulokset_taso_5/kunta_{kuntanro}.csv` holds one municipality's emissions by year and sector
(`;`-separated, decimal comma; columns `kt` (kt CO2e), `kt_tuuli`, `GWh`, `hinku_laskenta`, `päästökauppa`, `vuosi`,
`taso_3`, `taso_4`, `taso_5`). `taso_3` is the sector abbreviation (`Tie` road transport, `Kul` consumption
electricity, `Säh`/`Kau`/`Ölj`/`Muu` heating, `Maa` agriculture, `Jät` waste, `F-k` F-gases, `Tuu` credits, ...).

One request per municipality, throttled politely. Which sectors and rows make up a series is declared in
config.toml (`taso_3`, `exclude_taso_3`, `exclude_emissions_trading`, `hinku_only`), not here; the adapter sums `kt`
per municipality and year. Per-resident figures are derived by the indicator layer (emissions / population).

Terms: a catalogue entry states CC BY 4.0 (not verified at the source); attribution "Syke". The data has no
publication date field: the Last-Modified header of the data files is used as the date of the data.
"""

from __future__ import annotations

import csv
import io
import math
import re
import unicodedata
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar
from urllib.parse import urljoin

import pandas as pd
import requests

from sources.base import ConfiguredAdapter
from sources.contract import (
    BadQuery,
    NotFound,
    ProgressCallback,
    Provenance,
    SchemaChanged,
    SeriesData,
    SeriesFailed,
    annual_years,
    now_iso,
    tidy_frame,
)
from sources.http import SourceClient, decode_text, http_validator
from sources.settings import ConfigError, SeriesConfig, Settings, SourceConfig

BASE_URL_DEFAULT = "https://paastot.hiilineutraalisuomi.fi/"
MUNICIPALITY_LIST_DEFAULT = "asukasluvut_2025.csv"
DATA_PATH_DEFAULT = "Tulokset_taso_5/kunta_{kuntanro}.csv"
LICENCE = "CC BY 4.0"
ATTRIBUTION = "Syke"
MAX_CALLS_DEFAULT = 2  # requests per window: about 300 files, fetched politely
WINDOW_S_DEFAULT = 1.0  # seconds
VALUE_COLUMN = "kt"  # emissions in kilotonnes CO2 equivalent

# Columns every ALas result file must have (names after Unicode NFC normalisation).
ALAS_REQUIRED = ("kt", "vuosi", "taso_3", "hinku_laskenta", "päästökauppa")
ALAS_NUMBERS = ("kt", "kt_tuuli", "GWh")
ALAS_FLAGS = ("hinku_laskenta", "päästökauppa")
ALAS_TEXTS = ("taso_3", "taso_4", "taso_5")
MISSING_TEXTS = {"", "na", "nan", "null", "-", "..", "."}
TRUE_TEXTS = {"true", "t", "1", "kyllä", "k", "x", "yes"}
FALSE_TEXTS = {"false", "f", "0", "ei", "e", "no"}


@dataclass(frozen=True)
class SectorRule:
    """Which rows of an ALas file a series sums (declared per series in config.toml)."""

    taso_3: tuple[str, ...] | None = None  # None: all sectors
    exclude_taso_3: tuple[str, ...] = ()
    exclude_emissions_trading: bool = False  # leave out rows with päästökauppa = true
    hinku_only: bool = False  # only rows with hinku_laskenta = true

    def describe(self) -> str:
        parts = [f"taso_3 in {', '.join(self.taso_3)}" if self.taso_3 else "all sectors"]
        if self.exclude_taso_3:
            parts.append(f"without {', '.join(self.exclude_taso_3)}")
        if self.exclude_emissions_trading:
            parts.append("without emissions-trading (päästökauppa) rows")
        if self.hinku_only:
            parts.append("only rows counted in the Hinku calculation")
        return "; ".join(parts)


class SykeEmissionsAdapter(ConfiguredAdapter):
    kind: ClassVar[str] = "syke_emissions"
    SOURCE_KEYS: ClassVar[frozenset[str]] = frozenset({"municipality_list", "data_path", "check_path"})
    SERIES_KEYS: ClassVar[frozenset[str]] = frozenset({"taso_3", "exclude_taso_3", "exclude_emissions_trading",
                                                       "hinku_only"})

    def __init__(self, name: str, config: SourceConfig, settings: Settings,
                 session: requests.Session | None = None) -> None:
        super().__init__(name, config, settings, session)
        extra = config.model_extra or {}
        self.base_url = (config.base_url or BASE_URL_DEFAULT).rstrip("/") + "/"
        self.municipality_list = str(extra.get("municipality_list", MUNICIPALITY_LIST_DEFAULT))
        self.data_path = str(extra.get("data_path", DATA_PATH_DEFAULT))
        if not re.search(r"\{kuntanro(:0?\d*d)?\}", self.data_path):  # {kuntanro}, or zero-padded {kuntanro:03d}
            raise ConfigError(f"[sources.{name}] data_path must contain {{kuntanro}} (or {{kuntanro:03d}} for "
                              f"zero-padded numbers), e.g. '{DATA_PATH_DEFAULT}'.")
        self.client = SourceClient.from_config(
            config, settings, session, base_url=self.base_url, max_calls_default=MAX_CALLS_DEFAULT,
            window_s_default=WINDOW_S_DEFAULT,
        )
        # What tells whether Syke has published: the results folder's listing (its Last-Modified changes with the
        # files, SOURCES.md), asked with one HEAD request.
        self.check_path = str(extra.get("check_path", self.data_path.rsplit("/", 1)[0] + "/"))
        self.rules = {series.id: sector_rule(name, series) for series in config.series}
        self._municipalities: pd.DataFrame | None = None
        # kuntanro -> (parsed rows or None when the file does not exist, Last-Modified); one request per file per run
        self._files: dict[int, tuple[pd.DataFrame | None, str | None]] = {}

    # --- the contract -------------------------------------------------------------------------------------------

    def fetch_batches(self, series_ids: list[str]) -> list[list[str]]:
        """All series in one batch: they come from the same files, so one pass over the municipalities serves all."""
        return [list(series_ids)] if series_ids else []

    def fetch(
        self,
        series_ids: list[str] | None = None,
        regions: list[str] | None = None,
        periods: list[str] | None = None,
        progress: ProgressCallback | None = None,
    ) -> list[SeriesData]:
        selected = self.select_series(series_ids)
        years = self._years(periods)
        municipalities = self._requested(self.municipalities(progress), regions)
        sums: dict[str, list[pd.DataFrame]] = {series.id: [] for series in selected}
        seen_sectors: set[str] = set()
        failed: dict[str, str] = {}  # municipality -> why its file could not be used
        read: set[str] = set()
        updated: list[str] = []
        for kuntanro, code in zip(municipalities["kuntanro"], municipalities["region"]):
            rows, last_modified, problem = self._municipality_file(int(kuntanro), code, progress)
            if rows is None:
                failed[code] = problem  # one municipality's missing or broken file must not stop the other 300
                continue
            read.add(code)
            if last_modified:
                updated.append(last_modified)
            if years is not None:
                rows = rows[rows["vuosi"].isin(years)]
            seen_sectors.update(rows["taso_3"].dropna().unique())
            for series in selected:
                summed = sum_emissions(rows, self.rules[series.id]).assign(region=code)
                sums[series.id].append(summed)
            if progress is not None:
                progress(cells=len(rows), message=f"Syke: {code} {len(rows)} rows")
        if not read:
            raise NotFound(
                f"Syke ALas: none of the {len(failed)} municipality files could be used at {self.base_url}"
                f"{self.data_path} ({_failure_summary(failed)}). The service may have moved or changed its files; "
                "the warehouse keeps its previous data."
            )
        data_updated = latest_http_date(updated)
        partial = (f"Syke ALas: {len(failed)} of {len(municipalities)} municipality files could not be used "
                   f"({_failure_summary(failed)}); their stored values are kept, the others were updated."
                   if failed else None)
        results: list[SeriesData | SeriesFailed] = []
        for series in selected:
            rule = self.rules[series.id]
            if rule.taso_3 and not seen_sectors & set(rule.taso_3):
                results.append(SeriesFailed(series.id, SchemaChanged(
                    f"Syke ALas ({series.id}): none of the sector codes {', '.join(rule.taso_3)} appears in the data "
                    f"(found {', '.join(sorted(seen_sectors)) or 'none'}). The source changed its classification; "
                    f"check taso_3 in [sources.{self.name}]."
                )))
                continue
            combined = pd.concat(sums[series.id], ignore_index=True).dropna(subset=[VALUE_COLUMN])
            if combined.empty:
                results.append(SeriesFailed(series.id, NotFound(
                    f"Syke ALas ({series.id}): the files have no emissions for {rule.describe()}"
                    f"{' in the requested years' if years is not None else ''}. The warehouse keeps its previous data."
                )))
                continue
            frame = tidy_frame(series.id, combined["region"], combined["vuosi"].astype(str), combined[VALUE_COLUMN])
            notes = [f"Sum of {VALUE_COLUMN} (kt CO2e) per municipality and year: {rule.describe()}.",
                     "Licence stated as CC BY 4.0 in a catalogue entry (not verified at the source)."]
            if failed:
                notes.append(f"No usable file for {len(failed)} municipalities: {', '.join(sorted(failed)[:10])}.")
            provenance = Provenance(
                source=self.name,
                table=f"ALas {self.data_path.split('/')[0]}",
                request_url=urljoin(self.base_url, self.data_path),
                fetched_at=now_iso(),
                data_updated=data_updated,
                licence=self.config.licence or LICENCE,
                attribution=self.config.attribution or ATTRIBUTION,
                notes=tuple(notes),
            )
            results.append(SeriesData(info=self.info_for(series), frame=frame, provenance=provenance,
                                      covered_regions=frozenset(read) if failed else None, partial_reason=partial,
                                      partial_detail={"code": "municipality_files", "params": {
                                          "failed": len(failed), "total": len(municipalities),
                                          "names": ", ".join(sorted(failed)[:10])}} if failed else None))
        if all(isinstance(result, SeriesFailed) for result in results):
            raise results[0].error  # nothing came: the contract raises when every series asked for failed
        return results

    def publication_markers(self, keys: list[str], progress: ProgressCallback | None = None
                            ) -> dict[str, str | None]:
        """The results folder's ETag or Last-Modified, one HEAD request for every series (they share the files)."""
        url = urljoin(self.base_url, self.check_path)
        try:
            marker = http_validator(self.client.send("HEAD", url, context=f"Syke ALas ({self.check_path})",
                                                     progress=progress, message="Syke: publication check"))
        except (NotFound, BadQuery):
            marker = None
        return {series.id: marker for series in self.config.series if series.id in keys}

    def municipalities(self, progress: ProgressCallback | None = None) -> pd.DataFrame:
        """The municipality list (`kuntanro`, `region`, `name`), fetched once per adapter instance."""
        if self._municipalities is None:
            url = urljoin(self.base_url, self.municipality_list)
            response = self._get(url, self.municipality_list, progress)
            self._municipalities = parse_municipality_list(decode_text(response))
        return self._municipalities

    # --- internals ----------------------------------------------------------------------------------------------

    def _municipality_file(self, kuntanro: int, code: str, progress
                           ) -> tuple[pd.DataFrame | None, str | None, str | None]:
        """The parsed ALas file of one municipality, its Last-Modified, and why it is unusable (None when it is
        fine): no file at the service, or a file that cannot be read. Fetched once per instance."""
        if kuntanro not in self._files:
            name = self.data_path.format(kuntanro=kuntanro).rsplit("/", 1)[-1]
            try:
                response = self._get(urljoin(self.base_url, self.data_path.format(kuntanro=kuntanro)),
                                     f"{code}, {name}", progress)
                rows = parse_alas_csv(decode_text(response), context=f"Syke ALas ({code}, {name})")
            except NotFound:
                self._files[kuntanro] = (None, None, f"{code}: no file {name}")
            except SchemaChanged as exc:
                self._files[kuntanro] = (None, None, f"{code}: {name} unreadable ({str(exc).split(': ', 1)[-1]})")
            else:
                self._files[kuntanro] = (rows, response.headers.get("Last-Modified"), None)
        return self._files[kuntanro]

    def _requested(self, municipalities: pd.DataFrame, regions: list[str] | None) -> pd.DataFrame:
        if regions is None:
            return municipalities
        wanted = [code for code in regions if str(code).startswith("KU")]
        if not wanted:
            raise BadQuery("Syke publishes emissions for municipalities only (codes KU###); none was requested.")
        unknown = sorted(set(wanted) - set(municipalities["region"]))
        if unknown:
            raise BadQuery(f"Syke's municipality list has no {', '.join(unknown[:5])}.")
        return municipalities[municipalities["region"].isin(wanted)].reset_index(drop=True)

    @staticmethod
    def _years(periods: list[str] | None) -> list[int] | None:
        return None if periods is None else annual_years(periods, "Syke emissions")

    def _get(self, url: str, what: str, progress):
        return self.client.get(url, context=f"Syke ALas ({what})", progress=progress, message=f"Syke: {what}")


# --- pure helpers and parsers (no HTTP; tests call them directly) --------------------------------------------------


def _failure_summary(failed: dict[str, str], shown: int = 5) -> str:
    reasons = [failed[code] for code in sorted(failed)[:shown]]
    more = f"; and {len(failed) - shown} more" if len(failed) > shown else ""
    return "; ".join(reasons) + more


def sector_rule(source: str, series: SeriesConfig) -> SectorRule:
    """The configured row selection of a series; ConfigError on a malformed declaration."""
    extra = series.model_extra or {}

    def codes(key: str) -> tuple[str, ...] | None:
        value = extra.get(key)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
            raise ConfigError(f"[sources.{source}] series {series.id}: {key} must be a list of taso_3 codes.")
        return tuple(unicodedata.normalize("NFC", item) for item in value)

    flags = {key: extra.get(key, False) for key in ("exclude_emissions_trading", "hinku_only")}
    if not all(isinstance(value, bool) for value in flags.values()):
        raise ConfigError(f"[sources.{source}] series {series.id}: exclude_emissions_trading and hinku_only are "
                          "true or false.")
    return SectorRule(taso_3=codes("taso_3"), exclude_taso_3=codes("exclude_taso_3") or (), **flags)


def latest_http_date(values: list[str]) -> str | None:
    """The latest of some HTTP dates (Last-Modified) as an ISO date, or None."""
    dates = []
    for value in values:
        try:
            dates.append(parsedate_to_datetime(value))
        except (TypeError, ValueError):
            continue
    return max(dates).date().isoformat() if dates else None


def sum_emissions(rows: pd.DataFrame, rule: SectorRule) -> pd.DataFrame:
    """Sum `kt` per year over the rows the rule selects: columns `vuosi`, `kt` (missing if all parts are)."""
    chosen = rows
    if rule.taso_3:
        chosen = chosen[chosen["taso_3"].isin(rule.taso_3)]
    if rule.exclude_taso_3:
        chosen = chosen[~chosen["taso_3"].isin(rule.exclude_taso_3)]
    if rule.exclude_emissions_trading:
        chosen = chosen[chosen["päästökauppa"].ne(True).fillna(True).astype(bool)]
    if rule.hinku_only:
        chosen = chosen[chosen["hinku_laskenta"].eq(True).fillna(False).astype(bool)]
    summed = chosen.groupby("vuosi", as_index=False)[VALUE_COLUMN].sum(min_count=1)
    return summed[["vuosi", VALUE_COLUMN]]


def parse_number(text: str) -> float:
    """A number as ALas and other Finnish CSVs write it; NaN for an empty cell; ValueError when it is no number.

    Decimal comma ("12,5"); thousands grouped with a space, a no-break or narrow no-break space ("1 234,5"); a dot
    as thousands separator when a comma is the decimal mark ("1.234,5"); a plain decimal point when no comma is
    present ("0.5"), unless the dots group thousands ("1.234.567"); a Unicode minus sign.
    """
    value = (text or "").strip().strip('"').strip()
    if value.casefold() in MISSING_TEXTS:
        return math.nan
    value = value.replace("\u2212", "-")
    value = re.sub(r"[\s\u00a0\u202f\u2009\u2007]", "", value)
    if "," in value:
        value = value.replace(".", "").replace(",", ".")
    elif value.count(".") > 1:
        if not re.fullmatch(r"[-+]?\d{1,3}(\.\d{3})+", value):
            raise ValueError(f"not a number: {text!r}")
        value = value.replace(".", "")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"not a finite number: {text!r}")
    return number


def parse_flag(text: str) -> Any:
    """TRUE/FALSE (and 1/0, kyllä/ei) -> True/False; empty -> pd.NA; ValueError otherwise."""
    value = (text or "").strip().strip('"').strip().casefold()
    if value in TRUE_TEXTS:
        return True
    if value in FALSE_TEXTS:
        return False
    if value in MISSING_TEXTS:
        return pd.NA
    raise ValueError(f"not a yes/no value: {text!r}")


def _read_semicolon_csv(text: str, context: str) -> tuple[list[str], list[list[str]]]:
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise SchemaChanged(f"{context}: the file is empty; the warehouse keeps its previous data.")
    reader = csv.reader(io.StringIO(text), delimiter=";")
    try:
        lines = [row for row in reader if any(cell.strip() for cell in row)]
    except csv.Error as exc:
        raise SchemaChanged(f"{context}: the file is not a readable CSV ({exc}).") from None
    if not lines:
        raise SchemaChanged(f"{context}: the file has no header line.")
    header, rows = lines[0], lines[1:]
    header = [unicodedata.normalize("NFC", name.strip().lstrip("\ufeff").strip('"')) for name in header]
    return header, rows


def parse_municipality_list(text: str, context: str = "Syke municipality list") -> pd.DataFrame:
    """`asukasluvut_2025.csv` -> frame `kuntanro` (int), `region` (KU###), `name` (Finnish)."""
    header, rows = _read_semicolon_csv(text, context)
    if "kuntanro" not in header:
        raise SchemaChanged(f"{context}: the column kuntanro is missing (columns: {', '.join(header[:8])}).")
    at, name_at = header.index("kuntanro"), header.index("kunta_fi") if "kunta_fi" in header else None
    numbers, names = [], []
    for line, row in enumerate(rows, start=2):
        try:
            number = parse_number(row[at])
        except (ValueError, IndexError):
            raise SchemaChanged(f"{context}: line {line} has no municipality number.") from None
        if math.isnan(number) or number != int(number) or not 0 < number < 1000:
            raise SchemaChanged(f"{context}: line {line} has the municipality number {row[at]!r}.")
        numbers.append(int(number))
        names.append(row[name_at].strip() if name_at is not None and name_at < len(row) else "")
    if not numbers:
        raise SchemaChanged(f"{context}: the list has no municipalities.")
    frame = pd.DataFrame({"kuntanro": numbers, "region": [f"KU{n:03d}" for n in numbers], "name": names})
    return frame.drop_duplicates("kuntanro").reset_index(drop=True)


def parse_alas_csv(text: str, context: str = "Syke ALas") -> pd.DataFrame:
    """One ALas result file -> frame with `kt`, `kt_tuuli`, `GWh` (float), `hinku_laskenta`, `päästökauppa`
    (boolean, NA when empty), `vuosi` (int) and `taso_3..5` (text).

    Handles `;` separators, decimal commas, thousands separators, empty cells and a byte-order mark. SchemaChanged
    when a required column is missing or a cell cannot be read.
    """
    header, rows = _read_semicolon_csv(text, context)
    missing = [column for column in ALAS_REQUIRED if column not in header]
    if missing:
        raise SchemaChanged(
            f"{context}: the columns {', '.join(missing)} are missing (columns: {', '.join(header[:12])}). "
            "The source changed its format; the warehouse keeps its previous data."
        )
    index = {name: position for position, name in enumerate(header)}
    columns: dict[str, list[Any]] = {name: [] for name in (*ALAS_NUMBERS, *ALAS_FLAGS, "vuosi", *ALAS_TEXTS)}
    for line, row in enumerate(rows, start=2):
        cells = {name: (row[position] if position < len(row) else "") for name, position in index.items()}
        try:
            for name in ALAS_NUMBERS:
                columns[name].append(parse_number(cells.get(name, "")))
            for name in ALAS_FLAGS:
                columns[name].append(parse_flag(cells[name]))
            year = parse_number(cells["vuosi"])
        except ValueError as exc:
            raise SchemaChanged(f"{context}: line {line}: {exc}.") from None
        if math.isnan(year) or year != int(year) or not 1900 <= year <= 2200:
            raise SchemaChanged(f"{context}: line {line} has the year {cells['vuosi']!r}.")
        columns["vuosi"].append(int(year))
        for name in ALAS_TEXTS:
            value = unicodedata.normalize("NFC", cells.get(name, "").strip().strip('"'))
            columns[name].append(value or None)
    frame = pd.DataFrame(columns)
    for name in ALAS_NUMBERS:
        frame[name] = frame[name].astype("float64")
    for name in ALAS_FLAGS:
        frame[name] = frame[name].astype("boolean")
    frame["vuosi"] = frame["vuosi"].astype("int64")
    for name in ALAS_TEXTS:
        frame[name] = frame[name].astype("string")
    return frame
