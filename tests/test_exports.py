"""Exports: files parse back in the reader's language and locale, carry their attribution, cannot run formulas in a
spreadsheet, and images show the whole chart with its credits inside the picture.

All frames and metadata here are CONSTRUCTED (made-up values for real municipality codes and names); the map uses the
real bundled boundaries.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from xml.etree import ElementTree

import altair as alt
import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook
from PIL import Image

from indicators.regions import RAW_DIR
from ui import charts
from ui.exports import (
    PNG_SCALE,
    ExportMeta,
    ThemeFile,
    chart_to_png,
    chart_to_svg,
    export_table,
    neutralise_cell,
    theme_zip_bytes,
    to_csv_bytes,
    to_excel_bytes,
)
from ui.loading import BUNDLED_BOUNDARIES

# Opens no warehouse (or only the bundled snapshot's files): the PostgreSQL run leaves it out.
pytestmark = pytest.mark.no_warehouse

HOSTILE = {
    "=HYPERLINK(\"http://evil.example\",\"x\")": "'=HYPERLINK(\"http://evil.example\",\"x\")",
    "+1+1": "'+1+1",
    "-2+3": "'-2+3",
    "@SUM(A1:A2)": "'@SUM(A1:A2)",
    "\t=cmd": "'\t=cmd",
    "\r=cmd": "'\r=cmd",
    "  =1+1": "'  =1+1",
    " \t@SUM(A1)": "' \t@SUM(A1)",
    "\r\n-2+3": "'\r\n-2+3",
}
FI_SOURCE = "Lähde: Tilastokeskus & TEM. Ajanjakso: lokakuu 2020 – lokakuu 2020. Tiedot päivitetty: 1.12.2025. " \
            "Lisenssi: CC BY 4.0."


def make_meta(lang: str = "fi", **changes) -> ExportMeta:
    values = dict(
        title="Työttömyysaste", definition="Työttömien osuus työvoimasta,\nprosenttia.", source=FI_SOURCE,
        licence="CC BY 4.0", period="lokakuu 2020", fetched_at="2026-01-02T10:00:00+00:00",
        data_updated="2025-12-01", url="https://example.org/?lang=fi", areas="Hollola, Hämeenlinna", unit="%",
        vintage=4711, lang=lang, decimals=1, benchmarks=("MK07",),
    )
    return ExportMeta(**{**values, **changes})


@pytest.fixture
def meta():
    return make_meta()


@pytest.fixture
def frame():
    return pd.DataFrame({
        "name": ["Hollola", "Hämeenlinna", "Päijät-Häme"],
        "region": ["KU098", "KU109", "MK07"],
        "period": ["2020-10"] * 3,
        "value": [10.25, -3.46, None],
        "lower": [9.81, -4.0, None],
        "upper": [10.96, -3.0, None],
        "status": ["better", "worse", "benchmark"],
        "small": [False, True, False],
    })


@pytest.fixture
def hostile_frame():
    return pd.DataFrame({
        "name": list(HOSTILE),
        "region": [f"KU{index:03d}" for index in range(len(HOSTILE))],
        "value": [-3.5 + index for index in range(len(HOSTILE))],
    })


def read_csv_export(payload: bytes, delimiter: str) -> tuple[list[str], list[list[str]]]:
    text = payload.decode("utf-8-sig")
    lines = text.split("\r\n")
    header = []
    while lines and lines[0].startswith("# "):
        header.append(lines.pop(0)[2:])
    rows = list(csv.reader(io.StringIO("\r\n".join(lines), newline=""), delimiter=delimiter))
    return header, [row for row in rows if row]


# --- CSV ----------------------------------------------------------------------------------------------------------


def test_csv_starts_with_a_byte_order_mark_and_keeps_finnish_letters(frame, meta):
    payload = to_csv_bytes(frame, meta)
    assert payload.startswith(b"\xef\xbb\xbf")
    _, rows = read_csv_export(payload, ";")
    assert rows[2][0] == "Hämeenlinna"


@pytest.mark.parametrize(("lang", "delimiter", "rounded", "unrounded", "negative"), [
    ("fi", ";", "10,3", "10,25", "-3,5"), ("sv", ";", "10,3", "10,25", "-3,5"), ("en", ",", "10.3", "10.25", "-3.5")])
def test_csv_uses_the_languages_separator_and_decimal_sign_and_rounds_half_up(frame, lang, delimiter, rounded,
                                                                             unrounded, negative):
    _, rows = read_csv_export(to_csv_bytes(frame, make_meta(lang)), delimiter)
    header = rows[0]
    assert len(header) == 11  # split into columns by the language's separator
    value, raw = header.index({"fi": "Arvo", "sv": "Värde", "en": "Value"}[lang]), len(header) - 1
    assert [rows[1][value], rows[1][raw], rows[2][value]] == [rounded, unrounded, negative]
    assert rows[3][value] == ""  # a missing value is an empty cell, never 0
    lower = header.index({"fi": "95 % luottamusväli, alaraja", "sv": "95 % konfidensintervall, nedre gräns",
                          "en": "95% confidence interval, lower"}[lang])
    assert rows[1][lower] == ("9.8" if lang == "en" else "9,8")  # 9.81 rounded to one decimal


def test_csv_headers_status_unit_and_benchmark_are_in_the_chosen_language(frame):
    _, fi = read_csv_export(to_csv_bytes(frame, make_meta("fi")), ";")
    assert fi[0] == ["Alue", "Aluekoodi", "Ajanjakso", "Arvo", "95 % luottamusväli, alaraja",
                     "95 % luottamusväli, yläraja", "Yksikkö", "Tulkinta", "Pieni lukumäärä", "Vertailualue",
                     "Arvo pyöristämättä"]
    status = fi[0].index("Tulkinta")
    assert [row[status] for row in fi[1:]] == ["parempi kuin vertailualue", "huonompi kuin vertailualue",
                                               "vertailualue"]
    assert [row[fi[0].index("Yksikkö")] for row in fi[1:]] == ["%"] * 3
    assert [row[fi[0].index("Vertailualue")] for row in fi[1:]] == ["ei", "ei", "kyllä"]
    assert [row[fi[0].index("Pieni lukumäärä")] for row in fi[1:]] == ["ei", "kyllä", "ei"]
    _, en = read_csv_export(to_csv_bytes(frame, make_meta("en")), ",")
    assert en[0][:4] == ["Area", "Area code", "Period", "Value"]
    assert en[1][en[0].index("Reading")] == "better than the benchmark"


def test_csv_marks_benchmark_rows_named_in_the_meta_without_a_status_column(frame):
    trend = frame[["name", "region", "period", "value"]]
    _, rows = read_csv_export(to_csv_bytes(trend, make_meta("fi", benchmarks=("MK07", "SSS"))), ";")
    assert [row[rows[0].index("Vertailualue")] for row in rows[1:]] == ["ei", "ei", "kyllä"]


def test_csv_of_a_filtered_frame_has_no_index_column(frame, meta):
    filtered = frame[frame["region"] != "KU098"]  # keeps the row numbers 1 and 2
    _, rows = read_csv_export(to_csv_bytes(filtered, meta), ";")
    assert rows[0][0] == "Alue" and "index" not in rows[0]
    assert len(rows[1]) == len(rows[0])


def test_csv_header_block_names_each_thing_once_in_the_language(frame, meta):
    header, _ = read_csv_export(to_csv_bytes(frame, meta), ";")
    assert header[0] == "Otsikko: Työttömyysaste"
    assert "Määritelmä: Työttömien osuus työvoimasta, prosenttia." in header  # the line break would end the comment
    assert "Alueet: Hollola, Hämeenlinna" in header
    assert "Yksikkö: %" in header
    assert "Lisenssi: CC BY 4.0" in header
    assert "Tietoversio: 4711" in header
    assert "Linkki: https://example.org/?lang=fi" in header
    source = [line for line in header if line.startswith("Lähde")]
    assert source == ["Lähde: Tilastokeskus & TEM. Ajanjakso: lokakuu 2020. Tiedot päivitetty: 1.12.2025. "
                      "Lisenssi: CC BY 4.0."]  # no "Lähde: Lähde:", no "lokakuu 2020 – lokakuu 2020"
    assert "Ajanjakso: lokakuu 2020" in header
    english, _ = read_csv_export(to_csv_bytes(frame, make_meta("en", source="Source: THL. Period: 2023 – 2023.")),
                                 ",")
    assert "Source: THL. Period: 2023." in english and not any("Source: Source" in line for line in english)


def test_csv_neutralises_formula_cells_also_after_blanks_and_keeps_negative_numbers_numeric(hostile_frame, meta):
    _, rows = read_csv_export(to_csv_bytes(hostile_frame, meta), ";")
    assert [row[0] for row in rows[1:]] == list(HOSTILE.values())
    values = [row[rows[0].index("Arvo")] for row in rows[1:]]
    assert values[0] == "-3,5" and all(not value.startswith("'") for value in values)


@pytest.mark.parametrize("text", ["  =1+1", "\t+A1", " \r\n@SUM(A1)", "\n-1+1", "=1", "+1", "-1", "@A"])
def test_neutralise_cell_catches_a_trigger_after_blanks(text):
    assert neutralise_cell(text) == "'" + text


@pytest.mark.parametrize("text", ["Hollola", "a=b", "1-2", " x", "", "Ä-=+"])
def test_neutralise_cell_leaves_plain_text(text):
    assert neutralise_cell(text) == text


def test_csv_is_readable_by_pandas_with_the_documented_call(frame, meta):
    back = pd.read_csv(io.BytesIO(to_csv_bytes(frame, meta)), comment="#", sep=";", decimal=",",
                       encoding="utf-8-sig")
    assert back["Arvo"].tolist()[:2] == [10.3, -3.5]
    assert back["Arvo pyöristämättä"].tolist()[:2] == [10.25, -3.46]
    assert back["Aluekoodi"].tolist() == ["KU098", "KU109", "MK07"]


def test_csv_with_a_meaningful_index_keeps_it_as_a_column(frame, meta):
    indexed = frame[["region", "value"]].set_index("region")
    _, rows = read_csv_export(to_csv_bytes(indexed, meta), ";")
    assert rows[0][0] == "Aluekoodi" and rows[1][:2] == ["KU098", "10,3"]


def test_meta_without_optional_fields_leaves_them_out(frame):
    bare = ExportMeta("T", "D", "S", "CC BY 4.0", "2023", "2026-01-02T10:00:00+00:00")
    header, _ = read_csv_export(to_csv_bytes(frame, bare), ";")
    assert not any(line.startswith(("Linkki", "Tiedot päivitetty", "Tietoversio", "Yksikkö")) for line in header)


def test_without_decimals_values_are_written_as_they_are(frame):
    table = export_table(frame, make_meta(decimals=None))
    assert "Arvo pyöristämättä" not in table.columns
    assert table["Arvo"].tolist()[:2] == [10.25, -3.46]


# --- Excel --------------------------------------------------------------------------------------------------------


def test_excel_has_a_data_sheet_and_an_about_sheet_in_the_language(frame, meta):
    workbook = load_workbook(io.BytesIO(to_excel_bytes(frame, meta)))
    assert workbook.sheetnames == ["data", "about"]
    about = {row[0]: row[1] for row in workbook["about"].iter_rows(values_only=True)}
    assert about["Lähde"] == "Tilastokeskus & TEM. Ajanjakso: lokakuu 2020. Tiedot päivitetty: 1.12.2025. " \
                             "Lisenssi: CC BY 4.0."
    assert about["Lisenssi"] == "CC BY 4.0"
    assert about["Haettu"] == "2026-01-02T10:00:00+00:00"
    assert about["Määritelmä"] == "Työttömien osuus työvoimasta,\nprosenttia."
    assert about["Otsikko"] == "Työttömyysaste"
    assert about["Yksikkö"] == "%" and about["Tietoversio"] == "4711" and about["Alueet"] == "Hollola, Hämeenlinna"


def test_excel_writes_rounded_numbers_with_the_indicators_decimals_and_translated_words(frame, meta):
    sheet = load_workbook(io.BytesIO(to_excel_bytes(frame, meta)))["data"]
    header = [cell.value for cell in sheet[1]]
    assert header[:4] == ["Alue", "Aluekoodi", "Ajanjakso", "Arvo"] and "index" not in header
    hollola = {name: cell for name, cell in zip(header, sheet[2])}
    assert hollola["Arvo"].value == 10.3 and hollola["Arvo"].data_type == "n"
    assert hollola["Arvo"].number_format == "0.0"  # Excel shows it as 10,3 in a Finnish locale
    assert hollola["Arvo pyöristämättä"].value == 10.25
    assert hollola["Tulkinta"].value == "parempi kuin vertailualue"
    assert hollola["Yksikkö"].value == "%"
    assert [row[header.index("Vertailualue")].value for row in sheet.iter_rows(min_row=2)] == ["ei", "ei", "kyllä"]
    assert sheet.cell(row=4, column=4).value is None  # missing value -> empty cell


def test_excel_neutralises_formula_cells_and_keeps_negative_numbers_numeric(hostile_frame, meta):
    sheet = load_workbook(io.BytesIO(to_excel_bytes(hostile_frame, meta)))["data"]
    rows = list(sheet.iter_rows(min_row=2))
    # XML turns a stored carriage return into a line feed when the file is read, hence the replace.
    expected = [text.replace("\r\n", "\n").replace("\r", "\n") for text in HOSTILE.values()]
    assert [row[0].value for row in rows] == expected
    assert not any(cell.data_type == "f" for row in sheet.iter_rows() for cell in row)  # no formula anywhere
    assert rows[0][2].value == -3.5 and rows[0][2].data_type == "n"


def test_excel_neutralises_hostile_metadata_too(frame):
    hostile_meta = ExportMeta("=1+1", " -definition", "@source", "CC BY 4.0", "2023", "2026-01-02")
    about = load_workbook(io.BytesIO(to_excel_bytes(frame, hostile_meta)))["about"]
    values = {row[0].value: row[1] for row in about.iter_rows()}
    assert values["Otsikko"].value == "'=1+1" and values["Otsikko"].data_type == "s"
    assert values["Määritelmä"].value == "' -definition"
    assert values["Lähde"].value == "'@source"


# --- a theme's zip ------------------------------------------------------------------------------------------------


def test_theme_zip_holds_a_parsable_csv_per_indicator_and_a_readme_naming_each(frame):
    files = [
        ThemeFile("unemployment_rate", frame[["name", "region", "period", "value"]],
                  make_meta("sv", title="Arbetslöshetsgrad", source="Källa: Statistikcentralen. Licens: CC BY 4.0.")),
        ThemeFile("population", frame[["name", "region", "period", "value"]].assign(value=[23500, 67000, 200000]),
                  make_meta("sv", title="Befolkning", source="Källa: THL, Sotkanet. Licens: CC BY 4.0.", decimals=0,
                            unit="personer", licence="CC BY 4.0")),
    ]
    payload = theme_zip_bytes("Sysselsättning", files, lang="sv", vintage=4711)
    with zipfile.ZipFile(io.BytesIO(payload)) as archive:
        assert sorted(archive.namelist()) == ["README.txt", "population.csv", "unemployment_rate.csv"]
        rate = pd.read_csv(archive.open("unemployment_rate.csv"), sep=";", decimal=",", encoding="utf-8-sig")
        population = pd.read_csv(archive.open("population.csv"), sep=";", decimal=",", encoding="utf-8-sig")
        readme = archive.read("README.txt").decode("utf-8")
    assert rate["Värde"].tolist()[:2] == [10.3, -3.5]
    assert population["Värde"].tolist() == [23500, 67000, 200000]
    assert rate["Jämförelseområde"].tolist() == ["nej", "nej", "ja"]
    assert "Sysselsättning" in readme and "Dataversion: 4711" in readme
    for name, source in (("Arbetslöshetsgrad", "Statistikcentralen"), ("Befolkning", "THL, Sotkanet")):
        block = readme[readme.index(name):]
        assert f"Källa: {source}." in block.split("\r\n\r\n")[0]  # each indicator's own block names its source
    assert "Källa: Källa" not in readme and "Licens: CC BY 4.0" in readme


# --- charts: fixed width, credits inside the image, the language's numbers -------------------------------------
# The frames below are CONSTRUCTED (made-up values for a few real municipality codes); the shapes are the bundled
# real boundaries. Each image is rendered once per module: a render takes 0.1-0.5 s.

BAR_ROWS = pd.DataFrame({
    "name": ["Hollola", "Heinola", "Päijät-Häme"],
    "value": [10.3, 15.9, 14.6],
    "lower": [9.8, 15.2, None],
    "upper": [10.9, 16.8, None],
    "status": ["better", "worse", "benchmark"],
})
TREND_ROWS = pd.DataFrame({
    "name": ["Hollola"] * 3 + ["Päijät-Häme"] * 3,
    "period": ["2018", "2019", "2020"] * 2,
    "value": [9.1, 8.4, None, 12.0, 11.2, 13.5],
})
# A real-length source line (the app's views.source_line), long enough to need wrapping at the image's width.
LONG_SOURCE = {
    "fi": "Lähde: Tilastokeskus, työssäkäyntitilasto; Työ- ja elinkeinoministeriö, työnvälitystilasto; THL, Sotkanet "
          "(taulukot: 12r5, 11ra, 135). Ajanjakso: tammikuu 2006 – lokakuu 2025. Tiedot päivitetty: Tilastokeskus "
          "25.2.2025; THL 23.4.2025. Lisenssi: CC BY 4.0. Alueet vuoden 2026 aluejaon mukaan.",
    "sv": "Källa: Statistikcentralen; THL. Period: 2018 – 2020. Uppgifterna uppdaterade: 25.2.2025. Licens: CC BY 4.0.",
    "en": "Source: Statistics Finland, employment statistics; Ministry of Economic Affairs and Employment; THL, "
          "Sotkanet (tables: 12r5, 11ra, 135). Period: January 2006 – October 2025. Data updated: Statistics Finland "
          "25.2.2025; THL 23.4.2025. Licence: CC BY 4.0. Areas on the 2026 division.",
}
MAP_CODES = ["KU098", "KU111", "KU091", "KU837", "KU564", "KU179", "KU398", "KU853", "KU297", "KU109"]


def chart_meta(lang: str, period: str = "2018 – 2020") -> ExportMeta:
    return ExportMeta(
        title="Työttömyysaste", definition="Työttömien osuus työvoimasta.", source=LONG_SOURCE[lang],
        licence="CC BY 4.0", period=period, fetched_at="2026-01-02T10:00:00+00:00",
        areas="Hollola, Heinola, Päijät-Häme", unit="%", vintage=4711, lang=lang, decimals=1,
    )


def build_chart(kind: str):
    if kind == "bar":
        return charts.comparison_chart(BAR_ROWS, unit="%", value_title="Työttömyysaste", decimals=1,
                                       status_labels={"better": "parempi", "worse": "huonompi",
                                                      "benchmark": "vertailualue"},
                                       benchmark_value=14.6, benchmark_name="Päijät-Häme")
    if kind == "trend":
        return charts.trend_chart(TREND_ROWS, unit="%", value_title="Työttömyysaste", monthly=False, decimals=1,
                                  order=["Hollola", "Päijät-Häme"], benchmarks=["Päijät-Häme"])
    topology = json.loads((RAW_DIR / BUNDLED_BOUNDARIES).read_text(encoding="utf-8"))
    shapes = alt.Data(values=topology, format=alt.DataFormat(type="topojson", feature="Kunnat2025_geo"))
    values = pd.DataFrame({"region": MAP_CODES, "name": MAP_CODES,
                           "value": [10.3 + index for index in range(len(MAP_CODES))]})
    return charts.map_chart(shapes, "datum.properties.kunta_k", values, value_title="Työttömyysaste", decimals=1,
                            highlighted=["KU098"])


# Marks drawn per data row: a bar per area, a point per non-missing trend value, a shape per municipality (grey
# underneath) and one per municipality with a value; the highlighted one's outline is drawn on top, red.
EXPECTED_MARKS = {"bar": ("bar", 3), "trend": ("point", 5), "map": ("geoshape", 308 + len(MAP_CODES))}


@pytest.fixture(scope="module")
def images():
    rendered = {}
    for kind in ("bar", "trend", "map"):
        chart, meta = build_chart(kind), chart_meta("fi")
        rendered[kind] = {"png": chart_to_png(chart, meta), "svg": chart_to_svg(chart, meta).decode("utf-8")}
    for lang in ("sv", "en"):
        rendered[f"bar_{lang}"] = {"svg": chart_to_svg(build_chart("bar"), chart_meta(lang)).decode("utf-8")}
    return rendered


SVG_NS = "{http://www.w3.org/2000/svg}"
_TRANSLATE = re.compile(r"translate\(\s*([-\d.e]+)[ ,]+([-\d.e]+)\s*\)")


def svg_texts(svg: str) -> list[dict]:
    """Every text line of an SVG with its absolute x, y, anchor, font size and whether it is rotated."""
    root = ElementTree.fromstring(svg)
    found = []

    def walk(node, x, y, rotated):
        transform = node.get("transform", "")
        if match := _TRANSLATE.search(transform):
            x, y = x + float(match.group(1)), y + float(match.group(2))
        rotated = rotated or "rotate" in transform
        if node.tag == f"{SVG_NS}text":
            lines = [span.text or "" for span in node.findall(f"{SVG_NS}tspan")] or [node.text or ""]
            size = float(node.get("font-size", "11px").rstrip("px"))
            for line in lines:
                found.append({"text": line, "x": x, "y": y, "anchor": node.get("text-anchor", "start"),
                              "size": size, "rotated": rotated})
            return
        for child in node:
            walk(child, x, y, rotated)

    walk(root, 0.0, 0.0, False)
    return found


def svg_box(svg: str) -> tuple[float, float]:
    root = ElementTree.fromstring(svg)
    _, _, width, height = (float(part) for part in root.get("viewBox").split())
    return width, height


def data_area(svg: str) -> tuple[float, float, float, float]:
    """(left, top, width, height) of the chart's data rectangle: the background of the view inside the export."""
    root = ElementTree.fromstring(svg)

    def walk(node, x, y, view):
        if match := _TRANSLATE.search(node.get("transform", "")):
            x, y = x + float(match.group(1)), y + float(match.group(2))
        if view in node.get("class", ""):
            for child in node.iter(f"{SVG_NS}path"):
                if child.get("class") == "background":
                    width, height = re.search(r"h([-\d.]+)v([-\d.]+)", child.get("d")).groups()
                    inner = _TRANSLATE.search(node[0].get("transform", "")) if len(node) else None
                    dx, dy = (float(inner.group(1)), float(inner.group(2))) if inner else (0.0, 0.0)
                    return x + dx, y + dy, float(width), float(height)
        for child in node:
            if (box := walk(child, x, y, view)) is not None:
                return box
        return None

    # The export's chart is the first view of a concatenation; a bare chart is the root view itself.
    box = walk(root, 0.0, 0.0, "concat_0_group") or walk(root, 0.0, 0.0, "role-frame root")
    assert box is not None, "no chart view in the export"
    return box


