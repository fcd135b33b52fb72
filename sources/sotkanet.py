"""THL Sotkanet: municipal, regional and national welfare and health indicators (REST API 1.1).

Service: `https://sotkanet.fi/rest/1.1/` (base_url in config.toml).
- `GET indicators/{id}`: metadata (`title{fi,sv,en}`, `description`, `interpretation`, `decimals`, `organization`,
  `data-updated`, ...);
- `GET regions`: `[{"id", "code", "category", "title"}]`, Sotkanet's internal region ids with official codes;
- `GET json?indicator=ID&years=Y&years=Y2&genders=total`: a flat list `[{"indicator", "region", "year", "gender",
  "value"}]` for all regions, `region` being the internal id.

Terms: the API is meant for occasional queries, not repeated bulk downloads, so metadata and regions are cached per
adapter instance and requests are throttled. THL's own indicators are CC BY 4.0 with the attribution
"THL, Sotkanet.fi"; indicators produced by other organisations (e.g. Statistics Finland, Kela) may carry their own
terms, so the producing organisation is noted in the provenance.

Each configured series pins the indicator id AND its Finnish title (`title_guard`); a mismatch raises BadQuery naming
both titles, so a wrong id never shows wrong data.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, ClassVar
from urllib.parse import urlencode, urljoin

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
    annual_years,
    now_iso,
    tidy_frame,
)
from sources.http import SourceClient, decode_json
from sources.settings import ConfigError, SeriesConfig, Settings, SourceConfig

BASE_URL_DEFAULT = "https://sotkanet.fi/rest/1.1/"
LICENCE = "CC BY 4.0"
ATTRIBUTION = "THL, Sotkanet.fi"
YEARS_FROM_DEFAULT = 2010  # first year fetched when config.toml names none
YEARS_PER_REQUEST_DEFAULT = 10  # years per data request; a longer range is split into several requests
MAX_CALLS_DEFAULT = 10  # requests per window: the service asks for occasional queries only
WINDOW_S_DEFAULT = 10.0  # seconds
GENDER = "total"  # the adapter fetches both sexes combined
DESCRIPTION_MAX_CHARS = 1200  # metadata description kept in the series description (HTML stripped)

# Sotkanet region category -> (official prefix, digits). MAA (whole country) is SSS; other categories are skipped.
REGION_CATEGORIES: dict[str, tuple[str, int]] = {
    "KUNTA": ("KU", 3),
    "SEUTUKUNTA": ("SK", 3),
    "MAAKUNTA": ("MK", 2),
    "HYVINVOINTIALUE": ("HV", 2),
}
WHOLE_COUNTRY_CATEGORY = "MAA"
WHOLE_COUNTRY_CODE = "SSS"
THL_NAMES = ("thl", "terveyden ja hyvinvoinnin laitos")  # organisation titles that mean THL itself


@dataclass(frozen=True)
class IndicatorMeta:
    """What the adapter uses from `indicators/{id}`."""

    id: int
    title: dict[str, str]
    description: dict[str, str]
    interpretation: dict[str, str]
    decimals: int | None
    organization: str
    data_updated: str | None


class SotkanetAdapter(ConfiguredAdapter):
    kind: ClassVar[str] = "sotkanet"
    SOURCE_KEYS: ClassVar[frozenset[str]] = frozenset({"years_from", "years_to", "years_per_request"})
    SERIES_KEYS: ClassVar[frozenset[str]] = frozenset({"indicator", "title_guard"})

    def __init__(self, name: str, config: SourceConfig, settings: Settings,
                 session: requests.Session | None = None) -> None:
        super().__init__(name, config, settings, session)
        extra = config.model_extra or {}
        self.base_url = (config.base_url or BASE_URL_DEFAULT).rstrip("/") + "/"
        self.client = SourceClient.from_config(
            config, settings, session, base_url=self.base_url, max_calls_default=MAX_CALLS_DEFAULT,
            window_s_default=WINDOW_S_DEFAULT,
        )
        self.years_from = int(extra.get("years_from", YEARS_FROM_DEFAULT))
        self.years_to = int(extra.get("years_to") or date.today().year)
        self.years_per_request = int(extra.get("years_per_request", YEARS_PER_REQUEST_DEFAULT))
        if self.years_per_request < 1 or self.years_from > self.years_to:
            raise ConfigError(
                f"[sources.{name}]: years_from ({self.years_from}) must not be after years_to ({self.years_to}) "
                "and years_per_request must be at least 1."
            )
        for series in config.series:
            indicator_and_guard(name, series)  # fail at start-up, not halfway through a refresh
        self._metadata: dict[int, IndicatorMeta] = {}
        self._regions: dict[int, str] | None = None

    # --- the contract -------------------------------------------------------------------------------------------

    def fetch(
        self,
        series_ids: list[str] | None = None,
        regions: list[str] | None = None,
        periods: list[str] | None = None,
        progress: ProgressCallback | None = None,
    ) -> list[SeriesData]:
        selected = self.select_series(series_ids)
        years = self._years(periods)
        # Check every id-title pair before any data is fetched: a wrong pin stops early and costs no data requests.
        checked = [(series, self._checked_meta(series, progress)) for series in selected]
        region_map = self.regions(progress)
        if regions is not None:
            unknown = sorted(set(regions) - set(region_map.values()))
            if unknown:
                raise BadQuery(
                    f"Sotkanet has no region {', '.join(unknown[:5])} (codes like KU098, SK071, MK07, HV09, SSS)."
                )
        results = []
        for series, (meta, notes) in checked:
            frame, first_url = self._fetch_values(series, meta, years, region_map, progress)
            if regions is not None:
                frame = frame[frame["region"].isin(regions)].reset_index(drop=True)
            if frame.empty:
                raise NotFound(
                    f"Sotkanet returned no values for indicator {meta.id} ({series.id}) in {years[0]}-{years[-1]}"
                    f"{' for the requested regions' if regions is not None else ''}. "
                    "The warehouse keeps its previous data."
                )
            info = self.info_for(series)
            if not info.description and any(meta.description.values()):
                info = replace(info, description=meta.description)
            provenance = Provenance(
                source=self.name,
                table=f"indicator {meta.id}",
                request_url=first_url,
                fetched_at=now_iso(),
                data_updated=meta.data_updated,
                licence=self.config.licence or LICENCE,
                attribution=self.config.attribution or ATTRIBUTION,
                notes=tuple(notes),
            )
            results.append(SeriesData(info=info, frame=frame, provenance=provenance))
        return results

    def publication_markers(self, keys: list[str], progress: ProgressCallback | None = None
                            ) -> dict[str, str | None]:
        """Each indicator's `data-updated` from its metadata, which a following fetch reuses (one request each)."""
        markers: dict[str, str | None] = {}
        for series in self.config.series:
            if series.id not in keys:
                continue
            indicator, _ = indicator_and_guard(self.name, series)
            try:
                updated = self.metadata(indicator, progress).data_updated
            except (NotFound, SchemaChanged):  # the fetch then fails with the full reason
                updated = None
            markers[series.id] = f"indicator {indicator} data-updated {updated}" if updated else None
        return markers

    # --- cached look-ups ----------------------------------------------------------------------------------------

    def regions(self, progress: ProgressCallback | None = None) -> dict[int, str]:
        """Sotkanet internal region id -> official code, fetched once per adapter instance."""
        if self._regions is None:
            payload = self._get_json("regions", "regions", progress)
            self._regions = parse_regions(payload)
        return self._regions

    def metadata(self, indicator: int, progress: ProgressCallback | None = None) -> IndicatorMeta:
        """Metadata of one indicator, fetched once per adapter instance."""
        if indicator not in self._metadata:
            payload = self._get_json(f"indicators/{indicator}", f"indicator {indicator}", progress)
            self._metadata[indicator] = parse_indicator_metadata(payload, indicator)
        return self._metadata[indicator]

    # --- internals ----------------------------------------------------------------------------------------------

    def _checked_meta(self, series: SeriesConfig, progress) -> tuple[IndicatorMeta, list[str]]:
        indicator, guard = indicator_and_guard(self.name, series)
        meta = self.metadata(indicator, progress)
        actual = meta.title.get("fi", "")
        if not titles_match(guard, actual):
            raise BadQuery(
                f"Sotkanet indicator {indicator} is titled '{actual}', but config.toml pins it to '{guard}' for "
                f"series {series.id}. The id or the title in [sources.{self.name}] is wrong; nothing was fetched, "
                "the warehouse keeps its previous data."
            )
        notes = [f"Sotkanet indicator {indicator}: {actual}"]
        last_year = discontinued_after(actual)
        if last_year is not None:
            notes.append(f"Sotkanet marks this indicator as discontinued: no data after {last_year}.")
        if meta.organization and not is_thl(meta.organization):
            notes.append(
                f"Indicator produced by {meta.organization}; shown in Sotkanet under CC BY 4.0, the producer's own "
                "terms may also apply."
            )
        if meta.decimals is not None:
            notes.append(f"Sotkanet shows this indicator with {meta.decimals} decimals.")
        interpretation = strip_html(meta.interpretation.get("en") or meta.interpretation.get("fi") or "")
        if interpretation:
            notes.append(f"Interpretation (THL): {interpretation[:DESCRIPTION_MAX_CHARS]}")
        return meta, notes

    def _fetch_values(self, series, meta, years, region_map, progress) -> tuple[pd.DataFrame, str]:
        frames, first_url = [], ""
        for chunk in chunked(years, self.years_per_request):
            query = [("indicator", meta.id), *[("years", year) for year in chunk], ("genders", GENDER)]
            path = "json?" + urlencode(query)
            first_url = first_url or urljoin(self.base_url, path)
            payload = self._get_json(path, f"indicator {meta.id}, {chunk[0]}-{chunk[-1]}", progress)
            frame = parse_data(payload, meta.id, region_map, series.id)
            if progress is not None:
                progress(cells=len(frame), message=f"Sotkanet {series.id}: {len(frame)} values")
            frames.append(frame)
        frame = pd.concat(frames, ignore_index=True) if frames else parse_data([], meta.id, region_map, series.id)
        return frame, first_url

    def _years(self, periods: list[str] | None) -> list[int]:
        if periods is None:
            return list(range(self.years_from, self.years_to + 1))
        return annual_years(periods, "Sotkanet series")

    def _get_json(self, path: str, what: str, progress) -> Any:
        context = f"THL Sotkanet ({what})"
        response = self.client.get(
            urljoin(self.base_url, path), context=context, progress=progress, message=f"Sotkanet: {what}"
        )
        return decode_json(response, context)


