"""Calendar windows in a time zone: midnight, week start, first of the month and daylight saving.

Each boundary is checked three ways: the pure window functions, the aggregate's 15-minute buckets
(what /metrics sums) and the ledger queries (what /api/usage and the report sum).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from claude_usage.aggregate import Aggregate
from claude_usage.events import PricedEvent, TokenCounts, UsageEvent
from claude_usage.ledger import Batch, Ledger, open_reader
from claude_usage.queries import window_totals
from claude_usage.windows import days_between, local_midnight, trailing_window, window_of

DENVER = ZoneInfo("America/Denver")
MONDAY, SUNDAY = 0, 6
HOUR = 3600


def utc(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()


def test_day_is_local_midnight_to_local_midnight():
    w = window_of("day", utc(2026, 12, 4, 16, 0), DENVER)
    assert (w.start, w.end, w.first_day) == (utc(2026, 12, 4, 7), utc(2026, 12, 5, 7), date(2026, 12, 4))
    # 06:59:59 UTC is still the previous evening in Denver
    assert window_of("day", utc(2026, 12, 4, 6, 59, 59), DENVER).first_day == date(2026, 12, 3)


def test_spring_forward_day_has_23_hours_and_fall_back_day_25():
    spring = window_of("day", utc(2026, 3, 8, 12), DENVER)  # DST starts 2026-03-08 02:00 MST
    assert (spring.start, spring.end) == (utc(2026, 3, 8, 7), utc(2026, 3, 9, 6))
    assert spring.seconds == 23 * HOUR
    fall = window_of("day", utc(2026, 11, 1, 12), DENVER)  # DST ends 2026-11-01 02:00 MDT
    assert (fall.start, fall.end) == (utc(2026, 11, 1, 6), utc(2026, 11, 2, 7))
    assert fall.seconds == 25 * HOUR
    # both 01:30s of the repeated hour belong to November 1st
    assert window_of("day", utc(2026, 11, 1, 7, 30), DENVER) == fall  # 01:30 MDT
    assert window_of("day", utc(2026, 11, 1, 8, 30), DENVER) == fall  # 01:30 MST


def test_week_starts_on_the_configured_day():
    # Sunday 2026-03-08 (the DST day): Monday weeks started on March 2nd, Sunday weeks start that day
    monday_week = window_of("week", utc(2026, 3, 8, 12), DENVER, MONDAY)
    assert monday_week.first_day == date(2026, 3, 2)
    assert (monday_week.start, monday_week.end) == (utc(2026, 3, 2, 7), utc(2026, 3, 9, 6))
    assert monday_week.seconds == 7 * 24 * HOUR - HOUR
    sunday_week = window_of("week", utc(2026, 3, 8, 12), DENVER, SUNDAY)
    assert sunday_week.first_day == date(2026, 3, 8)
    assert sunday_week.end == utc(2026, 3, 15, 6)


def test_month_across_dst_and_year_end():
    november = window_of("month", utc(2026, 11, 15), DENVER)
    assert (november.start, november.end) == (utc(2026, 11, 1, 6), utc(2026, 12, 1, 7))
    assert november.seconds == 30 * 24 * HOUR + HOUR
    december = window_of("month", utc(2026, 12, 31, 23), DENVER)
    assert (december.first_day, december.end) == (date(2026, 12, 1), utc(2027, 1, 1, 7))
    # the last second of January in Denver is in January; the next one in February
    assert window_of("month", utc(2026, 2, 1, 6, 59, 59), DENVER).first_day == date(2026, 1, 1)
    assert window_of("month", utc(2026, 2, 1, 7), DENVER).first_day == date(2026, 2, 1)


def test_a_zone_whose_midnight_does_not_exist():
    # America/Havana skips from 00:00 to 01:00 on 2026-03-08: that day starts at the jump
    havana = ZoneInfo("America/Havana")
    day = window_of("day", utc(2026, 3, 8, 12), havana)
    assert day.start == local_midnight(date(2026, 3, 8), havana) == utc(2026, 3, 8, 5)
    assert day.seconds == 23 * HOUR
    assert window_of("day", day.start - 1, havana).first_day == date(2026, 3, 7)


def test_days_between_counts_local_days_across_dst():
    march = window_of("month", utc(2026, 3, 20), DENVER)
    days = days_between(march.start, march.end, DENVER)
    assert [d.first_day.day for d in days] == list(range(1, 32))
    assert days[7].seconds == 23 * HOUR and days[7].first_day == date(2026, 3, 8)
    assert days[0].start == march.start and days[-1].end == march.end


def test_trailing_window_is_seven_days_on_bucket_boundaries():
    now = utc(2026, 12, 4, 16, 7, 30)
    w = trailing_window(now)
    assert w.end == utc(2026, 12, 4, 16, 15) and w.seconds == 7 * 86400


# -- the same boundaries through the aggregate (/metrics) and the ledger (/api/usage, report) ------

# (label, event time UTC, period, expected first local day of its window, week_start)
BOUNDARY_EVENTS = [
    ("last second before local midnight", utc(2026, 12, 4, 6, 59, 59), "day", date(2026, 12, 3), MONDAY),
    ("local midnight", utc(2026, 12, 4, 7), "day", date(2026, 12, 4), MONDAY),
    ("Sunday night, Monday weeks", utc(2026, 12, 7, 6, 59, 59), "week", date(2026, 11, 30), MONDAY),
    ("Monday 00:00, Monday weeks", utc(2026, 12, 7, 7), "week", date(2026, 12, 7), MONDAY),
    ("Saturday night, Sunday weeks", utc(2026, 12, 6, 6, 59, 59), "week", date(2026, 11, 29), SUNDAY),
    ("Sunday 00:00, Sunday weeks", utc(2026, 12, 6, 7), "week", date(2026, 12, 6), SUNDAY),
    ("January 31st 23:59:59", utc(2026, 2, 1, 6, 59, 59), "month", date(2026, 1, 1), MONDAY),
    ("February 1st 00:00", utc(2026, 2, 1, 7), "month", date(2026, 2, 1), MONDAY),
    ("23:59:59 on the 23-hour day", utc(2026, 3, 9, 5, 59, 59), "day", date(2026, 3, 8), MONDAY),
    ("midnight after the 23-hour day", utc(2026, 3, 9, 6), "day", date(2026, 3, 9), MONDAY),
    ("02:00 skipped: 03:00 MDT", utc(2026, 3, 8, 9), "day", date(2026, 3, 8), MONDAY),
    ("first 01:30 of the 25-hour day", utc(2026, 11, 1, 7, 30), "day", date(2026, 11, 1), MONDAY),
    ("second 01:30 of the 25-hour day", utc(2026, 11, 1, 8, 30), "day", date(2026, 11, 1), MONDAY),
    ("23:59:59 on the 25-hour day", utc(2026, 11, 2, 6, 59, 59), "day", date(2026, 11, 1), MONDAY),
    ("October 31st 23:59:59 MDT", utc(2026, 11, 1, 5, 59, 59), "month", date(2026, 10, 1), MONDAY),
    ("November 1st 00:00 MDT", utc(2026, 11, 1, 6), "month", date(2026, 11, 1), MONDAY),
]


def priced(key: str, timestamp: float, cost: float, output: int = 100, agent: str = "main", model: str = "claude-haiku-4-5") -> PricedEvent:
    event = UsageEvent("openclaw", key, timestamp, agent, f"s-{key}", "anthropic", model, TokenCounts(output=output))
    return PricedEvent(event, cost, True)


@pytest.fixture(scope="module")
def boundary_ledger(tmp_path_factory):
    state = tmp_path_factory.mktemp("windows") / "state"
    ledger = Ledger(state)
    ledger.commit(Batch(events=[priced(f"e{i}", ts, cost=float(2**i)) for i, (_, ts, *_rest) in enumerate(BOUNDARY_EVENTS)]))
    aggregate = Aggregate()
    aggregate.apply(ledger.changes_since(0))
    reader = open_reader(state)
    yield aggregate, reader
    reader.close()
    ledger.close()


@pytest.mark.parametrize("index", range(len(BOUNDARY_EVENTS)), ids=[e[0] for e in BOUNDARY_EVENTS])
def test_each_event_is_in_exactly_its_window(boundary_ledger, index):
    aggregate, reader = boundary_ledger
    label, timestamp, period, first_day, week_start = BOUNDARY_EVENTS[index]
    window = window_of(period, timestamp, DENVER, week_start)
    assert window.first_day == first_day, label
    mine = float(2**index)
    before = window_of(period, window.start - 1, DENVER, week_start)
    after = window_of(period, window.end, DENVER, week_start)
    for neighbour in (before, window, after):
        expected = sum(
            float(2**i) for i, (_, ts, *_rest) in enumerate(BOUNDARY_EVENTS) if neighbour.start <= ts < neighbour.end
        )
        from_aggregate = sum(t.cost_usd for t in aggregate.window(neighbour.start, neighbour.end).values())
        from_ledger = sum(t.cost_usd for t in window_totals(reader, neighbour).values())
        assert from_aggregate == from_ledger == expected, (label, neighbour)
        # the event's own bit is set in its window only
        assert (int(expected) & int(mine) != 0) == (neighbour == window), (label, neighbour)
