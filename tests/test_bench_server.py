"""bench/st_client.py really drives a served page: the real server (`ui.serve`), Streamlit's own websocket protocol,
a sidebar change that reruns the page and changes what it shows."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from tests.browser import running_app

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from st_client import Session  # noqa: E402 - bench/ is not a package

# It starts an app server: in the group of the browser and deployment tests (conftest.HEAVY_GROUP), one at a time.
pytestmark = pytest.mark.xdist_group("app-servers")


async def open_then_add_a_municipality(base: str) -> tuple:
    async with Session(base, "employment") as session:
        opened = await session.open()
        picker = session.widget("municipalities")
        before = session.value(picker)
        helsinki = session.option(picker, "Helsinki")
        changed = await session.set_widget(picker, [*before, helsinki])
        return session, opened, before, helsinki, changed


def test_a_municipality_change_over_the_websocket_reruns_the_page_and_it_names_the_new_municipality(tmp_path):
    with running_app(tmp_path / "warehouse") as base:
        session, opened, before, helsinki, changed = asyncio.run(open_then_add_a_municipality(base))

    assert opened.statuses[-1] == "FINISHED_SUCCESSFULLY" and not opened.exceptions
    assert "Työllisyys" in opened.text()  # the employment page's heading, in the main area
    assert before == ["Asikkala", "Heinola", "Hollola", "Orimattila"]  # config.toml's default municipalities
    assert "Helsinki" not in opened.text()

    assert changed.statuses[-1] == "FINISHED_SUCCESSFULLY" and not changed.exceptions, changed.exceptions
    assert helsinki == "Helsinki (Helsingfors)"
    assert "Helsinki" in changed.text()  # the page now shows the added municipality
    assert "municipalities=Helsinki" in session.query  # and the address the browser would show names it
    assert 0 < changed.seconds < opened.seconds + 60
