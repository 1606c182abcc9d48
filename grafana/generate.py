#!/usr/bin/env python3
"""Generate the Grafana dashboards in grafana/dashboards/ (standard library only).

The JSON files are committed because Grafana's file provisioning reads them as they are; this script
is their source. After editing it, run `python grafana/generate.py`; a test regenerates the dashboards
and fails when the committed JSON differs.

Conventions every panel follows (tests/test_dashboards_structure.py checks them):
- the data source is the `${datasource}` variable, never a `${DS_...}` import input, which file
  provisioning cannot resolve;
- exporter metrics are always selected with job="claude-usage" and instance=~"$instance";
- every range selector is [$__rate_interval];
- calendar figures (today, this week, this month) come from the exporter's period gauges: PromQL
  cannot do calendar months in a time zone, and increase(...[30d]) is a rolling, extrapolated window.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

DASHBOARD_DIR = Path(__file__).resolve().parent / "dashboards"

DS = {"type": "prometheus", "uid": "${datasource}"}
JOB = 'job="claude-usage"'
BASE = f'{JOB}, instance=~"$instance"'
SRC = f'{BASE}, source=~"$source"'
AGENT = f'{SRC}, agent=~"$agent"'
ALL = f'{AGENT}, model=~"$model"'
SESSION = f'{BASE}, session="$session"'
RATE = "[$__rate_interval]"

# Status colours shared by every "share of a budget" figure.
BUDGET_STEPS = [
    {"color": "green", "value": None},
    {"color": "orange", "value": 0.8},
    {"color": "red", "value": 1},
]
ZERO_IS_GOOD = [{"color": "green", "value": None}, {"color": "red", "value": 1}]


def thresholds(steps: list[dict] | None = None) -> dict:
    return {"mode": "absolute", "steps": steps or [{"color": "green", "value": None}]}


def target(expr: str, legend: str = "", *, instant: bool = False, table: bool = False) -> dict:
    return {
        "datasource": DS,
        "expr": expr,
        "legendFormat": legend or "__auto",
        "instant": instant,
        "range": not instant,
        "format": "table" if table else "time_series",
    }


def panel(kind: str, title: str, description: str, unit: str, targets: list[dict], *, w: int, h: int,
          options: dict | None = None, custom: dict | None = None, steps: list[dict] | None = None,
          overrides: list[dict] | None = None, mappings: list[dict] | None = None, **extra: object) -> dict:
    """One panel; the Board places it and numbers it."""
    defaults: dict = {"unit": unit, "thresholds": thresholds(steps), "mappings": mappings or [],
                      "color": {"mode": "thresholds" if steps else "palette-classic"}}
    if custom:
        defaults["custom"] = custom
    for ref, t in zip("ABCDEFGH", targets):
        t["refId"] = ref
    return {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DS,
        "gridPos": {"w": w, "h": h},
        "fieldConfig": {"defaults": defaults, "overrides": overrides or []},
        "options": options or {},
        "targets": targets,
        **extra,
    }


def stat(title: str, description: str, unit: str, expr: str, *, w: int = 4, h: int = 4,
         steps: list[dict] | None = None, legend: str = "", text_mode: str = "auto", **extra: object) -> dict:
    options = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
               "colorMode": "value", "graphMode": "area", "textMode": text_mode, "justifyMode": "auto"}
    return panel("stat", title, description, unit, [target(expr, legend)], w=w, h=h, options=options,
                 steps=steps, **extra)


def timeseries(title: str, description: str, unit: str, targets: list[dict], *, w: int = 12, h: int = 8,
               stack: bool = False, **extra: object) -> dict:
    custom = {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 20 if stack else 10, "showPoints": "never",
              "stacking": {"mode": "normal" if stack else "none", "group": "A"}}
    options = {"legend": {"displayMode": "table", "placement": "right", "calcs": ["lastNotNull", "max"]},
               "tooltip": {"mode": "multi", "sort": "desc"}}
    return panel("timeseries", title, description, unit, targets, w=w, h=h, custom=custom, options=options, **extra)


def bargauge(title: str, description: str, unit: str, expr: str, legend: str, *, w: int = 12, h: int = 8,
             steps: list[dict] | None = None, minmax: tuple[float, float] | None = None) -> dict:
    options = {"orientation": "horizontal", "displayMode": "gradient", "showUnfilled": True,
               "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}}
    p = panel("bargauge", title, description, unit, [target(expr, legend, instant=True)], w=w, h=h,
              options=options, steps=steps)
    if minmax:
        p["fieldConfig"]["defaults"].update(min=minmax[0], max=minmax[1])
    return p


def piechart(title: str, description: str, unit: str, expr: str, legend: str, *, w: int = 8, h: int = 8) -> dict:
    options = {"pieType": "donut", "displayLabels": ["percent"],
               "legend": {"displayMode": "table", "placement": "right", "values": ["value", "percent"]},
               "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}}
    return panel("piechart", title, description, unit, [target(expr, legend, instant=True)], w=w, h=h, options=options)


def column(name: str, label: str, unit: str, steps: list[dict] | None = None, decimals: int | None = None) -> dict:
    """A table override: rename a merged value column, give it a unit and, with steps, status colours."""
    properties = [{"id": "displayName", "value": label}, {"id": "unit", "value": unit}]
    if decimals is not None:
        properties.append({"id": "decimals", "value": decimals})
    if steps:
        properties += [{"id": "thresholds", "value": thresholds(steps)},
                       {"id": "color", "value": {"mode": "thresholds"}},
                       {"id": "custom.cellOptions", "value": {"type": "color-background", "mode": "basic"}}]
    return {"matcher": {"id": "byName", "options": name}, "properties": properties}


def table(title: str, description: str, unit: str, targets: list[dict], *, w: int = 24, h: int = 8,
          overrides: list[dict] | None = None, hide: tuple[str, ...] = ("Time",), sort: str | None = None,
          **extra: object) -> dict:
    # Several instant queries become one row per label set: merge joins them on their labels.
    transformations = [{"id": "merge", "options": {}},
                       {"id": "organize", "options": {"excludeByName": {name: True for name in hide}}}]
    options = {"showHeader": True, "cellHeight": "sm"}
    if sort:
        options["sortBy"] = [{"displayName": sort, "desc": True}]
    return panel("table", title, description, unit, targets, w=w, h=h, options=options, overrides=overrides,
                 custom={"align": "auto", "cellOptions": {"type": "auto"}}, transformations=transformations, **extra)


class Board:
    """Places panels left to right in rows of 24 columns and numbers them."""

    def __init__(self) -> None:
        self.panels: list[dict] = []
        self.x = self.y = self.line_h = 0

    def row(self, title: str) -> None:
        self._newline()
        self.panels.append({"type": "row", "title": title, "collapsed": False, "panels": [],
                            "id": len(self.panels) + 1, "gridPos": {"x": 0, "y": self.y, "w": 24, "h": 1}})
        self.y += 1

    def add(self, *panels: dict) -> None:
        for p in panels:
            w, h = p["gridPos"]["w"], p["gridPos"]["h"]
            if self.x + w > 24:
                self._newline()
            p["gridPos"] = {"x": self.x, "y": self.y, "w": w, "h": h}
            p["id"] = len(self.panels) + 1
            self.panels.append(p)
            self.x += w
            self.line_h = max(self.line_h, h)

    def _newline(self) -> None:
        self.y += self.line_h
        self.x = self.line_h = 0


def query_variable(name: str, label: str, query: str, *, multi: bool = True) -> dict:
    variable = {
        "type": "query", "name": name, "label": label, "datasource": DS,
        "definition": query, "query": query,
        "refresh": 2,  # on time range change: new sessions, agents and models show up
        "sort": 1, "regex": "", "hide": 0,
        "multi": multi, "includeAll": multi,
        "current": {},
    }
    if multi:
        # .* rather than a list of every value: short queries, and it also matches series that
        # appeared after the dashboard loaded.
        variable["allValue"] = ".*"
        variable["current"] = {"selected": True, "text": ["All"], "value": ["$__all"]}
    return variable


def variables(*extra: dict) -> list[dict]:
    return [
        {"type": "datasource", "name": "datasource", "label": "Data source", "query": "prometheus",
         "current": {"selected": False, "text": "Prometheus", "value": "prometheus"}, "hide": 0, "regex": ""},
        query_variable("instance", "Instance", f"label_values(up{{{JOB}}}, instance)"),
        query_variable("source", "Source", f"label_values(claude_usage_cost_usd_total{{{BASE}}}, source)"),
        query_variable("agent", "Agent", f"label_values(claude_usage_cost_usd_total{{{SRC}}}, agent)"),
        query_variable("model", "Model", f"label_values(claude_usage_cost_usd_total{{{AGENT}}}, model)"),
        *extra,
    ]


def dashboard(uid: str, title: str, description: str, board: Board, templating: list[dict], *,
              time_from: str = "now-7d") -> dict:
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["claude-usage"],
        "timezone": "browser",
        "editable": True,
        "graphTooltip": 1,
        "refresh": "1m",
        "time": {"from": time_from, "to": "now"},
        "schemaVersion": 41,
        "version": 1,
        # Every dashboard links to the others, keeping the time range and the variables.
        "links": [{"type": "dashboards", "tags": ["claude-usage"], "asDropdown": False, "title": "Claude usage",
                   "includeVars": True, "keepTime": True, "icon": "external link", "targetBlank": False}],
        "annotations": {"list": []},
        "templating": {"list": templating},
        "panels": board.panels,
    }


def overview() -> dict:
    b = Board()
    b.row("Budgets")
    budget = lambda metric: f"{metric}{{{BASE}}}"  # noqa: E731 - budgets carry no source/agent/model labels
    # Several machines can share one budget: spend adds up, the limit is the same everywhere.
    spend = f"sum by (budget, period) ({budget('claude_usage_budget_spend_usd')})"
    limit = f"max by (budget, period) ({budget('claude_usage_budget_limit_usd')})"
    forecast = f"sum by (budget, period) ({budget('claude_usage_budget_forecast_usd')})"
    days_left = f"max by (budget, period) (({budget('claude_usage_budget_period_end_timestamp_seconds')} - time()) / 86400)"
    b.add(table(
        "Budgets",
        "Every configured budget (exporter config, `budgets:`): spend so far in the current calendar period, "
        "its limit, the spend projected to the end of the period at the current run rate, and the days "
        "left. Used and Forecast are shares of the limit: green below 80 %, orange from 80 %, red from 100 %.",
        "currencyUSD",
        [target(spend, instant=True, table=True), target(limit, instant=True, table=True),
         target(forecast, instant=True, table=True), target(days_left, instant=True, table=True),
         target(f"{spend} / {limit}", instant=True, table=True),
         target(f"{forecast} / {limit}", instant=True, table=True)],
        w=14, h=7,
        overrides=[column("Value #A", "Spent", "currencyUSD"), column("Value #B", "Limit", "currencyUSD"),
                   column("Value #C", "Forecast", "currencyUSD"), column("Value #D", "Days left", "d", decimals=1),
                   column("Value #E", "Used", "percentunit", BUDGET_STEPS),
                   column("Value #F", "Forecast / limit", "percentunit", BUDGET_STEPS)],
    ))
    b.add(bargauge(
        "Budget used",
        "Spend so far as a share of each budget's limit, in its current calendar period "
        "(green below 80 %, orange from 80 %, red from 100 %).",
        "percentunit", f"{spend} / {limit}", "{{budget}} ({{period}})", w=10, h=7, steps=BUDGET_STEPS, minmax=(0, 1),
    ))
    b.add(timeseries(
        "Budget spend, forecast and limit",
        "Per budget over time: spend so far in the current period (solid), the projected spend at the "
        "end of the period (forecast) and the limit. The spend drops back at the start of each period.",
        "currencyUSD",
        [target(spend, "{{budget}} spent"), target(forecast, "{{budget}} forecast"), target(limit, "{{budget}} limit")],
        w=24, h=8,
    ))

    b.row("Spend")
    period_cost = lambda period: f'sum(claude_usage_period_cost_usd{{{ALL}, period="{period}"}})'  # noqa: E731
    period_tokens = lambda period: f'sum(claude_usage_period_tokens{{{ALL}, period="{period}"}})'  # noqa: E731
    b.add(
        stat("Spend today", "Spend in the current calendar day, in the exporter's configured time zone.",
             "currencyUSD", period_cost("day")),
        stat("Spend this week", "Spend in the current calendar week, in the exporter's configured time zone.",
             "currencyUSD", period_cost("week")),
        stat("Spend this month", "Spend in the current calendar month, in the exporter's configured time zone.",
             "currencyUSD", period_cost("month")),
        stat("Tokens today", "Tokens of every type (input, output, cache reads and writes) in the current calendar day.",
             "short", period_tokens("day")),
        stat("Tokens this month", "Tokens of every type (input, output, cache reads and writes) in the current calendar month.",
             "short", period_tokens("month")),
        # The only figure on this dashboard where zero is expected: nothing firing is the normal state.
        stat("Alerts firing", "Claude usage alerts firing now (budget exceeded or about to be, exporter problems). "
             "0 when nothing fires; see Alertmanager for the details.",
             "none", 'count(ALERTS{alertname=~"ClaudeUsage.*", alertstate="firing"}) or vector(0)', steps=ZERO_IS_GOOD),
    )
    b.add(timeseries(
        "Spend rate by model",
        "US dollars per hour, by model, averaged over the rate interval.",
        "currencyUSD",
        [target(f"sum by (model) (rate(claude_usage_cost_usd_total{{{ALL}}}{RATE})) * 3600", "{{model}}")],
        stack=True,
    ))
    b.add(timeseries(
        "Tokens by type",
        "Tokens per second by type: input (not cached), output, cache reads and 5-minute / 1-hour cache writes.",
        "short",
        [target(f"sum by (token_type) (rate(claude_usage_tokens_total{{{ALL}}}{RATE}))", "{{token_type}}")],
        stack=True,
    ))
    b.add(piechart(
        "Model mix this month",
        "Share of this calendar month's spend by model.",
        "currencyUSD", f'sum by (model) (claude_usage_period_cost_usd{{{ALL}, period="month"}})', "{{model}}",
    ))
    b.add(timeseries(
        "Cost per million tokens",
        "Average US dollars per million tokens (all types) by model, month to date: what a token costs once "
        "cache reads and writes are mixed in.",
        "currencyUSD",
        [target(f'sum by (model) (claude_usage_period_cost_usd{{{ALL}, period="month"}}) '
                f'/ sum by (model) (claude_usage_period_tokens{{{ALL}, period="month"}}) * 1e6', "{{model}}")],
        w=8,
    ))
    b.add(timeseries(
        "Cache-read share",
        "Month to date, the share of prompt tokens (input, cache reads and cache writes; output excluded) "
        "served from the prompt cache, by model. Higher is cheaper: a cache read costs a tenth of an input token.",
        "percentunit",
        [target(f'sum by (model) (claude_usage_period_tokens{{{ALL}, period="month", token_type="cache_read"}}) '
                f'/ sum by (model) (claude_usage_period_tokens{{{ALL}, period="month", token_type!="output"}})',
                "{{model}}")],
        w=8,
    ))
    b.add(table(
        "Firing alerts",
        "The Claude usage alerts firing now, one row per alert and budget. Empty (no data) when nothing fires, "
        "which is the normal state.",
        "none",
        [target('sum by (alertname, severity, budget, period) (ALERTS{alertname=~"ClaudeUsage.*", alertstate="firing"})',
                instant=True, table=True)],
        w=24, h=6, hide=("Time", "Value"),
    ))
    return dashboard("claude-usage-overview", "Claude usage: overview",
                     "Spend against budgets, spend and tokens over time, model mix and alerts.", b, variables())


def sessions() -> dict:
    b = Board()
    b.row("Heavy hitters")
    top = f"topk(20, sum by (session, agent) (claude_usage_session_cost_usd_total{{{ALL}}}))"
    b.add(table(
        "Top sessions by cost",
        "The 20 most expensive sessions among those the exporter exposes (active within its session window, "
        "7 days by default; the JSON API and the report cover every session). Click a session to show it below.",
        "currencyUSD",
        [target(top, instant=True, table=True),
         # Grafana's date units count milliseconds.
         target(f"max by (session, agent) (claude_usage_session_last_activity_timestamp_seconds{{{AGENT}}}) * 1000 "
                f"and on (session, agent) {top}", instant=True, table=True)],
        w=14, h=10, sort="Cost",
        overrides=[
            column("Value #A", "Cost", "currencyUSD"),
            {"matcher": {"id": "byName", "options": "Value #B"},
             "properties": [{"id": "displayName", "value": "Last activity"}, {"id": "unit", "value": "dateTimeFromNow"},
                            {"id": "custom.cellOptions", "value": {"type": "auto"}}]},
            {"matcher": {"id": "byName", "options": "session"},
             "properties": [{"id": "links", "value": [{
                 "title": "Show this session",
                 "url": "/d/claude-usage-sessions?${__url_time_range}&${instance:queryparam}&var-session=${__data.fields.session}"}]}]},
        ],
    ))
    b.add(bargauge(
        "Spend this month by agent",
        "This calendar month's spend by agent (OpenClaw agent id; for Claude Code, the project directory name).",
        "currencyUSD", f'sum by (agent) (claude_usage_period_cost_usd{{{ALL}, period="month"}})', "{{agent}}",
        w=10, h=10,
    ))
    b.add(timeseries(
        "Spend rate by agent",
        "US dollars per hour by agent or project, averaged over the rate interval.",
        "currencyUSD",
        [target(f"sum by (agent) (rate(claude_usage_cost_usd_total{{{ALL}}}{RATE})) * 3600", "{{agent}}")],
        stack=True, w=8,
    ))
    b.add(timeseries(
        "Requests by agent",
        "API responses per minute by agent (error turns included).",
        "short",
        [target(f"sum by (agent) (rate(claude_usage_requests_total{{{ALL}}}{RATE})) * 60", "{{agent}}")],
        stack=True, w=8,
    ))
    b.add(timeseries(
        "New sessions by agent",
        "Sessions started per hour by agent.",
        "short",
        [target(f"sum by (agent) (rate(claude_usage_sessions_total{{{AGENT}}}{RATE})) * 3600", "{{agent}}")],
        stack=True, w=8,
    ))

    b.row("Session $session")
    b.add(
        stat("Session cost", "Cost of the selected session so far.", "currencyUSD",
             f"sum(claude_usage_session_cost_usd_total{{{SESSION}}})", w=8),
        stat("Session tokens", "Tokens of every type in the selected session so far.", "short",
             f"sum(claude_usage_session_tokens_total{{{SESSION}}})", w=8),
        stat("Session idle for", "Time since the selected session's last counted API response.", "s",
             f"time() - max(claude_usage_session_last_activity_timestamp_seconds{{{SESSION}}})", w=8),
    )
    b.add(timeseries(
        "Session cost over time",
        "Cumulative cost of the selected session by model.",
        "currencyUSD",
        [target(f"sum by (model) (claude_usage_session_cost_usd_total{{{SESSION}}})", "{{model}}")],
        stack=True,
    ))
    b.add(timeseries(
        "Session tokens by type",
        "Tokens per second in the selected session by type, averaged over the rate interval.",
        "short",
        [target(f"sum by (token_type) (rate(claude_usage_session_tokens_total{{{SESSION}}}{RATE}))", "{{token_type}}")],
        stack=True,
    ))
    session = query_variable("session", "Session",
                             f"label_values(claude_usage_session_cost_usd_total{{{AGENT}}}, session)", multi=False)
    return dashboard("claude-usage-sessions", "Claude usage: sessions and agents",
                     "The most expensive sessions, spend by agent or project, and one session over time.",
                     b, variables(session))


def exporter_health() -> dict:
    b = Board()
    b.row("Scrapes")
    b.add(
        stat("Up", "Whether Prometheus reached each exporter at its last scrape.", "none",
             f"up{{{BASE}}}", w=6, legend="{{instance}}",
             steps=[{"color": "red", "value": None}, {"color": "green", "value": 1}],
             mappings=[{"type": "value", "options": {"0": {"text": "DOWN"}, "1": {"text": "UP"}}}]),
        stat("Exporter version", "The exporter version each instance runs.", "none",
             f"max by (instance, version) (claude_usage_build_info{{{BASE}}})", w=6, legend="{{version}}",
             text_mode="name"),
        # Unpriced tokens are counted, never priced at a silent $0; none is the healthy state.
        stat("Unpriced tokens", "Tokens of models with no known price, counted but not in any cost figure. "
             "0 is healthy; otherwise add the model to the pricing overrides file (the report names it).",
             "short", f"sum(claude_usage_unpriced_tokens_total{{{ALL}}}) or vector(0)", w=6, steps=ZERO_IS_GOOD),
        stat("Files watched", "Transcript files (or databases) the exporter follows, all sources together.",
             "short", f"sum(claude_usage_files_watched{{{SRC}}})", w=6),
    )
    b.add(timeseries(
        "Scrape duration",
        "How long each scrape of the exporter took. The collector answers from an in-memory snapshot, so "
        "this should stay in milliseconds.",
        "s", [target(f"scrape_duration_seconds{{{BASE}}}", "{{instance}}")],
    ))
    b.add(timeseries(
        "Last event age",
        "Time since the newest counted API response, by instance, source and agent: a growing line while "
        "agents are busy means the exporter stopped seeing new transcript lines.",
        "s",
        [target(f"time() - max by (instance, source, agent) (claude_usage_last_event_timestamp_seconds{{{AGENT}}})",
                "{{instance}} {{source}} {{agent}}")],
    ))

    b.row("Ingestion")
    b.add(timeseries(
        "Lines read",
        "Transcript lines (or database rows) read per second, by instance and source.",
        "short",
        [target(f"sum by (instance, source) (rate(claude_usage_lines_read_total{{{SRC}}}{RATE}))",
                "{{instance}} {{source}}")],
        w=8,
    ))
    # Parse errors may be absent altogether when there never was one: 0 is then the true value.
    b.add(timeseries(
        "Parse errors",
        "Lines the exporter could not read, per second, by instance, source and reason. Shows 0 when there "
        "are none, the normal state.",
        "short",
        [target(f"sum by (instance, source, reason) (rate(claude_usage_parse_errors_total{{{SRC}}}{RATE})) or vector(0)",
                "{{instance}} {{source}} {{reason}}")],
        w=8,
    ))
    b.add(timeseries(
        "Files watched by source",
        "Transcript files (or databases) the exporter follows, by instance and source.",
        "short",
        [target(f"sum by (instance, source) (claude_usage_files_watched{{{SRC}}})", "{{instance}} {{source}}")],
        w=8,
    ))
    return dashboard("claude-usage-exporter-health", "Claude usage: exporter health",
                     "Whether the exporters are up, reading transcripts and pricing every token.",
                     b, variables(), time_from="now-24h")


DASHBOARDS = {
    "claude-usage-overview.json": overview,
    "claude-usage-sessions.json": sessions,
    "claude-usage-exporter-health.json": exporter_health,
}


def render() -> dict[str, str]:
    """File name -> JSON text, exactly as committed."""
    return {name: json.dumps(build(), indent=2, ensure_ascii=False) + "\n" for name, build in DASHBOARDS.items()}


def main() -> int:
    DASHBOARD_DIR.mkdir(exist_ok=True)
    for name, text in render().items():
        (DASHBOARD_DIR / name).write_text(text)
        print(f"wrote {DASHBOARD_DIR / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