def estimated_width(text: str, size: float) -> float:
    return len(text) * size * 0.55  # a typical sans-serif glyph is about half an em wide


# A saturated colour (a bar, a line, a coloured municipality): not white, black text or grey grid lines.
INK_SATURATION = 60


@pytest.mark.parametrize("kind", ["bar", "trend", "map"])
def test_png_draws_the_chart_marks_inside_its_data_area(images, kind):
    image = Image.open(io.BytesIO(images[kind]["png"])).convert("RGBA")
    left, top, width, height = (value * PNG_SCALE for value in data_area(images[kind]["svg"]))
    assert width >= 600 * PNG_SCALE and height >= 80 * PNG_SCALE  # a fixed width, never the container's zero
    plot = image.crop((int(left), int(top), int(left + width), int(top + height)))
    pixels = np.asarray(plot)[:, :, :3].astype(int)
    ink = int(((pixels.max(axis=2) - pixels.min(axis=2)) > INK_SATURATION).sum())
    assert ink > 2000, f"{kind}: only {ink} coloured pixels in the data area"


@pytest.mark.parametrize("kind", ["bar", "trend", "map"])
def test_png_has_nothing_on_its_outermost_pixels(images, kind):
    image = Image.open(io.BytesIO(images[kind]["png"])).convert("RGBA")
    width, height = image.size
    pixels = np.asarray(image).astype(int)
    background = (pixels[:, :, 3] == 0) | (pixels[:, :, :3] == 255).all(axis=2)
    ring = np.concatenate([background[:2].ravel(), background[-2:].ravel(),
                           background[:, :2].ravel(), background[:, -2:].ravel()])
    assert ring.all(), f"{kind}: text or marks reach the image edge ({int((~ring).sum())} pixels)"
    assert 700 * PNG_SCALE <= width <= 1000 * PNG_SCALE


