"""Downloadable files for "compare and share": CSV, Excel, PNG, SVG and a theme's zip, each saying what it is.

Every export takes the data (a frame or an Altair chart) plus an `ExportMeta` with title, areas, period, unit,
definition, source, licence and data vintage, all already in the reader's language, so a file that leaves the app
still says what it is and whom to credit: open-data licences such as CC BY 4.0 require the attribution to travel with
the data. Files open right where they are used:

- **Tables** (CSV, Excel) have headers and status words in the chosen language, values rounded to the indicator's
  decimals (the unrounded value in a column of its own), the unit, and the benchmark rows marked. Finnish and Swedish
  CSV use `;` and a decimal comma, as Finnish- and Swedish-locale Excel expects on a double-click; English uses `,`
  and `.`. Text cells that a spreadsheet would run as a formula are neutralised.
- **Images** (PNG, SVG) are drawn at a fixed width (a page's chart is as wide as its container, which an offline
  renderer takes as zero), with the title, areas, period and unit above the chart and the source, licence and data
  vintage beneath it, long lines wrapped inside the image, numbers in the language's format.

Pure functions returning bytes, ready for a download button; never imports streamlit.
"""

from __future__ import annotations

import csv
import io
import math
import re
import textwrap
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import altair
import numpy as np
import pandas as pd
import vl_convert
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from indicators.statistics import round_half_up
from ui import charts
from ui.i18n import DEFAULT_LANGUAGE, t

# A text cell starting with one of these is run as a formula (or a DDE command) by Excel, LibreOffice and Google
# Sheets: the OWASP "CSV injection" list. Spreadsheets skip leading blanks before a formula, so a trigger after
# spaces, tabs or line breaks counts too. Such a cell gets a leading apostrophe, which spreadsheets show as text.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_START = re.compile(r"^[ \t\r\n]*[=+\-@]")
NEUTRALISING_PREFIX = "'"

# UTF-8 with a byte order mark: without the BOM, Excel on Windows guesses the legacy code page (cp1252) and shows
# "HÃ¤meenlinna" instead of "Hämeenlinna". Python's csv module and pandas read it fine with encoding="utf-8-sig".
CSV_ENCODING = "utf-8-sig"
CSV_LINE_END = "\r\n"  # RFC 4180
CSV_COMMENT = "# "
# Excel splits a double-clicked CSV on the list separator of the machine's locale: ";" where the decimal sign is a
# comma (Finland, Sweden), "," in English locales.
CSV_DELIMITERS = {"fi": ";", "sv": ";", "en": ","}
DECIMAL_SIGNS = {"fi": ",", "sv": ",", "en": "."}

DATA_SHEET = "data"
ABOUT_SHEET = "about"
EXCEL_MAX_COLUMN_WIDTH = 80  # characters; long definitions wrap instead of making a screen-wide column

PNG_SCALE = 2  # device pixels per CSS pixel, so the image stays sharp on slides and high-density screens
EXPORT_PLOT_WIDTH = 680  # CSS px, the data area of an exported chart; axis labels and padding come on top (~800)
EXPORT_PADDING = 16  # CSS px of white around everything, so no text touches the image's edge
TITLE_FONT_SIZE = 16
SUBTITLE_FONT_SIZE = 12
FOOTER_FONT_SIZE = 11
# A generous average glyph width of the renderer's sans-serif font, in em: lines are wrapped by this estimate, so
# it errs wide (real Finnish text averages about 0.5 em).
CHAR_WIDTH_EM = 0.6
BOLD_CHAR_WIDTH_EM = 0.66

# Columns that tables know by name: (frame column, text key of its header). Other columns keep their own names.
_KNOWN_COLUMNS = {
    "name": "compare.col.area", "area": "compare.col.area", "region": "export.col.region",
    "period": "export.col.period", "lower": "compare.col.lower", "upper": "compare.col.upper",
    "status": "compare.col.status", "small": "compare.col.small",
}
_DROPPED_COLUMNS = ("origin", "label_at", "status_label")  # internals of the app, no meaning in a file
# A period range with the same period at both ends, inside a sentence ("Ajanjakso: 2020 – 2020.").
_SAME_ENDS = re.compile(r"(?<!\w)(?P<period>[^\s.:;,–][^.:;,–]*?) – (?P=period)(?![\w])")


