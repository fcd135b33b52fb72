"""Browser tests for compare and share: the real app in Debian's Chromium opens a shared link to the compare page with
Hollola chosen, shows Hollola's figures, outlines Hollola in red on the map, and a second, fresh browser (no cookies,
no session) opening the same link sees the same view."""

from __future__ import annotations

from urllib.parse import parse_qs, quote, urlencode, urlsplit

import pytest
from playwright.sync_api import expect

from tests.browser import browser_page, running_app, warm_up

pytestmark = pytest.mark.browser

LOAD_TIMEOUT_MS = 90_000
OUTLINE_RED = "#d7191c"  # ui/charts.py map_chart: the selected municipalities' outline
SHARED_QUERY = {"municipalities": "Hollola", "indicator": "unemployment_rate"}

# The point deepest inside a map shape, in page coordinates: a grid over the shape's box, each point tested with SVG
# geometry (isPointInFill), and the inside point farthest from any outside one is taken. Deep inside, not merely
# inside, so the pointer is on the municipality and not on the outline's stroke or a neighbour's edge; the middle of
# the box need not lie inside the shape at all.
POINT_INSIDE = """(path) => {
    const box = path.getBBox(), svg = path.ownerSVGElement, toScreen = path.getScreenCTM(), n = 40;
    const inside = [], outside = [];
    for (let i = 0; i <= n; i++) for (let j = 0; j <= n; j++) {
        const point = svg.createSVGPoint();
        point.x = box.x + box.width * i / n; point.y = box.y + box.height * j / n;
        (path.isPointInFill(point) && !path.isPointInStroke(point) ? inside : outside).push(point);
    }
    let best = null, clearance = -1;
    for (const p of inside) {
        let nearest = Infinity;
        for (const q of outside) nearest = Math.min(nearest, (p.x - q.x) ** 2 + (p.y - q.y) ** 2);
        if (nearest > clearance) { clearance = nearest; best = p; }
    }
    if (best === null) return null;
    const p = best.matrixTransform(toScreen);
    return {x: p.x, y: p.y};
}"""


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    with running_app(tmp_path_factory.mktemp("browser_share") / "warehouse") as base:
        yield base


@pytest.fixture(scope="module")
def page(app):
    with browser_page() as page:
        warm_up(page, app)  # a fresh server's first deep link shows a spurious "Page not found" dialog
        yield page


def open_compare(page, base: str, query: dict[str, str], share_heading: str = "Jaa tämä näkymä") -> None:
    page.goto(f"{base}/compare?{urlencode(query, doseq=True)}", timeout=60_000)
    # The share section is the page's last: once its heading is there, the script has run to its end.
    page.get_by_role("heading", name=share_heading).wait_for(timeout=LOAD_TIMEOUT_MS)


def sidebar_chips(page, expected: int) -> list[str]:
    """The municipalities shown as chips in the sidebar multiselect, once `expected` of them are drawn (right after
    a page load the multiselect can be drawn a moment before its chips)."""
    chips = page.get_by_test_id("stSidebar").get_by_test_id("stMultiSelectTagsContainer").locator("[data-tag]")
    expect(chips).to_have_count(expected, timeout=30_000)
    return [chip.get_attribute("aria-label") for chip in chips.all()]


def shared_link(page) -> str:
    return page.get_by_test_id("stCode").last.inner_text().strip()


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def assert_hollola_view(page) -> None:
    """What a user checks on arrival: Hollola chosen in the sidebar, its unemployment rate compared and explained."""
    assert sidebar_chips(page, 1) == ["Hollola"]
    assert not page.get_by_text("Page not found").is_visible()
    page.get_by_role("heading", name="Työttömyysaste, lokakuu 2023").wait_for(timeout=LOAD_TIMEOUT_MS)
    main = page.get_by_test_id("stMain")
    assert main.get_by_role("combobox", name="Mittari").input_value() == "Työttömyysaste · Työllisyys"
    # The plain-language summary names Hollola, its rate and the benchmark.
    summary = main.locator("li", has_text="Hollola: työttömyysaste").first
    summary.wait_for(timeout=LOAD_TIMEOUT_MS)
    assert "Päijät-Häme" in summary.inner_text()
    # The comparison chart (first Vega chart, "Vertailu" tab) is drawn: one bar for Hollola, one for the benchmark,
    # labelled on its axis.
    chart = page.locator(".vega-embed").first
    chart.locator("svg g.role-mark path").first.wait_for(state="attached", timeout=60_000)
    # Axis labels are drawn after the marks: wait for them rather than read a half-drawn chart.
    chart.locator("svg g.role-axis-label text", has_text="Päijät-Häme").first.wait_for(state="attached",
                                                                                         timeout=60_000)
    labels = chart.locator("svg g.role-axis-label text").all_text_contents()
    assert "Hollola" in labels and "Päijät-Häme" in labels
    assert chart.locator("svg g.role-mark.layer_0_marks path").count() == 2


