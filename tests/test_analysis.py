"""The usage analysis, recommendations and renderings, from a ledger with known events."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from claude_usage.analysis import build_report
from claude_usage.api import usage_document
from claude_usage.events import PricedEvent, SessionName, TokenCounts, UsageEvent
from claude_usage.ledger import Batch, FileCursor, Ledger, open_reader
from claude_usage.page import render_page
from claude_usage.pricing import PriceBook
from claude_usage.queries import read_facts
from claude_usage.report import md, render_markdown
from tests.support.pipeline import config_from

NOW = datetime(2026, 12, 4, 17, tzinfo=UTC).timestamp()  # Friday 10:00 MST
HOSTILE = "agent:main:<script>alert(1)</script>|*x*"


def utc(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()


def event(key, ts, source, agent, session, model, tokens: TokenCounts, cost: float, priced: bool = True) -> PricedEvent:
    return PricedEvent(UsageEvent(source, key, ts, agent, session, "anthropic", model, tokens), cost, priced)


# cost at list prices: Sonnet 4.5 $3/$15 in/out, $0.30 read, $3.75 5m write; Haiku 4.5 $1/$5, $0.10, $1.25
SONNET_A = TokenCounts(input=100_000, output=50_000)  # $1.05 (Haiku: $0.35)
HAIKU_B = TokenCounts(input=5_000, output=1_000)  # $0.01
SONNET_C = TokenCounts(input=1_000, output=2_000, cache_read=300_000, cache_write_5m=10_000)  # $0.1605 (Haiku: $0.0535)
EVENTS = [
    event("a1", utc(2026, 12, 4, 16), "openclaw", "main", "sA", "claude-sonnet-4-5", SONNET_A, 1.05),
    event("b1", utc(2026, 12, 2, 18), "openclaw", "main", "sB", "claude-haiku-4-5", HAIKU_B, 0.01),
    event("c1", utc(2026, 12, 1, 7), "claude_code", "metrics-demo", "sC", "claude-sonnet-4-5-20250929", SONNET_C, 0.1605),
    event("d1", utc(2026, 12, 3, 12), "openclaw", "main", "sD", "mystery-model", TokenCounts(input=1_000), 0.0, False),
    event("old", utc(2026, 11, 30, 6, 59), "openclaw", "main", "sOld", "claude-haiku-4-5", HAIKU_B, 0.01),  # Nov 29 MST
]


def build(tmp_path, events=EVENTS, budgets=None, names=()):
    config = config_from(
        tmp_path,
        {
            "sources": {"claude_code": {"roots": []}, "openclaw": {"roots": []}},
            "timezone": "America/Denver",
            "budgets": budgets if budgets is not None else [{"name": "monthly", "period": "month", "limit_usd": 0.5}],
        },
    )
    ledger = Ledger(config.state_dir)
    cursors = [FileCursor(f"/t/{i}.jsonl", "openclaw", 1, i, 10, 10, "h") for i in range(2)]
    ledger.commit(Batch(events=list(events), cursors=cursors, session_names=list(names)))
    ledger.close()
    prices = PriceBook()
    reader = open_reader(config.state_dir)
    try:
        facts = read_facts(reader, config, NOW)
    finally:
        reader.close()
    rates = lambda model: (found.base if (found := prices.rates("anthropic", model, NOW)) else None)  # noqa: E731
    return build_report(facts, config, rates)


@pytest.fixture
def report(tmp_path):
    return build(tmp_path, names=[SessionName("openclaw", "sA", "agent:main:telegram:dm:42")])


def test_periods(report):
    month = report.periods["month"]
    assert month.totals.cost_usd == pytest.approx(1.2205)
    assert month.totals.requests == 4 and month.sessions == 4
    assert month.totals.tokens == [107_000, 53_000, 300_000, 10_000, 0]
    assert month.totals.unpriced_tokens == 1_000
    assert report.periods["day"].totals.cost_usd == pytest.approx(1.05)
    assert report.periods["week"].totals.cost_usd == pytest.approx(1.2205)  # Mon Nov 30 onwards; not "old"


def test_budget_exceeded_with_overage_in_usd_and_percent(report):
    (monthly,) = report.budgets
    assert monthly.status == report.status == "exceeded"
    assert monthly.overage_usd == pytest.approx(0.7205)
    assert monthly.overage_percent == pytest.approx(144.1)
    assert monthly.forecast_usd > monthly.spend_usd


def test_analysis(report):
    a = report.analysis
    assert (a.files_scanned, a.sessions_scanned, a.sessions_in_period) == (2, 5, 4)
    assert a.first_activity == utc(2026, 11, 30, 6, 59) and a.last_activity == utc(2026, 12, 4, 16)
    assert a.days == 4
    assert [(d.day.day, round(d.cost_usd, 4)) for d in a.daily] == [(1, 0.1605), (2, 0.01), (3, 0.0), (4, 1.05)]
    assert a.daily_average_cost_usd == pytest.approx(1.2205 / 4)
    assert a.daily_average_tokens == pytest.approx(470_000 / 4)
    assert a.cost_per_million_tokens_usd == pytest.approx(1.2205 / 0.47)
    assert {t.token_type: t.tokens for t in a.token_distribution}["cache_read"] == 300_000
    assert sum(t.share for t in a.token_distribution) == pytest.approx(1.0)
    assert [m.model for m in a.model_mix] == ["claude-sonnet-4-5", "claude-sonnet-4-5-20250929", "claude-haiku-4-5", "mystery-model"]
    assert sum(m.cost_share for m in a.model_mix) == pytest.approx(1.0)
    assert a.unpriced_models == ["mystery-model"]
    assert a.all_time.cost_usd == pytest.approx(1.2305) and a.all_time.requests == 5  # "old" included


def test_top_sessions(report):
    top = report.top_sessions
    assert [s.session for s in top] == ["sA", "sC", "sB", "sD"]
    assert top[0].name == "agent:main:telegram:dm:42"  # OpenClaw's session key
    assert top[1].name == "metrics-demo"  # Claude Code's project
    assert top[2].name is None
    assert top[0].share == pytest.approx(1.05 / 1.2205)
    assert report.sessions == top  # fewer than ten: every session is a heavy hitter
    assert (top[0].agent, top[0].model, top[0].tokens, top[0].requests) == ("main", "claude-sonnet-4-5", 150_000, 1)


def test_recommendations(report):
    by_id = {r.id: r for r in report.recommendations}
    assert list(by_id) == ["budget_exceeded:monthly", "dominant_session", "unpriced_models", "switch_to_haiku", "per_session_budget"]
    assert "144% over budget" in by_id["budget_exceeded:monthly"].reason
    # what this month's Sonnet turns would have cost on Haiku 4.5
    assert by_id["switch_to_haiku"].estimated_saving_usd == pytest.approx((1.05 - 0.35) + (0.1605 - 0.0535))
    # median session $0.1605 -> a $0.50 cap; sA went $0.55 past it
    assert by_id["per_session_budget"].estimated_saving_usd == pytest.approx(0.55)
    assert "86%" in by_id["dominant_session"].reason
    assert by_id["dominant_session"].estimated_saving_usd is None
    assert "mystery-model" in by_id["unpriced_models"].reason


def test_low_cache_share_and_no_budget(tmp_path):
    report = build(tmp_path, events=EVENTS[:1], budgets=[])
    by_id = {r.id: r for r in report.recommendations}
    assert report.status == "ok" and report.budgets == []
    assert "no_budget" in by_id
    # 80% of 100k prompt tokens as cache reads instead of input: 80k x ($3 - $0.30) / 1M
    assert by_id["low_cache_reads"].estimated_saving_usd == pytest.approx(0.216)
    assert "0%" in by_id["low_cache_reads"].reason


def test_empty_ledger(tmp_path):
    report = build(tmp_path, events=[])
    assert report.periods["month"].totals.cost_usd == 0
    assert report.analysis.cost_per_million_tokens_usd is None
    assert report.top_sessions == [] and report.status == "ok"
    document = usage_document(report)
    json.dumps(document, allow_nan=False)
    assert "<script" not in render_page(report)


def test_json_document_schema(report):
    document = json.loads(json.dumps(usage_document(report), allow_nan=False))
    assert document["schema_version"] == 1
    assert document["timezone"] == "America/Denver"
    assert document["generated_at"] == "2026-12-04T10:00:00-07:00"
    assert set(document) >= {"periods", "budgets", "analysis", "top_sessions", "recommendations", "status", "sessions"}
    assert set(document["periods"]) == {"day", "week", "month"}
    assert set(document["periods"]["month"]) == {"start", "end", "tokens", "cost_usd", "requests", "sessions", "unpriced_tokens"}
    assert document["periods"]["month"]["start"] == "2026-12-01T00:00:00-07:00"
    budget = document["budgets"][0]
    assert set(budget) >= {
        "name", "period", "limit_usd", "spend_usd", "remaining_usd", "overage_usd", "used_ratio", "forecast_usd", "period_end", "status",
    }
    assert budget["status"] == "exceeded" and budget["period_end"] == "2027-01-01T00:00:00-07:00"
    assert set(document["top_sessions"][0]) >= {"session", "name", "agent", "model", "cost_usd", "tokens", "share"}
    assert set(document["recommendations"][0]) == {"id", "severity", "title", "reason", "estimated_saving_usd"}


def test_hostile_session_name_is_escaped_in_page_and_markdown(tmp_path):
    report = build(tmp_path, names=[SessionName("openclaw", "sA", HOSTILE)])
    page = render_page(report)
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    markdown = render_markdown(report)
    assert "<script>" not in markdown and md(HOSTILE) in markdown
    assert md("a|b*c_<d>") == "a\\|b\\*c\\_\\<d\\>"
    assert "## CRITICAL ALERT: BUDGET EXCEEDED" in markdown
    assert "exceeded by:** $0.7205 (144% over budget)" in markdown
