"""The shipped Alertmanager configuration: amtool's checks, where each alert is routed, the
notification template, the inhibition of a budget's warnings once it is exceeded, and the receiver
examples in docs/alerting.md."""

from __future__ import annotations

import json
import re
import subprocess
import urllib.request
from datetime import datetime, timezone

import pytest
import yaml

from tests.support.promstack import (
    ALERTMANAGER_YML,
    REPO,
    RUNBOOK_URL,
    AlertmanagerProcess,
    alert_rules,
    alertmanager_config,
    binary,
)
from tests.support.waiting import wait_until

RECEIVER_FOR = {"critical": "owner-urgent", "warning": "owner-quiet", "info": "discard"}
TEMPLATES = str(REPO / "alertmanager" / "templates" / "*.tmpl")


def amtool(*args: str) -> str:
    result = subprocess.run(
        [binary("amtool"), *args], cwd=REPO, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
    )
    assert result.returncode == 0, f"amtool {' '.join(args)} exited {result.returncode}:\n{result.stdout}{result.stderr}"
    return result.stdout


def test_amtool_check_config():
    output = amtool("check-config", str(ALERTMANAGER_YML))
    assert "SUCCESS" in output and "1 templates" in output


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda rule: rule["alert"])
def test_each_alert_reaches_the_receiver_for_its_severity(rule):
    severity = rule["labels"]["severity"]
    labels = [f"alertname={rule['alert']}", f"severity={severity}", "budget=monthly", "instance=laptop:9787"]
    expected = RECEIVER_FOR[severity]
    output = amtool("config", "routes", "test", f"--config.file={ALERTMANAGER_YML}", f"--verify.receivers={expected}", *labels)
    assert output.split() == [expected]


def test_an_alert_without_severity_still_reaches_someone():
    output = amtool("config", "routes", "test", f"--config.file={ALERTMANAGER_YML}", "alertname=SomethingElse")
    assert output.split() == ["owner-quiet"]


def test_info_receiver_sends_nothing():
    receivers = {r["name"]: r for r in yaml.safe_load(ALERTMANAGER_YML.read_text())["receivers"]}
    assert set(receivers["discard"]) == {"name"}


def test_receivers_are_local_webhook_placeholders():
    for receiver in yaml.safe_load(ALERTMANAGER_YML.read_text())["receivers"]:
        for webhook in receiver.get("webhook_configs", []):
            assert webhook["url"].startswith("http://127.0.0.1:5001/")


def test_notification_text_names_budget_money_and_runbook(tmp_path):
    summary = "Budget monthly (month) exceeded: $55.00 spent of its $50.00 limit."
    description = (
        "Budget monthly has spent $55.00 in the current month, 110% of its $50.00 limit: $5.00 over. "
        "Forecast for the end of the month: $70.00."
    )
    runbook = RUNBOOK_URL.format("ClaudeUsageBudgetExceeded")
    labels = {"alertname": "ClaudeUsageBudgetExceeded", "budget": "monthly", "period": "month", "severity": "critical"}
    data = {
        "receiver": "owner-urgent",
        "status": "firing",
        "alerts": [
            {
                "status": "firing",
                "labels": labels,
                "annotations": {"summary": summary, "description": description, "runbook_url": runbook},
                "startsAt": "2026-12-04T16:00:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus:9090/graph",
                "fingerprint": "0123456789abcdef",
            }
        ],
        "groupLabels": {"alertname": labels["alertname"], "budget": "monthly"},
        "commonLabels": labels,
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
    }
    data_file = tmp_path / "data.json"
    data_file.write_text(json.dumps(data))

    def render(template: str) -> str:
        return amtool(
            "template", "render", f"--template.glob={TEMPLATES}",
            f"--template.text={{{{ template {json.dumps(template)} . }}}}", f"--template.data={data_file}",
        )

    assert render("claude_usage.title").strip() == "[FIRING:1] ClaudeUsageBudgetExceeded (budget monthly)"
    text = render("claude_usage.text")
    for expected in (summary, description, "Budget: monthly (month)", "Severity: critical", f"Runbook: {runbook}"):
        assert expected in text


def post_alerts(url: str, alerts: list[dict]) -> None:
    now = datetime.now(timezone.utc).isoformat()
    body = json.dumps([{"labels": labels, "annotations": {"summary": "test."}, "startsAt": now} for labels in alerts])
    request = urllib.request.Request(
        url + "/api/v2/alerts", data=body.encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def test_exceeded_budget_inhibits_its_own_warnings_only(tmp_path):
    config = alertmanager_config("http://127.0.0.1:9")  # nothing is delivered within this test
    with AlertmanagerProcess(tmp_path, config) as alertmanager:
        sent = [
            {"alertname": "ClaudeUsageBudgetExceeded", "budget": "monthly", "period": "month", "severity": "critical"},
            {"alertname": "ClaudeUsageBudgetForecastOverrun", "budget": "monthly", "period": "month", "severity": "warning"},
            {"alertname": "ClaudeUsageBudgetNearlyExhausted", "budget": "monthly", "period": "month", "severity": "warning"},
            {"alertname": "ClaudeUsageBudgetNearlyExhausted", "budget": "daily", "period": "day", "severity": "warning"},
            {"alertname": "ClaudeUsageIngestErrors", "source": "openclaw", "severity": "warning"},
        ]
        post_alerts(alertmanager.url, sent)
        alerts = wait_until(
            lambda: (found := alertmanager.get_json("/api/v2/alerts")) and len(found) == len(sent) and found,
            10, what="the posted alerts listed",
        )
        inhibited = {
            (alert["labels"]["alertname"], alert["labels"].get("budget"))
            for alert in alerts
            if alert["status"]["inhibitedBy"]
        }
        assert inhibited == {
            ("ClaudeUsageBudgetForecastOverrun", "monthly"),
            ("ClaudeUsageBudgetNearlyExhausted", "monthly"),
        }


def doc_receiver_examples() -> list[str]:
    text = (REPO / "docs" / "alerting.md").read_text()
    return [block for block in re.findall(r"```yaml\n(.*?)```", text, re.S) if "receivers:" in block]


@pytest.mark.parametrize("example", doc_receiver_examples())
def test_docs_receiver_examples_are_valid(example, tmp_path):
    # Each example replaces a shipped receiver of the same name (and may add global settings).
    config = yaml.safe_load(ALERTMANAGER_YML.read_text())
    change = yaml.safe_load(example)
    config.setdefault("global", {}).update(change.get("global", {}))
    replaced = {receiver["name"]: receiver for receiver in change["receivers"]}
    assert replaced.keys() <= {receiver["name"] for receiver in config["receivers"]}
    config["receivers"] = [replaced.get(receiver["name"], receiver) for receiver in config["receivers"]]
    path = tmp_path / "alertmanager.yml"
    path.write_text(alertmanager_config("http://127.0.0.1:9", yaml.safe_dump(config)))
    amtool("check-config", str(path))


def test_docs_have_receiver_examples():
    examples = "\n".join(doc_receiver_examples())
    assert "email_configs" in examples and "slack_configs" in examples