@dataclass(frozen=True)
class ExportMeta:
    """What an exported file says about itself, in the language `lang` of the file.

    `source` is the app's full source line ("Lähde: Tilastokeskus. Ajanjakso: … Lisenssi: CC BY 4.0."), shown as
    the licence asks it to be shown. `areas` names the areas shown; `benchmarks` are the region codes (or names) of
    the benchmark rows; `decimals` is the indicator's number of digits (None: values are written unrounded);
    `vintage` is the warehouse's data version the values come from, so a figure can be traced back.
    """

    title: str
    definition: str
    source: str
    licence: str
    period: str
    fetched_at: str
    data_updated: str | None = None
    url: str | None = None
    areas: str = ""
    unit: str = ""
    vintage: int | str | None = None
    lang: str = DEFAULT_LANGUAGE
    decimals: int | None = None
    benchmarks: tuple[str, ...] = field(default_factory=tuple)

    def items(self) -> list[tuple[str, str]]:
        """(label, value) pairs in reading order, labels in the file's language. Missing optional values are left
        out rather than written as "None". The source line carries its own label ("Lähde: …"), so it is not given
        a second one."""
        lang = self.lang
        pairs = [
            ("title", self.title),
            ("definition", self.definition),
            ("areas", self.areas),
            ("period", single_periods(self.period)),
            ("unit", self.unit),
            ("source", _without_label(single_periods(self.source), t("export.meta.source", lang))),
            ("licence", self.licence),
            ("data_updated", self.data_updated),
            ("vintage", "" if self.vintage is None else str(self.vintage)),
            ("fetched_at", self.fetched_at),
            ("url", self.url),
        ]
        return [(t(f"export.meta.{key}", lang), value) for key, value in pairs if value]


# --- tables -------------------------------------------------------------------------------------------------------


def export_table(frame: pd.DataFrame, meta: ExportMeta) -> pd.DataFrame:
    """The frame as a reader's table: headers in the file's language, values rounded to `meta.decimals` (half up,
    as statistical tables round) with the unrounded value in its own column, a unit column, status words
    translated and the benchmark rows marked. Numbers stay numbers (the CSV and Excel writers format them)."""
    lang = meta.lang
    data = _with_index_as_columns(frame)
    data = data.drop(columns=[column for column in _DROPPED_COLUMNS if column in data.columns])
    out: dict[str, pd.Series] = {}
    for column in ("name", "area", "region", "period"):
        if column in data.columns:
            out[t(_KNOWN_COLUMNS[column], lang)] = data[column]
    value_header = t("export.col.value", lang)
    if "value" in data.columns:
        out[value_header] = _rounded(data["value"], meta.decimals)
    for column in ("lower", "upper"):
        if column in data.columns:
            out[t(_KNOWN_COLUMNS[column], lang)] = _rounded(data[column], meta.decimals)
    if meta.unit:
        out[t("export.col.unit", lang)] = pd.Series(meta.unit, index=data.index)
    if "status" in data.columns:
        out[t(_KNOWN_COLUMNS["status"], lang)] = data["status"].map(lambda status: _status_text(status, lang))
    if "small" in data.columns:
        out[t(_KNOWN_COLUMNS["small"], lang)] = data["small"].map(lambda flag: _yes_no(flag, lang))
    if meta.benchmarks or "status" in data.columns:
        marked = pd.Series(False, index=data.index)
        for column in ("region", "name", "area"):
            if column in data.columns and meta.benchmarks:
                marked |= data[column].isin(meta.benchmarks)
        if "status" in data.columns:
            marked |= data["status"].eq("benchmark")
        out[t("export.col.benchmark", lang)] = marked.map(lambda flag: _yes_no(flag, lang))
    if "value" in data.columns and meta.decimals is not None:
        out[t("export.col.value_unrounded", lang)] = pd.to_numeric(data["value"], errors="coerce")
    for column in data.columns:
        if column not in _KNOWN_COLUMNS and column != "value":
            out[str(column)] = data[column]
    return pd.DataFrame(out).reset_index(drop=True)


