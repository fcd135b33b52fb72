"""From a refresh to the screen: live series fetched from a (fake, local) Statistics Finland host reach the
employment page, ahead of the bundled snapshot, with their own source line; a failed refresh shows a stale warning
and keeps the figures."""

from __future__ import annotations

import json

from sources.refresh import refresh
from sources.settings import REPO_ROOT, get_settings
from sources.warehouse import open_warehouse
from tests.apptest_helpers import open_page, run_app
from tests.pxweb_fake import FakePxWeb, unemployment_table
from tests.replay_server import json_answer

LIVE_SERIES = ["statfin.unemployed", "statfin.labour_force", "statfin.vacancies"]


def point_statfin_at(fake: FakePxWeb, monkeypatch) -> None:
    # The real config.toml, with only the host and the patience changed by environment, as an operator would.
    monkeypatch.setenv("TIEDOLLA_SOURCES__STATFIN__BASE_URL", fake.base_url)
    monkeypatch.setenv("TIEDOLLA_SOURCES__STATFIN__TIMEOUT_READ_S", "2")
    monkeypatch.setenv("TIEDOLLA_SOURCES__STATFIN__MAX_RETRIES", "0")
    get_settings.cache_clear()


def test_refreshed_statfin_series_replace_the_snapshot_on_the_employment_page(replay_server, monkeypatch):
    fake = FakePxWeb(replay_server)
    fake.add(unemployment_table())  # constructed answers in the documented format, months 2024-01..2025-12
    point_statfin_at(fake, monkeypatch)
    report = refresh(get_settings(), sources=["statfin"], series=LIVE_SERIES)
    assert report.ok, report.summary_table()

    with open_warehouse(get_settings().warehouse_location) as store:
        stored = store.read(["statfin.unemployed", "statfin.labour_force"])
    hollola = stored[(stored["region"] == "KU098") & (stored["period"] == "2025-12")].set_index("series")["value"]
    expected = 100 * hollola["statfin.unemployed"] / hollola["statfin.labour_force"]

    at = open_page(run_app(), "employment")
    assert not at.exception
    metrics = {metric.label: metric.value for metric in at.metric}
    assert metrics["Hollola"] == f"{expected:.1f}".replace(".", ",") + "\u00a0%"
    markdown = " ".join(element.value for element in at.markdown)
    assert "joulukuu 2025" in markdown  # the key figures now come from the newest live month
    captions = " ".join(caption.value for caption in at.caption)
    # The live months and the older snapshot months are both named, with the live host's attribution.
    assert "Tilastokeskus" in captions and "tammikuu 2006 – joulukuu 2025" in captions


def test_a_failed_refresh_shows_a_stale_warning_and_keeps_the_figures(replay_server, monkeypatch):
    fake = FakePxWeb(replay_server)
    table = fake.add(unemployment_table())
    point_statfin_at(fake, monkeypatch)
    assert refresh(get_settings(), sources=["statfin"], series=LIVE_SERIES).ok
    before = open_page(run_app(), "employment")
    shown_before = {metric.label: metric.value for metric in before.metric}

    table.data_override = lambda request: (500, {"Content-Type": "text/plain"}, b"maintenance")
    report = refresh(get_settings(), sources=["statfin"], series=LIVE_SERIES)
    assert not report.ok

    after = open_page(run_app(), "employment")
    assert not after.exception
    assert {metric.label: metric.value for metric in after.metric} == shown_before
    sidebar_warnings = " ".join(warning.value for warning in after.sidebar.warning)
    assert "epäonnistui" in sidebar_warnings
    panel_warnings = " ".join(warning.value for warning in after.warning)
    assert "HTTP 500" in panel_warnings


# --- THL Sotkanet and boundaries: constructed answers in the documented formats (SOURCES.md) ---------------------

SOTKANET = "/rest/1.1/"
CHILDREN_PLACED = {
    "id": 1244, "data-updated": "2026-03-31",
    "title": {"fi": "Kodin ulkopuolelle sijoitetut 0 - 17-vuotiaat, % vastaavanikäisestä väestöstä",
              "sv": "0-17-åringar placerade utom hemmet", "en": "Children placed outside the home"},
    "organization": {"id": 1, "title": {"fi": "THL", "sv": "THL", "en": "THL"}}, "decimals": 1,
}
SOTKANET_REGIONS = [
    {"id": 100, "code": "98", "category": "KUNTA", "title": {"fi": "Hollola"}},
    {"id": 101, "code": "16", "category": "KUNTA", "title": {"fi": "Asikkala"}},
    {"id": 200, "code": "7", "category": "MAAKUNTA", "title": {"fi": "Päijät-Häme"}},
    {"id": 658, "code": "0", "category": "MAA", "title": {"fi": "Koko maa"}},
]


def serve_sotkanet(server) -> None:
    def data(request):
        years = [int(year) for year in request.query.get("years", [])]
        rows = [{"indicator": 1244, "region": region, "year": year, "gender": "total", "value": value}
                for year in years if year >= 2024
                for region, value in ((100, 1.3), (101, 0.9), (200, 1.6), (658, 1.2))]
        return json_answer(json.dumps(rows))

    server.route("GET", f"{SOTKANET}indicators/1244", lambda request: json_answer(json.dumps(CHILDREN_PLACED)))
    server.route("GET", f"{SOTKANET}regions", lambda request: json_answer(json.dumps(SOTKANET_REGIONS)))
    server.route("GET", f"{SOTKANET}json", data)