def assert_map_outlines_hollola(page) -> dict:
    """The map outlines the chosen municipality in red, and pointing at the outlined area names it.

    How: Streamlit draws Altair charts with Vega's SVG renderer, so each map shape is an SVG <path>, and the outline
    layer's paths carry stroke="#d7191c". Exactly one is expected (one municipality chosen). Vega's SVG renderer
    keeps each element's scenegraph item on the element (`__data__`, as D3 does), so the outlined shape's datum tells
    which municipality it is (code and name from the chart's own lookup). And, as a user would check, moving the
    mouse inside the red outline shows Vega's tooltip with the municipality's name. Both are needed: the datum alone
    could pass with an outline drawn at the wrong place; the tooltip alone would not show the outline is red."""
    page.get_by_role("heading", name="Kartta", exact=False).scroll_into_view_if_needed()
    outline = page.locator(f'.vega-embed svg g.role-mark path[stroke="{OUTLINE_RED}"]')
    outline.first.wait_for(state="attached", timeout=60_000)
    assert outline.count() == 1
    datum = outline.first.evaluate("path => { const d = path.__data__.datum; return {code: d.code, name: d.name}; }")
    assert datum == {"code": "KU098", "name": "Hollola"}
    outline.first.scroll_into_view_if_needed()
    point = outline.first.evaluate(POINT_INSIDE)
    assert point is not None
    page.mouse.move(point["x"] - 1, point["y"] - 1)
    page.mouse.move(point["x"], point["y"])
    tooltip = page.locator(".vg-tooltip.visible")
    tooltip.wait_for(timeout=10_000)
    assert "Hollola" in tooltip.inner_text()
    return datum


def test_a_shared_link_opens_hollola_and_outlines_it_on_the_map(app, page, tmp_path):
    open_compare(page, app, SHARED_QUERY)
    assert_hollola_view(page)
    top = tmp_path / "compare_hollola.png"
    page.screenshot(path=str(top))
    assert_map_outlines_hollola(page)
    shot = tmp_path / "compare_hollola_map.png"
    page.screenshot(path=str(shot))  # the map with the red outline and the tooltip naming Hollola
    assert top.stat().st_size > 20_000 and shot.stat().st_size > 20_000
    print(f"screenshots: {top} {shot}")

    # The app completes the link with the page's choices; the link it offers for copying is the page's address,
    # pinned to the data version shown (`asof`), so it shows the same numbers after later refreshes.
    link = shared_link(page)
    pinned = query_of(link).pop("asof")
    assert len(pinned) == 1 and pinned[0].isdigit() and int(pinned[0]) > 0
    # It spells out the choices the address leaves to the server's defaults (language and benchmark here).
    explicit = {"lang": ["suomi"], "benchmark": ["Päijät-Häme (Päijänne-Tavastland)"]}
    assert query_of(link) == {**query_of(page.url), **explicit, "asof": pinned}
    assert query_of(link) == {"municipalities": ["Hollola"], "indicator": ["unemployment_rate"],
                              "group": ["selection"], "period": ["2023-10"], "start": ["2006-01"], "index": ["0"],
                              **explicit, "asof": pinned}

    # A colleague opens it in their own browser: a fresh context has no cookies, storage or Streamlit session.
    context = page.context.browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        other = context.new_page()
        open_compare(other, app, SHARED_QUERY)  # the same link ...
        assert_hollola_view(other)
        assert shared_link(other) == link
        other.goto(link, timeout=60_000)  # ... and the completed link copied from the first browser
        other.get_by_role("heading", name="Jaa tämä näkymä").wait_for(timeout=LOAD_TIMEOUT_MS)
        assert_hollola_view(other)
        assert_map_outlines_hollola(other)
        # The browser leaves out of the address what equals this server's defaults; the copyable link keeps them.
        assert query_of(other.url) == {key: value for key, value in query_of(link).items() if key not in explicit}
    finally:
        context.close()


