"""The shipped Prometheus configuration and rules: promtool's checks, the rule unit tests in
prometheus/tests/, and the conventions every rule follows (see the header of the rule file)."""

from __future__ import annotations

import re
import subprocess

import pytest
import yaml

from tests.support.promstack import PROMETHEUS_YML, REPO, RULE_FILES, RUNBOOK_URL, alert_rules, binary, shipped_rules

RULE_TESTS = sorted((REPO / "prometheus" / "tests").glob("*.yml"))
RECORDING_NAME = re.compile(r"^[a-z][a-z0-9_]*:[a-z][a-z0-9_]*:[a-z][a-z0-9_]*$")
SEVERITIES = {"critical", "warning", "info"}
RUNBOOK_SECTIONS = ("## Meaning", "## Impact", "## Diagnosis", "## Mitigation")

# The alerts issue 4 asks for, with their severities.
EXPECTED_ALERTS = {
    "ClaudeUsageBudgetExceeded": "critical",
    "ClaudeUsageBudgetNearlyExhausted": "warning",
    "ClaudeUsageBudgetForecastOverrun": "warning",
    "ClaudeUsageSpendSpike": "warning",
    "ClaudeUsageExporterDown": "critical",
    "ClaudeUsageIngestErrors": "warning",
    "ClaudeUsageUnpricedModel": "warning",
    "ClaudeUsageNoRecentUsage": "info",
}

ALERTS = alert_rules()


def promtool(*args: str) -> str:
    result = subprocess.run(
        [binary("promtool"), *args], cwd=REPO, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL
    )
    assert result.returncode == 0, f"promtool {' '.join(args)} exited {result.returncode}:\n{result.stdout}{result.stderr}"
    return result.stdout + result.stderr


def test_rule_and_test_files_exist():
    assert RULE_FILES and RULE_TESTS


def test_promtool_check_config_finds_every_rule_file():
    # Runs offline: the targets (exporter:9787, alertmanager:9093) are not resolved by the check.
    output = promtool("check", "config", str(PROMETHEUS_YML))
    assert f"SUCCESS: {len(RULE_FILES)} rule files found" in output


def test_config_scrapes_the_exporter_and_alerts_the_alertmanager():
    config = yaml.safe_load(PROMETHEUS_YML.read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert jobs["claude-usage"]["static_configs"] == [{"targets": ["exporter:9787"]}]
    assert config["alerting"]["alertmanagers"] == [{"static_configs": [{"targets": ["alertmanager:9093"]}]}]
    assert config["rule_files"] == ["rules/*.yml"]
    # Retention is a flag; the file says which one the compose file must pass.
    assert "--storage.tsdb.retention.time=400d" in PROMETHEUS_YML.read_text()


def test_promtool_check_rules():
    promtool("check", "rules", *map(str, RULE_FILES))


def test_promtool_rule_unit_tests():
    output = promtool("test", "rules", *map(str, RULE_TESTS))
    assert output.count("SUCCESS") == len(RULE_TESTS)


def test_the_issue_alerts_exist_with_their_severities():
    assert {rule["alert"]: rule["labels"]["severity"] for rule in ALERTS} == EXPECTED_ALERTS


@pytest.mark.parametrize("rule", ALERTS, ids=lambda rule: rule["alert"])
def test_alert_conventions(rule):
    name = rule["alert"]
    assert name.startswith("ClaudeUsage")
    assert rule.get("labels", {}).get("severity") in SEVERITIES
    annotations = rule.get("annotations", {})
    assert {"summary", "description", "runbook_url"} <= annotations.keys()
    assert annotations["summary"].rstrip().endswith("."), "a summary is one sentence ending with a period"
    assert annotations["runbook_url"] == RUNBOOK_URL.format(name)


@pytest.mark.parametrize("name", sorted(EXPECTED_ALERTS))
def test_runbook_exists_with_its_sections(name):
    runbook = REPO / "docs" / "runbooks" / f"{name}.md"
    assert runbook.is_file(), f"{runbook} is missing"
    text = runbook.read_text()
    for section in RUNBOOK_SECTIONS:
        assert section in text, f"{runbook.name} has no {section!r} section"


def test_recording_rule_names_are_level_metric_operation():
    names = [rule["record"] for rule in shipped_rules() if "record" in rule]
    assert names
    for name in names:
        assert RECORDING_NAME.match(name), f"{name} is not level:metric:operation"


def test_every_alert_is_unit_tested_firing_and_silent():
    fires, silent = set(), set()
    for path in RULE_TESTS:
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                (fires if check.get("exp_alerts") else silent).add(check["alertname"])
    names = {rule["alert"] for rule in ALERTS}
    assert names - fires == set(), "alerts never shown firing in prometheus/tests/"
    assert names - silent == set(), "alerts never shown silent in prometheus/tests/"