def to_csv_bytes(frame: pd.DataFrame, meta: ExportMeta, *, delimiter: str | None = None) -> bytes:
    """CSV with a header block of `# label: value` lines (title, definition, areas, period, unit, source, …)
    before the data, as `export_table` shapes it, in the language's separator and decimal sign (see the module
    docstring). Read it back with `pd.read_csv(path, comment="#", sep=";", decimal=",", encoding="utf-8-sig")`
    (Finnish, Swedish) or by skipping the lines that start with "#"."""
    buffer = io.StringIO()
    for label, value in meta.items():
        buffer.write(f"{CSV_COMMENT}{label}: {_one_line(value)}{CSV_LINE_END}")
    buffer.write(_csv_table(frame, meta, delimiter))
    return buffer.getvalue().encode(CSV_ENCODING)


def to_excel_bytes(frame: pd.DataFrame, meta: ExportMeta) -> bytes:
    """An .xlsx workbook with the table on sheet "data" (numbers as number cells showing the indicator's decimals,
    which Excel writes in its own locale) and the metadata as label/value rows on sheet "about"."""
    workbook = Workbook()
    data_sheet = workbook.active
    data_sheet.title = DATA_SHEET
    table = neutralise_frame(export_table(frame, meta))
    rounded = {t(key, meta.lang) for key in ("export.col.value", "compare.col.lower", "compare.col.upper")}
    data_sheet.append([_excel_value(column) for column in table.columns])
    for row in table.itertuples(index=False, name=None):
        data_sheet.append([_excel_value(value) for value in row])
    for cell in data_sheet[1]:
        cell.font = Font(bold=True)
    if meta.decimals is not None:
        number_format = "0" if meta.decimals == 0 else "0." + "0" * meta.decimals
        for index, column in enumerate(table.columns, start=1):
            if column in rounded:
                for (cell,) in data_sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                    cell.number_format = number_format
    data_sheet.freeze_panes = "A2"  # the header stays visible while scrolling 300 municipalities
    _fit_columns(data_sheet)

    about_sheet = workbook.create_sheet(ABOUT_SHEET)
    for label, value in meta.items():
        about_sheet.append([_excel_value(neutralise_cell(label)), _excel_value(neutralise_cell(value))])
    for cell in about_sheet["A"]:
        cell.font = Font(bold=True)
    _fit_columns(about_sheet)

    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@dataclass(frozen=True)
class ThemeFile:
    """One indicator of a theme's zip: its file name (without `.csv`), its rows and what they are."""

    stem: str
    frame: pd.DataFrame
    meta: ExportMeta


def theme_zip_bytes(theme_title: str, files: Sequence[ThemeFile], *, lang: str = DEFAULT_LANGUAGE,
                    vintage: int | str | None = None) -> bytes:
    """A zip of one tidy CSV per indicator (header row and data only, in the language's separator and decimal
    sign) and a README.txt in `lang` naming each file's indicator, definition, unit, source and licence and the
    data vintage, so the folder still says what it holds once it is unpacked."""
    readme = [t("export.readme.title", lang, theme=theme_title), ""]
    if vintage is not None:
        readme.append(f"{t('export.meta.vintage', lang)}: {vintage}")
    readme += [t("export.readme.intro", lang), ""]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for item in files:
            name = f"{item.stem}.csv"
            archive.writestr(name, _csv_table(item.frame, item.meta, None).encode(CSV_ENCODING))
            said_once = {t(f"export.meta.{key}", lang) for key in ("title", "vintage", "url", "fetched_at")}
            readme += [f"{name}: {item.meta.title}",
                       *(f"  {label}: {_one_line(value)}" for label, value in item.meta.items()
                         if label not in said_once)]
            if item.frame.empty:
                readme.append(f"  {t('export.readme.no_data', lang)}")
            readme.append("")
        archive.writestr("README.txt", CSV_LINE_END.join(readme).encode("utf-8"))
    return buffer.getvalue()


