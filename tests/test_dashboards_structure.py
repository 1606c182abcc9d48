"""Static checks of the Grafana dashboards and their provisioning.

The useful rules of Grafana's dashboard linter, re-implemented, plus this project's own: every query
uses the `${datasource}` variable, filters exporter metrics by job and instance, and uses
$__rate_interval in every range selector. Also: the committed JSON is exactly what
grafana/generate.py produces.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
GRAFANA = ROOT / "grafana"
DASHBOARD_FILES = sorted((GRAFANA / "dashboards").glob("*.json"))
DATASOURCE = "${datasource}"
JOB_FILTER = 'job="claude-usage"'
INSTANCE_FILTER = 'instance=~"$instance"'
# Metrics that come from scraping the exporter: its own plus the ones Prometheus adds per scrape.
EXPORTER_METRIC = re.compile(r"\b(claude_usage_[a-z0-9_]+|up|scrape_[a-z_]+)\b\s*(\{[^}]*\})?")


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def panels(dashboard: dict) -> list[dict]:
    """Every panel, including those inside collapsed rows."""
    found = []
    for p in dashboard.get("panels", []):
        found.append(p)
        found.extend(p.get("panels", []))
    return found


def queries(dashboard: dict) -> list[tuple[str, str]]:
    """(where, PromQL) for every panel target and every query variable."""
    found = [(f"panel {p['title']!r}", t["expr"]) for p in panels(dashboard) for t in p.get("targets", [])]
    for v in dashboard["templating"]["list"]:
        if v["type"] == "query":
            query = v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
            found.append((f"variable {v['name']!r}", query))
    return found


def load_generator():
    spec = importlib.util.spec_from_file_location("grafana_generate", GRAFANA / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(params=DASHBOARD_FILES, ids=lambda p: p.name)
def dashboard(request) -> dict:
    return load(request.param)


def test_there_are_the_three_dashboards():
    assert {load(p)["uid"] for p in DASHBOARD_FILES} == {
        "claude-usage-overview", "claude-usage-sessions", "claude-usage-exporter-health"}


def test_committed_json_is_what_generate_py_writes():
    rendered = load_generator().render()
    assert sorted(rendered) == [p.name for p in DASHBOARD_FILES], "a dashboard file is missing or left over"
    stale = [name for name, text in rendered.items() if (GRAFANA / "dashboards" / name).read_text() != text]
    assert not stale, f"{stale} differ from grafana/generate.py's output: run `python grafana/generate.py`"


def test_dashboard_uids_are_unique_and_stable():
    uids = [load(p).get("uid") for p in DASHBOARD_FILES]
    assert all(uids), "every dashboard needs a fixed uid (links and bookmarks use it)"
    assert len(set(uids)) == len(uids), uids


def test_panel_ids_are_unique(dashboard):
    ids = [p.get("id") for p in panels(dashboard)]
    assert None not in ids
    assert len(set(ids)) == len(ids), ids


def test_grid_positions_fit_24_columns_without_overlap(dashboard):
    boxes = []
    for p in panels(dashboard):
        g = p["gridPos"]
        assert g["w"] > 0 and g["h"] > 0 and g["x"] >= 0 and g["y"] >= 0, (p["title"], g)
        assert g["x"] + g["w"] <= 24, f"{p['title']!r} goes past column 24: {g}"
        boxes.append((p["title"], g))
    for (a, ga), (b, gb) in itertools.combinations(boxes, 2):
        apart = (ga["x"] + ga["w"] <= gb["x"] or gb["x"] + gb["w"] <= ga["x"]
                 or ga["y"] + ga["h"] <= gb["y"] or gb["y"] + gb["h"] <= ga["y"])
        assert apart, f"{a!r} {ga} overlaps {b!r} {gb}"


def test_every_panel_has_title_description_and_unit(dashboard):
    for p in panels(dashboard):
        assert p.get("title", "").strip(), f"panel {p.get('id')} has no title"
        if p["type"] == "row":
            continue
        assert p.get("description", "").strip(), f"{p['title']!r} has no description"
        assert p.get("fieldConfig", {}).get("defaults", {}).get("unit"), f"{p['title']!r} has no unit"
        assert p.get("targets"), f"{p['title']!r} has no query"


def test_every_panel_and_target_uses_the_datasource_variable(dashboard):
    for p in panels(dashboard):
        if p["type"] == "row":
            continue
        assert p["datasource"] == {"type": "prometheus", "uid": DATASOURCE}, p["title"]
        for t in p["targets"]:
            assert t.get("datasource") == {"type": "prometheus", "uid": DATASOURCE}, (p["title"], t["refId"])
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for v in variables.values():
        if v["type"] == "query":
            assert v["datasource"] == {"type": "prometheus", "uid": DATASOURCE}, v["name"]


def test_no_import_inputs():
    # ${DS_...} placeholders are resolved only by the UI's import dialog, never by file provisioning.
    for path in DASHBOARD_FILES:
        text = path.read_text()
        assert "${DS_" not in text, path.name
        assert "__inputs" not in load(path), path.name


def test_filter_variables(dashboard):
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    for name in ("instance", "source", "agent", "model"):
        v = variables[name]
        assert v["type"] == "query" and v["query"].startswith("label_values("), name
        assert v["multi"] and v["includeAll"] and v["allValue"] == ".*", name


def test_every_range_selector_uses_rate_interval(dashboard):
    # Also rules out increase(...[30d]): month figures come from the exporter's period gauges.
    for where, expr in queries(dashboard):
        for selector in re.findall(r"\[([^\]]*)\]", expr):
            assert selector == "$__rate_interval", f"{where}: [{selector}] in {expr}"


def test_exporter_metrics_are_filtered_by_job_and_instance(dashboard):
    for where, expr in queries(dashboard):
        for match in EXPORTER_METRIC.finditer(expr):
            metric, matchers = match.group(1), match.group(2) or ""
            assert JOB_FILTER in matchers, f"{where}: {metric} without {JOB_FILTER} in {expr}"
            if where != "variable 'instance'":  # the one query that lists the instances
                assert INSTANCE_FILTER in matchers, f"{where}: {metric} without {INSTANCE_FILTER} in {expr}"


def test_required_figures_are_there():
    exprs = "\n".join(expr for p in DASHBOARD_FILES for _, expr in queries(load(p)))
    for period in ("day", "week", "month"):
        assert re.search(rf'claude_usage_period_cost_usd\{{[^}}]*period="{period}"', exprs), period
    assert "claude_usage_budget_period_end_timestamp_seconds" in exprs and "/ 86400" in exprs
    assert re.search(r"topk\(\d+, sum by \(session, agent\) \(claude_usage_session_cost_usd_total", exprs)
    assert 'ALERTS{alertname=~"ClaudeUsage.*", alertstate="firing"}' in exprs
    for metric in ("claude_usage_lines_read_total", "claude_usage_parse_errors_total",
                   "claude_usage_unpriced_tokens_total", "claude_usage_files_watched",
                   "claude_usage_last_event_timestamp_seconds", "scrape_duration_seconds{", "up{"):
        assert metric in exprs, metric
    sessions = next(load(p) for p in DASHBOARD_FILES if load(p)["uid"] == "claude-usage-sessions")
    assert "session" in {v["name"] for v in sessions["templating"]["list"]}


def test_provisioning():
    sources = yaml.safe_load((GRAFANA / "provisioning/datasources/datasources.yml").read_text())["datasources"]
    by_type = {s["type"]: s for s in sources}
    assert by_type["prometheus"]["uid"] == "prometheus"
    assert by_type["prometheus"]["url"] == "http://prometheus:9090"
    assert by_type["alertmanager"]["url"] == "http://alertmanager:9093"
    assert by_type["alertmanager"]["jsonData"]["implementation"] == "prometheus"
    # Grafana derives $__rate_interval from timeInterval: it must be the real scrape interval.
    prometheus_yml = yaml.safe_load((ROOT / "prometheus" / "prometheus.yml").read_text())
    assert by_type["prometheus"]["jsonData"]["timeInterval"] == prometheus_yml["global"]["scrape_interval"]
    providers = yaml.safe_load((GRAFANA / "provisioning/dashboards/dashboards.yml").read_text())["providers"]
    assert [p["type"] for p in providers] == ["file"]
    # The provider's path is where docker-compose.yml mounts grafana/dashboards.
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    mounts = compose["services"]["grafana"]["volumes"]
    assert f"./grafana/dashboards:{providers[0]['options']['path']}:ro" in mounts
