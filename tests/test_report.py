"""The printable theme report, built on the real bundled data and read back as a person would: the PDF turned into
page images with pdftoppm (pages counted, the chart's coloured lines found on the page) and into text with pdftotext
(municipalities, values in the language's number format, source lines, every indicator named)."""

from __future__ import annotations

import subprocess

import pytest
from PIL import Image

from sources.settings import get_settings
from ui import loading, report
from ui.i18n import pick

ASIKKALA, HEINOLA, HOLLOLA, ORIMATTILA, PAIJAT_HAME = "KU016", "KU111", "KU098", "KU560", "MK07"
# The report's lines are drawn in the charts' palette (ui/charts.py MUNICIPALITY_COLOURS): blue for the first area.
FIRST_LINE_BLUE = (0x00, 0x72, 0xB2)


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("report")


@pytest.fixture(autouse=True)
def shared_warehouse(isolated_settings, report_dir, monkeypatch):
    monkeypatch.setenv("TIEDOLLA_WAREHOUSE_DIR", str(report_dir / "warehouse"))
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def employment_report(report_dir):
    loading.ensure_warehouse()
    path = report_dir / "employment.pdf"
    path.write_bytes(report.theme_report_pdf("employment", [ASIKKALA, HEINOLA, HOLLOLA, ORIMATTILA], PAIJAT_HAME,
                                             "fi"))
    return path


def pdf_text(path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


def page_images(path, out_dir) -> list[Image.Image]:
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(path), str(out_dir / "page")], check=True)
    return [Image.open(page).convert("RGB") for page in sorted(out_dir.glob("page-*.png"))]


def test_the_report_has_a_cover_the_overview_and_a_page_per_indicator(employment_report, report_dir):
    theme = loading.catalogue().theme("employment")
    pages = page_images(employment_report, report_dir)
    assert len(pages) >= 2 + len(theme.indicators)  # cover, overview, then each indicator from a new page
    text = pdf_text(employment_report)
    cover = text.split("\f")[0]
    assert "Tiedolla-raportti: Työllisyys" in cover
    assert "Asikkala, Heinola, Hollola, Orimattila" in cover and "Vertailualue: Päijät-Häme" in cover
    assert "Tietoversio" in cover
    for indicator in theme.indicators:
        assert pick(indicator.name.as_dict(), "fi") in " ".join(text.split())


def test_the_report_shows_the_values_in_finnish_format_with_their_sources(employment_report):
    text = " ".join(pdf_text(employment_report).split())
    # Hollola's unemployment rate in October 2023: 710 unemployed of a labour force of 10 482 (data/raw 12r5).
    assert "Hollola lokakuu 2023 6,8" in text
    assert "6.8" not in text
    assert "Lähde: Työ- ja elinkeinoministeriö" in text and "Lisenssi: CC BY 4.0" in text
    # The comparison in words, and an indicator without data for the selection said plainly.
    assert "Hollola: Työttömyysaste 6,8 % on alempi kuin vertailualueella Päijät-Häme (11,6 %)" in text
    assert "Tälle mittarille ei ole vielä tietoja" in text or "Mittarilla ei ole arvoja" in text


def test_the_trend_chart_is_drawn_on_its_page(employment_report, report_dir):
    page = page_images(employment_report, report_dir)[2]  # the first indicator: unemployment rate
    width, height = page.size
    chart_area = page.crop((int(width * 0.05), int(height * 0.2), int(width * 0.95), int(height * 0.6)))
    blue = sum(1 for pixel in chart_area.get_flattened_data()
               if all(abs(channel - target) < 40 for channel, target in zip(pixel, FIRST_LINE_BLUE)))
    assert blue > 50, "no line of the first municipality in the chart area"


def test_a_report_in_swedish_for_twelve_or_more_municipalities_says_what_it_left_out(report_dir):
    loading.ensure_warehouse()
    registry = loading.regions()
    thirteen = [*registry.members(PAIJAT_HAME), *registry.members("MK01")[:3]]  # Päijät-Häme's 10, 3 of Uusimaa
    path = report_dir / "wellbeing_sv.pdf"
    path.write_bytes(report.theme_report_pdf("wellbeing", thirteen, PAIJAT_HAME, "sv"))
    text = " ".join(pdf_text(path).split())
    assert "Tiedolla-rapport" in text and "Jämförelseområde: Päijänne-Tavastland" in text
    assert f"utelämnade: {registry.name(thirteen[-1], 'sv')}" in text
    assert "Källa:" in text or "Källor:" in text


def test_unknown_area_codes_are_named_on_the_cover_and_left_out(report_dir):
    loading.ensure_warehouse()
    path = report_dir / "unknown.pdf"
    path.write_bytes(report.theme_report_pdf("employment", ["016", HOLLOLA], "MK99", "fi"))
    cover = " ".join(pdf_text(path).split("\f")[0].split())
    assert "Tuntemattomia aluekoodeja ei otettu mukaan: 016, MK99." in cover
    assert "Kunnat: Hollola" in cover and "Vertailualue: Koko maa" in cover
