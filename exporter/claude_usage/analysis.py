"""The usage analysis the old cron report gave, exact, and recommendations computed by rules. Pure.

Input: the `LedgerFacts` read in one snapshot (queries.py), the config and a price lookup.
Output: a `UsageReport`, which the JSON API serialises and the page and the report render, so the
three always show the same figures. The analysis covers the current calendar month (the seed
report's "usage period"); files, sessions and first/last activity cover the whole ledger.
Nothing here sees transcript content: ids, names, counts and money only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Callable
from zoneinfo import ZoneInfo

from .aggregate import ModelKey, Totals
from .budgets import BudgetState, evaluate, worst
from .config import Config
from .events import TOKEN_TYPES, TokenCounts
from .pricing import Rates
from .queries import LedgerFacts, SessionRow
from .windows import PERIODS, days_between, local_date
from .formatting import percent, usd

HAIKU_MODEL = "claude-haiku-4-5"
TOP_SESSIONS = 10
DOMINANT_SESSION_SHARE = 0.5
LOW_CACHE_READ_SHARE = 0.5
CACHE_TARGET_SHARE = 0.8
CACHE_MIN_PROMPT_TOKENS = 100_000
MIN_SAVING_USD = 0.01
SEVERITIES = ("critical", "warning", "info")

# model name -> its rates (USD per million tokens), or None when no price is known
RateLookup = Callable[[str], Rates | None]


@dataclass(frozen=True)
class PeriodUsage:
    period: str
    start: float
    end: float
    totals: Totals
    sessions: int


@dataclass(frozen=True)
class DayUsage:
    day: date
    cost_usd: float
    tokens: int


@dataclass(frozen=True)
class TokenShare:
    token_type: str
    tokens: int
    share: float


@dataclass(frozen=True)
class ModelShare:
    model: str
    tokens: int
    cost_usd: float
    requests: int
    unpriced_tokens: int
    token_share: float
    cost_share: float


@dataclass(frozen=True)
class SessionUsage:
    source: str
    agent: str
    session: str
    name: str | None  # OpenClaw's session key; Claude Code's project folder
    model: str  # the model that cost the most in this session
    models: tuple[str, ...]
    cost_usd: float
    tokens: int
    requests: int
    share: float  # of this month's spend
    last_activity: float


@dataclass(frozen=True)
class Recommendation:
    id: str
    severity: str  # critical | warning | info
    title: str
    reason: str
    estimated_saving_usd: float | None


@dataclass(frozen=True)
class Analysis:
    files_scanned: int
    sessions_scanned: int
    first_activity: float | None
    last_activity: float | None
    period_start: float
    days: int  # calendar days of the month so far, today included
    sessions_in_period: int
    daily_average_tokens: float
    daily_average_cost_usd: float
    cost_per_million_tokens_usd: float | None
    token_distribution: list[TokenShare]
    model_mix: list[ModelShare]
    daily: list[DayUsage]
    unpriced_models: list[str]
    all_time: Totals  # everything in the ledger, as the *_total counters on /metrics


@dataclass(frozen=True)
class UsageReport:
    generated_at: float
    timezone: ZoneInfo
    week_start: int
    periods: dict[str, PeriodUsage]
    budgets: list[BudgetState]
    status: str  # the worst budget status; ok without budgets
    analysis: Analysis
    top_sessions: list[SessionUsage]  # the heavy hitters: the first TOP_SESSIONS of `sessions`
    recommendations: list[Recommendation]
    sessions: list[SessionUsage]  # every session with usage this month, highest spend first


def _sum(totals: dict[ModelKey, Totals]) -> Totals:
    result = Totals()
    for value in totals.values():
        result.absorb(value)
    return result


def _ratio(part: float, whole: float) -> float:
    return part / whole if whole else 0.0


def build_report(facts: LedgerFacts, config: Config, rates: RateLookup) -> UsageReport:
    periods = {
        p: PeriodUsage(p, facts.windows[p].start, facts.windows[p].end, _sum(facts.period_totals[p]), facts.period_sessions[p])
        for p in PERIODS
    }
    budgets = [
        evaluate(b, facts.windows[b.period], facts.now, facts.period_totals[b.period], facts.trailing_totals, facts.trailing.seconds)
        for b in config.budgets
    ]
    analysis = analyse(facts, config.timezone, periods["month"])
    sessions = session_usage(facts.month_sessions, facts.session_names, periods["month"].totals.cost_usd)
    return UsageReport(
        generated_at=facts.now,
        timezone=config.timezone,
        week_start=config.week_start,
        periods=periods,
        budgets=budgets,
        status=worst([b.status for b in budgets]),
        analysis=analysis,
        top_sessions=sessions[:TOP_SESSIONS],
        recommendations=recommend(facts.period_totals["month"], budgets, sessions, analysis, rates),
        sessions=sessions,
    )


def analyse(facts: LedgerFacts, zone: ZoneInfo, month: PeriodUsage) -> Analysis:
    totals = month.totals
    days = days_between(month.start, min(facts.now + 1, month.end), zone)  # today included
    per_day = {d.first_day: [0.0, 0] for d in days}
    for bucket in facts.month_buckets:
        entry = per_day.setdefault(local_date(bucket.start, zone), [0.0, 0])
        entry[0] += bucket.cost_usd
        entry[1] += bucket.tokens
    daily = [DayUsage(day, cost, tokens) for day, (cost, tokens) in sorted(per_day.items())]
    day_count = max(1, len(days))
    total_tokens = totals.total_tokens

    by_model: dict[str, Totals] = {}
    for (_, _, model), value in facts.period_totals["month"].items():
        by_model.setdefault(model, Totals()).absorb(value)
    model_mix = sorted(
        (
            ModelShare(
                model=model,
                tokens=value.total_tokens,
                cost_usd=value.cost_usd,
                requests=value.requests,
                unpriced_tokens=value.unpriced_tokens,
                token_share=_ratio(value.total_tokens, total_tokens),
                cost_share=_ratio(value.cost_usd, totals.cost_usd),
            )
            for model, value in by_model.items()
        ),
        key=lambda m: (-m.cost_usd, -m.tokens, m.model),
    )
    return Analysis(
        files_scanned=facts.files_scanned,
        sessions_scanned=facts.sessions_scanned,
        first_activity=facts.first_timestamp,
        last_activity=facts.last_timestamp,
        period_start=month.start,
        days=day_count,
        sessions_in_period=month.sessions,
        daily_average_tokens=total_tokens / day_count,
        daily_average_cost_usd=totals.cost_usd / day_count,
        cost_per_million_tokens_usd=totals.cost_usd / total_tokens * 1_000_000 if total_tokens else None,
        token_distribution=[TokenShare(t, v, _ratio(v, total_tokens)) for t, v in zip(TOKEN_TYPES, totals.tokens)],
        model_mix=model_mix,
        daily=daily,
        unpriced_models=sorted(m.model for m in model_mix if m.unpriced_tokens),
        all_time=facts.all_time,
    )


def session_usage(rows: list[SessionRow], names: dict[tuple[str, str], str], month_cost: float) -> list[SessionUsage]:
    """This month's sessions, highest spend first."""
    grouped: dict[tuple[str, str], list[SessionRow]] = {}
    for row in rows:
        grouped.setdefault((row.source, row.session), []).append(row)
    sessions = []
    for (source, session), parts in grouped.items():
        totals = Totals()
        cost_by_agent: dict[str, float] = {}
        cost_by_model: dict[str, tuple[float, int]] = {}
        for part in parts:
            totals.absorb(part.totals)
            cost_by_agent[part.agent] = cost_by_agent.get(part.agent, 0.0) + part.totals.cost_usd
            cost, tokens = cost_by_model.get(part.model, (0.0, 0))
            cost_by_model[part.model] = (cost + part.totals.cost_usd, tokens + part.totals.total_tokens)
        agent = max(sorted(cost_by_agent), key=lambda a: cost_by_agent[a])
        models = sorted(cost_by_model, key=lambda m: (-cost_by_model[m][0], -cost_by_model[m][1], m))
        name = names.get((source, session))
        if name is None and source == "claude_code":
            name = agent  # Claude Code's "agent" is the project folder the session ran in
        sessions.append(
            SessionUsage(
                source=source,
                agent=agent,
                session=session,
                name=name,
                model=models[0],
                models=tuple(models),
                cost_usd=totals.cost_usd,
                tokens=totals.total_tokens,
                requests=totals.requests,
                share=_ratio(totals.cost_usd, month_cost),
                last_activity=max(part.last_timestamp for part in parts),
            )
        )
    return sorted(sessions, key=lambda s: (-s.cost_usd, -s.tokens, s.source, s.session))


