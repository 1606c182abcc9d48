"""The live page at / (and the report's claude-usage.html): budget status first, then the month.

Self-contained: inline CSS, no script at all (a meta refresh reloads it), no external fonts or
files, and a Content-Security-Policy that forbids scripts anyway. Every value that comes from the
ledger or the config goes through html.escape: a session name can contain `<script>`.
"""

from __future__ import annotations

import html
import logging
import threading
import time
from importlib import resources
from string import Template
from typing import Any, Callable, Iterable

from .analysis import SessionUsage, UsageReport
from .formatting import TOKEN_TYPE_NAMES, forecast_overage_note, local_time, number, overage_note, share, time_left, usd, used_note
from .api import load_report
from .budgets import BudgetState
from .config import Config
from .web import StartResponse, respond

log = logging.getLogger(__name__)

REFRESH_SECONDS = 60
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
STATUS_HEADLINES = {
    "exceeded": "Budget exceeded",
    "warning": "Budget warning: a budget is close to its limit or forecast to pass it",
    "ok": "All budgets within their limits",
}
def e(value: Any) -> str:
    """Escape for HTML text and attribute values."""
    return html.escape(str(value), quote=True)


def _template() -> Template:
    return Template(resources.files(__package__).joinpath("templates/page.html").read_text())


def render_page(report: UsageReport, refresh_seconds: int = REFRESH_SECONDS) -> str:
    sections = [
        _header(report, refresh_seconds),
        _budgets(report),
        _periods(report),
        _daily(report),
        _models(report),
        _tokens(report),
        _sessions(report),
        _recommendations(report),
        _facts(report),
        "<footer><p>Figures from the exporter's ledger: ids, names, counts and money only, never transcript content."
        " Machine-readable: <a href='api/usage'>api/usage</a> · <a href='metrics'>metrics</a>.</p></footer>",
    ]
    return _template().substitute(
        title=e(f"Claude usage: {usd(report.periods['month'].totals.cost_usd)} this month"),
        refresh=int(refresh_seconds),
        body="\n".join(sections),
    )


def _header(report: UsageReport, refresh_seconds: int) -> str:
    return (
        "<header><h1>Claude usage</h1>"
        f"<p class='meta'>Updated <time id='generated-at'>{e(local_time(report.generated_at, report.timezone, '%Y-%m-%d %H:%M:%S %Z'))}</time>"
        f" · time zone {e(report.timezone.key)} · refreshes every {int(refresh_seconds)} s</p></header>"
    )


def _budgets(report: UsageReport) -> str:
    parts = ["<section id='budgets'><h2>Budgets</h2>"]
    if not report.budgets:
        parts.append("<p class='muted'>No budget is configured (see <code>budgets</code> in the config).</p></section>")
        return "".join(parts)
    parts.append(f"<div class='banner {e(report.status)}' id='overall-status'>{e(STATUS_HEADLINES[report.status])}</div>")
    parts.append("<div class='cards'>")
    parts.extend(_budget_card(b, report) for b in report.budgets)
    parts.append("</div></section>")
    return "".join(parts)


def _budget_card(b: BudgetState, report: UsageReport) -> str:
    fill = min(100.0, (b.used_ratio if b.used_ratio is not None else 1.0) * 100)
    scope = ", ".join(f"{key} = {pattern}" for key, pattern in b.match)
    lines = [
        f"<article class='card budget status-{e(b.status)}' data-budget='{e(b.name)}' data-status='{e(b.status)}'>",
        f"<h3><span class='name'>{e(b.name)}</span><span class='badge {e(b.status)}'>{e(b.status)}</span></h3>",
        f"<p class='muted'>per {e(b.period)}{' · ' + e(scope) if scope else ''}</p>",
        f"<p class='big'><span class='spend' data-usd='{b.spend_usd:.8f}'>{e(usd(b.spend_usd))}</span>"
        f" of <span class='limit'>{e(usd(b.limit_usd))}</span></p>",
        f"<div class='meter' aria-hidden='true'><div style='width:{fill:.1f}%'></div></div>",
    ]
    if b.overage_usd > 0:
        lines.append(
            f"<p class='overage'>Over budget by {e(usd(b.overage_usd))}{e(overage_note(b))}: nothing is left this {e(b.period)}.</p>"
        )
    else:
        lines.append(f"<p>{e(usd(b.remaining_usd))} left{e(used_note(b))}.</p>")
    lines.append(
        f"<p>Forecast: <span class='forecast'>{e(usd(b.forecast_usd))}</span>"
        f" by the end of the {e(b.period)}{e(forecast_overage_note(b))}.</p>"
    )
    lines.append(
        f"<p class='muted'>Period ends {e(local_time(b.period_end, report.timezone))} · {e(time_left(b.seconds_left))}</p></article>"
    )
    return "".join(lines)


