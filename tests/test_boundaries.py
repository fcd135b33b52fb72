"""The boundaries adapter (Statistics Finland WFS) against a real local HTTP server.

Every answer here is CONSTRUCTED in the documented format of geo.stat.fi's WFS GetFeature with outputFormat=json
and srsName=EPSG:4326 (/work/shared/SOURCES.md): a GeoJSON FeatureCollection whose features carry the area number
in a property named after the layer (`kunta`: "098", `maakunta`: "07", `hyvinvointialue`: "09") and the names in
`nimi` / `namn`. The geometries are small made-up squares near the real places, in longitude/latitude.
"""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest

from sources.contract import DOCUMENT_PREFIX, BadQuery, Provenance, SchemaChanged, SourceAdapter, SourceUnavailable
from sources.registry import build_adapter
from sources.settings import get_settings, load_settings
from sources.warehouse import open_warehouse
from tests.replay_server import json_answer

WFS_PATH = "/geoserver/wfs"
DOCUMENTS = ("boundaries_municipalities.geojson", "boundaries_regions.geojson", "boundaries_wellbeing_counties.geojson")


def square(lon: float, lat: float, size: float = 0.2) -> dict:
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    return {"type": "MultiPolygon", "coordinates": [[ring]]}


def feature(number: int, properties: dict, geometry: dict) -> dict:
    return {"type": "Feature", "id": f"layer.{number}", "geometry": geometry, "properties": properties}


def collection(features: list[dict]) -> dict:
    return {"type": "FeatureCollection", "features": features, "totalFeatures": len(features),
            "numberMatched": len(features), "numberReturned": len(features),
            "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4326"}}}


LAYERS = {
    "tilastointialueet:kunta4500k_2025": collection([
        feature(1, {"vuosi": 2025, "kunta": "098", "nimi": "Hollola", "namn": "Hollola"}, square(25.3, 60.9)),
        feature(2, {"vuosi": 2025, "kunta": "016", "nimi": "Asikkala", "namn": "Asikkala"}, square(25.5, 61.1)),
    ]),
    "tilastointialueet:maakunta4500k_2025": collection([
        feature(1, {"vuosi": 2025, "maakunta": "07", "nimi": "Päijät-Häme", "namn": "Päijänne-Tavastland"},
                square(25.2, 60.8, 0.8)),
    ]),
    "tilastointialueet:hyvinvointialue4500k_2025": collection([
        feature(1, {"vuosi": 2025, "hyvinvointialue": "09", "nimi": "Päijät-Hämeen hyvinvointialue",
                    "namn": "Välfärdsområdet Päijänne-Tavastland"}, square(25.2, 60.8, 0.8)),
        feature(2, {"vuosi": 2025, "hyvinvointialue": "90", "nimi": "Helsinki", "namn": "Helsingfors"},
                square(24.8, 60.1, 0.2)),
    ]),
}


def serve_wfs(server, layers: dict | None = None, override=None):
    layers = LAYERS if layers is None else layers

    def answer(request):
        if override is not None:
            result = override(request)
            if result is not None:
                return result
        type_name = request.query.get("typeName", [""])[0]
        if type_name not in layers:
            return 400, {"Content-Type": "text/xml"}, b"<ows:ExceptionReport>Unknown type</ows:ExceptionReport>"
        payload = layers[type_name]
        body = payload if isinstance(payload, str) else json.dumps(payload)
        return json_answer(body, headers={"Last-Modified": "Tue, 14 Jan 2025 10:00:00 GMT"})

    server.route("GET", WFS_PATH, answer)


@pytest.fixture
def boundaries_settings(monkeypatch):
    """The repository's config.toml with the boundaries source pointed at the replay server, fast retries and a
    feature minimum of 1 (the constructed layers are small)."""

    def _settings(base: str, **overrides):
        overrides = {"max_retries": 1, "backoff_base_s": 0.01, **overrides}
        monkeypatch.setenv("TIEDOLLA_SOURCES__BOUNDARIES__BASE_URL", base + WFS_PATH)
        for key, value in overrides.items():
            monkeypatch.setenv(f"TIEDOLLA_SOURCES__BOUNDARIES__{key.upper()}", str(value))
        get_settings.cache_clear()
        settings = load_settings()
        for layer in settings.sources["boundaries"].model_extra["layers"]:
            layer["min_features"] = 1
        return settings

    return _settings


def documents_of(settings) -> dict[str, tuple[dict, Provenance]]:
    adapter = build_adapter("boundaries", settings)
    return {name: (json.loads(body), provenance) for name, body, provenance in adapter.fetch_documents()}