@pytest.mark.parametrize("kind", ["bar", "trend", "map"])
def test_svg_has_a_mark_per_data_row(images, kind):
    role, count = EXPECTED_MARKS[kind]
    assert images[kind]["svg"].count(f'aria-roledescription="{role}"') == count
    if kind == "map":
        assert images[kind]["svg"].count('stroke="#d7191c"') == 1
    if kind == "bar":  # as long as their values: 10.3 of a scale to 18 on a plot of at least 600 px
        lengths = [float(length) for length in re.findall(r'aria-roledescription="bar" d="M[-\d.]+,[-\d.]+h([-\d.]+)',
                                                          images[kind]["svg"])]
        assert len(lengths) == 3 and min(lengths) > 300


@pytest.mark.parametrize("kind", ["bar", "trend", "map", "bar_sv", "bar_en"])
def test_svg_text_stays_inside_the_view_box(images, kind):
    svg = images[kind]["svg"]
    width, height = svg_box(svg)
    for text in svg_texts(svg):
        if not text["text"].strip():
            continue
        assert 0 <= text["y"] <= height, text
        if text["rotated"]:
            assert 0 <= text["x"] <= width, text
            continue
        span = estimated_width(text["text"], text["size"])
        start = {"start": text["x"], "middle": text["x"] - span / 2, "end": text["x"] - span}[text["anchor"]]
        assert start >= 0 and start + span <= width, text