def neutralise_cell(value: Any) -> Any:
    """Prefix an apostrophe to text that a spreadsheet would run as a formula, also when blanks come before the
    trigger; numbers and other values pass as they are, so a negative number stays a number."""
    if isinstance(value, str) and (value.startswith(FORMULA_TRIGGERS) or _FORMULA_START.match(value)):
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
    """Render an Altair chart (or a Vega-Lite dict) to PNG at a fixed width, credits drawn on the image."""
    return vl_convert.vegalite_to_png(export_spec(chart, meta), scale=scale, **_vl_version())


def chart_to_svg(chart: Any, meta: ExportMeta) -> bytes:
    """Render an Altair chart (or a Vega-Lite dict) to SVG (UTF-8 bytes) at a fixed width, credits on it."""
    return vl_convert.vegalite_to_svg(export_spec(chart, meta), **_vl_version()).encode("utf-8")


def export_spec(chart: Any, meta: ExportMeta) -> dict[str, Any]:
    """The chart's Vega-Lite spec for a file: a fixed plot width instead of the container's, the export title with
    areas, period and unit above the chart, source, licence and data vintage beneath everything (the legend too),
    and the language's number format. The page's chart is not changed."""
    spec = charts.to_vega_lite(chart) if hasattr(chart, "to_dict") else dict(chart)
    outer_keys = ("$schema", "datasets", "config", "padding", "autosize", "background", "title")
    view = {key: value for key, value in spec.items() if key not in outer_keys}
    view["width"] = EXPORT_PLOT_WIDTH
    if view.get("height") == "container":
        view["height"] = charts.CHART_HEIGHT
    view["title"] = {
        "text": _wrap(meta.title, TITLE_FONT_SIZE, BOLD_CHAR_WIDTH_EM),
        "subtitle": [line for text in (meta.areas, _joined(single_periods(meta.period), meta.unit))
                     for line in _wrap(text, SUBTITLE_FONT_SIZE)],
        "anchor": "start", "frame": "bounds", "fontSize": TITLE_FONT_SIZE, "subtitleFontSize": SUBTITLE_FONT_SIZE,
        "subtitlePadding": 4, "offset": 14, "limit": 0,
    }
    credits = [single_periods(meta.source)]
    if meta.licence and meta.licence not in meta.source:
        credits.append(f"{t('export.meta.licence', meta.lang)}: {meta.licence}")
    if meta.vintage is not None:
        credits.append(t("export.vintage", meta.lang, vintage=meta.vintage))
    footer = [line for text in credits if text for line in _wrap(text, FOOTER_FONT_SIZE)]
    config = charts.with_locale({"config": spec.get("config", {})}, meta.lang)["config"]
    exported: dict[str, Any] = {
        "$schema": spec.get("$schema", altair.SCHEMA_URL),
        "vconcat": [view],
        "padding": EXPORT_PADDING,
        "background": "white",
        "config": config,
    }
    if footer:
        exported["title"] = {
            "text": footer, "orient": "bottom", "anchor": "start", "frame": "bounds", "fontSize": FOOTER_FONT_SIZE,
            "fontWeight": "normal", "color": "#333333", "offset": 18, "limit": 0, "lineHeight": 15,
        }
    if "datasets" in spec:
        exported["datasets"] = spec["datasets"]
    return exported


def single_periods(text: str) -> str:
    """"lokakuu 2020 – lokakuu 2020" -> "lokakuu 2020": a range whose ends are the same period is that period."""
    return _SAME_ENDS.sub(lambda match: match.group("period"), text) if text else text


def _wrap(text: str, font_size: int, em: float = CHAR_WIDTH_EM) -> list[str]:
    """A text as lines that fit the exported plot's width by the glyph-width estimate (Vega does not wrap)."""
    if not text:
        return []
    per_line = max(20, int(EXPORT_PLOT_WIDTH / (font_size * em)))
    return textwrap.wrap(_one_line(text), per_line, break_on_hyphens=False) or [text]