def _periods(report: UsageReport) -> str:
    labels = {"day": "Today", "week": "This week", "month": "This month"}
    cards = []
    for name, p in report.periods.items():
        cards.append(
            f"<article class='card period' data-period='{e(name)}'><h3>{e(labels[name])}</h3>"
            f"<p class='big'><span id='{e(name)}-spend' data-usd='{p.totals.cost_usd:.8f}'>{e(usd(p.totals.cost_usd))}</span></p>"
            f"<p>{e(number(p.totals.total_tokens))} tokens · {e(number(p.totals.requests))} requests"
            f" · {e(number(p.sessions))} sessions</p>"
            f"<p class='muted'>since {e(local_time(p.start, report.timezone, '%a %Y-%m-%d'))}</p></article>"
        )
    return "<section id='periods'><h2>Spend</h2><div class='cards'>" + "".join(cards) + "</div></section>"


def _table(headers: Iterable[tuple[str, bool]], rows: list[str], empty: str) -> str:
    if not rows:
        return f"<p class='muted'>{e(empty)}</p>"
    head = "".join(
        f"<th class='{'num' if numeric else 'bar' if not title else ''}'>{e(title)}</th>" for title, numeric in headers
    )
    return f"<div class='scroll'><table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"


def _bar(fraction: float) -> str:
    return f"<td class='bar'><div class='hbar' style='width:{max(0.0, min(1.0, fraction)) * 100:.1f}%'></div></td>"


def _daily(report: UsageReport) -> str:
    daily = report.analysis.daily
    top = max((d.cost_usd for d in daily), default=0.0)
    rows = [
        f"<tr><td class='day'>{e(d.day.strftime('%a %d'))}</td>{_bar(d.cost_usd / top if top else 0.0)}"
        f"<td class='num'>{e(usd(d.cost_usd))}</td><td class='num'>{e(number(d.tokens))}</td></tr>"
        for d in daily
    ]
    headers = [("Day", False), ("", False), ("Cost", True), ("Tokens", True)]
    return "<section id='daily'><h2>This month, per day</h2>" + _table(headers, rows, "No usage this month yet.") + "</section>"


def _models(report: UsageReport) -> str:
    rows = [
        f"<tr><td class='name'>{e(m.model)}</td>{_bar(m.cost_share)}<td class='num'>{e(usd(m.cost_usd))}</td>"
        f"<td class='num'>{e(share(m.cost_share))}</td><td class='num'>{e(number(m.tokens))}</td>"
        f"<td class='num'>{e(share(m.token_share))}</td><td class='num'>{e(number(m.requests))}</td></tr>"
        for m in report.analysis.model_mix
    ]
    headers = [
        ("Model", False), ("", False), ("Cost", True), ("Cost share", True), ("Tokens", True), ("Token share", True), ("Requests", True),
    ]
    return "<section id='models'><h2>Model mix this month</h2>" + _table(headers, rows, "No usage this month yet.") + "</section>"


def _tokens(report: UsageReport) -> str:
    rows = [
        f"<tr><td>{e(TOKEN_TYPE_NAMES.get(t.token_type, t.token_type))}</td>{_bar(t.share)}"
        f"<td class='num'>{e(number(t.tokens))}</td><td class='num'>{e(share(t.share))}</td></tr>"
        for t in report.analysis.token_distribution
        if t.tokens
    ]
    headers = [("Token type", False), ("", False), ("Tokens", True), ("Share", True)]
    return "<section id='tokens'><h2>Token distribution this month</h2>" + _table(headers, rows, "No tokens this month yet.") + "</section>"


