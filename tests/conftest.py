"""Shared fixtures: an isolated warehouse and settings per test, and the replay server.

`TIEDOLLA_TEST_BACKEND=postgres ./tiedolla.sh test` runs every test with its warehouse in a fresh database of the
throwaway PostgreSQL server instead of a temporary folder (the warehouse tests run on both backends either way)."""

from __future__ import annotations

import os

import pytest
from streamlit.runtime.pages_manager import PagesManager

from sources.settings import get_settings
from tests.replay_server import ReplayServer

pytest_plugins = ["tests.pg_fixtures"]


# Under `./tiedolla.sh test` the suite runs on two pytest-xdist workers (`--dist loadgroup`). The tests that start a
# real app server with Chromium or the deployed stack each take most of a core; in one group they run one after
# another on one worker, while the other worker goes through the light tests.
HEAVY_GROUP = "app-servers"
HEAVY_FILES = {"test_deployment.py", "test_replica_reconnect.py"}


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups from the marks
def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.get_closest_marker("browser") or item.path.name in HEAVY_FILES:
            item.add_marker(pytest.mark.xdist_group(HEAVY_GROUP))


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path, monkeypatch, request):
    """Every test gets its own empty warehouse; settings are re-read after the environment changes."""
    monkeypatch.setenv("TIEDOLLA_WAREHOUSE_DIR", str(tmp_path / "warehouse"))
    # Each test's fake hosts get their own shared request log, so one test's calls never slow another's.
    monkeypatch.setenv("TIEDOLLA_REFRESH__RATE_LIMIT_DIR", str(tmp_path / "rate-limits"))
    if os.environ.get("TIEDOLLA_TEST_BACKEND") == "postgres":
        monkeypatch.setenv("TIEDOLLA_WAREHOUSE_URL", request.getfixturevalue("postgres_url"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def replay_server():
    with ReplayServer() as server:
        yield server


@pytest.fixture(autouse=True)
def served_like_ui_serve(monkeypatch):
    """Run AppTests as `ui.serve` runs the app: not in Streamlit's legacy `pages/`-directory mode, which it would
    otherwise enter because `pages/` sits beside app.py (and in which a page file can run without app.py)."""
    original = PagesManager.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", init)
    monkeypatch.setattr(PagesManager, "uses_pages_directory", False)
