"""Exports: files parse back, carry their attribution, and cannot run formulas in a spreadsheet."""

from __future__ import annotations

import csv
import io

import altair as alt
import pandas as pd
import pytest
from openpyxl import load_workbook

from ui.exports import ExportMeta, chart_to_png, chart_to_svg, to_csv_bytes, to_excel_bytes

# Opens no warehouse (or only the bundled snapshot's files): the PostgreSQL run leaves it out.
pytestmark = pytest.mark.no_warehouse

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

HOSTILE = {
    "=HYPERLINK(\"http://evil.example\",\"x\")": "'=HYPERLINK(\"http://evil.example\",\"x\")",
    "+1+1": "'+1+1",
    "-2+3": "'-2+3",
    "@SUM(A1:A2)": "'@SUM(A1:A2)",
    "\t=cmd": "'\t=cmd",
    "\r=cmd": "'\r=cmd",
}


@pytest.fixture
def meta():
    return ExportMeta(
        title="Työttömyysaste",
        definition="Työttömien osuus työvoimasta,\nprosenttia.",
        source="Tilastokeskus & TEM",
        licence="CC BY 4.0",
        period="2015–2023",
        fetched_at="2026-01-02T10:00:00+00:00",
        data_updated="2025-12-01",
        url="https://pxdata.stat.fi/PxWeb/pxweb/fi/StatFin/",
    )


@pytest.fixture
def frame():
    names = ["Hollola", "Hämeenlinna", *HOSTILE]
    return pd.DataFrame(
        {
            "region": ["KU098", "KU109", "KU111", "KU140", "KU142", "KU143", "KU145", "KU146"],
            "name": names,
            "change": [-3.5, 1.25, -0.5, 2.0, -10.0, 0.0, 3.0, -1.0],
            "value": [8.1, 10.2, None, 7.0, 6.5, 9.9, 11.0, 12.5],
        }
    )


def read_csv_export(payload: bytes) -> tuple[dict[str, str], list[list[str]]]:
    text = payload.decode("utf-8-sig")
    lines = text.split("\r\n")
    header = {}
    while lines and lines[0].startswith("# "):
        key, _, value = lines.pop(0)[2:].partition(": ")
        header[key] = value
    rows = list(csv.reader(io.StringIO("\r\n".join(lines), newline="")))
    return header, [row for row in rows if row]


# --- CSV ----------------------------------------------------------------------------------------------------------


def test_csv_starts_with_a_byte_order_mark_and_keeps_finnish_letters(frame, meta):
    payload = to_csv_bytes(frame, meta)
    assert payload.startswith(b"\xef\xbb\xbf")
    _, rows = read_csv_export(payload)
    assert rows[2][1] == "Hämeenlinna"


def test_csv_header_block_carries_attribution_licence_fetch_time_and_definition(frame, meta):
    header, rows = read_csv_export(to_csv_bytes(frame, meta))
    assert header["title"] == "Työttömyysaste"
    assert header["source"] == "Tilastokeskus & TEM"
    assert header["licence"] == "CC BY 4.0"
    assert header["fetched_at"] == "2026-01-02T10:00:00+00:00"
    assert header["data_updated"] == "2025-12-01"
    assert header["period"] == "2015–2023"
    assert header["url"].startswith("https://pxdata.stat.fi")
    assert header["definition"] == "Työttömien osuus työvoimasta, prosenttia."  # the line break would end the comment
    assert rows[0] == ["region", "name", "change", "value"]


def test_csv_neutralises_formula_cells_and_keeps_negative_numbers_numeric(frame, meta):
    _, rows = read_csv_export(to_csv_bytes(frame, meta))
    names = [row[1] for row in rows[1:]]
    assert names[2:] == list(HOSTILE.values())
    changes = [row[2] for row in rows[1:]]
    assert changes[0] == "-3.5" and float(changes[0]) == -3.5
    assert all(not change.startswith("'") for change in changes)
    assert rows[3][3] == ""  # a missing value is an empty cell