def _session_cell(s: SessionUsage) -> str:
    name = f"<div class='name'>{e(s.name)}</div>" if s.name else ""
    return f"<td>{name}<div class='id'>{e(s.source)} · {e(s.session)}</div></td>"


def _sessions(report: UsageReport) -> str:
    rows = [
        f"<tr class='session'>{_session_cell(s)}<td class='name'>{e(s.agent)}</td><td class='name'>{e(s.model)}</td>"
        f"<td class='num'>{e(usd(s.cost_usd))}</td><td class='num'>{e(share(s.share))}</td><td class='num'>{e(number(s.tokens))}</td>"
        f"<td class='num'>{e(local_time(s.last_activity, report.timezone, '%m-%d %H:%M'))}</td></tr>"
        for s in report.top_sessions
    ]
    headers = [("Session", False), ("Agent", False), ("Model", False), ("Cost", True), ("Share", True), ("Tokens", True), ("Last", True)]
    return "<section id='sessions'><h2>Heavy hitters this month</h2>" + _table(headers, rows, "No sessions this month yet.") + "</section>"


def _recommendations(report: UsageReport) -> str:
    if not report.recommendations:
        return "<section id='recommendations'><h2>Recommendations</h2><p class='muted'>Nothing to recommend right now.</p></section>"
    items = []
    for r in report.recommendations:
        saving = (
            f" <strong>Estimated saving: {e(usd(r.estimated_saving_usd))}.</strong>" if r.estimated_saving_usd is not None else ""
        )
        items.append(
            f"<li data-id='{e(r.id)}'><span class='badge {e(r.severity)}'>{e(r.severity)}</span> <strong>{e(r.title)}</strong>"
            f"<p>{e(r.reason)}{saving}</p></li>"
        )
    return "<section id='recommendations'><h2>Recommendations</h2><ol class='recs'>" + "".join(items) + "</ol></section>"


def _facts(report: UsageReport) -> str:
    a = report.analysis
    month = report.periods["month"]
    facts = [
        ("Files scanned", number(a.files_scanned)),
        ("Sessions", f"{number(a.sessions_in_period)} this month, {number(a.sessions_scanned)} in the ledger"),
        (
            "Usage period",
            f"{local_time(month.start, report.timezone, '%Y-%m-%d')} to {local_time(report.generated_at, report.timezone, '%Y-%m-%d')} ({a.days} days)",
        ),
        ("Daily average", f"{number(a.daily_average_tokens)} tokens, {usd(a.daily_average_cost_usd)} per day"),
        (
            "Cost per million tokens",
            usd(a.cost_per_million_tokens_usd) if a.cost_per_million_tokens_usd is not None else "–",
        ),
        ("First activity", local_time(a.first_activity, report.timezone)),
        ("Last activity", local_time(a.last_activity, report.timezone)),
    ]
    if a.unpriced_models:
        facts.append(("Models with no price", ", ".join(a.unpriced_models)))
    rows = "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in facts)
    return f"<section id='facts'><h2>Session data</h2><div class='card'><dl class='facts'>{rows}</dl></div></section>"


class UsagePage:
    """WSGI app for /."""

    def __init__(self, config: Config, ready: threading.Event | None = None, clock: Callable[[], float] = time.time):
        self.config = config
        self.ready = ready
        self.clock = clock

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        headers = (("Content-Security-Policy", CSP), ("Referrer-Policy", "no-referrer"))
        if self.ready is not None and not self.ready.is_set():
            body = (
                "<!doctype html><meta charset='utf-8'><meta http-equiv='refresh' content='2'><title>Claude usage</title>"
                "<p>Starting: the first scan of the transcripts is running.</p>"
            )
            return respond(start_response, "503 Service Unavailable", body, "text/html", headers)
        try:
            page = render_page(load_report(self.config, self.clock()))
        except Exception as error:  # never a traceback (or anything else) in the answer
            log.exception("cannot render the page")
            body = (
                "<!doctype html><meta charset='utf-8'><title>Claude usage</title>"
                f"<p>Cannot read the ledger ({e(type(error).__name__)}).</p>"
            )
            return respond(start_response, "500 Internal Server Error", body, "text/html", headers)
        return respond(start_response, "200 OK", page, "text/html", headers)
