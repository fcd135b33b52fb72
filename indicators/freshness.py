"""When is a figure too old to be shown as current? The rule behind the "old data" badge (GitHub issue #11).

A period is counted in its own unit (years, quarters, months, weeks, days). Its *lag* is how many of those units lie
between it and the unit that contains today; the day within today's month (or year) does not matter. Data are
stale when the lag of their latest period is greater than the frequency's allowance in MAX_LAG:

| frequency | period form  | stale when the latest period is behind by more than | e.g. on 2026-12-02             |
|-----------|--------------|-----------------------------------------------------|--------------------------------|
| annual    | `2024`       | 2 years                                             | 2024 is current, 2023 is stale |
| quarterly | `2026-Q2`    | 2 quarters                                          | 2026-Q2 current, 2026-Q1 stale |
| monthly   | `2026-09`    | 3 months                                            | 2026-09 current, 2026-08 stale |
| weekly    | `2026-W44`   | 4 weeks (ISO weeks)                                 | 2026-W45 current, W44 stale    |
| daily     | `2026-11-18` | 14 days                                             | 2026-11-18 current, 11-17 stale |

Why these: a month's registered unemployment is out three to four weeks after the month, so in December October or
November is normal and September still allows a late release. Annual statistics of year Y come out during Y+1 and,
for registers such as Sotkanet's, into Y+2, so in 2026 the year 2024 is as current as such data get.

Pure: no Streamlit, no I/O; the UI passes today's date in.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta

# How many periods the latest one may lag behind the period containing today before the data count as old.
MAX_LAG = {"annual": 2, "quarterly": 2, "monthly": 3, "weekly": 4, "daily": 14}

_FORMS = {
    "annual": re.compile(r"^(\d{4})$"),
    "quarterly": re.compile(r"^(\d{4})-?Q([1-4])$"),
    "monthly": re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$"),
    "weekly": re.compile(r"^(\d{4})-?W(0[1-9]|[1-4]\d|5[0-3])$"),
    "daily": re.compile(r"^(\d{4})-(\d{2})-(\d{2})$"),
}


def frequency_of(period: str) -> str:
    """The frequency a period code is written in: "2024" -> "annual", "2023-10" -> "monthly", and so on."""
    for frequency, form in _FORMS.items():
        if form.match(str(period)):
            return frequency
    raise ValueError(f"'{period}' is not a period code (YYYY, YYYY-Qn, YYYY-MM, YYYY-Www or YYYY-MM-DD)")


def _index(period: str, frequency: str) -> int:
    """The period as a count of its units since year 0 (days and weeks: since 1.1.1), so lags are differences."""
    if frequency not in _FORMS:
        raise ValueError(f"unknown frequency '{frequency}'; one of {', '.join(_FORMS)}")
    match = _FORMS[frequency].match(str(period))
    if match is None:
        raise ValueError(f"'{period}' is not a {frequency} period (found {_describe(period)})")
    parts = [int(part) for part in match.groups()]
    if frequency == "annual":
        return parts[0]
    if frequency == "quarterly":
        return parts[0] * 4 + parts[1] - 1
    if frequency == "monthly":
        return parts[0] * 12 + parts[1] - 1
    if frequency == "weekly":
        return date.fromisocalendar(parts[0], parts[1], 1).toordinal() // 7
    return date(*parts).toordinal()


def _describe(period: str) -> str:
    try:
        return f"a {frequency_of(period)} one"
    except ValueError:
        return "no period code"


def _today_index(today: date, frequency: str) -> int:
    if frequency == "annual":
        return today.year
    if frequency == "quarterly":
        return today.year * 4 + (today.month - 1) // 3
    if frequency == "monthly":
        return today.year * 12 + today.month - 1
    if frequency == "weekly":
        return (today - timedelta(days=today.weekday())).toordinal() // 7
    return today.toordinal()


def lag(last_period: str, frequency: str, today: date) -> int:
    """How many periods `last_period` is behind the period containing `today` (0 = the current one; negative for a
    period after today). Raises ValueError when the period is not written in the frequency's form."""
    return _today_index(today, frequency) - _index(last_period, frequency)


def is_stale(last_period: str, frequency: str, today: date) -> bool:
    """Whether data whose latest period is `last_period` are too old to be shown as the current situation."""
    return lag(last_period, frequency, today) > MAX_LAG[frequency]


def period_end(period: str) -> date:
    """The last day a period covers: "2023" -> 31.12.2023, "2023-10" -> 31.10.2023, "2023-Q2" -> 30.6.2023."""
    frequency = frequency_of(period)
    parts = [int(part) for part in _FORMS[frequency].match(str(period)).groups()]  # type: ignore[union-attr]
    if frequency == "annual":
        return date(parts[0], 12, 31)
    if frequency == "quarterly":
        month = parts[1] * 3
        return date(parts[0], month, calendar.monthrange(parts[0], month)[1])
    if frequency == "monthly":
        return date(parts[0], parts[1], calendar.monthrange(parts[0], parts[1])[1])
    if frequency == "weekly":
        return date.fromisocalendar(parts[0], parts[1], 7)
    return date(*parts)


def latest_period(periods: list[str]) -> str | None:
    """The period that reaches furthest among periods of any frequency (the year 2023 reaches past 2023-10); on a
    tie the finer one (2023-12 rather than 2023). None for none."""
    known = [str(period) for period in periods if period]
    if not known:
        return None
    return max(known, key=lambda period: (period_end(period), len(period)))