# --- happy path ------------------------------------------------------------------------------------------------------


def test_fetch_documents_returns_the_three_layers_as_geojson(replay_server, boundaries_settings):
    serve_wfs(replay_server)
    documents = documents_of(boundaries_settings(replay_server.base))

    assert tuple(documents) == DOCUMENTS
    municipalities, provenance = documents["boundaries_municipalities.geojson"]
    assert [f["properties"]["kunta"] for f in municipalities["features"]] == ["098", "016"]
    assert documents["boundaries_regions.geojson"][0]["features"][0]["properties"]["maakunta"] == "07"
    counties = documents["boundaries_wellbeing_counties.geojson"][0]["features"]
    assert {f["properties"]["hyvinvointialue"] for f in counties} == {"09", "90"}
    assert provenance.table == "tilastointialueet:kunta4500k_2025"
    assert provenance.licence == "CC BY 4.0" and provenance.attribution == "Statistics Finland"
    assert provenance.data_updated == "2025-01-14"


def test_wfs_request_asks_for_geojson_in_wgs84_for_the_configured_year(replay_server, boundaries_settings):
    serve_wfs(replay_server, layers={name.replace("2025", "2026"): value for name, value in LAYERS.items()})
    documents_of(boundaries_settings(replay_server.base, year=2026))

    query = replay_server.calls("GET", WFS_PATH)[0].query
    assert query["typeName"] == ["tilastointialueet:kunta4500k_2026"]
    assert query["outputFormat"] == ["json"] and query["srsName"] == ["EPSG:4326"]
    assert query["service"] == ["WFS"] and query["request"] == ["GetFeature"]


def test_no_tabular_series(replay_server, boundaries_settings):
    adapter = build_adapter("boundaries", boundaries_settings(replay_server.base))
    assert isinstance(adapter, SourceAdapter) and adapter.kind == "boundaries"
    assert adapter.describe() == [] and adapter.fetch() == []
    assert not replay_server.requests


# --- the fault matrix ------------------------------------------------------------------------------------------------


def test_connection_refused_is_source_unavailable(boundaries_settings):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(SourceUnavailable, match="cannot connect"):
        documents_of(boundaries_settings(f"http://127.0.0.1:{port}"))


def test_timeout_is_source_unavailable(replay_server, boundaries_settings):
    release = threading.Event()
    serve_wfs(replay_server, override=lambda request: release.wait(2.0) and None)
    started = time.monotonic()
    try:
        with pytest.raises(SourceUnavailable, match="did not answer within 0.2 s"):
            documents_of(boundaries_settings(replay_server.base, timeout_read_s=0.2, max_retries=0))
    finally:
        release.set()
    assert time.monotonic() - started < 1.5


def test_429_with_retry_after_is_honoured_then_succeeds(replay_server, boundaries_settings):
    answers = iter([(429, {"Retry-After": "1"}, b"")])
    serve_wfs(replay_server, override=lambda request: next(answers, None))
    documents = documents_of(boundaries_settings(replay_server.base))
    first, second = replay_server.calls("GET", WFS_PATH)[:2]
    assert second.at - first.at >= 0.9
    assert len(documents) == 3


def test_server_error_is_retried_then_source_unavailable(replay_server, boundaries_settings):
    serve_wfs(replay_server, override=lambda request: (503, {}, b"maintenance"))
    with pytest.raises(SourceUnavailable, match="HTTP 503"):
        documents_of(boundaries_settings(replay_server.base, max_retries=2))
    assert len(replay_server.calls("GET", WFS_PATH)) == 3


def test_malformed_body_is_schema_changed(replay_server, boundaries_settings):
    serve_wfs(replay_server, layers={**LAYERS, "tilastointialueet:kunta4500k_2025": '{"type": "FeatureCollection", '})
    with pytest.raises(SchemaChanged, match="not GeoJSON"):
        documents_of(boundaries_settings(replay_server.base))


def test_changed_properties_are_schema_changed(replay_server, boundaries_settings):
    renamed = collection([feature(1, {"kuntakoodi": "098", "nimi": "Hollola"}, square(25.3, 60.9))])
    serve_wfs(replay_server, layers={**LAYERS, "tilastointialueet:kunta4500k_2025": renamed})
    with pytest.raises(SchemaChanged, match="lacks the properties kunta"):
        documents_of(boundaries_settings(replay_server.base))


def test_empty_result_is_schema_changed(replay_server, boundaries_settings):
    serve_wfs(replay_server, layers={**LAYERS, "tilastointialueet:maakunta4500k_2025": collection([])})
    with pytest.raises(SchemaChanged, match="no features"):
        documents_of(boundaries_settings(replay_server.base))