# -- recommendations -------------------------------------------------------------------------


def session_label(session: SessionUsage) -> str:
    return f"{session.name} ({session.session})" if session.name and session.name != session.session else session.session


def recommend(
    month_totals: dict[ModelKey, Totals],
    budgets: list[BudgetState],
    sessions: list[SessionUsage],
    analysis: Analysis,
    rates: RateLookup,
) -> list[Recommendation]:
    found: list[Recommendation] = []
    found += _budget_rules(budgets, month_cost=sum(t.cost_usd for t in month_totals.values()), sessions=sessions)
    found += _haiku_rule(month_totals, rates)
    found += _cache_rule(month_totals, rates)
    found += _session_rules(sessions)
    if analysis.unpriced_models:
        found.append(
            Recommendation(
                "unpriced_models",
                "warning",
                "Add prices for unpriced models",
                f"No price is known for {', '.join(analysis.unpriced_models)}: their tokens are counted but cost $0, so"
                " spend and budgets are understated. Add them to a pricing override file (pricing.overrides).",
                None,
            )
        )
    return sorted(found, key=lambda r: SEVERITIES.index(r.severity))


def _budget_rules(budgets: list[BudgetState], month_cost: float, sessions: list[SessionUsage]) -> list[Recommendation]:
    found = []
    heaviest = f" The heaviest session this month is {session_label(sessions[0])}." if sessions else ""
    for b in budgets:
        if b.status == "exceeded":
            over = f" ({b.overage_percent:.0f}% over budget)" if b.overage_percent is not None else ""
            found.append(
                Recommendation(
                    f"budget_exceeded:{b.name}",
                    "critical",
                    f"Budget {b.name} exceeded: escalate to the account owner",
                    f"{usd(b.spend_usd)} spent this {b.period} against a {usd(b.limit_usd)} limit: {usd(b.overage_usd)}"
                    f" over{over}. Review the heavy hitters and check the billing account.{heaviest}",
                    None,
                )
            )
        elif b.status == "warning":
            used = f"{percent(b.used_ratio)} of the limit is used" if b.used_ratio is not None else "the limit is $0"
            outlook = (
                f"at the current run rate the {b.period} ends at {usd(b.forecast_usd)}, {usd(b.forecast_overage_usd)} over the limit"
                if b.forecast_overage_usd > 0
                else f"the forecast for the {b.period} is {usd(b.forecast_usd)}"
            )
            found.append(
                Recommendation(
                    f"budget_warning:{b.name}",
                    "warning",
                    f"Budget {b.name} is running out",
                    f"{usd(b.spend_usd)} of {usd(b.limit_usd)} spent this {b.period} ({used}); {outlook}.",
                    None,
                )
            )
    if not budgets and month_cost > 0:
        suggestion = _nice_ceiling(month_cost * 1.5)
        found.append(
            Recommendation(
                "no_budget",
                "info",
                "Set a monthly budget",
                f"No budget is configured. This month has cost {usd(month_cost)} so far; a budget (for example"
                f" {{name: monthly, period: month, limit_usd: {suggestion:g}}}) turns on the status, forecast and alerts.",
                None,
            )
        )
    return found


