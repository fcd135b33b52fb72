"""Number, date and period formatting per language (Babel/CLDR): decimal comma and spaced thousands in fi and sv."""

from __future__ import annotations

import math

from babel.dates import format_date
from babel.numbers import format_decimal

from ui.i18n import BABEL_LOCALES, current_language

MONTH_FORMAT = "LLLL yyyy"


def number(value: float | None, decimals: int = 1, lang: str | None = None) -> str:
    """`10.3125, 1, "fi"` -> `10,3`; missing -> `–`."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    locale = BABEL_LOCALES[lang or current_language()]
    pattern = "#,##0" + ("." + "0" * decimals if decimals > 0 else "")
    return format_decimal(round(float(value), decimals), format=pattern, locale=locale)


def with_unit(value: float | None, decimals: int, unit: str, lang: str | None = None) -> str:
    text = number(value, decimals, lang)
    if text == "–" or not unit:
        return text
    return f"{text} {unit}"


def period_label(period: str, lang: str | None = None) -> str:
    """`2020-10` -> `lokakuu 2020` (fi) / `oktober 2020` (sv) / `October 2020` (en); years stay as they are."""
    if len(period) == 7:
        from datetime import date

        year, month = int(period[:4]), int(period[5:7])
        return format_date(date(year, month, 1), MONTH_FORMAT, locale=BABEL_LOCALES[lang or current_language()])
    return period


def date_label(iso: str | None, lang: str | None = None) -> str:
    """An ISO date or timestamp -> a short local date; unknown -> `–`."""
    if not iso:
        return "–"
    from datetime import date

    try:
        parsed = date.fromisoformat(str(iso)[:10])
    except ValueError:
        return str(iso)
    return format_date(parsed, "short", locale=BABEL_LOCALES[lang or current_language()])