def test_refreshed_sotkanet_indicator_extends_the_wellbeing_theme(replay_server, monkeypatch):
    serve_sotkanet(replay_server)
    monkeypatch.setenv("TIEDOLLA_SOURCES__SOTKANET__BASE_URL", replay_server.base + SOTKANET)
    get_settings.cache_clear()
    report = refresh(get_settings(), sources=["sotkanet"], series=["sotkanet.children_placed_outside_home"])
    assert report.ok, report.summary_table()

    at = open_page(run_app({"municipalities": ["Hollola", "Asikkala"]}), "wellbeing")
    assert not at.exception
    labels = [expander.label for expander in at.expander]
    # Snapshot years 1990-2023 and the fetched 2024-... years make one series.
    assert any(label.startswith("Kodin ulkopuolelle sijoitetut lapset · 1990 – 20") and "2023" not in label
               for label in labels), labels

    at = open_page(run_app({"municipalities": ["Hollola"], "indicator": "children_placed_outside_home",
                            "period": "2024"}), "compare")
    assert not at.exception
    text = " ".join(element.value for element in at.markdown)
    assert "1,3" in text and "Päijät-Häme (1,6" in text  # Hollola and the region as Sotkanet published them
    assert "THL, Sotkanet.fi" in " ".join(caption.value for caption in at.caption)


def serve_boundaries(server) -> None:
    # One small square per current municipality, laid out in a grid inside Finland's longitude/latitude box.
    from indicators.regions import get_registry

    def square(lon, lat, size=0.1):
        ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
        return {"type": "Polygon", "coordinates": [ring]}

    def layer(codes, prop):
        features = [{"type": "Feature", "geometry": square(21 + (i % 20) * 0.4, 60 + (i // 20) * 0.4),
                     "properties": {prop: code, "nimi": code}} for i, code in enumerate(codes)]
        return {"type": "FeatureCollection", "features": features}

    registry = get_registry()
    layers = {
        "kunta4500k_2025": layer([code[2:] for code in registry.codes("municipality")], "kunta"),
        "maakunta4500k_2025": layer([code[2:] for code in registry.codes("region")], "maakunta"),
        "hyvinvointialue4500k_2025": layer([code[2:] for code in registry.codes("wellbeing_county")],
                                           "hyvinvointialue"),
    }

    def wfs(request):
        name = request.query["typeName"][0].split(":")[1]
        return json_answer(json.dumps(layers[name]))

    server.route("GET", "/geoserver/wfs", wfs)


def test_refreshed_boundaries_draw_the_map_of_the_current_division(replay_server, monkeypatch):
    serve_boundaries(replay_server)
    monkeypatch.setenv("TIEDOLLA_SOURCES__BOUNDARIES__BASE_URL", replay_server.base + "/geoserver/wfs")
    get_settings.cache_clear()
    report = refresh(get_settings(), sources=["boundaries"])
    assert report.ok, report.summary_table()

    at = open_page(run_app({"municipalities": ["Hollola"], "indicator": "unemployment_rate"}), "compare")
    assert not at.exception
    captions = " ".join(caption.value for caption in at.caption)
    assert "kunta4500k_2025" in captions  # the map says it uses the fetched 2025 boundaries, not the bundled 2021
    map_spec = json.loads(at.get("vega_lite_chart")[-1].proto.spec)
    url = map_spec.get("data", {}).get("url")
    if url:  # served once as a static file (server.enableStaticServing): the browser fetches it from the app
        assert url.startswith("app/static/shapes/"), url
        shapes = json.loads((REPO_ROOT / "static" / url.removeprefix("app/static/")).read_text(encoding="utf-8"))
        features = shapes["features"] if "features" in shapes else shapes
    else:
        features = next(values for values in map_spec["datasets"].values() if isinstance(values, list) and values
                        and isinstance(values[0], dict) and "geometry" in values[0])
    assert len(features) == 308


def test_refreshed_syke_emissions_fill_the_climate_theme(replay_server, monkeypatch):
    from tests.test_syke import serve_syke  # constructed ALas files for Hollola and Asikkala, 2022 and 2023

    serve_syke(replay_server)
    monkeypatch.setenv("TIEDOLLA_SOURCES__SYKE__BASE_URL", replay_server.base + "/")
    get_settings.cache_clear()
    report = refresh(get_settings(), sources=["syke"], series=["syke.hinku_total"])
    assert report.ok, report.summary_table()

    at = open_page(run_app({"municipalities": ["Hollola"]}), "climate")
    assert not at.exception
    # Hollola is not among the 13 bundled municipalities: its numbers are the refreshed ones.
    table = at.get("vega_lite_chart")
    assert table, "the open panels draw charts for Hollola"
    metrics = {metric.label: metric.value for metric in at.metric}
    assert metrics["Hollola"] == "\u221210,0\u00a0%"  # the constructed 2023 file is 0.9 times 2022
    assert "Syke" in " ".join(caption.value for caption in at.caption)


def test_a_source_failure_is_shown_in_the_readers_language(replay_server, monkeypatch):
    fake = FakePxWeb(replay_server)
    table = fake.add(unemployment_table())
    point_statfin_at(fake, monkeypatch)
    assert refresh(get_settings(), sources=["statfin"], series=LIVE_SERIES).ok
    table.data_override = lambda request: (500, {"Content-Type": "text/plain"}, b"maintenance")
    assert not refresh(get_settings(), sources=["statfin"], series=LIVE_SERIES).ok

    finnish = " ".join(warning.value for warning in open_page(run_app(), "employment").warning)
    assert "palvelu vastasi palvelinvirheellä (HTTP 500) 1 yrityksen jälkeen" in finnish
    assert "answered with a server error" not in finnish and "Try the refresh again" not in finnish
    swedish = " ".join(warning.value for warning in open_page(run_app({"lang": "svenska"}), "employment").warning)
    assert "tjänsten svarade med ett serverfel (HTTP 500) efter 1 försök" in swedish
