"""Budgets: the forecast method on known series, the status rules and `match`."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from claude_usage.aggregate import Aggregate, Totals
from claude_usage.budgets import evaluate, forecast, matching_spend, status_of, worst
from claude_usage.config import Budget
from claude_usage.ledger import Change
from claude_usage.events import TokenCounts
from claude_usage.windows import trailing_window, window_of

UTC_ZONE = ZoneInfo("UTC")
DAY = 86400.0


def utc(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()


def change(timestamp: float, cost: float, agent: str = "main", model: str = "claude-sonnet-4-5", source: str = "openclaw") -> Change:
    return Change(0, source, agent, "s1", model, timestamp, TokenCounts(output=1000), cost, 1, True)


def aggregate_of(changes: list[Change]) -> Aggregate:
    aggregate = Aggregate()
    aggregate.apply(changes)
    return aggregate


def state_at(aggregate: Aggregate, budget: Budget, now: float, zone: ZoneInfo = UTC_ZONE):
    window = window_of(budget.period, now, zone)
    trailing = trailing_window(now)
    return evaluate(
        budget,
        window,
        now,
        aggregate.window(window.start, window.end),
        aggregate.window(trailing.start, trailing.end),
        trailing.seconds,
    )


# -- the forecast -----------------------------------------------------------------------------------


def test_steady_series_projects_its_rate_to_the_end_of_the_month():
    # $10 a day, every day from May 1st; June has 30 days; evaluated at the end of June 10th.
    series = [change(utc(2026, 5, 1, 12) + day * DAY, 10.0) for day in range(41)]
    state = state_at(aggregate_of(series), Budget("monthly", "month", 500.0), now=utc(2026, 6, 11))
    assert state.spend_usd == pytest.approx(100.0)
    assert state.forecast_usd == pytest.approx(300.0)  # 100 + 10/day * 20 days
    assert (state.period_start, state.period_end) == (utc(2026, 6, 1), utc(2026, 7, 1))
    assert state.status == "ok"


def test_first_hours_of_a_month_do_not_extrapolate_wildly():
    window = window_of("month", utc(2026, 6, 1, 2), UTC_ZONE)
    now = utc(2026, 6, 1, 2)  # two hours in, $5 spent; the week before averaged $3 a day
    projected = forecast(5.0, window, now, trailing_spend=21.0)
    remaining_days = (window.end - now) / DAY
    assert projected == pytest.approx(5.0 + 5.0 * remaining_days)  # elapsed counts as one full day
    assert projected == pytest.approx(154.58, abs=0.01)
    naive = 5.0 / 2 * 720  # spend / 2 hours x 720 hours: $1,800
    assert projected < naive / 10


def test_trailing_week_carries_the_pace_across_the_start_of_a_period():
    window = window_of("month", utc(2026, 6, 3), UTC_ZONE)
    # $2 in the first two days, but $70 in the last seven: the usual pace wins
    assert forecast(2.0, window, utc(2026, 6, 3), trailing_spend=70.0) == pytest.approx(2.0 + 10.0 * 28)
    # and the reverse: a busy period outruns a quiet last week
    assert forecast(60.0, window, utc(2026, 6, 3), trailing_spend=7.0) == pytest.approx(60.0 + 30.0 * 28)


def test_short_dst_day_counts_its_own_length_as_the_minimum():
    denver = ZoneInfo("America/Denver")
    day = window_of("day", utc(2026, 3, 8, 12), denver)  # 23 hours
    now = day.start + 3600
    assert forecast(1.0, day, now, 0.0) == pytest.approx(1.0 + 1.0 / (23 * 3600) * (22 * 3600))
    # at the very end nothing remains to project
    assert forecast(4.0, day, day.end, 100.0) == 4.0


def test_forecast_is_never_below_the_spend():
    rng = random.Random(7)
    for _ in range(500):
        window = window_of(rng.choice(["day", "week", "month"]), utc(2026, 1, 1) + rng.uniform(0, 365) * DAY, UTC_ZONE)
        now = rng.uniform(window.start - DAY, window.end + DAY)
        spend = rng.choice([0.0, rng.uniform(0, 1000)])
        projected = forecast(spend, window, now, rng.choice([0.0, rng.uniform(0, 1000)]))
        assert projected >= spend


def test_no_spend_and_no_history_forecasts_zero():
    window = window_of("month", utc(2026, 6, 15), UTC_ZONE)
    assert forecast(0.0, window, utc(2026, 6, 15), 0.0) == 0.0


# -- status -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spend", "limit", "projected", "status"),
    [
        (10.0, 50.0, 30.0, "ok"),
        (39.99, 50.0, 45.0, "ok"),
        (40.0, 50.0, 45.0, "warning"),  # 80% used
        (10.0, 50.0, 50.01, "warning"),  # forecast over the limit
        (50.0, 50.0, 50.0, "warning"),  # at the limit, not over it
        (50.01, 50.0, 60.0, "exceeded"),
        (125.48, 50.0, 300.0, "exceeded"),
        (0.0, 0.0, 0.0, "ok"),
        (0.01, 0.0, 0.01, "exceeded"),
    ],
)
def test_status(spend, limit, projected, status):
    assert status_of(spend, limit, projected) == status


def test_seed_report_overage():
    aggregate = aggregate_of([change(utc(2026, 2, 2, 12), 125.48)])
    state = state_at(aggregate, Budget("monthly", "month", 50.0), now=utc(2026, 2, 4, 10))
    assert state.status == "exceeded"
    assert state.overage_usd == pytest.approx(75.48)
    assert state.overage_percent == pytest.approx(150.96)
    assert state.remaining_usd == 0.0
    assert state.used_ratio == pytest.approx(2.5096)


def test_worst_status():
    assert worst([]) == "ok"
    assert worst(["ok", "exceeded", "warning"]) == "exceeded"
    assert worst(["ok", "warning"]) == "warning"


# -- match ------------------------------------------------------------------------------------------


def budget(match: dict[str, str]) -> Budget:
    return Budget("b", "day", 5.0, {key: re.compile(pattern) for key, pattern in match.items()})


TOTALS = {
    ("openclaw", "work", "claude-sonnet-4-5"): Totals(cost_usd=1.0),
    ("openclaw", "work2", "claude-haiku-4-5"): Totals(cost_usd=2.0),
    ("openclaw", "home", "claude-opus-4-5"): Totals(cost_usd=4.0),
    ("claude_code", "work", "claude-haiku-4-5-20251001"): Totals(cost_usd=8.0),
}


@pytest.mark.parametrize(
    ("match", "expected"),
    [
        ({}, 15.0),
        ({"agent": "work"}, 9.0),  # exact: not work2
        ({"agent": "work.*"}, 11.0),
        ({"source": "openclaw"}, 7.0),
        ({"model": "claude-(sonnet|opus).*"}, 5.0),
        ({"model": "claude-haiku-4-5"}, 2.0),  # a full match, not a prefix
        ({"source": "claude_code", "agent": "work"}, 8.0),
        ({"agent": "nobody"}, 0.0),
    ],
)
def test_match_counts_only_what_matches(match, expected):
    assert matching_spend(budget(match), TOTALS) == expected


def test_matched_budget_evaluates_only_its_share():
    now = utc(2026, 6, 10, 12)
    aggregate = aggregate_of([change(now - 3600, 3.0, agent="work"), change(now - 3600, 100.0, agent="home")])
    state = state_at(aggregate, budget({"agent": "work"}), now)
    assert state.spend_usd == 3.0 and state.status == "ok"
    assert state.match == (("agent", "work"),)
