"""The whole round of a pinned link, in Debian's Chromium against the real server: a manager copies the share link
of the compare page, a refresh from the (fake, local) Statistics Finland host then changes the values, and the
pinned link, opened in a fresh browser, still shows the numbers it was shared with, while a plain link shows the new
ones. Run on both warehouse backends.

The Statistics Finland answers are CONSTRUCTED (tests/pxweb_fake.py) in the documented json-stat2 format, with a
labour force ten times the unemployed (rates near 10 %); the revision shrinks the labour force to eight times, as a
publisher's correction would change published figures (rates near 12.5 %).
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from sources.warehouse import open_warehouse
from tests.browser import REPO, browser_page, running_app, warm_up
from tests.pxweb_fake import FakePxWeb, cell_value, unemployment_table

pytestmark = pytest.mark.browser

LOAD_TIMEOUT_MS = 90_000
LIVE_SERIES = ["statfin.unemployed", "statfin.labour_force"]
HOLLOLA = "KU098"


def labour_force_times(factor: int):
    def value(codes: dict[str, str]) -> float:
        unemployed = cell_value({**codes, "contentscode": "tyonv_1001"})
        return unemployed * factor if codes["contentscode"] == "tyonv_1002" else cell_value(codes)
    return value


def refresh_from(fake: FakePxWeb, env: dict[str, str]) -> None:
    command = [sys.executable, "-m", "sources", "refresh", "--source", "statfin",
               *[arg for series in LIVE_SERIES for arg in ("--series", series)]]
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def hollola_rate(location: str, as_of: int | None = None) -> str:
    """Hollola's unemployment rate in the newest month, as the app writes it in Finnish (one decimal, comma)."""
    with open_warehouse(location) as store:
        rows = store.read(LIVE_SERIES, as_of=as_of)
    rows = rows[(rows["region"] == HOLLOLA) & (rows["period"] == rows["period"].max())].set_index("series")["value"]
    return f"{100 * rows['statfin.unemployed'] / rows['statfin.labour_force']:.1f}".replace(".", ",")


def page_text(page, url: str, wait_for: str) -> str:
    page.goto(url, timeout=60_000)
    page.get_by_role("heading", name=wait_for).wait_for(timeout=LOAD_TIMEOUT_MS)
    page.wait_for_timeout(500)
    return page.get_by_test_id("stMain").inner_text()


@pytest.fixture(params=["local", "postgres"])
def warehouse_env(request, tmp_path):
    if request.param == "local":
        return {"TIEDOLLA_WAREHOUSE_DIR": str(tmp_path / "warehouse"), "TIEDOLLA_WAREHOUSE_URL": ""}
    server = request.getfixturevalue("postgres_server")
    return {"TIEDOLLA_WAREHOUSE_URL": server.create_database(f"browser_{uuid.uuid4().hex[:10]}")}


def test_a_pinned_link_keeps_its_numbers_after_a_refresh_and_a_plain_link_shows_the_new(replay_server,
                                                                                         warehouse_env):
    fake = FakePxWeb(replay_server)
    table = fake.add(unemployment_table(value=labour_force_times(10)))
    env = {**os.environ, **warehouse_env, "TIEDOLLA_SOURCES__STATFIN__BASE_URL": fake.base_url,
           "TIEDOLLA_SOURCES__STATFIN__MAX_RETRIES": "0"}
    location = warehouse_env.get("TIEDOLLA_WAREHOUSE_URL") or warehouse_env["TIEDOLLA_WAREHOUSE_DIR"]
    with running_app(env=env) as base:
        with browser_page() as page:
            warm_up(page, base)  # the first start fills the warehouse from the snapshot
            refresh_from(fake, env)  # live data for 2024–2025: a new vintage
            before = hollola_rate(location)
            query = {"municipalities": "Hollola", "indicator": "unemployment_rate"}
            shown = page_text(page, f"{base}/compare?{urlencode(query)}", "Jaa tämä näkymä")
            assert f"{before}\u00a0%" in shown or f"{before} %" in shown, shown[:2000]
            link = page.get_by_test_id("stCode").last.inner_text().strip()
            pinned = parse_qs(urlsplit(link).query)["asof"][0]

        with open_warehouse(location) as store:
            assert int(pinned) == store.latest_vintage_id()
        table.value = labour_force_times(8)
        refresh_from(fake, env)  # the publisher revised the figures: another vintage
        after = hollola_rate(location)
        assert after != before
        assert hollola_rate(location, as_of=int(pinned)) == before

        with browser_page() as fresh:  # a fresh browser: no cookies, no session, as a colleague opens it
            warm_up(fresh, base)
            path = urlsplit(link)
            pinned_text = page_text(fresh, f"{base}{path.path}?{path.query}", "Jaa tämä näkymä")
            assert "Näytetään tiedot" in pinned_text and f"tietoversio {pinned}" in pinned_text
            assert f"{before}\u00a0%" in pinned_text or f"{before} %" in pinned_text
            plain_query = urlencode([(key, value) for key, values in parse_qs(path.query).items()
                                     for value in values if key != "asof"])
            plain_text = page_text(fresh, f"{base}{path.path}?{plain_query}", "Jaa tämä näkymä")
            assert "Näytetään tiedot" not in plain_text
            assert f"{after}\u00a0%" in plain_text or f"{after} %" in plain_text
            assert f"{before}\u00a0%" not in plain_text.split("Kehitys")[0]