# --- pure helpers and parsers (no HTTP; tests call them directly) --------------------------------------------------


def indicator_and_guard(source: str, series: SeriesConfig) -> tuple[int, str]:
    """The pinned indicator id and Finnish title of a configured series; ConfigError when either is missing."""
    extra = series.model_extra or {}
    indicator, guard = extra.get("indicator"), extra.get("title_guard")
    if not isinstance(indicator, int) or isinstance(indicator, bool) or not isinstance(guard, str) or not guard:
        raise ConfigError(
            f"[sources.{source}] series {series.id} needs an integer `indicator` and its Finnish title as "
            "`title_guard`, so a wrong id is caught."
        )
    return indicator, guard


def chunked(items: list[int], size: int) -> list[list[int]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


_DASHES = re.compile(r"[\u2010\u2011\u2012\u2013\u2014\u2015\u2212]")
_DISCONTINUED = re.compile(r"\s*\(\s*-\s*(\d{4})\s*\)\s*$")


def normalise_title(title: str) -> str:
    """Title for comparison: HTML entities decoded, dashes unified, case folded, all whitespace removed.

    Removing whitespace makes "25 - 64-vuotiaat" equal "25-64-vuotiaat" and "vastaavan ikäisestä" equal
    "vastaavanikäisestä", the spacing differences Sotkanet titles show over the years.
    """
    text = html.unescape(title).replace("&ndash", "-").replace("&mdash", "-")
    text = _DASHES.sub("-", text)
    return re.sub(r"\s+", "", text).casefold()


def discontinued_after(title: str) -> int | None:
    """The year in a trailing "(-2019)", Sotkanet's mark of an indicator that is no longer updated."""
    match = _DISCONTINUED.search(html.unescape(title))
    return int(match.group(1)) if match else None


def titles_match(expected: str, actual: str) -> bool:
    """Whether the source's title is the pinned one (a trailing discontinuation mark "(-YYYY)" is allowed)."""
    if not actual:
        return False
    expected_n, actual_n = normalise_title(expected), normalise_title(actual)
    if expected_n == actual_n:
        return True
    return normalise_title(_DISCONTINUED.sub("", html.unescape(actual))) == normalise_title(
        _DISCONTINUED.sub("", html.unescape(expected))
    )


def is_thl(organization: str) -> bool:
    lowered = organization.casefold()
    return any(name in lowered for name in THL_NAMES)


def strip_html(text: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", text or ""))).strip()


def official_region_code(category: str, code: Any) -> str | None:
    """Sotkanet category and code -> official code: KUNTA "20" -> KU020, MAAKUNTA "7" -> MK07, MAA -> SSS."""
    if category == WHOLE_COUNTRY_CATEGORY:
        return WHOLE_COUNTRY_CODE
    if category not in REGION_CATEGORIES:
        return None
    prefix, digits = REGION_CATEGORIES[category]
    text = str(code).strip()
    if not text.isdigit() or len(text.lstrip("0") or "0") > digits:
        return None
    return f"{prefix}{int(text):0{digits}d}"


def parse_regions(payload: Any) -> dict[int, str]:
    """`regions` answer -> {internal id: official code}; categories other than the five known ones are skipped."""
    if not isinstance(payload, list) or not payload:
        raise SchemaChanged("THL Sotkanet (regions): the answer is not a non-empty list of regions.")
    mapping: dict[int, str] = {}
    for entry in payload:
        if not isinstance(entry, dict) or not {"id", "code", "category"} <= entry.keys():
            raise SchemaChanged(
                "THL Sotkanet (regions): a region lacks id, code or category; the service changed its format."
            )
        code = official_region_code(str(entry["category"]), entry["code"])
        if code is not None:
            mapping[int(entry["id"])] = code
    if not mapping:
        raise SchemaChanged("THL Sotkanet (regions): no municipality, region or country among the regions.")
    doubles = pd.Series(list(mapping.values())).loc[lambda codes: codes.duplicated()].unique()
    if len(doubles):
        raise SchemaChanged(
            f"THL Sotkanet (regions): several Sotkanet regions have the code {', '.join(doubles[:5])}; "
            "the adapter cannot tell which one is current."
        )
    return mapping


def _lang_dict(value: Any) -> dict[str, str]:
    if isinstance(value, dict):
        return {lang: str(text) for lang, text in value.items() if isinstance(text, str)}
    if isinstance(value, str):
        return {"fi": value}
    return {}


def parse_indicator_metadata(payload: Any, indicator: int) -> IndicatorMeta:
    """`indicators/{id}` answer -> IndicatorMeta; SchemaChanged when the title is missing."""
    context = f"THL Sotkanet (indicator {indicator})"
    if not isinstance(payload, dict):
        raise SchemaChanged(f"{context}: the metadata is not an object; the service changed its format.")
    title = _lang_dict(payload.get("title"))
    if not title.get("fi"):
        raise SchemaChanged(f"{context}: the metadata has no Finnish title; the service changed its format.")
    if "id" in payload and str(payload["id"]) != str(indicator):
        raise SchemaChanged(f"{context}: the service answered with the metadata of indicator {payload['id']}.")
    organization = payload.get("organization")
    if isinstance(organization, dict):
        names = _lang_dict(organization.get("title"))
        organization = names.get("en") or names.get("fi") or ""
    decimals = payload.get("decimals")
    return IndicatorMeta(
        id=indicator,
        title=title,
        description={lang: strip_html(text)[:DESCRIPTION_MAX_CHARS] for lang, text in
                     _lang_dict(payload.get("description")).items() if strip_html(text)},
        interpretation=_lang_dict(payload.get("interpretation")),
        decimals=decimals if isinstance(decimals, int) and not isinstance(decimals, bool) else None,
        organization=str(organization or ""),
        data_updated=str(payload["data-updated"]) if payload.get("data-updated") else None,
    )


DATA_FIELDS = ("region", "year", "value")


def parse_data(payload: Any, indicator: int, region_map: dict[int, str], series_id: str) -> pd.DataFrame:
    """`json?indicator=...` answer -> tidy frame with official region codes.

    Rows of regions outside the known categories and rows without a value are left out; a row lacking `region`,
    `year` or `value`, or one for another indicator or sex, means the format changed (SchemaChanged).
    """
    context = f"THL Sotkanet (indicator {indicator})"
    if not isinstance(payload, list):
        raise SchemaChanged(f"{context}: the data is not a list of values; the service changed its format.")
    regions, periods, values = [], [], []
    for row in payload:
        if not isinstance(row, dict) or not set(DATA_FIELDS) <= row.keys():
            lacking = [name for name in DATA_FIELDS if not isinstance(row, dict) or name not in row]
            raise SchemaChanged(f"{context}: a data row lacks {', '.join(lacking)}; the service changed its format.")
        if "indicator" in row and str(row["indicator"]) != str(indicator):
            raise SchemaChanged(f"{context}: the answer holds rows of indicator {row['indicator']}.")
        if row.get("gender", GENDER) != GENDER:
            raise SchemaChanged(f"{context}: the answer holds rows for gender '{row['gender']}', not '{GENDER}'.")
        try:
            code = region_map.get(int(row["region"]))
            year = int(row["year"])
        except (TypeError, ValueError):
            raise SchemaChanged(f"{context}: a region id or year is not a number ({row!r:.80}).") from None
        if code is None or row["value"] is None:
            continue
        regions.append(code)
        periods.append(f"{year:04d}")
        values.append(row["value"])
    frame = tidy_frame(series_id, regions, periods, values)
    if frame["value"].isna().any():
        raise SchemaChanged(f"{context}: some values are not numbers.")
    return frame
