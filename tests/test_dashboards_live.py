"""Every dashboard query, run against a real exporter scraped by a real Prometheus.

The exporter reads copies of the fixture transcripts plus one Claude Code response dated now (so
today's, this week's and this month's figures are not zero); Prometheus scrapes it every second with
the shipped rules loaded. Each panel target and each variable query then runs as an instant query,
with the dashboard variables replaced the way Grafana would: it must succeed and return data.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.support.exporter import ExporterProcess
from tests.support.promstack import RULE_FILES, PrometheusProcess, prometheus_config
from tests.support.transcripts import CLAUDE_CODE_FIXTURE, claude_code_line, copy_fixture_roots, exporter_config
from tests.support.waiting import wait_until

ROOT = Path(__file__).resolve().parents[1]
DASHBOARD_FILES = sorted((ROOT / "grafana" / "dashboards").glob("*.json"))
CLAUDE_SESSION = "3b1f6a2e-9c4d-4e8f-a7b2-5d0c8e1f9a34"  # the Claude Code fixture's session

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


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory):
    root = tmp_path_factory.mktemp("dashboards-live")
    claude_root, openclaw_root = copy_fixture_roots(root / "transcripts")
    # One response dated now in the fixture session: the period gauges count only the current day,
    # week and month, and the per-session series only recently active sessions.
    with open(claude_root / CLAUDE_CODE_FIXTURE, "ab") as transcript:
        transcript.write(claude_code_line(session_id=CLAUDE_SESSION, cache_read=20000, cache_write_5m=800))
    config = exporter_config(claude_root, openclaw_root,
                             budgets=[{"name": "monthly", "period": "month", "limit_usd": 50}])
    with ExporterProcess(root / "exporter", config) as exporter:
        # The shipped prometheus.yml and rules, scraping this exporter every second.
        config_text = prometheus_config(exporter.url.removeprefix("http://"), interval="1s")
        with PrometheusProcess(root / "prometheus", config_text, RULE_FILES) as prom:
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
