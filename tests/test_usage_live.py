"""/metrics, /api/usage, the page and `report` agree, with the exporter serving and without it.

The exporter reads copies of the fixtures plus usage dated now (tests/support/usage_env.py), in
America/Denver, with a monthly budget below this month's spend.
"""

from __future__ import annotations

import json
import time
from datetime import datetime

import pytest
import yaml

from claude_usage.formatting import usd
from tests.support.exporter import ExporterProcess
from tests.support.transcripts import append, claude_code_line
from tests.support.usage_env import CLAUDE_SESSION, run_report, usage_config, write_current_usage
from tests.support.waiting import http_get, wait_until

CENT = 0.005
PERIODS = ("day", "week", "month")
TOKEN_TYPES = ("input", "output", "cache_read", "cache_write_5m", "cache_write_1h")


@pytest.fixture
def usage(tmp_path, fixture_roots):
    claude_root, openclaw_root = fixture_roots
    spend = write_current_usage(claude_root, openclaw_root)
    exporter = ExporterProcess(tmp_path / "exporter", usage_config(claude_root, openclaw_root))
    exporter.claude_root, exporter.spend = claude_root, spend
    exporter.workdir.mkdir(parents=True)
    exporter.config_path.write_text(yaml.safe_dump(exporter.config))  # for a report run before the exporter starts
    yield exporter
    exporter.stop()


def api(exporter: ExporterProcess) -> dict:
    status, headers, body = http_get(exporter.url + "/api/usage")
    assert status == 200, body
    assert headers["Content-Type"].startswith("application/json")
    return json.loads(body)


def report_json(exporter: ExporterProcess) -> dict:
    run = run_report(exporter.workdir, exporter.config_path, exporter.state_dir, "--format", "json")
    assert run.returncode == 0, run.stderr
    assert "locked" not in run.stderr and "Traceback" not in run.stderr
    return json.loads(run.stdout)


def assert_documents_agree(a: dict, b: dict) -> None:
    for period in PERIODS:
        assert a["periods"][period]["cost_usd"] == pytest.approx(b["periods"][period]["cost_usd"], abs=1e-6)
        assert a["periods"][period]["tokens"] == b["periods"][period]["tokens"]
        assert a["periods"][period]["requests"] == b["periods"][period]["requests"]
        assert a["periods"][period]["sessions"] == b["periods"][period]["sessions"]
    for x, y in zip(a["budgets"], b["budgets"], strict=True):
        assert (x["name"], x["status"], x["period_end"]) == (y["name"], y["status"], y["period_end"])
        for key in ("spend_usd", "limit_usd", "overage_usd", "remaining_usd"):
            assert x[key] == pytest.approx(y[key], abs=1e-6)
        assert x["forecast_usd"] == pytest.approx(y["forecast_usd"], abs=CENT)
    assert [s["session"] for s in a["top_sessions"]] == [s["session"] for s in b["top_sessions"]]
    assert a["analysis"]["all_time"]["cost_usd"] == pytest.approx(b["analysis"]["all_time"]["cost_usd"], abs=1e-6)
    assert a["analysis"]["all_time"]["tokens"] == b["analysis"]["all_time"]["tokens"]


def assert_metrics_agree(exporter: ExporterProcess, document: dict) -> None:
    all_time = document["analysis"]["all_time"]
    assert exporter.total("claude_usage_cost_usd_total") == pytest.approx(all_time["cost_usd"], abs=1e-6)
    assert exporter.total("claude_usage_requests_total") == all_time["requests"]
    for token_type in TOKEN_TYPES:
        assert exporter.total("claude_usage_tokens_total", token_type=token_type) == all_time["tokens"][token_type]
    for period in PERIODS:
        figures = document["periods"][period]
        assert exporter.total("claude_usage_period_cost_usd", period=period) == pytest.approx(figures["cost_usd"], abs=1e-6)
        for token_type in TOKEN_TYPES:
            assert exporter.total("claude_usage_period_tokens", period=period, token_type=token_type) == figures["tokens"][token_type]
    for budget in document["budgets"]:
        labels = {"budget": budget["name"], "period": budget["period"]}
        assert exporter.value("claude_usage_budget_spend_usd", **labels) == pytest.approx(budget["spend_usd"], abs=1e-6)
        assert exporter.value("claude_usage_budget_limit_usd", **labels) == budget["limit_usd"]
        assert exporter.value("claude_usage_budget_forecast_usd", **labels) == pytest.approx(budget["forecast_usd"], abs=CENT)
        end = datetime.fromisoformat(budget["period_end"]).timestamp()
        assert exporter.value("claude_usage_budget_period_end_timestamp_seconds", **labels) == end