@pytest.mark.parametrize("kind", ["bar", "trend", "map"])
def test_svg_carries_title_areas_period_unit_source_licence_and_vintage(images, kind):
    lines = [text["text"] for text in svg_texts(images[kind]["svg"])]
    joined = " ".join(lines)
    assert lines.count("Työttömyysaste") >= 1
    assert "Hollola, Heinola, Päijät-Häme" in lines
    assert "2018 – 2020 · %" in lines
    assert "Lähde: Tilastokeskus, työssäkäyntitilasto;" in joined
    assert "Alueet vuoden 2026 aluejaon mukaan." in joined  # the end of the source line, after wrapping
    assert "CC BY 4.0" in joined
    assert "Tietoversio 4711" in lines
    assert sum(1 for line in lines if line.startswith(("Lähde", "Sotkanet", "Tilastokeskus 25"))) >= 2  # wrapped


@pytest.mark.parametrize(("kind", "expected", "wrong"), [
    ("bar", "10,3", "10.3"), ("bar_sv", "10,3", "10.3"), ("bar_en", "10.3", "10,3")])
def test_svg_numbers_follow_the_language(images, kind, expected, wrong):
    labels = [text["text"] for text in svg_texts(images[kind]["svg"])]
    assert expected in labels and wrong not in labels
    assert ("14,6" if expected == "10,3" else "14.6") in labels


def test_the_page_chart_is_left_as_it_was():
    chart = build_chart("bar")
    chart_to_svg(chart, chart_meta("fi"))
    assert chart.to_dict()["width"] == "container"


def test_theme_zip_says_so_when_an_indicator_has_no_rows_for_the_areas(frame):
    empty = frame.iloc[0:0][["name", "region", "period", "value"]]
    payload = theme_zip_bytes("Työllisyys", [ThemeFile("emissions", empty, make_meta(title="Päästöt", source=""))],
                              lang="fi")
    with zipfile.ZipFile(io.BytesIO(payload)) as archive:
        back = pd.read_csv(archive.open("emissions.csv"), sep=";", encoding="utf-8-sig")
        readme = archive.read("README.txt").decode("utf-8")
    assert back.empty and list(back.columns)[:4] == ["Alue", "Aluekoodi", "Ajanjakso", "Arvo"]
    assert "emissions.csv: Päästöt" in readme and "Valituille alueille ei ole tietoja" in readme
