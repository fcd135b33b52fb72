"""Pytest fixtures for tests against a real PostgreSQL: one throwaway server per test session, and a fresh migrated
database per test (a cheap copy of a migrated template, see tests/pg_server.py). Registered from tests/conftest.py
with `pytest_plugins`; the tests using them are skipped only when no PostgreSQL server binaries are installed."""

from __future__ import annotations

import itertools

import pytest

from tests.pg_server import PostgresNotInstalled, PostgresServer

_database_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def postgres_server():
    try:
        server = PostgresServer()
    except PostgresNotInstalled as exc:
        pytest.skip(str(exc))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server) -> str:
    """The URL of a new database with the current schema, dropped after the test."""
    name = f"test_{next(_database_numbers)}"
    url = postgres_server.create_database(name)
    yield url
    postgres_server.drop_database(name)
