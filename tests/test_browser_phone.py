"""Browser test on a phone's screen (390×844): the real app in Debian's Chromium draws every legend entry and every
axis title of the employment page's trend charts and the compare page's charts whole, inside the chart and the
screen. Read from the drawn SVG (Streamlit draws these charts with Vega's SVG renderer); screenshots are kept under
pytest's tmp_path for looking at."""

from __future__ import annotations

import time

import pytest

from tests.browser import browser_page, running_app, warm_up

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
LOAD_TIMEOUT_MS = 90_000
SHARE_HEADING = "Jaa tämä näkymä"  # the page's last section: once it is there, the script has run to its end
# The default view: four municipalities of Päijät-Häme, the region as benchmark, and the whole country.
MUNICIPALITIES = ["Asikkala", "Heinola", "Hollola", "Orimattila"]
BENCHMARK = "Päijät-Häme"
COUNTRY = "Koko maa"
ELLIPSIS = "…"  # what Vega puts at the end of a text it shortened

# Each chart of the page: its legend labels and axis titles (lines joined), with their boxes in page pixels, the
# SVG's box, and the fills of the comparison bars and of the legend symbols.
READ_CHARTS = """() => [...document.querySelectorAll('.vega-embed')].map(embed => {
    const svg = embed.querySelector('svg');
    if (!svg) return {svg: null, canvas: embed.querySelector('canvas') !== null};
    const box = node => { const r = node.getBoundingClientRect();
                          return {left: r.left, right: r.right, top: r.top, bottom: r.bottom}; };
    const texts = selector => [...svg.querySelectorAll(selector)].map(text => {
        const spans = [...text.querySelectorAll('tspan')];
        return {text: spans.length ? spans.map(span => span.textContent).join(' ') : text.textContent,
                box: box(text)};
    });
    const fills = selector => [...svg.querySelectorAll(selector)].map(node => node.getAttribute('fill'));
    return {svg: box(svg), legend: texts('g.role-legend-label text'), titles: texts('g.role-axis-title text'),
            bars: fills('g.role-mark.layer_0_marks path'), symbols: fills('g.role-legend-symbol path')};
})"""


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    with running_app(tmp_path_factory.mktemp("browser_phone") / "warehouse") as base:
        yield base


@pytest.fixture(scope="module")
def page(app):
    with browser_page(**PHONE) as page:
        warm_up(page, app)  # a fresh server's first deep link shows a spurious "Page not found" dialog
        yield page


def settled_charts(page, url: str, charts_wanted: int) -> list[dict]:
    """The page's charts once the script has run to its end, the charts' SVG with their legends is drawn, and two
    readings half a second apart agree (Vega lays a chart out again as its container gets its final width)."""
    page.goto(url, timeout=60_000)
    page.get_by_role("heading", name=SHARE_HEADING).wait_for(timeout=LOAD_TIMEOUT_MS)
    legends = page.locator(".vega-embed svg g.role-legend-label text")
    legends.first.wait_for(state="attached", timeout=LOAD_TIMEOUT_MS)
    deadline, previous = time.monotonic() + 30, None
    while time.monotonic() < deadline:
        charts = page.evaluate(READ_CHARTS)
        if charts == previous and sum(1 for chart in charts if chart.get("legend")) >= charts_wanted:
            return charts
        previous = charts
        time.sleep(0.5)
    raise AssertionError(f"the charts of {url} did not settle: {previous}")


def keep_screenshots(page, tmp_path, stem: str) -> None:
    shot = tmp_path / f"{stem}.png"
    page.screenshot(path=str(shot), full_page=True)
    print(f"screenshot: {shot}")
    for index, embed in enumerate(page.locator(".vega-embed").all()):
        embed.scroll_into_view_if_needed()
        chart_shot = tmp_path / f"{stem}_chart{index}.png"
        embed.screenshot(path=str(chart_shot))
        print(f"screenshot: {chart_shot}")


def assert_drawn_whole(chart: dict, what: str, screen_width: int = PHONE["width"]) -> None:
    """Every legend label and axis title unshortened, inside the chart's SVG and inside the screen's width."""
    svg = chart["svg"]
    assert svg is not None, f"{what}: no SVG drawn (canvas: {chart.get('canvas')})"
    assert svg["left"] >= 0 and svg["right"] <= screen_width, f"{what}: the chart is wider than the screen: {svg}"
    for kind in ("legend", "titles"):
        for text in chart[kind]:
            box = text["box"]
            assert not text["text"].endswith(ELLIPSIS), f"{what}: {kind} text shortened: {text['text']!r}"
            inside = (box["left"] >= svg["left"] and box["right"] <= svg["right"]
                      and box["top"] >= svg["top"] and box["bottom"] <= svg["bottom"])
            assert inside, f"{what}: {kind} text {text['text']!r} at {box} runs out of the chart {svg}"


def test_employment_trend_legends_and_titles_are_whole_on_a_phone(app, page, tmp_path):
    charts = settled_charts(page, f"{app}/employment", charts_wanted=2)
    keep_screenshots(page, tmp_path, "employment_390")
    by_title = {" ".join(text["text"] for text in chart["titles"]): chart for chart in charts if chart.get("svg")}
    # The panels open at first: the monthly unemployment rate and its annual mean, whose title used to be cut.
    expected = [*MUNICIPALITIES, BENCHMARK, COUNTRY]
    for title in ("Työttömyysaste (%)", "Työttömyysaste, vuosikeskiarvo (%)"):
        assert title in by_title, f"no trend chart titled {title!r}: {list(by_title)}"
        chart = by_title[title]
        assert [text["text"] for text in chart["legend"]] == expected, title
        assert_drawn_whole(chart, title)


def test_compare_legends_and_titles_are_whole_on_a_phone(app, page, tmp_path):
    charts = settled_charts(page, f"{app}/compare", charts_wanted=2)
    keep_screenshots(page, tmp_path, "compare_390")
    comparison, trend = [chart for chart in charts if chart.get("legend")][:2]
    # The comparison: one entry per status the bars use, the benchmark's grey among them, each once.
    labels = [text["text"] for text in comparison["legend"]]
    assert "vertailualue" in labels
    assert len(comparison["bars"]) == len(MUNICIPALITIES) + 1  # a bar per municipality and the benchmark's
    assert sorted(comparison["symbols"]) == sorted(set(comparison["bars"])), (labels, comparison["bars"])
    assert [text["text"] for text in comparison["titles"]] == ["Työttömyysaste (%)"]
    assert_drawn_whole(comparison, "comparison")
    assert [text["text"] for text in trend["legend"]] == [*MUNICIPALITIES, BENCHMARK, COUNTRY]
    assert [text["text"] for text in trend["titles"]] == ["Työttömyysaste (%)"]
    assert_drawn_whole(trend, "compare trend")


def test_on_a_wide_screen_the_same_legends_stand_whole_in_one_row(app, page, tmp_path):
    wide = page.context.browser.new_page(viewport={"width": 1400, "height": 1000})  # one Playwright per process
    try:
        for path in ("employment", "compare"):
            charts = settled_charts(wide, f"{app}/{path}", charts_wanted=2)
            keep_screenshots(wide, tmp_path, f"{path}_1400")
            for index, chart in enumerate([chart for chart in charts if chart.get("legend")][:2]):
                assert_drawn_whole(chart, f"{path} chart {index}", screen_width=1400)
                rows = {round(text["box"]["top"]) for text in chart["legend"]}
                assert len(rows) == 1, f"{path} chart {index}: the legend wraps on a wide screen: {chart['legend']}"
    finally:
        wide.close()
