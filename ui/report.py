"""The printable theme report ("Lataa raportti (PDF)"): a cover, the theme's overview table, then every indicator
with its trend chart, comparison, plain-language summary, definition, source and licence, for the chosen
municipalities and benchmark, in the reader's language.

The report is HTML laid out into A4 pages by WeasyPrint (CSS paged media: page numbers, no table split across a
row), with the charts drawn by vl-convert as in the PNG exports. Data come through ui.loading, so the report shows
the same data version as the page. No Streamlit rendering here: the page calls `theme_report_pdf` and offers the
bytes for download; tests and bench/bench_report.py call it directly.
"""

from __future__ import annotations

import base64
import html
from datetime import datetime
from zoneinfo import ZoneInfo

import pandas as pd

from indicators.catalogue import Indicator
from indicators.regions import COUNTRY
from ui import charts, exports, loading, narrative, overview, views
from ui.format import date_label, number, period_label
from ui.i18n import current_language, pick, set_language, t

MAX_MUNICIPALITIES = 12  # the sidebar's limit; the overview and charts stay legible up to it
TREND_MUNICIPALITIES = 8  # lines beyond this are not told apart by colour; the table and overview still show all
REPORT_CHART_SCALE = 1.5  # enough for print at the report's width, and a third of the pixels of the 2x export
HELSINKI = ZoneInfo("Europe/Helsinki")

STYLESHEET = """
@page { size: A4; margin: 16mm 14mm 18mm 14mm;
        @bottom-left { content: string(report-title); font-size: 8pt; color: #444; }
        @bottom-right { content: counter(page) " / " counter(pages); font-size: 8pt; color: #444; } }
body { font-family: "DejaVu Sans", sans-serif; font-size: 9.5pt; color: #1a1a1a; line-height: 1.35; }
h1 { font-size: 22pt; margin: 40mm 0 4mm 0; string-set: report-title content(); }
h2 { font-size: 14pt; margin: 0 0 2mm 0; page-break-after: avoid; }
h3 { font-size: 11pt; margin: 4mm 0 1mm 0; page-break-after: avoid; }
.cover p { font-size: 11pt; }
.cover { page-break-after: always; }
.indicator { page-break-before: always; }
.muted { color: #444; font-size: 8.5pt; }
table { border-collapse: collapse; width: 100%; margin: 2mm 0; font-size: 8.5pt; }
th, td { border: 0.5pt solid #999; padding: 1.2mm 1.6mm; text-align: left; vertical-align: top; }
thead { display: table-header-group; }
tr { page-break-inside: avoid; }
img.chart { width: 100%; margin: 2mm 0; }
ul { margin: 1mm 0 1mm 5mm; padding: 0; }
.left-out { border-left: 2pt solid #b35900; padding-left: 3mm; }
.legend { font-size: 8.5pt; line-height: 1.3; }
.legend * { white-space: normal !important; }
.legend span { display: inline-block; margin: 0.4mm 0; }
"""


def theme_report_pdf(theme_id: str, municipalities: list[str], benchmark: str, lang: str | None = None) -> bytes:
    """The theme report as PDF bytes. More than 12 municipalities are cut to 12 and the report says so."""
    from weasyprint import HTML  # imported when a report is asked for: it loads Pango, which the page never needs

    previous = current_language()
    set_language(lang or previous)
    try:
        document = theme_report_html(theme_id, municipalities, benchmark)
    finally:
        set_language(previous)
    return HTML(string=document).write_pdf()


def theme_report_html(theme_id: str, municipalities: list[str], benchmark: str) -> str:
    theme = loading.catalogue().theme(theme_id)
    registry = loading.regions()
    known = set(registry.codes("municipality"))
    unknown = [code for code in dict.fromkeys(municipalities) if code not in known]
    chosen = [code for code in dict.fromkeys(municipalities) if code in known]
    if benchmark not in set(registry.areas.index):  # an unknown benchmark: the whole country, and the cover says so
        unknown.append(benchmark)
        benchmark = COUNTRY
    left_out = chosen[MAX_MUNICIPALITIES:]
    chosen = chosen[:MAX_MUNICIPALITIES]
    names = views.names_for(views.area_list(chosen, benchmark))
    theme_name = pick(theme.name.as_dict())
    parts = [f"<!DOCTYPE html><html lang='{current_language()}'><head><meta charset='utf-8'>",
             f"<title>{escape(t('report.title', theme=theme_name))}</title><style>{STYLESHEET}</style></head><body>",
             cover(theme_name, chosen, benchmark, names, left_out, unknown)]
    frame = loading.theme_overview(theme, chosen, benchmark)
    parts.append(overview_section(frame, theme.indicators, chosen, benchmark))
    for indicator in theme.indicators:
        parts.append(indicator_section(indicator, chosen, benchmark, names, frame))
    parts.append("</body></html>")
    return "".join(parts)