def _is_large_model(model: str) -> bool:
    lowered = model.lower()
    return lowered.startswith("claude") and ("sonnet" in lowered or "opus" in lowered)


def _haiku_rule(month_totals: dict[ModelKey, Totals], rates: RateLookup) -> list[Recommendation]:
    haiku = rates(HAIKU_MODEL)
    if haiku is None:
        return []
    cost = haiku_cost = 0.0
    requests = 0
    models = set()
    for (_, _, model), totals in month_totals.items():
        if not _is_large_model(model) or totals.unpriced_tokens:
            continue
        cost += totals.cost_usd
        haiku_cost += haiku.cost(TokenCounts(*totals.tokens))
        requests += totals.requests
        models.add(model)
    saving = cost - haiku_cost
    if saving < MIN_SAVING_USD:
        return []
    return [
        Recommendation(
            "switch_to_haiku",
            "info",
            "Run routine turns on Haiku",
            f"This month's {requests:,} {'request' if requests == 1 else 'requests'} on {', '.join(sorted(models))}"
            f" cost {usd(cost)}; the same tokens on"
            f" {HAIKU_MODEL} would have cost {usd(haiku_cost)}. Moving the turns that do not need the larger model"
            f" (lookups, summaries, scheduled jobs) saves up to {usd(saving)}.",
            saving,
        )
    ]


