"""Statistics Finland: boundaries of municipalities, regions and wellbeing services counties (WFS, GeoJSON).

Service (base_url in config.toml): `https://geo.stat.fi/geoserver/wfs`, answered as
`?service=WFS&version=2.0.0&request=GetFeature&typeName=tilastointialueet:kunta4500k_2025&outputFormat=json
&srsName=EPSG:4326`. Layers exist per year for `kunta4500k`, `maakunta4500k` and `hyvinvointialue4500k` (1:4.5M,
generalised for national maps); each feature carries its area number in a property named after the layer (`kunta`:
"098", `maakunta`: "07", `hyvinvointialue`: "09") and the names in `nimi` / `namn`.

Terms: CC BY 4.0, attribution "Statistics Finland".

This source has no tabular series: `describe()` and `fetch()` return []; `fetch_documents()` returns one validated
GeoJSON document per configured layer, which the refresh stores with `Warehouse.write_document`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar

import requests

from sources.contract import (
    DOCUMENT_PREFIX,
    BadQuery,
    NotFound,
    ProgressCallback,
    Provenance,
    SchemaChanged,
    SeriesData,
    SeriesInfo,
    now_iso,
)
from sources.http import SourceClient, decode_text, http_validator
from sources.settings import ConfigError, Settings, SourceConfig

BASE_URL_DEFAULT = "https://geo.stat.fi/geoserver/wfs"
LICENCE = "CC BY 4.0"
ATTRIBUTION = "Statistics Finland"
SRS_NAME = "EPSG:4326"  # longitude, latitude in degrees (GeoJSON order)
MAX_CALLS_DEFAULT = 5  # requests per window
WINDOW_S_DEFAULT = 1.0  # seconds
# Finland with a margin, in degrees: a coordinate outside means another projection or swapped axes.
LON_RANGE = (18.0, 33.0)
LAT_RANGE = (58.5, 71.5)
GEOMETRY_TYPES = {"Polygon", "MultiPolygon"}


@dataclass(frozen=True)
class Layer:
    """One configured boundary layer: the document it becomes and how to check it."""

    document: str
    type_name: str
    code_property: str
    name_property: str = "nimi"
    min_features: int = 1


class BoundariesAdapter:
    kind: ClassVar[str] = "boundaries"
    SOURCE_KEYS: ClassVar[frozenset[str]] = frozenset({"year", "layers"})
    SERIES_KEYS: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, name: str, config: SourceConfig, settings: Settings,
                 session: requests.Session | None = None) -> None:
        self.name = name
        self.config = config
        self.settings = settings
        extra = config.model_extra or {}
        self.base_url = config.base_url or BASE_URL_DEFAULT
        self.client = SourceClient.from_config(
            config, settings, session, base_url=self.base_url, max_calls_default=MAX_CALLS_DEFAULT,
            window_s_default=WINDOW_S_DEFAULT,
        )
        self.layers = configured_layers(name, extra)

    # --- the contract -------------------------------------------------------------------------------------------

    def describe(self) -> list[SeriesInfo]:
        return []

    def fetch(
        self,
        series_ids: list[str] | None = None,
        regions: list[str] | None = None,
        periods: list[str] | None = None,
        progress: ProgressCallback | None = None,
    ) -> list[SeriesData]:
        return []

    def publication_markers(self, keys: list[str], progress: ProgressCallback | None = None
                            ) -> dict[str, str | None]:
        """Each layer's ETag or Last-Modified, asked with a HEAD of its GetFeature request; None where the service
        does not answer HEAD or sends neither (the layer is then fetched by its yearly rhythm)."""
        markers: dict[str, str | None] = {}
        for layer in self.layers:
            key = DOCUMENT_PREFIX + layer.document
            if key not in keys:
                continue
            try:
                response = self.client.send("HEAD", self.base_url, context=self._context(layer), progress=progress,
                                            message=f"Boundaries: check {layer.type_name}", params=_params(layer))
                markers[key] = http_validator(response)
            except (NotFound, BadQuery):
                markers[key] = None
        return markers

    def document_names(self) -> list[str]:
        return [layer.document for layer in self.layers]

    def fetch_documents(self, progress: ProgressCallback | None = None) -> list[tuple[str, bytes, Provenance]]:
        """One validated GeoJSON document per configured layer; raises a SourceError when any layer fails."""
        documents = []
        for layer in self.layers:
            params = _params(layer)
            context = self._context(layer)
            response = self.client.get(
                self.base_url,
                context=context,
                progress=progress,
                message=f"Boundaries: {layer.type_name}",
                params=params,
            )
            payload = parse_geojson(decode_text(response), layer, context)
            if progress is not None:
                progress(cells=len(payload["features"]), message=f"Boundaries: {len(payload['features'])} areas")
            provenance = Provenance(
                source=self.name,
                table=layer.type_name,
                request_url=response.url,
                fetched_at=now_iso(),
                data_updated=http_date(response.headers.get("Last-Modified")),
                licence=self.config.licence or LICENCE,
                attribution=self.config.attribution or ATTRIBUTION,
                notes=(f"{len(payload['features'])} areas, {SRS_NAME} (longitude, latitude), scale 1:4.5M",),
            )
            body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            documents.append((layer.document, body, provenance))
        return documents


    @staticmethod
    def _context(layer: Layer) -> str:
        return f"Statistics Finland boundaries ({layer.type_name})"


# --- pure helpers and parsers (no HTTP; tests call them directly) --------------------------------------------------


def _params(layer: Layer) -> dict[str, str]:
    """The WFS GetFeature query of one layer, in longitude-latitude order."""
    return {"service": "WFS", "version": "2.0.0", "request": "GetFeature", "typeName": layer.type_name,
            "outputFormat": "json", "srsName": SRS_NAME}


def configured_layers(source: str, extra: dict[str, Any]) -> list[Layer]:
    """`layers = [{document, type_name, code_property, ...}]` with `{year}` in type_name filled from `year`."""
    year = extra.get("year")
    raw = extra.get("layers")
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"[sources.{source}] needs a non-empty `layers` list (document, type_name, code_property).")
    layers = []
    for entry in raw:
        if not isinstance(entry, dict) or not {"document", "type_name", "code_property"} <= entry.keys():
            raise ConfigError(f"[sources.{source}] each layer needs document, type_name and code_property: {entry!r}.")
        type_name = str(entry["type_name"])
        if "{year}" in type_name:
            if year is None:
                raise ConfigError(f"[sources.{source}] layer {type_name} uses {{year}} but `year` is not set.")
            type_name = type_name.replace("{year}", str(year))
        layers.append(
            Layer(
                document=str(entry["document"]),
                type_name=type_name,
                code_property=str(entry["code_property"]),
                name_property=str(entry.get("name_property", "nimi")),
                min_features=int(entry.get("min_features", 1)),
            )
        )
    return layers


def http_date(value: str | None) -> str | None:
    """An HTTP date (Last-Modified) as an ISO date, or None."""
    try:
        return parsedate_to_datetime(value).date().isoformat() if value else None
    except (TypeError, ValueError):
        return None


def _positions(coordinates: Any):
    """Every [x, y] position in a GeoJSON coordinate array."""
    if isinstance(coordinates, list) and len(coordinates) >= 2 and all(
        isinstance(value, (int, float)) and not isinstance(value, bool) for value in coordinates[:2]
    ):
        yield coordinates
    elif isinstance(coordinates, list):
        for item in coordinates:
            yield from _positions(item)


def parse_geojson(text: str, layer: Layer, context: str) -> dict[str, Any]:
    """Parse and check a WFS GeoJSON answer: a FeatureCollection of (Multi)Polygons in lon/lat around Finland, each
    with the layer's code and name properties and no duplicate codes. SchemaChanged otherwise."""
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SchemaChanged(
            f"{context}: the answer is not GeoJSON ({exc.msg}). The service may have answered with an error page."
        ) from None
    if not isinstance(payload, dict) or payload.get("type") != "FeatureCollection":
        raise SchemaChanged(f"{context}: the answer is not a GeoJSON FeatureCollection.")
    features = payload.get("features")
    if not isinstance(features, list) or not features:
        raise SchemaChanged(f"{context}: the answer has no features; the layer may not exist for this year.")
    if len(features) < layer.min_features:
        raise SchemaChanged(
            f"{context}: only {len(features)} areas, at least {layer.min_features} expected; the answer is incomplete."
        )
    codes = set()
    for feature in features:
        properties = feature.get("properties") if isinstance(feature, dict) else None
        if not isinstance(properties, dict):
            raise SchemaChanged(f"{context}: a feature has no properties.")
        missing = [key for key in (layer.code_property, layer.name_property) if properties.get(key) in (None, "")]
        if missing:
            raise SchemaChanged(
                f"{context}: a feature lacks the properties {', '.join(missing)} "
                f"(it has {', '.join(sorted(properties)[:8])}); the layer changed its format."
            )
        code = str(properties[layer.code_property])
        if code in codes:
            raise SchemaChanged(f"{context}: the code {code} occurs twice.")
        codes.add(code)
        geometry = feature.get("geometry")
        if not isinstance(geometry, dict) or geometry.get("type") not in GEOMETRY_TYPES:
            raise SchemaChanged(f"{context}: area {code} has no polygon geometry.")
        for x, y, *_ in _positions(geometry.get("coordinates")):
            if not (LON_RANGE[0] <= x <= LON_RANGE[1] and LAT_RANGE[0] <= y <= LAT_RANGE[1]):
                raise SchemaChanged(
                    f"{context}: area {code} has the position ({x}, {y}), not longitude/latitude in Finland; the "
                    f"answer is not in {SRS_NAME} or has swapped axes."
                )
    return payload
