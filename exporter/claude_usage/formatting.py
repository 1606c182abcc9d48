"""How figures read for a person: money, shares, counts, local times. Shared by the page and the report."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .budgets import BudgetState

TOKEN_TYPE_NAMES = {
    "input": "Input",
    "output": "Output",
    "cache_read": "Cache read",
    "cache_write_5m": "Cache write (5 min)",
    "cache_write_1h": "Cache write (1 hour)",
}


def usd(value: float) -> str:
    """Dollars and cents; four decimals below a dollar, where cents alone would hide the figure."""
    return f"${value:,.2f}" if value == 0 or abs(value) >= 1 else f"${value:,.4f}"


def percent(value: float) -> str:
    return f"{value * 100:.0f}%"


def share(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def number(value: float) -> str:
    return f"{value:,.0f}"


def local_time(timestamp: float | None, zone: tzinfo, fmt: str = "%Y-%m-%d %H:%M %Z") -> str:
    return "–" if timestamp is None else datetime.fromtimestamp(timestamp, zone).strftime(fmt)


def time_left(seconds: float) -> str:
    if seconds >= 86400:
        return f"{seconds / 86400:.1f} days left"
    return f"{seconds / 3600:.1f} hours left"


def overage_note(budget: "BudgetState") -> str:
    return f" ({budget.overage_percent:.0f}% over budget)" if budget.overage_percent is not None else ""


def used_note(budget: "BudgetState") -> str:
    return f" ({share(budget.used_ratio)} used)" if budget.used_ratio is not None else ""


def forecast_overage_note(budget: "BudgetState") -> str:
    return f", {usd(budget.forecast_overage_usd)} over the limit" if budget.forecast_overage_usd > 0 else ""
