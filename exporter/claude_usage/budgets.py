"""Budgets: spend in the current period, the forecast at its end, and a status. Pure functions.

The inputs are window totals per (source, agent, model), from the in-memory aggregate at scrape time
or from a ledger query for the API and the report; both go through `evaluate`, so they agree.

Forecast (also in docs/budgets.md)::

    forecast = spend + rate * remaining
    rate     = max(spend / max(elapsed, one day),    # this period's own run rate
                   trailing_spend / 7 days)          # the average of the last 7 days

`elapsed` is the time since the period began and `remaining` the time until it ends (both in
seconds, so a 23- or 25-hour day is handled). Counting at least one day of elapsed time keeps the
first hours of a period from extrapolating wildly ($5 in the first two hours of a month projects
~$155, not ~$1,800), and the trailing 7-day average carries the usual pace across the start of a
period, when the period's own rate is still mostly noise. Taking the larger of the two makes the
forecast cautious: a budget is warned about when either the current period or the last week says
it will run out. The forecast is never below the spend: both rates are >= 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from .aggregate import ModelKey, Totals
from .config import Budget
from .windows import DAY_SECONDS, TRAILING_DAYS, Window

STATUSES = ("ok", "warning", "exceeded")  # in order of severity
MIN_ELAPSED_SECONDS = DAY_SECONDS
TRAILING_SECONDS = TRAILING_DAYS * DAY_SECONDS
MONEY_EPSILON = 1e-9  # float sums in another order must not flip a status at exactly the limit


@dataclass(frozen=True, slots=True)
class BudgetState:
    name: str
    period: str
    limit_usd: float
    spend_usd: float
    forecast_usd: float
    period_start: float
    period_end: float
    now: float
    status: str
    match: tuple[tuple[str, str], ...] = ()  # (key, pattern) of the budget's filters

    @property
    def remaining_usd(self) -> float:
        return max(0.0, self.limit_usd - self.spend_usd)

    @property
    def overage_usd(self) -> float:
        return max(0.0, self.spend_usd - self.limit_usd)

    @property
    def used_ratio(self) -> float | None:
        """spend / limit; None for a $0 limit that has been spent against (no finite ratio)."""
        if self.limit_usd > 0:
            return self.spend_usd / self.limit_usd
        return 0.0 if self.spend_usd <= 0 else None

    @property
    def overage_percent(self) -> float | None:
        """How far over the limit, in percent of the limit (the seed report's "150% over budget")."""
        return self.overage_usd / self.limit_usd * 100 if self.limit_usd > 0 else None

    @property
    def forecast_overage_usd(self) -> float:
        return max(0.0, self.forecast_usd - self.limit_usd)

    @property
    def seconds_left(self) -> float:
        return max(0.0, self.period_end - self.now)


def matching_spend(budget: Budget, totals: Mapping[ModelKey, Totals]) -> float:
    """The cost in `totals` that the budget's `match` selects (all of it without a match)."""
    return sum(t.cost_usd for (source, agent, model), t in totals.items() if budget.matches(source, agent, model))


def run_rate(spend: float, elapsed: float, trailing_spend: float, trailing_seconds: float = TRAILING_SECONDS) -> float:
    """USD per second: the larger of the period's rate over `elapsed` and the trailing rate."""
    period_rate = max(0.0, spend) / elapsed if elapsed > 0 else 0.0
    trailing_rate = max(0.0, trailing_spend) / trailing_seconds if trailing_seconds > 0 else 0.0
    return max(period_rate, trailing_rate)


def forecast(spend: float, window: Window, now: float, trailing_spend: float, trailing_seconds: float = TRAILING_SECONDS) -> float:
    """Projected spend at the end of `window` (see the module docstring). Never below `spend`."""
    elapsed = min(max(0.0, now - window.start), window.seconds)
    # At least one day counts as elapsed (or the whole period, for a 23-hour day).
    elapsed = max(elapsed, min(MIN_ELAPSED_SECONDS, window.seconds))
    remaining = max(0.0, window.end - now)
    return spend + run_rate(spend, elapsed, trailing_spend, trailing_seconds) * remaining


def status_of(spend: float, limit: float, projected: float, warning_ratio: float = 0.8) -> str:
    """`exceeded` when spend is over the limit; `warning` at >= warning_ratio of it or when the
    forecast is over it; else `ok`."""
    if spend > limit + MONEY_EPSILON:
        return "exceeded"
    if (limit > 0 and spend >= warning_ratio * limit) or projected > limit:
        return "warning"
    return "ok"


def worst(statuses: list[str]) -> str:
    return max(statuses, key=STATUSES.index, default="ok")


def evaluate(
    budget: Budget,
    window: Window,
    now: float,
    period_totals: Mapping[ModelKey, Totals],
    trailing_totals: Mapping[ModelKey, Totals],
    trailing_seconds: float = TRAILING_SECONDS,
) -> BudgetState:
    """One budget's state from the totals of its current window and of the trailing window."""
    spend = matching_spend(budget, period_totals)
    projected = forecast(spend, window, now, matching_spend(budget, trailing_totals), trailing_seconds)
    return BudgetState(
        name=budget.name,
        period=budget.period,
        limit_usd=budget.limit_usd,
        spend_usd=spend,
        forecast_usd=projected,
        period_start=window.start,
        period_end=window.end,
        now=now,
        status=status_of(spend, budget.limit_usd, projected, budget.warning_ratio),
        match=tuple((key, pattern.pattern) for key, pattern in budget.match.items()),
    )
