"""Browser test: the real app in Debian's Chromium shows the employment chart; a screenshot is kept for looking at."""

from __future__ import annotations

import re

import pytest

from tests.browser import browser_page, running_app

pytestmark = pytest.mark.browser


def test_employment_page_draws_its_charts_in_chromium(tmp_path):
    with running_app(tmp_path / "warehouse") as base, browser_page() as page:
        # A shared deep link as the very first request of a fresh server (ui.serve makes that work).
        page.goto(f"{base}/employment", timeout=60_000)
        # The panel heading carries the old-data badge of the bundled data (they end in 2023-10), and nothing else:
        # no icon name leaking into its text.
        badged = re.compile(r"^Työttömyysaste\s*vanha tieto: viimeisin lokakuu 2023$")
        heading = page.get_by_role("heading", name=badged)
        heading.wait_for(timeout=90_000)
        # Vega-Lite renders each Altair chart into a canvas or svg inside .vega-embed.
        page.locator(".vega-embed canvas, .vega-embed svg").first.wait_for(timeout=60_000)
        assert page.get_by_text("Hollola").first.is_visible()
        assert not page.get_by_text("Page not found").is_visible()
        shot = tmp_path / "employment.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 20_000
        print(f"screenshot: {shot}")
