"""Downloadable files for "compare and share": CSV, Excel, PNG and SVG, each carrying where the data came from.

Every export takes the data (a frame or an Altair chart) plus an `ExportMeta` with title, definition, source,
licence, period and fetch time, so a file that leaves the app still says what it is and whom to credit — open-data
licences such as CC BY 4.0 require the attribution to travel with the data. Text cells that a spreadsheet would run
as a formula are neutralised. Pure functions returning bytes, ready for a download button; never imports streamlit.
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import altair
import numpy as np
import pandas as pd
import vl_convert
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

# A text cell starting with one of these is run as a formula (or a DDE command) by Excel, LibreOffice and Google
# Sheets: the OWASP "CSV injection" list. Such a cell gets a leading apostrophe, which spreadsheets show as text.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
NEUTRALISING_PREFIX = "'"

# UTF-8 with a byte order mark: without the BOM, Excel on Windows guesses the legacy code page (cp1252) and shows
# "HÃ¤meenlinna" instead of "Hämeenlinna". Python's csv module and pandas read it fine with encoding="utf-8-sig".
CSV_ENCODING = "utf-8-sig"
CSV_LINE_END = "\r\n"  # RFC 4180
CSV_COMMENT = "# "

DATA_SHEET = "data"
ABOUT_SHEET = "about"
EXCEL_MAX_COLUMN_WIDTH = 80  # characters; long definitions wrap instead of making a screen-wide column

PNG_SCALE = 2  # device pixels per CSS pixel, so the image stays sharp on slides and high-density screens


@dataclass(frozen=True)
class ExportMeta:
    """What an exported file says about itself. `source` is the attribution as the licence asks it to be shown."""

    title: str
    definition: str
    source: str
    licence: str
    period: str
    fetched_at: str
    data_updated: str | None = None
    url: str | None = None

    def items(self) -> list[tuple[str, str]]:
        """(key, value) pairs in reading order; the keys are fixed English identifiers so other programs can rely on
        them. Missing optional values are left out rather than written as "None"."""
        pairs = [
            ("title", self.title),
            ("definition", self.definition),
            ("source", self.source),
            ("licence", self.licence),
            ("period", self.period),
            ("fetched_at", self.fetched_at),
            ("data_updated", self.data_updated),
            ("url", self.url),
        ]
        return [(key, value) for key, value in pairs if value]


# --- tables -------------------------------------------------------------------------------------------------------


def to_csv_bytes(frame: pd.DataFrame, meta: ExportMeta, *, delimiter: str = ",") -> bytes:
    """CSV with a header block of `# key: value` lines (title, definition, source, licence, …) before the data.

    Comma-separated with a decimal point by default, the form other programs read; pass `delimiter=";"` for a file
    that Finnish-locale Excel splits into columns on double-click. Read it back with
    `pd.read_csv(path, comment="#", encoding="utf-8-sig")` or by skipping the lines that start with "#".
    """
    buffer = io.StringIO()
    for key, value in meta.items():
        buffer.write(f"{CSV_COMMENT}{key}: {_one_line(value)}{CSV_LINE_END}")
    neutralise_frame(_with_index_as_columns(frame)).to_csv(
        buffer, index=False, sep=delimiter, lineterminator=CSV_LINE_END
    )
    return buffer.getvalue().encode(CSV_ENCODING)


def to_excel_bytes(frame: pd.DataFrame, meta: ExportMeta) -> bytes:
    """An .xlsx workbook with the table on sheet "data" and the metadata as key/value rows on sheet "about"."""
    workbook = Workbook()
    data_sheet = workbook.active
    data_sheet.title = DATA_SHEET
    table = neutralise_frame(_with_index_as_columns(frame))
    data_sheet.append([_excel_value(column) for column in table.columns])
    for row in table.itertuples(index=False, name=None):
        data_sheet.append([_excel_value(value) for value in row])
    for cell in data_sheet[1]:
        cell.font = Font(bold=True)
    data_sheet.freeze_panes = "A2"  # the header stays visible while scrolling 300 municipalities
    _fit_columns(data_sheet)

    about_sheet = workbook.create_sheet(ABOUT_SHEET)
    for key, value in meta.items():
        about_sheet.append([key, _excel_value(neutralise_cell(value))])
    for cell in about_sheet["A"]:
        cell.font = Font(bold=True)
    _fit_columns(about_sheet)

    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def neutralise_cell(value: Any) -> Any:
    """Prefix an apostrophe to text that a spreadsheet would run as a formula; numbers and other values pass as they
    are, so a negative number stays a number."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return NEUTRALISING_PREFIX + value
    return value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` with every text cell and column name passed through `neutralise_cell`."""
    safe = frame.copy()
    for column in safe.columns:
        if not pd.api.types.is_numeric_dtype(safe[column]) and not pd.api.types.is_datetime64_any_dtype(safe[column]):
            safe[column] = safe[column].astype(object).map(neutralise_cell)
    safe.columns = [neutralise_cell(str(column)) for column in safe.columns]
    return safe


# --- charts -------------------------------------------------------------------------------------------------------


def chart_to_png(chart: Any, meta: ExportMeta, *, scale: float = PNG_SCALE) -> bytes:
    """Render an Altair chart (or a Vega-Lite dict) to PNG with title, period and source drawn on the image."""
    return vl_convert.vegalite_to_png(_spec_with_credits(chart, meta), scale=scale, **_vl_version())


def chart_to_svg(chart: Any, meta: ExportMeta) -> bytes:
    """Render an Altair chart (or a Vega-Lite dict) to SVG (UTF-8 bytes) with title, period and source on it."""
    return vl_convert.vegalite_to_svg(_spec_with_credits(chart, meta), **_vl_version()).encode("utf-8")


def _spec_with_credits(chart: Any, meta: ExportMeta) -> dict[str, Any]:
    """The chart's Vega-Lite spec with the export title replacing its own, and the period and the source with its
    licence as subtitle lines, so an image pasted into a slide still credits the data. The chart is not changed."""
    spec = dict(chart.to_dict() if hasattr(chart, "to_dict") else chart)
    source_line = f"{meta.source} · {meta.licence}" if meta.licence else meta.source
    spec["title"] = {
        "text": meta.title,
        "subtitle": [line for line in (meta.period, source_line) if line],
        "anchor": "start",
        "subtitlePadding": 4,
    }
    return spec


def _vl_version() -> dict[str, str]:
    """Render with the Vega-Lite version Altair wrote the spec for, when vl-convert bundles it."""
    match = re.match(r"v?(\d+)\.(\d+)", altair.SCHEMA_VERSION)
    version = f"{match.group(1)}.{match.group(2)}" if match else ""
    return {"vl_version": version} if version in vl_convert.get_vegalite_versions() else {}


# --- helpers ------------------------------------------------------------------------------------------------------


def _one_line(text: str) -> str:
    # A line break inside a header value would end the comment line and start a bogus data row.
    return " ".join(str(text).split())


def _with_index_as_columns(frame: pd.DataFrame) -> pd.DataFrame:
    # A meaningful index (region codes, periods) is data; a plain 0..n-1 row number is not.
    if isinstance(frame.index, pd.RangeIndex) and frame.index.name is None:
        return frame
    return frame.reset_index()


def _excel_value(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    elif isinstance(value, np.generic):
        value = value.item()  # numpy scalar → Python number, which openpyxl writes as a number cell
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.isoformat()  # Excel has no time zones; keep the offset as text rather than drop it silently
    if isinstance(value, (int, float, bool, date)):
        return value
    # openpyxl refuses control characters that XML 1.0 cannot hold; they carry no meaning in a table anyway.
    return ILLEGAL_CHARACTERS_RE.sub("", str(value))


def _fit_columns(sheet: Any) -> None:
    for column in sheet.columns:
        longest = max((len(str(cell.value)) for cell in column if cell.value is not None), default=8)
        sheet.column_dimensions[column[0].column_letter].width = min(longest + 2, EXCEL_MAX_COLUMN_WIDTH)
