"""Number, date and period formatting per language (Babel/CLDR), the one place for it.

Finnish and Swedish use a decimal comma and a (non-breaking) space between thousands; English a point and commas.
Numbers round half up from the decimal form a reader sees (8.05 -> 8.1), as statistical tables do.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from functools import cache, lru_cache
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from babel.numbers import get_decimal_symbol, get_group_symbol

from indicators.statistics import round_half_up  # the one rounding rule, also for ui.narrative
from ui.i18n import BABEL_LOCALES, DEFAULT_LANGUAGE, current_language, t

MISSING = "–"
# Non-breaking space between a number and its unit, so "8,1 %" never wraps between the number and "%".
NBSP = "\u00a0"
PERCENT = "%"
MINUS = "\u2212"


# --- numbers, units and periods -------------------------------------------------------------------------------------


def format_number(value: float, decimals: int, lang: str | None = None) -> str:
    """A number with the language's decimal and grouping signs: 12 345,7 (fi, sv) or 12,345.7 (en).

    Rounds half up from the decimal form of the number (8.05 → 8.1), as statistical tables do, rather than Babel's
    default banker's rounding; a rounded zero never shows a minus sign. Python formats the digits and the locale's
    CLDR symbols are swapped in, because tables format thousands of cells per page run.
    """
    rounded = round_half_up(value, decimals)
    if rounded == 0:
        rounded = abs(rounded)
    decimal_sign, group_sign = _number_symbols(_babel_locale(lang))
    text = f"{rounded:,.{decimals}f}"
    # A true minus sign (U+2212), as typography and screen readers expect; a hyphen reads as a dash.
    return text.replace(",", "\0").replace(".", decimal_sign).replace("\0", group_sign).replace("-", MINUS)


@cache
def _number_symbols(locale: str) -> tuple[str, str]:
    return get_decimal_symbol(locale), get_group_symbol(locale)


def format_value(value: float, unit: str, decimals: int, lang: str | None = None) -> str:
    """A number with its unit: "8,1 %" in Finnish and Swedish (space before %, as their style guides ask), "8.1%" in
    English; other units follow after a non-breaking space ("4,2 per 1000")."""
    number = format_number(value, decimals, lang)
    if not unit:
        return number
    if unit == PERCENT and language_or_default(lang) == "en":
        return number + PERCENT
    return number + NBSP + unit


def format_change(change: float, unit: str, decimals: int, lang: str | None = None) -> str:
    """The size of a change without its sign (the direction is said in words). A change in a percentage is in
    percentage points, not per cent: "2,3 prosenttiyksikköä", "2,3 procentenheter", "2.3 percentage points"."""
    number = format_number(abs(change), decimals, lang)
    if unit == PERCENT:
        plural = "one" if number == "1" else "other"
        return number + NBSP + t(f"narrative.unit.percentage_point.{plural}", language_or_default(lang))
    return format_value(abs(change), unit, decimals, lang)


def format_period(period: str, lang: str | None = None) -> str:
    """A period code for reading: years stay as they are, months become "toukokuu 2023", "maj 2023", "May 2023"."""
    if len(period) == 7 and period[4] == "-":
        return _month_label(period, _babel_locale(lang))
    return period


# Sliders and tables label every period of a series on every page run (a monthly series has a few hundred), and
# Babel takes about 0.1 ms a label: each month is formatted once per language and process. 3 languages times a
# century of months stay far below the bound.
@lru_cache(maxsize=4096)
def _month_label(period: str, locale: str) -> str:
    return format_date(date(int(period[:4]), int(period[5:]), 1), "LLLL y", locale=locale)


def format_period_range(start_period: str, end_period: str, lang: str | None = None) -> str:
    """"2015–2023", or "toukokuu 2022 – toukokuu 2023" with spaces around the dash when the ends contain spaces."""
    start, end = format_period(start_period, lang), format_period(end_period, lang)
    return f"{start} – {end}" if " " in start + end else f"{start}–{end}"


def format_ordinal(position: int, lang: str | None = None) -> str:
    """An ordinal number: "12." (fi), "12:e" and "1:a" (sv), "12th" and "1st" (en)."""
    language = language_or_default(lang)
    if language == "fi":
        return f"{position}."
    if language == "sv":
        return f"{position}:a" if position % 10 in (1, 2) and position % 100 not in (11, 12) else f"{position}:e"
    if position % 100 in (11, 12, 13):
        return f"{position}th"
    return f"{position}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(position % 10, 'th') }"



# --- tolerant wrappers for tables and metrics: a missing value shows as a dash -----------------------------------


def is_missing(value: object) -> bool:
    try:
        return value is None or math.isnan(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return True


def number(value: float | None, decimals: int = 1, lang: str | None = None) -> str:
    return MISSING if is_missing(value) else format_number(float(value), decimals, lang)


def with_unit(value: float | None, decimals: int, unit: str, lang: str | None = None) -> str:
    return MISSING if is_missing(value) else format_value(float(value), unit, decimals, lang)


def period_label(period: str | None, lang: str | None = None) -> str:
    return MISSING if not period else format_period(str(period), lang)


def date_label(iso: str | None, lang: str | None = None) -> str:
    """An ISO date or timestamp -> a short local date (1.3.2021); unknown -> a dash."""
    if not iso:
        return MISSING
    try:
        parsed = date.fromisoformat(str(iso)[:10])
    except ValueError:
        return str(iso)
    lang = language_or_default(lang)
    # English short dates are ambiguous (01/03/2021 is March in Britain, January in America): "1 Mar 2021".
    return format_date(parsed, "d MMM y" if lang == "en" else "short", locale=BABEL_LOCALES[lang])


FINNISH_TIME = ZoneInfo("Europe/Helsinki")  # readers are in Finland; servers often run on UTC


def moment_label(iso: str | None, lang: str | None = None) -> str:
    """An ISO timestamp -> date and time in Finnish time (2.12.2026 6.00), whatever the server's zone; unknown -> a
    dash. A timestamp without an offset is shown as it is."""
    if not iso:
        return MISSING
    try:
        parsed = datetime.fromisoformat(str(iso))
    except ValueError:
        return str(iso)
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(FINNISH_TIME)
    locale = BABEL_LOCALES[language_or_default(lang)]
    return f"{date_label(parsed.isoformat(), lang)} {format_time(parsed, 'short', locale=locale)}"


def language_or_default(lang: str | None) -> str:
    language = lang or current_language()
    return language if language in BABEL_LOCALES else DEFAULT_LANGUAGE


def _babel_locale(lang: str | None) -> str:
    return BABEL_LOCALES[language_or_default(lang)]


