"""Every dashboard query, run against a real exporter scraped by a real Prometheus.

The exporter reads copies of the fixture transcripts plus one Claude Code response dated now (so
today's, this week's and this month's figures are not zero); Prometheus scrapes it every second with
the shipped rules loaded. Each panel target and each variable query then runs as an instant query,
with the dashboard variables replaced the way Grafana would: it must succeed and return data.
"""

from __future__ import annotations

import json
import re
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml

from tests.support.exporter import ExporterProcess
from tests.support.promstack import PrometheusProcess
from tests.support.waiting import wait_until

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
DASHBOARD_FILES = sorted((ROOT / "grafana" / "dashboards").glob("*.json"))
RULE_FILES = sorted((ROOT / "prometheus" / "rules").glob("*.y*ml"))
CLAUDE_SESSION = "3b1f6a2e-9c4d-4e8f-a7b2-5d0c8e1f9a34"
CLAUDE_TRANSCRIPT = f"projects/-home-alice-src-metrics-demo/{CLAUDE_SESSION}.jsonl"

# What Grafana would put in place of each variable: "All" is `.*` for the multi-value filters.
VARIABLES = {
    "instance": ".*", "source": ".*", "agent": ".*", "model": ".*",
    "session": CLAUDE_SESSION,
    "__rate_interval": "1m", "__interval": "15s", "__range": "5m", "__range_s": "300",
}

# Panels whose query may rightly return nothing. Keep this short: a figure whose healthy value is 0
# says `or vector(0)` in its query instead.
MAY_BE_EMPTY = {
    ("claude-usage-overview", "Firing alerts"): "lists firing alerts; nothing fires with cents spent against $50",
}


def collect() -> list[tuple[str, str, str]]:
    """(dashboard uid, panel title or variable, query) for every query of every dashboard."""
    found = []
    for path in DASHBOARD_FILES:
        dashboard = json.loads(path.read_text())
        for panel in dashboard["panels"]:
            for target in panel.get("targets", []):
                found.append((dashboard["uid"], panel["title"], target["expr"]))
        for variable in dashboard["templating"]["list"]:
            if variable["type"] == "query":
                query = variable["query"]
                found.append((dashboard["uid"], f"${variable['name']}", query["query"] if isinstance(query, dict) else query))
    return found


def substitute(query: str) -> str:
    def value(match: re.Match) -> str:
        name = match.group(1) or match.group(2)
        if name not in VARIABLES:
            raise KeyError(f"no test value for ${name} in {query}: add one to VARIABLES")
        return VARIABLES[name]

    # $name, ${name} and ${name:format}
    return re.sub(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)", value, query)


def fresh_response(now: datetime) -> str:
    """One Claude Code assistant line (formats.md §1) in the fixture session, dated now."""
    stamp = now.strftime("%Y%m%d%H%M%S")
    return json.dumps({
        "parentUuid": "6f0e2a1c-0010-4a7e-9b1d-000000000010", "isSidechain": False, "userType": "external",
        "cwd": "/home/alice/src/metrics-demo", "sessionId": CLAUDE_SESSION, "version": "2.0.76", "gitBranch": "main",
        "message": {
            "model": "claude-sonnet-4-5-20250929", "id": f"msg_01LiveDashboards{stamp}", "type": "message",
            "role": "assistant", "content": [{"type": "text", "text": "Done."}],
            "stop_reason": "end_turn", "stop_sequence": None,
            "usage": {"input_tokens": 12, "cache_creation_input_tokens": 800, "cache_read_input_tokens": 20000,
                      "cache_creation": {"ephemeral_5m_input_tokens": 800, "ephemeral_1h_input_tokens": 0},
                      "output_tokens": 350, "service_tier": "standard"},
        },
        "requestId": f"req_011LiveDashboards{stamp}", "type": "assistant",
        "uuid": "6f0e2a1c-0011-4a7e-9b1d-000000000011",
        "timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z",
    }, separators=(",", ":")) + "\n"


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory):
    root = tmp_path_factory.mktemp("dashboards-live")
    claude, openclaw = root / "claude", root / "openclaw"
    shutil.copytree(FIXTURES / "claude-code", claude)
    shutil.copytree(FIXTURES / "clawdbot", openclaw)
    with open(claude / CLAUDE_TRANSCRIPT, "a") as transcript:
        transcript.write(fresh_response(datetime.now(timezone.utc)))
    config = {
        "sources": {"claude_code": {"roots": [str(claude)]}, "openclaw": {"roots": [str(openclaw)]}},
        "budgets": [{"name": "monthly", "period": "month", "limit_usd": 50}],
    }
    with ExporterProcess(root / "exporter", config) as exporter:
        prometheus_yml = yaml.safe_dump({
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "scrape_configs": [{"job_name": "claude-usage",
                                "static_configs": [{"targets": [exporter.url.removeprefix("http://")]}]}],
        })
        with PrometheusProcess(root / "prometheus", prometheus_yml, RULE_FILES) as prom:
            # rate() needs two samples of a counter inside its window: wait for the second scrape.
            wait_until(lambda: prom.query('count_over_time(claude_usage_cost_usd_total{job="claude-usage"}[1m]) >= 2'),
                       timeout=20, interval=0.5, what="two scrapes of claude_usage_cost_usd_total")
            yield prom


QUERIES = [pytest.param(uid, where, query, id=f"{uid.removeprefix('claude-usage-')}:{where}:{n}")
           for n, (uid, where, query) in enumerate(collect())]


@pytest.mark.parametrize("uid, where, query", QUERIES)
def test_query_returns_data(prometheus, uid, where, query):
    promql = substitute(query)
    label_values = re.fullmatch(r"label_values\((.*),\s*(\w+)\)", promql, re.S)
    if label_values:
        # A variable: Grafana asks for the series of the selector and lists one label's values.
        promql, label = label_values.groups()
        result = prometheus.query(promql)
        assert any(label in series["metric"] for series in result), f"{where}: no {label} values from {promql}"
        return
    result = prometheus.query(promql)
    if (uid, where) in MAY_BE_EMPTY:
        return
    assert result, f"{uid} / {where}: no data from {promql}"


def test_session_variable_offers_the_active_session(prometheus):
    result = prometheus.query(substitute(
        'claude_usage_session_cost_usd_total{job="claude-usage", instance=~"$instance"}'))
    assert CLAUDE_SESSION in {series["metric"].get("session") for series in result}


def test_the_exceptions_still_exist():
    where = {(uid, title) for uid, title, _ in collect()}
    assert set(MAY_BE_EMPTY) <= where, "remove exceptions for panels that are gone"