def _cache_rule(month_totals: dict[ModelKey, Totals], rates: RateLookup) -> list[Recommendation]:
    prompt = cached = 0
    saving = 0.0
    for (_, _, model), totals in month_totals.items():
        uncached, _, read, write_5m, write_1h = totals.tokens
        prompt += uncached + read + write_5m + write_1h
        cached += read
        model_rates = rates(model)
        if model_rates is not None and not totals.unpriced_tokens:
            # Tokens that would move from uncached input to cache reads at the target share.
            moved = min(uncached, max(0.0, CACHE_TARGET_SHARE * (uncached + read + write_5m + write_1h) - read))
            saving += moved * (model_rates.input - model_rates.cache_read) / 1_000_000
    share = _ratio(cached, prompt)
    if prompt < CACHE_MIN_PROMPT_TOKENS or share >= LOW_CACHE_READ_SHARE:
        return []
    return [
        Recommendation(
            "low_cache_reads",
            "info",
            "Cache more of the prompt",
            f"Only {percent(share)} of this month's {prompt:,} prompt tokens were cache reads (billed at a tenth of the"
            f" input rate). Keep long, stable context (system prompt, tools, documents) at the start of the prompt so"
            f" it is cached; at {percent(CACHE_TARGET_SHARE)} cache reads this month would have cost about {usd(saving)} less.",
            saving if saving >= MIN_SAVING_USD else None,
        )
    ]


def _session_rules(sessions: list[SessionUsage]) -> list[Recommendation]:
    found = []
    spent = [s for s in sessions if s.cost_usd > 0]
    if len(spent) >= 2 and spent[0].share >= DOMINANT_SESSION_SHARE:
        top = spent[0]
        found.append(
            Recommendation(
                "dominant_session",
                "warning",
                "One session takes most of the spend",
                f"Session {session_label(top)} (agent {top.agent}, mostly {top.model}) cost {usd(top.cost_usd)},"
                f" {percent(top.share)} of this month's spend. Check what it runs: a loop, a large context carried"
                " turn after turn, or a scheduled job on an expensive model.",
                None,
            )
        )
    if len(spent) >= 3:
        costs = sorted(s.cost_usd for s in spent)
        median = costs[(len(costs) - 1) // 2]
        cap = _nice_ceiling(2 * median)
        over = [s for s in spent if s.cost_usd > cap]
        saving = sum(s.cost_usd - cap for s in over)
        if over and saving >= MIN_SAVING_USD:
            found.append(
                Recommendation(
                    "per_session_budget",
                    "info",
                    "Cap the spend per session",
                    f"Half of this month's {len(spent)} sessions cost {usd(median)} or less, but {len(over)} went past"
                    f" {usd(cap)}. A per-session limit of {usd(cap)} (about twice the median) would have saved up to"
                    f" {usd(saving)}; claude_usage_session_cost_usd_total can alert on sessions that pass it.",
                    saving,
                )
            )
    return found


def _nice_ceiling(value: float) -> float:
    """Round up to 1, 2 or 5 times a power of ten (at least one cent)."""
    if value <= 0.01:
        return 0.01
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value - 1e-12:
            return round(step * power, 2)
    return round(10 * power, 2)
