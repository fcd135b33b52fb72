"""When things are due: the worker's schedule, and each series' update rhythm.

The schedule (`[refresh] schedule` in config.toml) is either times of day, "06:00" or "06:00,18:00" in the server's
local time, or an interval, "every 30m" (s, m, h, d). `next_run(schedule, after)` gives the next moment to run.

A series' rhythm is how often its publisher updates it: the fastest `update` of the catalogue's indicators that use
it, else the `update` or `frequency` of its configuration. When a source cannot say cheaply whether it has published
since the last fetch, the series is fetched again once a quarter of its rhythm has passed since its last success.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta

RHYTHM_DAYS = {"daily": 1, "weekly": 7, "monthly": 31, "quarterly": 92, "annual": 366}
RHYTHMS = tuple(RHYTHM_DAYS)
_INTERVAL = re.compile(r"^every\s+(\d+(?:\.\d+)?)\s*([smhd])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_TIME_OF_DAY = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class ScheduleError(ValueError):
    """A schedule text that is neither times of day nor an interval."""


@dataclass(frozen=True)
class Schedule:
    times: tuple[time, ...] = ()  # daily at these local times
    interval_s: float | None = None  # or every this many seconds

    def describe(self) -> str:
        if self.interval_s is not None:
            return f"every {self.interval_s:g} s"
        return "daily at " + ", ".join(moment.strftime("%H:%M") for moment in self.times)


def parse_schedule(text: str) -> Schedule:
    cleaned = str(text).strip().lower()
    interval = _INTERVAL.match(cleaned)
    if interval:
        seconds = float(interval.group(1)) * _UNIT_S[interval.group(2)]
        if seconds <= 0:
            raise ScheduleError(f"'{text}' is not a positive interval.")
        return Schedule(interval_s=seconds)
    times = []
    for part in filter(None, (piece.strip() for piece in cleaned.split(","))):
        match = _TIME_OF_DAY.match(part)
        if not match:
            raise ScheduleError(f"'{text}' is neither times of day like \"06:00\" or \"06:00,18:00\" nor an interval "
                                "like \"every 6h\" (units s, m, h, d).")
        times.append(time(int(match.group(1)), int(match.group(2))))
    if not times:
        raise ScheduleError("the schedule is empty; write e.g. \"06:00\" or \"every 6h\".")
    return Schedule(times=tuple(sorted(set(times))))


def next_run(schedule: Schedule, after: datetime) -> datetime:
    """The first scheduled moment strictly after `after` (a naive local or an aware datetime; the result matches)."""
    if schedule.interval_s is not None:
        return after + timedelta(seconds=schedule.interval_s)
    for days in (0, 1):
        day = (after + timedelta(days=days)).date()
        for moment in schedule.times:
            candidate = datetime.combine(day, moment, tzinfo=after.tzinfo)
            if candidate > after:
                return candidate
    raise AssertionError("a daily schedule always has a next moment within a day")


def fastest_rhythm(rhythms: list[str]) -> str | None:
    known = [rhythm for rhythm in rhythms if rhythm in RHYTHM_DAYS]
    return min(known, key=RHYTHM_DAYS.__getitem__) if known else None


def refetch_after(rhythm: str) -> timedelta:
    """How long a series whose source cannot tell whether it has published is left before it is fetched again."""
    return timedelta(days=RHYTHM_DAYS.get(rhythm, RHYTHM_DAYS["annual"]) / 4)