def test_the_browser_writes_sidebar_choices_into_the_link_as_labels(app, page):
    """The URL format tests/test_share.py builds its links in: a bound widget's label, repeated for each choice."""
    open_compare(page, app, SHARED_QUERY)
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_test_id("stMultiSelect").locator("input").fill("Lahti")
    page.get_by_role("option", name="Lahti (Lahtis)").click()
    page.keyboard.press("Escape")
    page.wait_for_url(lambda url: "Lahtis" in url, timeout=30_000)
    sidebar.get_by_test_id("stSelectbox").first.click()
    page.get_by_role("option", name="svenska").click()
    page.get_by_role("heading", name="Dela den här vyn").wait_for(timeout=LOAD_TIMEOUT_MS)
    page.wait_for_url(lambda url: "lang=svenska" in url, timeout=30_000)
    query = query_of(page.url)
    assert query["municipalities"] == ["Hollola", "Lahti (Lahtis)"]
    assert query["lang"] == ["svenska"]
    assert query["indicator"] == ["unemployment_rate"]
    # The link block is the page's last element: it can still show the previous run a moment after the heading.
    expect(page.get_by_test_id("stCode").last).to_contain_text("lang=svenska", timeout=30_000)
    assert query_of(shared_link(page)) == {**query, "benchmark": ["Päijät-Häme (Päijänne-Tavastland)"],
                                           "asof": query_of(shared_link(page))["asof"]}


def test_switching_language_keeps_the_page_choices(app, page):
    chosen = {"municipalities": "Hollola", "indicator": "unemployment_rate_annual", "group": "largest_10",
              "period": "2015", "start": "2010"}
    open_compare(page, app, chosen)
    page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").first.click()
    page.get_by_role("option", name="English").click()
    page.get_by_role("heading", name="Share this view").wait_for(timeout=LOAD_TIMEOUT_MS)
    page.wait_for_url(lambda url: "lang=English" in url, timeout=30_000)
    # Any interaction after the switch; here the index toggle of the trend section.
    page.get_by_test_id("stMain").get_by_test_id("stCheckbox").first.click()
    page.wait_for_url(lambda url: "index=1" in url, timeout=30_000)
    page.get_by_role("heading", name="Share this view").wait_for(timeout=LOAD_TIMEOUT_MS)
    query = query_of(page.url)
    assert {key: query[key] for key in ("indicator", "group", "period", "start")} == {
        "indicator": ["unemployment_rate_annual"], "group": ["largest_10"], "period": ["2015"], "start": ["2010"]}


def test_a_link_cannot_put_a_hyperlink_or_an_image_into_the_notice(app, page):
    page.goto(f"{app}/compare?indicator={quote('[Kirjaudu](https://example.invalid/login)')}"
              f"&municipalities={quote('![x](https://example.invalid/pixel.png)')}", timeout=60_000)
    page.get_by_role("heading", name="Jaa tämä näkymä").wait_for(timeout=LOAD_TIMEOUT_MS)
    alerts = page.get_by_test_id("stAlert")
    alerts.first.wait_for(timeout=30_000)
    assert alerts.count() == 2  # one in the sidebar, one on the page
    assert alerts.locator('a[href*="example.invalid"], img[src*="example.invalid"]').count() == 0


def open_panels(page) -> list[str]:
    """The labels of the theme page's open panels (expanders): the summary's last line (before it, Streamlit's
    arrow icon), without the status text after " · "."""
    # Top-level panels only: not the expanders inside a panel (the overview's text version, a map's table).
    summaries = page.get_by_test_id("stMain").locator("details[open]:not(details details) > summary")
    return [text.strip().split("\n")[-1].split(" · ")[0].strip() for text in summaries.all_inner_texts()]