def cover(theme_name: str, municipalities: list[str], benchmark: str, names: dict[str, str],
          left_out: list[str], unknown: list[str]) -> str:
    version = loading.data_version()
    vintage = loading.vintage(version) if version else None
    today = datetime.now(HELSINKI).date().isoformat()
    lines = [
        t("report.municipalities", names=", ".join(names[code] for code in municipalities)),
        t("report.benchmark", name=names[benchmark]),
        t("report.made", date=date_label(today)),
        t("report.vintage", vintage=version, date=date_label(vintage.created_at if vintage else None)),
    ]
    text = "".join(f"<p>{escape(line)}</p>" for line in lines)
    if left_out:
        dropped = ", ".join(views.names_for(left_out).values())
        text += f"<p class='left-out'>{escape(t('report.too_many', count=MAX_MUNICIPALITIES, names=dropped))}</p>"
    if unknown:
        text += f"<p class='left-out'>{escape(t('report.unknown', codes=', '.join(unknown)))}</p>"
    return (f"<section class='cover'><h1>{escape(t('report.title', theme=theme_name))}</h1>{text}"
            f"<p class='muted'>{escape(t('report.about'))}</p></section>")


def overview_section(frame: pd.DataFrame, indicators: list[Indicator], municipalities: list[str],
                     benchmark: str) -> str:
    texts, styles, row_ids, _ = overview.overview_tables(frame, indicators, municipalities, benchmark)
    heading = f"<h2>{escape(t('overview.title'))}</h2><p class='muted'>{escape(t('report.overview_help'))}</p>"
    if texts.empty:
        return heading + f"<p>{escape(t('overview.no_data'))}</p>"
    head = "".join(f"<th>{escape(column)}</th>" for column in [texts.index.name or "", *texts.columns])
    rows = []
    for label, (_, cells), (_, style) in zip(texts.index, texts.iterrows(), styles.iterrows()):
        row = "".join(f"<td style='{escape(style[column])}'>{escape(cells[column])}</td>" for column in texts.columns)
        rows.append(f"<tr><th>{escape(label)}</th>{row}</tr>")
    missing = [pick(indicator.name.as_dict()) for indicator in indicators if indicator.id not in row_ids]
    note = f"<p class='muted'>{escape(t('overview.left_out', names=', '.join(missing)))}</p>" if missing else ""
    return (heading + f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>" + note
            + f"<div class='legend'>{overview.legend_html(set(frame['status']))}</div>")


