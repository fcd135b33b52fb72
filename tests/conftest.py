"""Shared fixtures: an isolated warehouse and settings per test, and the replay server."""

from __future__ import annotations

import pytest

from sources.settings import get_settings
from tests.replay_server import ReplayServer


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path, monkeypatch):
    """Every test gets its own empty warehouse; settings are re-read after the environment changes."""
    monkeypatch.setenv("TIEDOLLA_WAREHOUSE_DIR", str(tmp_path / "warehouse"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def replay_server():
    with ReplayServer() as server:
        yield server
