"""Helpers for AppTest: open a page registered by st.navigation under its URL path."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP_TIMEOUT_S = 120
APP_FILE = str(Path(__file__).resolve().parent.parent / "app.py")


def run_app(query: dict[str, str | list[str]] | None = None) -> AppTest:
    at = AppTest.from_file(APP_FILE, default_timeout=APP_TIMEOUT_S)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    return at.run()


def open_page(at: AppTest, url_path: str) -> AppTest:
    """Switch to the page with this URL path. The theme page is one file registered under four URL paths, and
    AppTest.switch_page selects by file, so pick the registered page by its URL path instead."""
    matches = [page_hash for page_hash, info in at._registered_pages.items() if info.get("url_pathname") == url_path]
    registered = [info.get("url_pathname") for info in at._registered_pages.values()]
    assert matches, f"no page registered at /{url_path}; registered: {registered}"
    at._page_hash = matches[0]
    return at.run()
