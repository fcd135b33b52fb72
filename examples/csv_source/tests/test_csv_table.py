"""The csv_table plugin as an installed package: found through its entry point, fetching from a local HTTP server.

Every answer here is CONSTRUCTED in the documented format (`region;period;value`); the numbers are made up. The
plugin's tests stand on their own (a small server on 127.0.0.1 of their own, their own config file and warehouse),
as a plugin's tests would in its own repository; `./tiedolla.sh test` runs them with the project's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from sources.contract import NotFound, SchemaChanged, SourceUnavailable, validate_frame
from sources.refresh import UPDATED, refresh
from sources.registry import available_kinds, build_adapter
from sources.settings import get_settings, load_settings
from sources.warehouse import open_warehouse

CONFIG = """
[sources.demo]
kind = "csv_table"
base_url = "{base}/"
publisher = "Demo publisher"
licence = "CC BY 4.0"
attribution = "Demo publisher"
max_retries = 1
backoff_base_s = 0.01

[[sources.demo.series]]
id = "demo.population"
title = {{ fi = "Väestö", sv = "Befolkning", en = "Population" }}
unit = "henkilöä"
file = "population.csv"
"""
Answer = tuple[int, str]


class Files:
    """A tiny HTTP server: path -> a function giving (status, body); counts the requests per path."""

    def __init__(self) -> None:
        self.routes: dict[str, Callable[[], Answer]] = {}
        self.hits: dict[str, int] = {}
        files = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
                files.hits[self.path] = files.hits.get(self.path, 0) + 1
                status, body = files.routes.get(self.path, lambda: (404, "not found"))()
                data = body.encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "text/csv; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def files():
    server = Files()
    yield server
    server.close()


@pytest.fixture
def settings(files, tmp_path, monkeypatch):
    path = tmp_path / "config.toml"
    path.write_text(CONFIG.format(base=files.base), encoding="utf-8")
    monkeypatch.setenv("TIEDOLLA_CONFIG_FILE", str(path))
    monkeypatch.setenv("TIEDOLLA_WAREHOUSE_DIR", str(tmp_path / "warehouse"))
    monkeypatch.delenv("TIEDOLLA_WAREHOUSE_URL", raising=False)
    monkeypatch.setenv("TIEDOLLA_REFRESH__RATE_LIMIT_DIR", str(tmp_path / "rate-limits"))
    get_settings.cache_clear()
    yield load_settings()
    get_settings.cache_clear()


def test_the_kind_is_found_through_the_installed_entry_point():
    assert available_kinds()["csv_table"] == "tiedolla_csv_table:CsvTableAdapter"


def test_fetch_returns_a_tidy_frame_with_provenance(files, settings):
    files.routes["/population.csv"] = lambda: (200, "region;period;value\nKU098;2024;23412\nKU016;2024;7960,0\n")
    (series,) = build_adapter("demo", settings).fetch()
    validate_frame(series.frame, "demo")
    assert series.frame["value"].tolist() == [23412.0, 7960.0]
    assert series.provenance.request_url == files.base + "/population.csv"
    assert series.provenance.licence == "CC BY 4.0"


def test_a_refresh_stores_it_in_the_warehouse(files, settings):
    files.routes["/population.csv"] = lambda: (200, "region;period;value\nKU098;2024;23412\n")
    report = refresh(settings, sources=["demo"])
    assert [(outcome.series, outcome.status) for outcome in report.outcomes] == [("demo.population", UPDATED)]
    with open_warehouse(settings.warehouse_location) as warehouse:
        assert warehouse.read(["demo.population"])["value"].tolist() == [23412.0]


def test_a_missing_file_raises_not_found(files, settings):
    with pytest.raises(NotFound, match="demo.population"):
        build_adapter("demo", settings).fetch()


def test_a_changed_format_raises_schema_changed(files, settings):
    files.routes["/population.csv"] = lambda: (200, "kunta;vuosi\nHollola;2024\n")
    with pytest.raises(SchemaChanged, match="region, period, value"):
        build_adapter("demo", settings).fetch()


def test_a_server_error_raises_source_unavailable_after_retrying(files, settings):
    files.routes["/population.csv"] = lambda: (503, "")
    with pytest.raises(SourceUnavailable):
        build_adapter("demo", settings).fetch()
    assert files.hits["/population.csv"] == 2
