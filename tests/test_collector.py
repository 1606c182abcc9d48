"""/metrics families from a fresh registry per test, read back with get_sample_value."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import generate_latest

from claude_usage.collector import UsageCollector
from tests.support.pipeline import Pipeline, config_from
from tests.support.transcripts import append, claude_code_line, exporter_config

NOW = datetime(2026, 12, 4, 12, tzinfo=UTC)


def registry_for(pipeline: Pipeline, now: datetime = NOW) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(UsageCollector(pipeline.config, pipeline.aggregate, pipeline.ingestor.stats, clock=now.timestamp))
    return registry


@pytest.fixture
def pipeline(fixture_pipeline):
    return fixture_pipeline


def test_usage_counters(pipeline):
    registry = registry_for(pipeline)
    sonnet = {"source": "claude_code", "agent": "metrics-demo", "model": "claude-sonnet-4-5-20250929"}
    assert registry.get_sample_value("claude_usage_tokens_total", {**sonnet, "token_type": "cache_write_1h"}) == 1200
    assert registry.get_sample_value("claude_usage_cost_usd_total", sonnet) == pytest.approx(0.045504)
    assert registry.get_sample_value("claude_usage_requests_total", sonnet) == 2
    assert registry.get_sample_value("claude_usage_unpriced_tokens_total", sonnet) == 0
    assert registry.get_sample_value("claude_usage_sessions_total", {"source": "openclaw", "agent": "main"}) == 1
    assert registry.get_sample_value("claude_usage_lines_read_total", {"source": "openclaw"}) == 14
    assert registry.get_sample_value("claude_usage_files_watched", {"source": "claude_code"}) == 1
    assert registry.get_sample_value("claude_usage_last_event_timestamp_seconds", {"source": "openclaw", "agent": "main"}) == (
        pytest.approx(1769332904.742)
    )
    assert registry.get_sample_value("claude_usage_build_info", {"version": __import__("claude_usage").__version__}) == 1
    # no <synthetic> series from Claude Code's own error lines
    assert "<synthetic>" not in generate_latest(registry).decode()


def test_session_series_only_for_recent_sessions(pipeline):
    labels = {"source": "openclaw", "agent": "main", "session": "8f4c2d1e-5b7a-4c3e-9d21-6a0b9e3f7c15", "model": "claude-haiku-4-5"}
    old = registry_for(pipeline)  # the fixture sessions are from January: outside the 7-day window
    assert old.get_sample_value("claude_usage_session_cost_usd_total", labels) is None
    recent = registry_for(pipeline, now=datetime(2026, 1, 26, tzinfo=UTC))
    assert recent.get_sample_value("claude_usage_session_cost_usd_total", labels) == pytest.approx(0.01754545)
    assert recent.get_sample_value(
        "claude_usage_session_last_activity_timestamp_seconds", {k: labels[k] for k in ("source", "agent", "session")}
    ) == pytest.approx(1769332904.742)


def test_session_series_are_capped_highest_spend_first(tmp_path, fixture_roots):
    claude_root, _ = fixture_roots
    for i in range(5):
        append(
            claude_root / f"projects/-p/s{i}.jsonl",
            claude_code_line(session_id=f"s{i}", output_tokens=1000 * (i + 1), timestamp=NOW - timedelta(hours=1)),
        )
    config = config_from(tmp_path, exporter_config(claude_root, None, sessions={"max_series": 2, "window": "1d"}))
    pipeline = Pipeline(config).scan()
    try:
        text = generate_latest(registry_for(pipeline)).decode()
        sessions = {line.split('session="')[1].split('"')[0] for line in text.splitlines() if line.startswith("claude_usage_session_cost")}
        assert sessions == {"s4", "s3"}
    finally:
        pipeline.close()


def test_describe_names_every_family(pipeline):
    collector = UsageCollector(pipeline.config, pipeline.aggregate, pipeline.ingestor.stats)
    described = {family.name for family in collector.describe()}
    collected = {family.name for family in collector.collect()}
    assert collected <= described
    assert "claude_usage_tokens" in described  # counters are named without _total in the model