def selected_tabs(page) -> list[str]:
    return page.get_by_test_id("stMain").get_by_role("tab", selected=True).all_inner_texts()


def test_a_theme_page_link_reopens_the_same_panels_and_tabs_in_a_fresh_browser(app, page):
    page.goto(f"{app}/employment?municipalities=Hollola", timeout=60_000)
    main = page.get_by_test_id("stMain")
    main.get_by_role("heading", name="Jaa tämä näkymä").wait_for(timeout=LOAD_TIMEOUT_MS)
    # As a user would: close the first panel, open "Avoimet työpaikat", pick its comparison tab.
    main.locator("summary", has_text="Työttömyysaste ·").first.click()
    page.wait_for_url(lambda url: "open=overview%2Cunemployment_rate_annual&" in url, timeout=30_000)
    main.locator("summary", has_text="Avoimet työpaikat 100 työtöntä kohden").click()
    main.get_by_role("heading", name="Avoimet työpaikat 100 työtöntä kohden").wait_for(timeout=LOAD_TIMEOUT_MS)
    main.get_by_role("tab", name="Vertailu").first.click()
    page.wait_for_url(lambda url: "vacancies_per_100_unemployed%3Acompare" in url, timeout=30_000)
    main.get_by_role("heading", name="Jaa tämä näkymä").wait_for(timeout=LOAD_TIMEOUT_MS)
    expected_panels = ["Yleiskuva: kaikki teeman mittarit", "Avoimet työpaikat 100 työtöntä kohden",
                       "Työttömyysaste, vuosikeskiarvo"]
    assert open_panels(page) == expected_panels
    assert selected_tabs(page) == ["Vertailu", "Kehitys"]
    link = shared_link(page)
    assert query_of(link)["lang"] == ["suomi"] and query_of(link)["municipalities"] == ["Hollola"]

    context = page.context.browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        other = context.new_page()
        other.goto(link, timeout=60_000)
        other.get_by_test_id("stMain").get_by_role("heading", name="Jaa tämä näkymä").wait_for(
            timeout=LOAD_TIMEOUT_MS)
        assert sidebar_chips(other, 1) == ["Hollola"]
        assert open_panels(other) == expected_panels
        assert selected_tabs(other) == ["Vertailu", "Kehitys"]
        # The comparison tab shows Hollola's bar, as in the first browser.
        other.get_by_test_id("stMain").get_by_text("Avoimet työpaikat 100 työtöntä kohden,", exact=False).first \
            .wait_for(timeout=LOAD_TIMEOUT_MS)
        assert shared_link(other) == link
    finally:
        context.close()


def test_the_browsers_own_print_shows_the_page_without_the_sidebar(app, page, tmp_path):
    """Printed from the browser (Chromium's PDF uses the print stylesheet): the page's panels, not the app's frame."""
    import subprocess

    page.goto(f"{app}/employment?municipalities=Hollola", timeout=60_000)
    main = page.get_by_test_id("stMain")
    main.get_by_role("heading", name="Jaa tämä näkymä").wait_for(timeout=LOAD_TIMEOUT_MS)
    # Print once the run has settled: the overview drawn and the key figure naming Hollola in place.
    main.get_by_role("heading", name="Teeman yleiskuva").wait_for(timeout=LOAD_TIMEOUT_MS)
    main.get_by_test_id("stMetric").filter(has_text="Hollola").first.wait_for(timeout=LOAD_TIMEOUT_MS)
    printed = tmp_path / "employment_print.pdf"
    printed.write_bytes(page.pdf(format="A4"))
    text = " ".join(subprocess.run(["pdftotext", str(printed), "-"], check=True, capture_output=True,
                                   text=True).stdout.split())
    assert "Työllisyys" in text and "Hollola" in text and "Teeman yleiskuva" in text
    assert "Kieli · Språk · Language" not in text and "Vertailualue" not in text.split("Teeman yleiskuva")[0]
