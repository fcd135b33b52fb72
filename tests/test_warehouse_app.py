"""The app on a warehouse that is not there or not ready: a clear page naming the host and what to check, no
traceback; and the app on a PostgreSQL warehouse, reading the same real snapshot data as on the local store."""

from __future__ import annotations

import pytest

from sources.settings import get_settings
from tests.apptest_helpers import open_page, run_app


def test_an_unreachable_database_gives_a_page_naming_the_host_and_what_to_check(monkeypatch):
    monkeypatch.setenv("TIEDOLLA_WAREHOUSE_URL", "postgresql://tiedolla:secret@127.0.0.1:9/tiedolla")
    get_settings.cache_clear()
    at = run_app()
    assert not at.exception
    errors = [error.value for error in at.error]
    assert errors, "the app must say why it shows no data"
    assert "Tietovarastoon postgresql://tiedolla@127.0.0.1:9/tiedolla ei saada yhteyttä" in errors[0]
    assert "warehouse_url" in errors[0]
    assert "secret" not in " ".join(errors)


@pytest.fixture
def postgres_warehouse(postgres_url, monkeypatch):
    url = postgres_url
    monkeypatch.setenv("TIEDOLLA_WAREHOUSE_URL", url)
    get_settings.cache_clear()
    return url


def test_the_app_fills_a_new_postgres_warehouse_and_shows_the_same_figures_as_the_local_store(
        postgres_warehouse, monkeypatch, tmp_path):
    on_postgres = open_page(run_app({"municipalities": ["Hollola"]}), "employment")
    assert not on_postgres.exception
    monkeypatch.setenv("TIEDOLLA_WAREHOUSE_URL", "")
    monkeypatch.setenv("TIEDOLLA_WAREHOUSE_DIR", str(tmp_path / "local"))
    get_settings.cache_clear()
    on_local = open_page(run_app({"municipalities": ["Hollola"]}), "employment")
    figures = {metric.label: metric.value for metric in on_postgres.metric}
    assert figures and figures == {metric.label: metric.value for metric in on_local.metric}
    captions = [caption.value for caption in on_postgres.sidebar.caption]
    assert any(caption.startswith("Tietoversio ") for caption in captions)


def test_an_outdated_schema_names_the_migrate_command(postgres_warehouse):
    import psycopg

    from sources.warehouse import SchemaOutdated, open_warehouse

    assert not run_app().exception  # the first start migrates and fills the new database
    with psycopg.connect(postgres_warehouse, autocommit=True) as connection:
        connection.execute("DELETE FROM schema_version WHERE version = (SELECT max(version) FROM schema_version)")
    with open_warehouse(postgres_warehouse) as store, pytest.raises(SchemaOutdated, match="python -m sources migrate"):
        store.read(["snapshot.population"])


def test_a_read_only_role_still_reads_in_the_app_and_its_refresh_fails_clearly(postgres_warehouse, postgres_server,
                                                                               monkeypatch):
    import subprocess
    import sys

    from sources.settings import REPO_ROOT

    assert not open_page(run_app(), "employment").exception  # filled by a role that may write
    reader_url = reader_role(postgres_server, postgres_warehouse)
    import os

    monkeypatch.setenv("TIEDOLLA_WAREHOUSE_URL", reader_url)
    get_settings.cache_clear()
    on_reader = open_page(run_app({"municipalities": ["Hollola"]}), "employment")
    assert not on_reader.exception and not on_reader.error
    assert {metric.label for metric in on_reader.metric} == {"Hollola"}

    result = subprocess.run([sys.executable, "-m", "sources", "refresh", "--source", "snapshot"], cwd=REPO_ROOT,
                            env={**os.environ, "TIEDOLLA_WAREHOUSE_URL": reader_url}, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.startswith("Warehouse error:") and "read" in result.stderr.lower()
    assert "Traceback" not in result.stderr


def reader_role(server, url: str) -> str:
    """The URL of `url`'s database for a login role that may only read the warehouse tables."""
    from urllib.parse import urlsplit

    from tests.pg_server import SUPERUSER

    server.execute(
        "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'app_reader') THEN "
        "CREATE ROLE app_reader LOGIN; END IF; END $$",
        "GRANT SELECT ON ALL TABLES IN SCHEMA public TO app_reader", dbname=urlsplit(url).path.lstrip("/"))
    reader_url = url.replace(f"{SUPERUSER}@", "app_reader@", 1)
    assert reader_url != url
    return reader_url


def test_an_outdated_schema_that_the_app_may_not_migrate_gives_a_page_naming_the_command(
        postgres_warehouse, postgres_server, monkeypatch):
    import psycopg

    assert not run_app().exception
    reader_url = reader_role(postgres_server, postgres_warehouse)
    with psycopg.connect(postgres_warehouse, autocommit=True) as connection:
        connection.execute("DELETE FROM schema_version WHERE version = (SELECT max(version) FROM schema_version)")
    monkeypatch.setenv("TIEDOLLA_WAREHOUSE_URL", reader_url)
    get_settings.cache_clear()
    at = run_app()
    assert not at.exception
    errors = " ".join(error.value for error in at.error)
    assert "rakenne on vanhempi" in errors and "python -m sources migrate" in errors