def test_projected_or_swapped_coordinates_are_schema_changed(replay_server, boundaries_settings):
    swapped = collection([feature(1, {"kunta": "098", "nimi": "Hollola"}, square(60.9, 25.3))])
    serve_wfs(replay_server, layers={**LAYERS, "tilastointialueet:kunta4500k_2025": swapped})
    with pytest.raises(SchemaChanged, match="swapped axes"):
        documents_of(boundaries_settings(replay_server.base))


def test_too_few_areas_is_schema_changed(replay_server, boundaries_settings):
    serve_wfs(replay_server)
    settings = boundaries_settings(replay_server.base)
    settings.sources["boundaries"].model_extra["layers"][0]["min_features"] = 300
    with pytest.raises(SchemaChanged, match="only 2 areas, at least 300"):
        documents_of(settings)


def test_missing_layer_is_a_bad_query(replay_server, boundaries_settings):
    serve_wfs(replay_server, layers={})
    with pytest.raises(BadQuery, match="HTTP 400"):
        documents_of(boundaries_settings(replay_server.base))


# --- configuration and refresh ---------------------------------------------------------------------------------------


def test_repository_config_declares_three_layers_by_year():
    get_settings.cache_clear()
    adapter = build_adapter("boundaries", load_settings())
    assert [layer.document for layer in adapter.layers] == list(DOCUMENTS)
    assert all(layer.type_name.endswith(f"_{load_settings().sources['boundaries'].model_extra['year']}")
               for layer in adapter.layers)


def test_failing_refresh_leaves_the_stored_boundaries_as_they_were(replay_server, boundaries_settings):
    from sources.refresh import refresh

    serve_wfs(replay_server)
    settings = boundaries_settings(replay_server.base)
    assert refresh(settings, sources=["boundaries"]).ok
    warehouse = open_warehouse(settings.warehouse_location)
    before = {name: warehouse.read_document(name) for name in DOCUMENTS}
    assert all(before.values())

    serve_wfs(replay_server, layers={**LAYERS, "tilastointialueet:hyvinvointialue4500k_2025": collection([])})
    report = refresh(settings, sources=["boundaries"])

    assert [outcome.status for outcome in report.outcomes] == ["failed"]
    assert {name: warehouse.read_document(name) for name in DOCUMENTS} == before
    assert "no features" in warehouse.status()["documents:boundaries"]["last_error"]


# --- the publication check of `refresh --due` ----------------------------------------------------------------------


def test_publication_markers_are_each_layers_last_modified_asked_with_head(replay_server, boundaries_settings):
    serve_wfs(replay_server)
    settings = boundaries_settings(replay_server.base)
    adapter = build_adapter("boundaries", settings)
    keys = [DOCUMENT_PREFIX + layer.document for layer in adapter.layers]
    markers = adapter.publication_markers(keys)
    assert markers == {key: "last-modified Tue, 14 Jan 2025 10:00:00 GMT" for key in keys}
    assert {call.method for call in replay_server.requests} == {"HEAD"}
    assert all(call.query["typeName"] for call in replay_server.requests)


def test_due_refresh_fetches_the_layers_only_when_their_last_modified_changes(replay_server, boundaries_settings):
    from sources.refresh import CURRENT, UPDATED, refresh

    modified = {"value": "Tue, 14 Jan 2025 10:00:00 GMT"}
    serve_wfs(replay_server)
    answer = replay_server.routes[("GET", WFS_PATH)]

    def dated(request):
        status, headers, body = answer(request)
        return status, {**headers, "Last-Modified": modified["value"]}, body

    replay_server.route("GET", WFS_PATH, dated)
    settings = boundaries_settings(replay_server.base)
    first = refresh(settings, sources=["boundaries"], due=True)
    assert [(o.series, o.status) for o in first.outcomes] == [("documents:boundaries", UPDATED)]

    gets = len(replay_server.calls("GET", WFS_PATH))
    second = refresh(settings, sources=["boundaries"], due=True)
    assert [(o.series, o.status) for o in second.outcomes] == [("documents:boundaries", CURRENT)]
    assert len(replay_server.calls("GET", WFS_PATH)) == gets  # only HEAD requests this time

    modified["value"] = "Wed, 14 Jan 2026 10:00:00 GMT"  # the publisher's new boundaries
    third = refresh(settings, sources=["boundaries"], due=True)
    assert [(o.series, o.status) for o in third.outcomes] == [("documents:boundaries", UPDATED)]