def test_exporter_api_and_report_agree_while_serving(usage):
    usage.start()
    document = api(usage)
    assert document["schema_version"] == 1 and document["timezone"] == "America/Denver"
    month = document["periods"]["month"]
    assert month["cost_usd"] == pytest.approx(usage.spend, abs=1e-9)  # the January fixtures are not this month
    # all time: the fixtures' exact totals (formats.md §4) plus what was written now
    assert document["analysis"]["all_time"]["cost_usd"] == pytest.approx(0.07694395 + 0.052749 + usage.spend, abs=1e-9)
    assert_metrics_agree(usage, document)
    assert_documents_agree(document, report_json(usage))

    # The monthly budget is below this month's spend: exceeded everywhere, with the overage in USD and %.
    monthly = next(b for b in document["budgets"] if b["name"] == "monthly")
    assert monthly["status"] == document["status"] == "exceeded"
    assert monthly["overage_usd"] == pytest.approx(usage.spend - 0.5)
    assert monthly["overage_percent"] == pytest.approx((usage.spend - 0.5) / 0.5 * 100)
    assert monthly["remaining_usd"] == 0
    assert usage.value("claude_usage_budget_spend_usd", budget="monthly", period="month") > usage.value(
        "claude_usage_budget_limit_usd", budget="monthly", period="month"
    )
    overage = f"{usd(monthly['overage_usd'])} ({monthly['overage_percent']:.0f}% over budget)"
    status, _, page = http_get(usage.url + "/")
    page = page.decode()
    assert status == 200 and "data-budget='monthly' data-status='exceeded'" in page and overage in page
    markdown = run_report(usage.workdir, usage.config_path, usage.state_dir)
    assert markdown.returncode == 0, markdown.stderr
    assert "## CRITICAL ALERT: BUDGET EXCEEDED" in markdown.stdout
    assert f"**Budget monthly exceeded by:** {overage}" in markdown.stdout

    # A new response, ingested by `report` while the exporter serves: counted exactly once.
    requests_before = usage.total("claude_usage_requests_total")
    cost_before = usage.total("claude_usage_cost_usd_total")
    append(
        usage.claude_root / "projects" / "-home-alice-src-budget-demo" / f"{CLAUDE_SESSION}.jsonl",
        claude_code_line(session_id=CLAUDE_SESSION, cwd="/home/alice/src/budget-demo", input_tokens=0, output_tokens=10_000),
    )
    added = 10_000 * 15 / 1e6
    after_report = report_json(usage)
    assert after_report["periods"]["month"]["cost_usd"] == pytest.approx(month["cost_usd"] + added, abs=1e-9)
    wait_until(
        lambda: usage.total("claude_usage_requests_total") == requests_before + 1,
        timeout=10,
        what="the exporter picking up the report's commit",
    )
    time.sleep(1.5)  # one more sync and poll interval: a second count would show up now
    assert usage.total("claude_usage_requests_total") == requests_before + 1
    assert usage.total("claude_usage_cost_usd_total") == pytest.approx(cost_before + added, abs=1e-9)
    after_api = api(usage)
    assert_metrics_agree(usage, after_api)
    assert_documents_agree(after_api, after_report)


def test_report_without_an_exporter_then_the_exporter_agrees(usage, tmp_path):
    out = tmp_path / "published"
    run = run_report(usage.workdir, usage.config_path, usage.state_dir, "--write-dir", str(out), "--output", str(tmp_path / "r.md"))
    assert run.returncode == 0, run.stderr
    assert run.stdout == ""  # --output took it
    markdown = (tmp_path / "r.md").read_text()
    assert markdown.startswith("# Claude API usage report") and "## Recommendations" in markdown
    published = json.loads((out / "claude-usage.json").read_text())
    assert published["schema_version"] == 1
    html = (out / "claude-usage.html").read_text()
    assert f">{usd(published['periods']['month']['cost_usd'])}<" in html and "http-equiv=\"refresh\"" in html
    # a second run adds nothing; the exporter then starts on the report's ledger and agrees
    assert_documents_agree(published, report_json(usage))
    usage.start()
    document = api(usage)
    assert document["periods"]["month"]["cost_usd"] == pytest.approx(usage.spend, abs=1e-9)
    assert_documents_agree(document, published)
    assert_metrics_agree(usage, document)


def test_bad_format_is_a_usage_error(usage):
    run = run_report(usage.workdir, usage.config_path, usage.state_dir, "--format", "pdf")
    assert run.returncode == 2 and "invalid choice" in run.stderr
