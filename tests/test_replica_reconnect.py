"""A replica that loses its PostgreSQL warehouse says so clearly and comes back by itself when the database returns.

The app (AppTest, the real scripts) reads a private PostgreSQL server of its own, which the test stops as a crash
would (`pg_ctl stop -m immediate`) and starts again, with the app process running on: the same warehouse object and
its connection pool must recover without a restart.
"""

from __future__ import annotations

import pytest

from sources.settings import get_settings
from tests.apptest_helpers import run_app
from tests.pg_server import PostgresServer
from ui import loading


@pytest.fixture
def own_server():
    with PostgresServer() as server:
        yield server


def errors(at) -> list[str]:
    return [str(element.value) for element in at.error]


def test_a_lost_database_gives_a_clear_notice_and_the_page_recovers_when_it_returns(own_server, monkeypatch):
    monkeypatch.setenv("TIEDOLLA_WAREHOUSE_URL", own_server.create_database("replica"))
    get_settings.cache_clear()
    at = run_app({"lang": "suomi"})
    assert not at.exception and not errors(at)
    assert any("Tietoversio" in str(caption.value) for caption in at.sidebar.caption)

    own_server.pause()
    at.run(timeout=60)
    assert not at.exception, at.exception
    [notice] = errors(at)
    assert notice.startswith("Tietovarastoon postgresql://postgres@/replica") and "ei saada yhteyttä" in notice
    assert any("palaa itsestään" in str(caption.value) for caption in at.caption)
    assert loading.warehouse_reachable() is False  # what the page's 5-second check asks

    own_server.resume()
    assert loading.warehouse_reachable() is True
    at.run(timeout=60)
    assert not at.exception and not errors(at)
    assert any("Tietoversio" in str(caption.value) for caption in at.sidebar.caption)
