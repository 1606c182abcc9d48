"""Calendar windows: the day, week and month a moment falls in, in the configured time zone.

Pure functions of (moment, zone, first weekday). A window is [start, end) in epoch seconds, from
one local midnight to another, so a day is 23 or 25 hours long when daylight saving changes
(zoneinfo does the arithmetic: a local midnight is turned into an instant, never "start + 24h").
Every zone's offset is a multiple of 15 minutes, so each window starts and ends on a boundary of
the aggregate's 15-minute buckets and the in-memory windows equal the ledger queries exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

PERIODS = ("day", "week", "month")
DAY_SECONDS = 86400
TRAILING_DAYS = 7
ALIGN_SECONDS = 900  # the aggregate's bucket size


@dataclass(frozen=True, slots=True)
class Window:
    """One calendar period: events with start <= timestamp < end belong to it."""

    period: str
    start: float
    end: float
    first_day: date  # the local date the period starts on

    @property
    def seconds(self) -> float:
        return self.end - self.start

    def contains(self, timestamp: float) -> bool:
        return self.start <= timestamp < self.end


def local_midnight(day: date, zone: ZoneInfo) -> float:
    """The instant a local date begins. fold=0 picks the first midnight when a clock goes back over
    it, and when a clock jumps over midnight the result is the instant of the jump (the day's start)."""
    return datetime.combine(day, time(0), tzinfo=zone).timestamp()


def local_date(timestamp: float, zone: ZoneInfo) -> date:
    return datetime.fromtimestamp(timestamp, zone).date()


def first_day(period: str, day: date, week_start: int) -> date:
    """The first local date of the period that `day` is in. week_start: 0 = Monday ... 6 = Sunday."""
    if period == "day":
        return day
    if period == "week":
        return day - timedelta(days=(day.weekday() - week_start) % 7)
    if period == "month":
        return day.replace(day=1)
    raise ValueError(f"unknown period {period!r}")


def next_first_day(period: str, start: date) -> date:
    if period == "day":
        return start + timedelta(days=1)
    if period == "week":
        return start + timedelta(days=7)
    if period == "month":
        return date(start.year + start.month // 12, start.month % 12 + 1, 1)
    raise ValueError(f"unknown period {period!r}")


def window_of(period: str, timestamp: float, zone: ZoneInfo, week_start: int = 0) -> Window:
    """The calendar period (day, week or month) that contains `timestamp`, in `zone`."""
    start_day = first_day(period, local_date(timestamp, zone), week_start)
    end_day = next_first_day(period, start_day)
    return Window(period, local_midnight(start_day, zone), local_midnight(end_day, zone), start_day)


def current_windows(now: float, zone: ZoneInfo, week_start: int = 0) -> dict[str, Window]:
    return {period: window_of(period, now, zone, week_start) for period in PERIODS}


def days_between(start: float, end: float, zone: ZoneInfo) -> list[Window]:
    """The local days that begin in [start, end), each as a day window (for a per-day chart)."""
    days = []
    day = local_date(start, zone)
    while (begin := local_midnight(day, zone)) < end:
        following = day + timedelta(days=1)
        days.append(Window("day", begin, local_midnight(following, zone), day))
        day = following
    return days


def trailing_window(now: float, days: int = TRAILING_DAYS) -> Window:
    """The `days` days up to the end of the current 15-minute bucket (for the trailing run rate)."""
    end = (int(now) // ALIGN_SECONDS + 1) * ALIGN_SECONDS
    start = end - days * DAY_SECONDS
    return Window("trailing", float(start), float(end), datetime.fromtimestamp(start, UTC).date())
