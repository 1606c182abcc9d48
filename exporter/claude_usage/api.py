"""/api/usage: the usage report as a versioned JSON document (schema in docs/api.md).

Each request opens its own read-only connection to the ledger (SQLite connections are not shared
between the web server's threads), reads one snapshot and closes it. The same `load_report` feeds
the live page and the `report` command, so all three show the same figures.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import datetime
from typing import Any, Callable, Iterable

from .analysis import Analysis, Recommendation, SessionUsage, UsageReport, build_report
from .budgets import BudgetState
from .config import WEEKDAYS, Config
from .events import TOKEN_TYPES
from .ledger import open_reader
from .pricing import PriceBook, Rates
from .queries import read_facts
from .web import StartResponse, respond

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
MONEY_DIGITS = 8  # OpenClaw records costs to 1e-8 USD


def load_report(config: Config, now: float | None = None) -> UsageReport:
    """Read the ledger in `config.state_dir` and build the report as of `now`."""
    now = time.time() if now is None else now
    prices = PriceBook(config.pricing_mode, list(config.price_overrides))

    def rates(model: str) -> Rates | None:  # the rates on today's date; None when the model has no known price
        found = prices.rates("anthropic", model, now)
        return found.base if found is not None else None

    db = open_reader(config.state_dir)
    try:
        facts = read_facts(db, config, now)
    finally:
        db.close()
    return build_report(facts, config, rates)


def _money(value: float | None) -> float | None:
    return None if value is None else round(value, MONEY_DIGITS)


def _ratio(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def usage_document(report: UsageReport) -> dict[str, Any]:
    zone = report.timezone

    def when(timestamp: float | None) -> str | None:
        return None if timestamp is None else datetime.fromtimestamp(timestamp, zone).isoformat(timespec="seconds")

    periods = {}
    for name, p in report.periods.items():
        tokens = dict(zip(TOKEN_TYPES, p.totals.tokens))
        periods[name] = {
            "start": when(p.start),
            "end": when(p.end),
            "tokens": {**tokens, "total": p.totals.total_tokens},
            "cost_usd": _money(p.totals.cost_usd),
            "requests": p.totals.requests,
            "sessions": p.sessions,
            "unpriced_tokens": p.totals.unpriced_tokens,
        }
    return {
        "schema_version": SCHEMA_VERSION,
        "generated_at": when(report.generated_at),
        "timezone": zone.key,
        "week_start": WEEKDAYS[report.week_start],
        "currency": "USD",
        "status": report.status,
        "periods": periods,
        "budgets": [_budget(b, when) for b in report.budgets],
        "analysis": _analysis(report.analysis, when),
        "top_sessions": [_session(s, when) for s in report.top_sessions],
        "recommendations": [_recommendation(r) for r in report.recommendations],
        "sessions": [_session(s, when) for s in report.sessions],
    }


def _budget(b: BudgetState, when: Callable[[float | None], str | None]) -> dict[str, Any]:
    return {
        "name": b.name,
        "period": b.period,
        "match": dict(b.match),
        "limit_usd": _money(b.limit_usd),
        "spend_usd": _money(b.spend_usd),
        "remaining_usd": _money(b.remaining_usd),
        "overage_usd": _money(b.overage_usd),
        "overage_percent": _ratio(b.overage_percent),
        "used_ratio": _ratio(b.used_ratio),
        "forecast_usd": _money(b.forecast_usd),
        "forecast_overage_usd": _money(b.forecast_overage_usd),
        "period_start": when(b.period_start),
        "period_end": when(b.period_end),
        "days_left": round(b.seconds_left / 86400, 3),
        "status": b.status,
    }


def _analysis(a: Analysis, when: Callable[[float | None], str | None]) -> dict[str, Any]:
    return {
        "period": "month",
        "period_start": when(a.period_start),
        "days": a.days,
        "files_scanned": a.files_scanned,
        "sessions_scanned": a.sessions_scanned,
        "sessions_in_period": a.sessions_in_period,
        "first_activity": when(a.first_activity),
        "last_activity": when(a.last_activity),
        "daily_average_tokens": round(a.daily_average_tokens, 1),
        "daily_average_cost_usd": _money(a.daily_average_cost_usd),
        "cost_per_million_tokens_usd": _money(a.cost_per_million_tokens_usd),
        "token_distribution": {t.token_type: {"tokens": t.tokens, "share": _ratio(t.share)} for t in a.token_distribution},
        "model_mix": [
            {
                "model": m.model,
                "tokens": m.tokens,
                "token_share": _ratio(m.token_share),
                "cost_usd": _money(m.cost_usd),
                "cost_share": _ratio(m.cost_share),
                "requests": m.requests,
                "unpriced_tokens": m.unpriced_tokens,
            }
            for m in a.model_mix
        ],
        "daily": [{"date": d.day.isoformat(), "cost_usd": _money(d.cost_usd), "tokens": d.tokens} for d in a.daily],
        "unpriced_models": list(a.unpriced_models),
        "all_time": {
            "tokens": {**dict(zip(TOKEN_TYPES, a.all_time.tokens)), "total": a.all_time.total_tokens},
            "cost_usd": _money(a.all_time.cost_usd),
            "requests": a.all_time.requests,
            "unpriced_tokens": a.all_time.unpriced_tokens,
        },
    }


def _session(s: SessionUsage, when: Callable[[float | None], str | None]) -> dict[str, Any]:
    return {
        "source": s.source,
        "agent": s.agent,
        "session": s.session,
        "name": s.name,
        "model": s.model,
        "models": list(s.models),
        "cost_usd": _money(s.cost_usd),
        "tokens": s.tokens,
        "requests": s.requests,
        "share": _ratio(s.share),
        "last_activity": when(s.last_activity),
    }


def _recommendation(r: Recommendation) -> dict[str, Any]:
    return {
        "id": r.id,
        "severity": r.severity,
        "title": r.title,
        "reason": r.reason,
        "estimated_saving_usd": _money(r.estimated_saving_usd),
    }


def to_json(report: UsageReport) -> str:
    return json.dumps(usage_document(report), indent=2, allow_nan=False) + "\n"


class UsageApi:
    """WSGI app for /api/usage."""

    def __init__(self, config: Config, ready: threading.Event | None = None, clock: Callable[[], float] = time.time):
        self.config = config
        self.ready = ready
        self.clock = clock

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        if self.ready is not None and not self.ready.is_set():
            return _json(start_response, "503 Service Unavailable", {"error": "not ready: the first scan of the transcripts is running"})
        try:
            report = load_report(self.config, self.clock())
        except Exception as error:  # never a traceback (or anything else) in the answer
            log.exception("cannot build /api/usage")
            return _json(start_response, "500 Internal Server Error", {"error": f"cannot read the ledger ({type(error).__name__})"})
        return respond(start_response, "200 OK", to_json(report), "application/json")


def _json(start_response: StartResponse, status: str, body: dict[str, Any]) -> list[bytes]:
    return respond(start_response, status, json.dumps(body) + "\n", "application/json")
