"""The map's data: shapes go to the browser once (a static file), only the values change between reruns, and files
made from the map (PNG, SVG) still carry the shapes inline for vl-convert, which cannot fetch the app's URL.

The map values and the stored GeoJSON here are CONSTRUCTED (made-up values and one made-up square for a real
municipality code); the bundled shapes are the real TopoJSON in data/raw.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import altair as alt
import pandas as pd
import pytest
from streamlit import config

from indicators.regions import RAW_DIR
from sources.contract import Provenance
from ui import charts, exports, loading

REPO = Path(__file__).resolve().parent.parent
TOPOLOGY_FORMAT = {"type": "topojson", "feature": "Kunnat2025_geo"}


def bundled_map(values: pd.DataFrame, highlighted: list[str], topology: dict | None = None) -> alt.LayerChart:
    topology = topology or json.loads((RAW_DIR / loading.BUNDLED_BOUNDARIES).read_text(encoding="utf-8"))
    shapes = alt.Data(values=topology, format=alt.DataFormat(**TOPOLOGY_FORMAT))
    return charts.map_chart(shapes, "datum.properties.kunta_k", values, value_title="Työttömyysaste", decimals=1,
                            highlighted=highlighted)


def values_for(codes: list[str], first: float) -> pd.DataFrame:
    return pd.DataFrame({"region": codes, "name": codes, "value": [first + index for index in range(len(codes))]})


@pytest.fixture
def static_serving(tmp_path, monkeypatch):
    """Static serving on, into a folder of the test's own; the shapes cache emptied before and after."""
    previous = config.get_option("server.enableStaticServing")
    config.set_option("server.enableStaticServing", True)
    folder = tmp_path / "static"
    monkeypatch.setattr(loading, "static_dir", lambda: folder)
    loading._shapes.clear()
    yield folder
    loading._shapes.clear()
    config.set_option("server.enableStaticServing", previous)


def test_other_values_and_another_selection_give_the_same_map_spec_with_other_rows():
    first = charts.to_vega_lite(bundled_map(values_for(["KU098", "KU398"], 10.0), ["KU098"]))
    second = charts.to_vega_lite(bundled_map(values_for(["KU091", "KU049", "KU092"], 4.0), ["KU091", "KU049"]))

    def without_rows(spec):
        return {key: value for key, value in spec.items() if key != "datasets"}

    assert without_rows(first) == without_rows(second)
    assert second["datasets"][charts.MAP_VALUES] == [
        {"region": "KU091", "name": "KU091", "value": 4.0}, {"region": "KU049", "name": "KU049", "value": 5.0},
        {"region": "KU092", "name": "KU092", "value": 6.0}]
    assert second["datasets"][charts.MAP_SELECTED] == [{"region": "KU091", "selected": True},
                                                       {"region": "KU049", "selected": True}]


def test_the_shapes_reach_the_spec_without_being_copied():
    topology = json.loads((RAW_DIR / loading.BUNDLED_BOUNDARIES).read_text(encoding="utf-8"))
    spec = charts.to_vega_lite(bundled_map(values_for(["KU098"], 10.0), ["KU098"], topology))
    shapes = [payload for payload in spec["datasets"].values() if isinstance(payload, dict)]
    assert len(shapes) == 1 and shapes[0] is topology  # the very object: no layer made a copy of it


def test_the_bundled_shapes_are_committed_as_the_static_file_the_app_serves(static_serving, monkeypatch):
    # The Docker image's code is read-only for the app, so the bundled shapes' file must be there already.
    monkeypatch.setattr(loading, "static_dir", lambda: REPO / "static")
    raw = (RAW_DIR / loading.BUNDLED_BOUNDARIES).read_bytes()
    served = REPO / "static" / loading.SHAPES_STATIC / f"municipalities-{hashlib.sha256(raw).hexdigest()[:16]}.json"
    assert served.read_bytes() == raw
    assert loading._static_shapes_url(raw) == f"app/static/shapes/{served.name}"


def test_the_browser_gets_the_shapes_by_url_and_an_export_keeps_them_inline(static_serving):
    source = loading._shapes("location", 1)
    assert source.url is not None
    served = static_serving / loading.SHAPES_STATIC / Path(source.url).name
    assert json.loads(served.read_bytes()) == source.values
    shapes = alt.Data(values=source.values, format=alt.DataFormat(**source.format))
    chart = charts.map_chart(shapes, source.code_expression, values_for(["KU098"], 10.0),
                             value_title="Työttömyysaste", decimals=1, highlighted=["KU098"])

    browser = loading.served_shapes(charts.to_vega_lite(chart))
    assert browser["data"] == {"url": source.url, "format": TOPOLOGY_FORMAT}
    assert set(browser["datasets"]) == {charts.MAP_VALUES, charts.MAP_SELECTED}
    assert len(json.dumps(browser)) < 5_000  # the spec and its rows, no shapes

    meta = exports.ExportMeta(title="Työttömyysaste", definition="", source="Tilastokeskus", licence="CC BY 4.0",
                              period="2024", fetched_at="2026-01-02T10:00:00+00:00", areas="Hollola", unit="%")
    exported = exports.export_spec(chart, meta)
    assert source.values in exported["datasets"].values()  # vl-convert draws offline from inline shapes


def test_shapes_a_refresh_stored_are_served_as_their_own_file(static_serving):
    # A CONSTRUCTED GeoJSON document: one square for Hollola, as a boundaries refresh would store it.
    document = {"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"kunta": "098", "nimi": "Hollola"},
        "geometry": {"type": "Polygon", "coordinates": [[[25.4, 61.0], [25.6, 61.0], [25.6, 61.1], [25.4, 61.0]]]}}]}
    payload = json.dumps(document).encode("utf-8")
    provenance = Provenance(source="boundaries", table="2025", request_url="https://example.invalid/wfs",
                            fetched_at="2026-01-02T03:04:05+00:00", data_updated=None, licence="CC BY 4.0",
                            attribution="Statistics Finland")
    loading.warehouse().write_document("boundaries_municipalities.geojson", payload, provenance)

    source = loading._shapes(loading.settings().warehouse_location, 2)
    assert source.values == document["features"] and source.attribution == "Statistics Finland"
    assert (static_serving / loading.SHAPES_STATIC / Path(source.url).name).read_bytes() == payload
    chart = charts.map_chart(alt.Data(values=source.values), source.code_expression, values_for(["KU098"], 1.0),
                             value_title="x", decimals=1, highlighted=[])
    assert loading.served_shapes(charts.to_vega_lite(chart))["data"] == {
        "url": source.url, "format": {"type": "json", "property": "features"}}


def test_an_unwritable_static_folder_leaves_the_shapes_inline_and_says_so(static_serving, monkeypatch, caplog):
    # Under a file, no folder can be made (a read-only file system fails the same way, with an OSError).
    blocker = static_serving.parent / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setattr(loading, "static_dir", lambda: blocker / "static")
    with caplog.at_level(logging.WARNING, logger=loading.log.name):
        source = loading._shapes("location", 3)
    assert source.url is None
    assert "sent inline" in caplog.text
    spec = charts.to_vega_lite(charts.map_chart(
        alt.Data(values=source.values, format=alt.DataFormat(**source.format)), source.code_expression,
        values_for(["KU098"], 1.0), value_title="x", decimals=1, highlighted=["KU098"]))
    assert loading.served_shapes(spec) is spec  # inline, as before


def test_without_static_serving_the_shapes_stay_inline(static_serving):
    config.set_option("server.enableStaticServing", False)
    assert loading._shapes("location", 4).url is None
    assert not (static_serving / loading.SHAPES_STATIC).exists()
