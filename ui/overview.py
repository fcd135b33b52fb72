"""The theme overview: one table per theme, a row per indicator and a column per chosen municipality and the benchmark.

Each cell is the area's latest value in the reader's number format, an arrow for the change from the same period a
year before, and that period; its colour says how the value stands against the benchmark. Where the indicator has a
numerator and a denominator the colour is a test (95 % interval, Wilson or Byar, taking the indicator's good
direction into account); elsewhere it is only the municipality's fifth among all municipalities (a place, never
"better" or "worse"). The legend under the table says which, and a text alternative says every cell in words.

The table is an `st.dataframe` with a pandas Styler (real cell colours, the grid's own keyboard navigation and
accessibility tree) and single-cell selection: `show_overview` returns the indicator whose cell was just selected,
so the page can open that indicator's panel. Cell colours meet WCAG AA (4.5:1) with the text on them; a test checks.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from indicators.catalogue import Indicator, Theme
from indicators.overview import BENCHMARK, DOWN, FLAT, NO_DATA, UP
from ui import charts, loading, views
from ui.format import MISSING, number, period_label, with_unit
from ui.i18n import pick, t

ARROWS = {UP: "↑", DOWN: "↓", FLAT: "→"}
# Tested against the benchmark, then the quintiles (a place among municipalities, no test), then the rest.
TESTED = ("better", "similar", "worse", "higher", "lower", "not_compared")
QUINTILES = ("q1", "q2", "q3", "q4", "q5")
WHITE, BLACK = "#ffffff", "#000000"
NO_DATA_BACKGROUND = "#f2f2f2"
MIN_CONTRAST = 4.5  # WCAG 2.x AA for normal text
INDEX_WIDTH_PX = 260  # the indicator names; long ones end in "…" and the columns scroll beside them


def relative_luminance(colour: str) -> float:
    """WCAG 2.x relative luminance of a "#rrggbb" colour."""
    channels = [int(colour[index:index + 2], 16) / 255 for index in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_ratio(first: str, second: str) -> float:
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def text_colour(background: str) -> str:
    """Black or white, whichever contrasts more with the background."""
    return BLACK if contrast_ratio(background, BLACK) >= contrast_ratio(background, WHITE) else WHITE


# The charts' status colours, so a cell and a comparison bar of the same status look alike.
CELL_COLOURS: dict[str, tuple[str, str]] = {
    status: (charts.STATUS_COLOURS[status], text_colour(charts.STATUS_COLOURS[status]))
    for status in (*TESTED, *QUINTILES, BENCHMARK)
} | {NO_DATA: (NO_DATA_BACKGROUND, BLACK)}


def cell_style(status: str) -> str:
    background, text = CELL_COLOURS.get(status, CELL_COLOURS[NO_DATA])
    return f"background-color: {background}; color: {text}"


def short_period(period: str | None) -> str:
    """A period short enough for a cell: "2023", or "10/2023" for a month (the text alternative says it in full)."""
    if not period:
        return ""
    return f"{int(period[5:])}/{period[:4]}" if len(period) == 7 and period[4] == "-" else period


def cell_text(value: float, trend: str | None, period: str | None, decimals: int) -> str:
    if pd.isna(value):
        return MISSING
    return " ".join(part for part in (number(value, decimals), ARROWS.get(trend or "", ""), short_period(period))
                    if part)


def row_label(indicator: Indicator) -> str:
    return f"{pick(indicator.name.as_dict())} ({views.unit_text(indicator)})"


def cells_by_key(frame: pd.DataFrame) -> dict[tuple[str, str], dict]:
    """(indicator, region) -> the overview row as a plain dict: a page run reads each cell once, without pandas."""
    return {(row["indicator"], row["region"]): row for row in frame.to_dict("records")}


def overview_tables(frame: pd.DataFrame, indicators: list[Indicator], municipalities: list[str], benchmark: str
                    ) -> tuple[pd.DataFrame, pd.DataFrame, list[str], dict[str, str]]:
    """The shown table (texts), its cell styles, the indicator id of each row and the region of each column label.
    Indicators with no value for any chosen area are left out (the caption names them)."""
    areas = [code for code in dict.fromkeys(municipalities) if code != benchmark] + [benchmark]
    names = views.names_for(areas)
    labels = {code: names[code] for code in areas}
    labels[benchmark] = t("overview.benchmark_column", name=names[benchmark])
    cells = cells_by_key(frame)
    shown = [indicator for indicator in indicators
             if any(not pd.isna(cells.get((indicator.id, code), {}).get("value", float("nan"))) for code in areas)]
    texts, styles = {}, {}
    for code in areas:
        column = [cells.get((indicator.id, code)) or {} for indicator in shown]
        texts[labels[code]] = [cell_text(row.get("value", float("nan")), row.get("trend"), row.get("period"),
                                         indicator.decimals) for indicator, row in zip(shown, column)]
        styles[labels[code]] = [cell_style(row.get("status", NO_DATA)) for row in column]
    index = pd.Index([row_label(indicator) for indicator in shown], name=t("overview.indicator"))
    return (pd.DataFrame(texts, index=index), pd.DataFrame(styles, index=index), [i.id for i in shown],
            {label: code for code, label in labels.items()})


def show_overview(theme: Theme, municipalities: list[str], benchmark: str) -> str | None:
    """Draw the overview table, its legend and its text alternative. Returns the id of the indicator whose cell
    the reader has just selected (once, on the run the selection changes; None otherwise), so the page can open
    that indicator's panel without holding it open after the reader closes it."""
    if not municipalities:
        return None
    frame = loading.theme_overview(theme, municipalities, benchmark)
    texts, styles, row_ids, regions = overview_tables(frame, theme.indicators, municipalities, benchmark)
    st.subheader(t("overview.title"), anchor=f"overview_{theme.id}")
    if texts.empty:
        st.info(t("overview.no_data"), icon=":material/location_off:")
        return None
    st.caption(t("overview.help"))
    key = f"overview_{theme.id}"
    event = st.dataframe(
        texts.style.apply(lambda _: styles, axis=None), key=key, on_select="rerun", selection_mode="single-cell",
        width="stretch", height="content", alt=t("overview.alt", theme=pick(theme.name.as_dict())), lazy=False,
        column_config={"_index": st.column_config.Column(width=INDEX_WIDTH_PX, pinned=True)})
    cells = event.selection.cells if event is not None else []
    chosen = row_ids[cells[0][0]] if cells and 0 <= cells[0][0] < len(row_ids) else None
    if chosen is not None:  # the panel opens further down the page: a link takes the reader there
        name = pick(catalogue_indicator(theme, chosen).name.as_dict())
        st.markdown(t("overview.go_to_panel", name=name, anchor=chosen))
    left_out = [pick(indicator.name.as_dict()) for indicator in theme.indicators if indicator.id not in row_ids]
    if left_out:
        st.caption(t("overview.left_out", names=", ".join(left_out)))
    st.html(legend_html(set(frame["status"])))
    show_text_alternative(theme.id, frame, theme.indicators, municipalities, benchmark)
    seen_key = f"_overview_seen_{theme.id}"
    selection = (cells[0][0], cells[0][1]) if cells else None
    is_new = selection is not None and st.session_state.get(seen_key) != selection
    st.session_state[seen_key] = selection
    return chosen if is_new else None


