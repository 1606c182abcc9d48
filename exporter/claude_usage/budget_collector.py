"""/metrics: the current calendar periods and the budgets, computed at scrape time.

Windows come from the clock at each scrape, so they roll over at local midnight (daylight-saving
days included) without a restart; the totals come from the aggregate's 15-minute buckets, which are
keyed by each event's own timestamp, so an event that arrives late lands in its own period.
"""

from __future__ import annotations

import time
from typing import Callable, Iterable

from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from .aggregate import Aggregate, ModelKey, Totals
from .budgets import evaluate
from .config import Config
from .events import TOKEN_TYPES
from .windows import PERIODS, current_windows, trailing_window

PREFIX = "claude_usage_"


def _families() -> dict[str, Metric]:
    g = GaugeMetricFamily
    return {
        "period_cost_usd": g(
            PREFIX + "period_cost_usd",
            "Cost in US dollars in the current calendar day, week or month (configured time zone).",
            labels=["period", "source", "agent", "model"],
        ),
        "period_tokens": g(
            PREFIX + "period_tokens",
            "Tokens in the current calendar day, week or month (configured time zone), by token type.",
            labels=["period", "source", "agent", "model", "token_type"],
        ),
        "budget_limit_usd": g(PREFIX + "budget_limit_usd", "A budget's limit in US dollars.", labels=["budget", "period"]),
        "budget_spend_usd": g(
            PREFIX + "budget_spend_usd", "Spend counted against a budget in its current period.", labels=["budget", "period"]
        ),
        "budget_forecast_usd": g(
            PREFIX + "budget_forecast_usd",
            "Projected spend at the end of the budget's current period (never below the spend; see docs/budgets.md).",
            labels=["budget", "period"],
        ),
        "budget_period_end_timestamp_seconds": g(
            PREFIX + "budget_period_end_timestamp_seconds",
            "When the budget's current period ends (the next local midnight that starts a period).",
            labels=["budget", "period"],
        ),
    }


class BudgetCollector(Collector):
    def __init__(self, config: Config, aggregate: Aggregate, clock: Callable[[], float] = time.time):
        self.config = config
        self.aggregate = aggregate
        self.clock = clock

    def describe(self) -> Iterable[Metric]:
        return list(_families().values())

    def collect(self) -> Iterable[Metric]:
        now = self.clock()
        f = _families()
        windows = current_windows(now, self.config.timezone, self.config.week_start)
        trailing = trailing_window(now)
        *period_totals, trailing_totals = self.aggregate.windows(
            [(windows[period].start, windows[period].end) for period in PERIODS] + [(trailing.start, trailing.end)]
        )
        totals = dict(zip(PERIODS, period_totals))
        # A series that was active this month or week stays, at 0, in the periods it has no spend in,
        # so a sum over a period drops to 0 at midnight rather than vanishing.
        keys: set[ModelKey] = set().union(*(set(t) for t in totals.values()))
        for period in PERIODS:
            for key in sorted(keys):
                t = totals[period].get(key) or Totals()
                f["period_cost_usd"].add_metric([period, *key], t.cost_usd)
                for token_type, value in zip(TOKEN_TYPES, t.tokens):
                    f["period_tokens"].add_metric([period, *key, token_type], value)
        if self.config.budgets:
            for budget in self.config.budgets:
                state = evaluate(budget, windows[budget.period], now, totals[budget.period], trailing_totals, trailing.seconds)
                labels = [budget.name, budget.period]
                f["budget_limit_usd"].add_metric(labels, state.limit_usd)
                f["budget_spend_usd"].add_metric(labels, state.spend_usd)
                f["budget_forecast_usd"].add_metric(labels, state.forecast_usd)
                f["budget_period_end_timestamp_seconds"].add_metric(labels, state.period_end)
        return f.values()
