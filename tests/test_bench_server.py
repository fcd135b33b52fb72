"""bench/st_client.py really drives a served page: the real server (`ui.serve`), Streamlit's own websocket protocol,
a sidebar change that reruns the page and changes what it shows."""

from __future__ import annotations

import asyncio
import os
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


def test_the_session_memory_bench_opens_and_closes_sessions_and_reads_the_servers_memory_after_each(tmp_path):
    from bench_session_memory import measure_page, slope  # bench/ is on the path (above)

    env = {**os.environ, "TIEDOLLA_WAREHOUSE_DIR": str(tmp_path / "warehouse")}
    env.pop("TIEDOLLA_WAREHOUSE_URL", None)
    result = asyncio.run(measure_page("compare", 2, 0.0, env, tmp_path))

    assert result["page"] == "compare" and len(result["rss_mb"]) == len(result["open_s"]) == 2
    assert all(value > 50 for value in [result["rss_warm_mb"], *result["rss_mb"]])  # a Python server's MB
    assert result["mb_per_session"] == round(result["rss_mb"][1] - result["rss_mb"][0], 2)
    assert slope([1.0, 2.0, 3.0]) == 1.0 and slope([1.0]) is None
