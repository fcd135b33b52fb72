"""Browser tests of accessibility and language: axe-core finds no WCAG 2.1 A/AA violation on any page in Finnish
and English; no English (or Finnish) reaches a Finnish or Swedish reader; the municipality picker's Enter picks the
best match only.

axe-core comes from the npm registry (`tests/a11y/package.json`, installed by `./tiedolla.sh test`) and is injected
into the running app's pages with Playwright.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser import browser_page, running_app

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parent / "a11y" / "node_modules" / "axe-core" / "axe.min.js"
PAGES = ["", "employment", "climate", "work_ability", "wellbeing", "compare", "about"]
LANGUAGE_LABELS = {"fi": "suomi", "sv": "svenska", "en": "English"}
SHARE_HEADINGS = {"fi": "Jaa tämä näkymä", "sv": "Dela den här vyn", "en": "Share this view"}
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
TITLES = {"fi": {"": "Etusivu", "employment": "Työllisyys", "compare": "Vertailu"},
          "sv": {"": "Startsida", "employment": "Sysselsättning", "compare": "Jämförelse"},
          "en": {"": "Home", "employment": "Employment", "compare": "Compare"}}

# English a Finnish or Swedish reader must not meet: Streamlit's own labels, publishers' English names, the
# snapshot's English publisher line, a mirror's "(via …)" and Material icon names read out as words.
ENGLISH = ["Statistics Finland", "Institute", "Health and Welfare", "real open data", "(via", "Select all", "matches",
           "Clear all", "Remove", "Show data", "Download as", "Fullscreen", "Skip to main content", "Help for",
           "Choose an option", "Collapse sidebar", "Expand sidebar", "Main menu", "Selected values", "Link to heading",
           "Show/hide columns", "Copy to clipboard", "Vega visualization", "App pages", "Search", "Open", "icon",
           "keyboard_arrow_down", "download", "Copy Vega-Lite spec"]
# Finnish a Swedish (or English) reader must not meet: the employment statistics' publisher as the data name it.
FINNISH = ["Työ- ja elinkeinoministeriö", "Työnvälitystilasto"]
# Named exceptions: the language picker's label is in all three languages on purpose, and names its choices.
EXCEPTIONS = ["Kieli · Språk · Language", "English"]

# The text a screen reader can reach: text nodes outside hidden subtrees, and the labels of elements.
ACCESSIBLE_TEXT = """() => {
  const hidden = (element) => element.closest('[aria-hidden="true"], script, style, noscript, template') !== null
      || getComputedStyle(element).display === 'none' || getComputedStyle(element).visibility === 'hidden';
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (node.textContent.trim() && node.parentElement && !hidden(node.parentElement)) out.push(node.textContent);
  }
  for (const element of document.body.querySelectorAll('[aria-label], [title], [placeholder], [alt]')) {
    if (element.closest('[aria-hidden="true"]')) continue;
    for (const name of ['aria-label', 'title', 'placeholder', 'alt']) {
      if (element.getAttribute(name)) out.push(element.getAttribute(name));
    }
  }
  return out.join('\\n');
}"""


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    with running_app(tmp_path_factory.mktemp("warehouse")) as base:
        yield base


@pytest.fixture(scope="module")
def browser(app):
    with browser_page() as page:
        yield page


def open_settled(page, base: str, path: str, lang: str) -> None:
    """Open a page in a language and wait for its run to end (the share section is the last thing drawn)."""
    page.goto(f"{base}/{path}?lang={LANGUAGE_LABELS[lang]}", timeout=90_000)
    page.get_by_role("heading", name=SHARE_HEADINGS[lang]).wait_for(timeout=90_000)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached", timeout=60_000)
    page.wait_for_timeout(800)  # lazily drawn controls (chart toolbars, icons) settle


def violations(page) -> list[dict]:
    assert AXE.exists(), f"axe-core is not installed: run `npm ci --prefix {AXE.parents[2]}` (./tiedolla.sh test does)"
    page.add_script_tag(path=str(AXE))
    return page.evaluate("""async (tags) => {
      const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
      return result.violations.map(v => ({id: v.id, help: v.help,
        nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ') + ' ' + n.html.slice(0, 120))}));
    }""", WCAG_TAGS)


def leaks(text: str, words: list[str]) -> list[str]:
    for exception in EXCEPTIONS:
        text = text.replace(exception, "")
    found = []
    for word in words:
        for match in re.finditer(rf"(?<!\w){re.escape(word)}(?!\w)", text):
            found.append(text[max(0, match.start() - 40):match.end() + 40].replace("\n", " | "))
    return found


@pytest.mark.parametrize("lang", ["fi", "en"])
@pytest.mark.parametrize("path", PAGES)
def test_axe_finds_no_wcag_21_aa_violation(app, browser, path, lang):
    open_settled(browser, app, path, lang)
    assert browser.evaluate("document.documentElement.lang") == lang
    title = browser.title()
    assert title.endswith("– Tiedolla") and title != "Tiedolla"
    if path in TITLES[lang]:
        assert title == f"{TITLES[lang][path]} – Tiedolla"
    found = violations(browser)
    assert found == [], "\n".join(f"{v['id']}: {v['help']}\n  " + "\n  ".join(v["nodes"]) for v in found)


@pytest.mark.parametrize("lang", ["fi", "sv"])
@pytest.mark.parametrize("path", PAGES)
def test_no_english_reaches_a_finnish_or_swedish_reader(app, browser, path, lang):
    open_settled(browser, app, path, lang)
    assert browser.evaluate("document.documentElement.lang") == lang
    text = browser.evaluate(ACCESSIBLE_TEXT)
    assert SHARE_HEADINGS[lang] in text  # the text was really read
    found = leaks(text, ENGLISH + (FINNISH if lang == "sv" else []))
    assert found == [], "\n".join(found)


def test_enter_in_the_picker_adds_the_best_match_only(app, browser):
    # A page of its own (one Playwright per process: the module's browser opens it), so no earlier page's choices.
    context = browser.context.browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        open_settled(page, app, "", "fi")
        chips = page.get_by_test_id("stSidebar").get_by_test_id("stMultiSelectTagsContainer").locator("[data-tag]")
        expect(chips).to_have_count(4, timeout=30_000)  # the default municipalities
        before = chips.count()
        picker = page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"] input')
        picker.click()
        picker.press_sequentially("Lahti")
        page.get_by_role("option").first.wait_for(timeout=10_000)
        assert page.get_by_role("option", name=re.compile("Vesilahti")).count() >= 1  # fuzzy matches are offered
        picker.press("Enter")
        page.keyboard.press("Escape")
        page.wait_for_url(lambda url: "Lahtis" in url, timeout=30_000)
        page.get_by_role("heading", name=SHARE_HEADINGS["fi"]).wait_for(timeout=60_000)
        page.wait_for_timeout(1000)  # a second match, if Enter had added several, would be drawn by now
        names = [chip.get_attribute("aria-label") or chip.inner_text() for chip in chips.all()]
        assert len(names) == before + 1, names
        assert names[-1].startswith("Lahti"), names
        assert not any("Vesilahti" in name or "Lapinlahti" in name for name in names)
    finally:
        context.close()