def test_csv_is_readable_by_pandas_with_the_documented_call(frame, meta):
    back = pd.read_csv(io.BytesIO(to_csv_bytes(frame, meta)), comment="#", encoding="utf-8-sig")
    assert back["change"].tolist() == frame["change"].tolist()
    assert back["region"].tolist() == frame["region"].tolist()


def test_csv_with_a_semicolon_for_finnish_excel_and_a_meaningful_index(frame, meta):
    indexed = frame.set_index("region")
    header, rows = read_csv_export(to_csv_bytes(indexed, meta, delimiter=";"))
    assert header["licence"] == "CC BY 4.0"
    assert rows[0] == ["region;name;change;value"]  # read with the default comma: one column
    assert rows[1] == ["KU098;Hollola;-3.5;8.1"]


def test_meta_without_optional_fields_leaves_them_out(frame):
    bare = ExportMeta("T", "D", "S", "CC BY 4.0", "2023", "2026-01-02T10:00:00+00:00")
    header, _ = read_csv_export(to_csv_bytes(frame, bare))
    assert "url" not in header and "data_updated" not in header


# --- Excel --------------------------------------------------------------------------------------------------------


def test_excel_has_a_data_sheet_and_an_about_sheet_with_the_metadata(frame, meta):
    workbook = load_workbook(io.BytesIO(to_excel_bytes(frame, meta)))
    assert workbook.sheetnames == ["data", "about"]
    about = {row[0]: row[1] for row in workbook["about"].iter_rows(values_only=True)}
    assert about["source"] == "Tilastokeskus & TEM"
    assert about["licence"] == "CC BY 4.0"
    assert about["fetched_at"] == "2026-01-02T10:00:00+00:00"
    assert about["definition"] == "Työttömien osuus työvoimasta,\nprosenttia."
    assert about["title"] == "Työttömyysaste"


def test_excel_neutralises_formula_cells_and_keeps_negative_numbers_numeric(frame, meta):
    sheet = load_workbook(io.BytesIO(to_excel_bytes(frame, meta)))["data"]
    rows = list(sheet.iter_rows(min_row=2))
    # XML turns a stored carriage return into a line feed when the file is read, hence the replace.
    expected = [text.replace("\r", "\n") for text in HOSTILE.values()]
    assert [row[1].value for row in rows[2:]] == expected
    assert not any(cell.data_type == "f" for row in sheet.iter_rows() for cell in row)  # no formula anywhere
    negative = rows[0][2]
    assert negative.value == -3.5 and negative.data_type == "n"
    assert rows[2][3].value is None  # missing value → empty cell
    assert [cell.value for cell in sheet[1]] == ["region", "name", "change", "value"]


def test_excel_neutralises_hostile_metadata_too(frame, meta):
    hostile_meta = ExportMeta("=1+1", "-definition", "@source", "CC BY 4.0", "2023", "2026-01-02")
    about = load_workbook(io.BytesIO(to_excel_bytes(frame, hostile_meta)))["about"]
    values = {row[0].value: row[1] for row in about.iter_rows()}
    assert values["title"].value == "'=1+1" and values["title"].data_type == "s"
    assert values["definition"].value == "'-definition"
    assert values["source"].value == "'@source"


# --- charts -------------------------------------------------------------------------------------------------------


@pytest.fixture
def chart():
    data = pd.DataFrame({"period": ["2021", "2022", "2023"], "value": [8.1, 9.2, -1.5]})
    return alt.Chart(data).mark_line().encode(x="period:O", y="value:Q").properties(title="Own title")


def test_png_export_is_a_png(chart, meta):
    assert chart_to_png(chart, meta).startswith(PNG_SIGNATURE)


def test_svg_export_shows_title_period_and_source_with_licence(chart, meta):
    svg = chart_to_svg(chart, meta).decode("utf-8")
    assert svg.lstrip().startswith("<svg")
    assert "Työttömyysaste" in svg
    assert "2015–2023" in svg
    assert "Tilastokeskus &amp; TEM · CC BY 4.0" in svg  # XML-escaped ampersand
    assert chart.to_dict()["title"] == "Own title"  # the page's chart is left as it was
