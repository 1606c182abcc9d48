"""The period and budget gauges on /metrics, from the aggregate, with a clock the test moves."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from claude_usage.aggregate import Aggregate
from claude_usage.budget_collector import BudgetCollector
from claude_usage.collector import UsageCollector
from claude_usage.config import Config
from claude_usage.events import PricedEvent, TokenCounts, UsageEvent
from claude_usage.ingest import IngestStats
from claude_usage.ledger import Batch, Change, Ledger, open_reader
from claude_usage.queries import window_totals
from claude_usage.windows import window_of
from tests.support.pipeline import config_from

SONNET = ("openclaw", "main", "claude-sonnet-4-5")
HAIKU = ("claude_code", "work", "claude-haiku-4-5")


def utc(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()


class Clock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


def change(key: tuple[str, str, str], timestamp: float, cost: float, output: int = 1000) -> Change:
    source, agent, model = key
    return Change(0, source, agent, "s1", model, timestamp, TokenCounts(input=10, output=output), cost, 1, True)


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return config_from(
        tmp_path,
        {
            "sources": {"claude_code": {"roots": []}, "openclaw": {"roots": []}},
            "timezone": "America/Denver",
            "week_start": "monday",
            "budgets": [
                {"name": "monthly", "period": "month", "limit_usd": 5},
                {"name": "work-daily", "period": "day", "limit_usd": 1, "match": {"agent": "work"}},
                {"name": "big-models-weekly", "period": "week", "limit_usd": 100, "match": {"model": "claude-(sonnet|opus).*"}},
            ],
        },
    )


def scrape(config: Config, aggregate: Aggregate, clock: Clock) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(BudgetCollector(config, aggregate, clock=clock))
    return registry


def period_cost(registry: CollectorRegistry, period: str, key: tuple[str, str, str] = SONNET) -> float | None:
    source, agent, model = key
    return registry.get_sample_value("claude_usage_period_cost_usd", {"period": period, "source": source, "agent": agent, "model": model})


def budget(registry: CollectorRegistry, name: str, period: str, what: str) -> float | None:
    return registry.get_sample_value(f"claude_usage_budget_{what}", {"budget": name, "period": period})


def test_period_gauges_split_by_local_calendar(config):
    now = utc(2026, 12, 4, 17)  # Friday 10:00 MST
    aggregate = Aggregate()
    aggregate.apply(
        [
            change(SONNET, utc(2026, 12, 4, 7), 1.0),  # today 00:00
            change(SONNET, utc(2026, 12, 4, 6, 59, 59), 2.0),  # yesterday 23:59:59
            change(SONNET, utc(2026, 11, 30, 7), 4.0),  # Monday 00:00: this week, last month
            change(SONNET, utc(2026, 11, 30, 6, 59), 8.0),  # Sunday night: last week, last month
            change(HAIKU, utc(2026, 12, 1, 8), 16.0),  # this week and month, another series
        ]
    )
    registry = scrape(config, aggregate, Clock(now))
    assert period_cost(registry, "day") == 1.0
    assert period_cost(registry, "week") == 1.0 + 2.0 + 4.0
    assert period_cost(registry, "month") == 1.0 + 2.0
    assert period_cost(registry, "day", HAIKU) == 0.0  # active this month: present at 0
    assert period_cost(registry, "month", HAIKU) == 16.0
    tokens = {"period": "week", "source": "openclaw", "agent": "main", "model": "claude-sonnet-4-5"}
    assert registry.get_sample_value("claude_usage_period_tokens", {**tokens, "token_type": "output"}) == 3000
    assert registry.get_sample_value("claude_usage_period_tokens", {**tokens, "token_type": "input"}) == 30
    assert registry.get_sample_value("claude_usage_period_tokens", {**tokens, "token_type": "cache_write_1h"}) == 0

    assert budget(registry, "monthly", "month", "limit_usd") == 5.0
    assert budget(registry, "monthly", "month", "spend_usd") == 1.0 + 2.0 + 16.0  # over the limit
    assert budget(registry, "work-daily", "day", "spend_usd") == 0.0  # only agent "work", which had nothing today
    assert budget(registry, "big-models-weekly", "week", "spend_usd") == 7.0  # not the Haiku 16
    assert budget(registry, "monthly", "month", "period_end_timestamp_seconds") == utc(2027, 1, 1, 7)
    assert budget(registry, "work-daily", "day", "period_end_timestamp_seconds") == utc(2026, 12, 5, 7)
    assert budget(registry, "big-models-weekly", "week", "period_end_timestamp_seconds") == utc(2026, 12, 7, 7)
    for name, period in (("monthly", "month"), ("work-daily", "day"), ("big-models-weekly", "week")):
        assert budget(registry, name, period, "forecast_usd") >= budget(registry, name, period, "spend_usd")


def test_windows_roll_over_at_local_midnight_without_a_restart(config):
    # November 1st 2026 is Denver's 25-hour day; both 01:30s count in it
    aggregate = Aggregate()
    aggregate.apply([change(SONNET, utc(2026, 11, 1, 7, 30), 1.0), change(SONNET, utc(2026, 11, 1, 8, 30), 2.0)])
    clock = Clock(utc(2026, 11, 2, 6, 59, 59))  # November 1st 23:59:59 MST
    collector = BudgetCollector(config, aggregate, clock=clock)
    registry = CollectorRegistry()
    registry.register(collector)
    assert period_cost(registry, "day") == 3.0
    assert budget(registry, "monthly", "month", "spend_usd") == 3.0
    clock.now = utc(2026, 11, 2, 7)  # midnight MST: a new day, the same week and month
    assert period_cost(registry, "day") == 0.0
    assert period_cost(registry, "month") == 3.0
    assert budget(registry, "monthly", "month", "spend_usd") == 3.0
    assert budget(registry, "work-daily", "day", "period_end_timestamp_seconds") == utc(2026, 11, 3, 7)
    clock.now = utc(2026, 12, 1, 7)  # December 1st 00:00 MST: a new month
    assert period_cost(registry, "month") is None  # no activity this month or week: the series is gone
    assert budget(registry, "monthly", "month", "spend_usd") == 0.0
    assert budget(registry, "monthly", "month", "forecast_usd") == 0.0
    assert budget(registry, "monthly", "month", "period_end_timestamp_seconds") == utc(2027, 1, 1, 7)


def test_a_late_event_counts_in_its_own_window(config):
    clock = Clock(utc(2026, 12, 4, 17))
    aggregate = Aggregate()
    registry = scrape(config, aggregate, clock)
    aggregate.apply([change(SONNET, utc(2026, 12, 4, 16), 1.0)])
    assert period_cost(registry, "day") == 1.0
    # a transcript line from yesterday evening, read only now (a file that appeared late)
    aggregate.apply([change(SONNET, utc(2026, 12, 4, 5), 2.0)])
    assert period_cost(registry, "day") == 1.0
    assert period_cost(registry, "week") == 3.0
    assert period_cost(registry, "month") == 3.0


def test_registers_beside_the_usage_collector(config):
    aggregate = Aggregate()
    registry = CollectorRegistry(auto_describe=True)
    registry.register(UsageCollector(config, aggregate, IngestStats()))
    registry.register(BudgetCollector(config, aggregate))  # no clash of names
    names = {m.name for m in BudgetCollector(config, aggregate).describe()}
    assert names == {
        "claude_usage_period_cost_usd",
        "claude_usage_period_tokens",
        "claude_usage_budget_limit_usd",
        "claude_usage_budget_spend_usd",
        "claude_usage_budget_forecast_usd",
        "claude_usage_budget_period_end_timestamp_seconds",
    }


def test_a_streamed_response_finished_after_midnight_stays_in_its_first_day(tmp_path, config):
    """Claude Code writes one response as several lines; the ledger keeps the first line's time,
    and the aggregate (via the change log) must put the later, larger line's tokens there too."""
    key = "cc:msg_1:req_1"

    def line(timestamp: float, output: int) -> PricedEvent:
        event = UsageEvent("claude_code", key, timestamp, "work", "s1", "anthropic", "claude-haiku-4-5", TokenCounts(output=output))
        return PricedEvent(event, output / 1e6 * 5, True)

    ledger = Ledger(tmp_path / "ledger")
    ledger.commit(Batch(events=[line(utc(2026, 12, 4, 6, 59, 59), 100)]))  # 23:59:59 MST
    ledger.commit(Batch(events=[line(utc(2026, 12, 4, 7, 0, 2), 900)]))  # 00:00:02 MST, same response
    aggregate = Aggregate()
    aggregate.apply(ledger.changes_since(0))
    first_day = window_of("day", utc(2026, 12, 4, 6), config.timezone)
    second_day = window_of("day", utc(2026, 12, 4, 8), config.timezone)
    reader = open_reader(tmp_path / "ledger")
    try:
        for window, output in ((first_day, 900), (second_day, 0)):
            in_memory = sum(t.tokens[1] for t in aggregate.window(window.start, window.end).values())
            stored = sum(t.tokens[1] for t in window_totals(reader, window).values())
            assert in_memory == stored == output
    finally:
        reader.close()
        ledger.close()