def catalogue_indicator(theme: Theme, indicator_id: str) -> Indicator:
    return next(indicator for indicator in theme.indicators if indicator.id == indicator_id)


def swatch(status: str, text: str) -> str:
    background, colour = CELL_COLOURS[status]
    return (f'<span style="background-color:{background};color:{colour};padding:0.1rem 0.45rem;'
            f'border:1px solid #767676;border-radius:0.2rem;margin-right:0.4rem;white-space:nowrap;'
            f'display:inline-block;line-height:1.5">{text}</span> ')  # the space lets a row of swatches wrap


def legend_html(statuses: set[str]) -> str:
    """The colours used in the table, grouped by what they mean: a test against the benchmark, or a place."""
    parts = [f"<strong>{t('overview.legend')}</strong>"]
    tested = [status for status in TESTED if status in statuses]
    if tested:
        parts.append(f"<div>{t('overview.legend_tested')}<br>"
                     + "".join(swatch(status, t(f"overview.status.{status}")) for status in tested) + "</div>")
    if statuses & set(QUINTILES):
        parts.append(f"<div>{t('overview.legend_quintile')}<br>"
                     + "".join(swatch(status, t(f"overview.status.{status}")) for status in QUINTILES) + "</div>")
    parts.append("<div>" + swatch(BENCHMARK, t("overview.status.benchmark"))
                 + swatch(NO_DATA, MISSING + " " + t("overview.status.no_data")) + "</div>")
    arrows = " · ".join(f"{ARROWS[trend]} {t(f'overview.trend.{trend}')}" for trend in (UP, DOWN, FLAT))
    parts.append(f"<div>{arrows}. {t('overview.trend_note')}</div>")
    return '<div style="font-size:0.875rem;line-height:1.9">' + "".join(parts) + "</div>"


def trend_words(trend: str | None, previous_value: float, previous_period: str | None, indicator: Indicator) -> str:
    if trend is None:
        return t("overview.text.no_trend")
    earlier = with_unit(previous_value, indicator.decimals, views.unit_text(indicator))
    return t(f"overview.text.{trend}", period=period_label(previous_period), value=earlier)


def text_alternative(frame: pd.DataFrame, indicators: list[Indicator], municipalities: list[str], benchmark: str
                     ) -> str:
    """Every cell in words, indicator by indicator: value, period, what the colour means, change from a year
    before (Markdown)."""
    areas = [code for code in dict.fromkeys(municipalities) if code != benchmark] + [benchmark]
    names = views.names_for(areas)
    cells = cells_by_key(frame)
    lines = []
    for indicator in indicators:
        rows = [cells.get((indicator.id, code)) or {} for code in areas]
        if all(pd.isna(row.get("value", float("nan"))) for row in rows):
            continue
        unit = views.unit_text(indicator)
        lines.append(f"**{pick(indicator.name.as_dict())}** ({unit})")
        for code, row in zip(areas, rows):
            if pd.isna(row.get("value", float("nan"))):
                lines.append(f"- {names[code]}: {t('overview.status.no_data')}")
                continue
            status = t(f"overview.status.{row['status']}")
            if row["small"]:
                status += ", " + t("overview.text.small")
            lines.append(f"- {names[code]}: {with_unit(row['value'], indicator.decimals, unit)}, "
                         f"{period_label(row['period'])}; {status}; "
                         f"{trend_words(row['trend'], row['previous_value'], row['previous_period'], indicator)}")
        lines.append("")
    return "\n".join(lines)


def show_text_alternative(theme_id: str, frame: pd.DataFrame, indicators: list[Indicator],
                          municipalities: list[str], benchmark: str) -> None:
    # Written only while open (like the panels), so the page reruns no slower for it.
    words = st.expander(t("overview.text"), icon=":material/notes:", key=f"overview_text_{theme_id}",
                        on_change="rerun")
    if words.open:
        with words:
            st.markdown(text_alternative(frame, indicators, municipalities, benchmark))