def _joined(*parts: str | None) -> str:
    return " · ".join(part for part in parts if part)


def _vl_version() -> dict[str, str]:
    """Render with the Vega-Lite version Altair wrote the spec for, when vl-convert bundles it."""
    match = re.match(r"v?(\d+)\.(\d+)", altair.SCHEMA_VERSION)
    version = f"{match.group(1)}.{match.group(2)}" if match else ""
    return {"vl_version": version} if version in vl_convert.get_vegalite_versions() else {}


# --- helpers ------------------------------------------------------------------------------------------------------


def _csv_table(frame: pd.DataFrame, meta: ExportMeta, delimiter: str | None) -> str:
    """The data rows of a CSV: text neutralised first, then numbers written with the language's decimal sign (after,
    so that a negative number is never taken for a formula)."""
    lang = meta.lang if meta.lang in CSV_DELIMITERS else DEFAULT_LANGUAGE
    sign = DECIMAL_SIGNS[lang]
    table = neutralise_frame(export_table(frame, meta))
    rounded = {neutralise_cell(t(key, lang)) for key in ("export.col.value", "compare.col.lower",
                                                         "compare.col.upper")}
    for column in table.columns:
        if pd.api.types.is_bool_dtype(table[column]) or not pd.api.types.is_numeric_dtype(table[column]):
            continue
        digits = meta.decimals if column in rounded else None
        table[column] = table[column].map(lambda value, digits=digits: _csv_number(value, digits, sign))
    buffer = io.StringIO()
    table.to_csv(buffer, index=False, sep=delimiter or CSV_DELIMITERS[lang], lineterminator=CSV_LINE_END,
                 quoting=csv.QUOTE_MINIMAL)
    return buffer.getvalue()


def _csv_number(value: Any, digits: int | None, sign: str) -> str:
    if value is None or pd.isna(value):
        return ""
    number = float(value)
    if math.isinf(number):
        return ""
    if digits is None:
        text = str(int(number)) if number.is_integer() and abs(number) < 1e15 else repr(number)
    else:
        text = f"{number:.{digits}f}"
        if float(text) == 0:
            text = text.lstrip("-")  # a rounded zero has no sign
    return text.replace(".", sign)


def _rounded(values: pd.Series, decimals: int | None) -> pd.Series:
    numbers = pd.to_numeric(values, errors="coerce").astype("float64")
    if decimals is None:
        return numbers
    # From the decimal form a reader sees (8.05 -> 8.1), as the app shows it.
    return numbers.map(lambda value: value if math.isnan(value) else float(round_half_up(value, decimals)))


def _status_text(status: Any, lang: str) -> Any:
    if not isinstance(status, str) or not status:
        return status
    text = t(f"status.{status}", lang)
    return status if text == f"status.{status}" else text


def _yes_no(flag: Any, lang: str) -> str:
    if flag is None or flag is pd.NA or (isinstance(flag, float) and math.isnan(flag)):
        return ""
    return t("export.yes", lang) if bool(flag) else t("export.no", lang)


def _without_label(text: str, label: str) -> str:
    # "Lähde: Tilastokeskus…" under the label "Lähde" would read "Lähde: Lähde: Tilastokeskus…".
    prefix = f"{label}:"
    return text[len(prefix):].lstrip() if text.startswith(prefix) else text


def _one_line(text: str) -> str:
    # A line break inside a header value would end the comment line and start a bogus data row.
    return " ".join(str(text).split())


def _with_index_as_columns(frame: pd.DataFrame) -> pd.DataFrame:
    # A meaningful index (region codes, periods) is data; a row number is not, whatever its range (a filtered
    # frame keeps the numbers of the rows it came from), and neither is an unnamed index.
    if frame.index.name is None and not isinstance(frame.index, pd.MultiIndex):
        return frame.reset_index(drop=True)
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