def indicator_section(indicator: Indicator, municipalities: list[str], benchmark: str, names: dict[str, str],
                      frame: pd.DataFrame) -> str:
    name = pick(indicator.name.as_dict())
    head = (f"<section class='indicator'><h2>{escape(name)}</h2>"
            f"<p><strong>{escape(t('indicator.need'))}:</strong> {escape(pick(indicator.need.as_dict()))}</p>"
            f"<p>{escape(pick(indicator.description.as_dict()))}</p>")
    table = loading.indicator_table(indicator)
    areas = views.area_list(municipalities, benchmark)
    rows = table[table["region"].isin(areas)]
    if rows.empty:  # said plainly, never silently dropped
        reason = t("report.not_fetched") if table.empty else t("report.no_data_for_selection")
        return head + f"<p class='left-out'>{escape(reason)}</p></section>"
    rows = rows.assign(name=rows["region"].map(names))
    order = [names[code] for code in areas if code in set(rows["region"])]
    benchmarks = [names[code] for code in areas if code not in municipalities]
    unit = views.unit_text(indicator)
    trend_areas = [*municipalities[:TREND_MUNICIPALITIES], *[code for code in areas if code not in municipalities]]
    trend_rows = rows[rows["region"].isin(trend_areas)]
    trend = charts.trend_chart(trend_rows, unit=unit, value_title=name, monthly=indicator.frequency == "monthly",
                               decimals=indicator.decimals, order=[n for n in order if n in set(trend_rows["name"])],
                               benchmarks=benchmarks)
    span = views.period_span((str(rows["period"].min()), str(rows["period"].max())))
    source = views.source_line(rows)
    meta = exports.ExportMeta(title=f"{name}, {span}", definition=pick(indicator.description.as_dict()),
                              source=source, licence=indicator.licence, period=span, fetched_at="",
                              unit=unit, lang=current_language(), decimals=indicator.decimals,
                              vintage=loading.data_version())
    image = base64.b64encode(exports.chart_to_png(trend, meta, scale=REPORT_CHART_SCALE)).decode("ascii")
    parts = [head, f"<h3>{escape(t('tab.trend'))}</h3>",
             f"<img class='chart' alt='{escape(meta.title)}' src='data:image/png;base64,{image}'>",
             comparison_section(indicator, municipalities, benchmark, names, frame, unit, name),
             summary_section(indicator, rows, municipalities, names, unit, name),
             f"<p class='muted'>{escape(source)}</p>"]
    if len(municipalities) > TREND_MUNICIPALITIES:
        parts.append(f"<p class='muted'>{escape(t('report.trend_first', count=TREND_MUNICIPALITIES))}</p>")
    parts.append("</section>")
    return "".join(parts)


def comparison_section(indicator: Indicator, municipalities: list[str], benchmark: str, names: dict[str, str],
                       frame: pd.DataFrame, unit: str, name: str) -> str:
    """The latest value of each area beside the benchmark's, with what the comparison found, in words."""
    cells = frame[frame["indicator"] == indicator.id].set_index("region")
    rows, sentences = [], []
    for code in [*municipalities, benchmark]:
        if code not in cells.index or pd.isna(cells.at[code, "value"]):
            continue
        cell = cells.loc[code]
        status = str(cell["status"])
        rows.append(f"<tr><td>{escape(names[code])}</td><td>{escape(period_label(cell['period']))}</td>"
                    f"<td>{escape(number(cell['value'], indicator.decimals))}</td>"
                    f"<td>{escape(t(f'overview.status.{status}') if status else '')}</td></tr>")
        if code != benchmark:
            tested = status if status in ("better", "worse", "higher", "lower", "similar") else "not_compared"
            benchmark_value = cell.get("benchmark_value")
            sentences.append(narrative.comparison_text(
                names[code], name, float(cell["value"]), names[benchmark],
                None if pd.isna(benchmark_value) else float(benchmark_value), unit, indicator.decimals, tested))
    if not rows:
        return ""
    head = "".join(f"<th>{escape(text)}</th>" for text in (t("compare.col.area"), t("compare.period"),
                                                             f"{name} ({unit})" if unit else name,
                                                             t("report.status")))
    items = "".join(f"<li>{escape(sentence)}</li>" for sentence in sentences)
    return (f"<h3>{escape(t('tab.compare'))}</h3><table><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table><ul>{items}</ul>")


def summary_section(indicator: Indicator, rows: pd.DataFrame, municipalities: list[str], names: dict[str, str],
                    unit: str, name: str) -> str:
    """Each municipality's change over the period shown, in plain language."""
    sentences = []
    for code in municipalities:
        own = rows[(rows["region"] == code) & rows["value"].notna()].sort_values("period")
        if len(own) >= 2:
            sentences.append(narrative.trend_text(names[code], name, own["period"].iloc[0], own["value"].iloc[0],
                                                  own["period"].iloc[-1], own["value"].iloc[-1], unit,
                                                  indicator.decimals, indicator.polarity))
    if not sentences:
        return ""
    items = "".join(f"<li>{escape(sentence)}</li>" for sentence in sentences)
    return f"<h3>{escape(t('report.summary'))}</h3><ul>{items}</ul>"


def escape(text: object) -> str:
    return html.escape(str(text), quote=True)
