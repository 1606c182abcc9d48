"""Budget overage reaches a person: the real exporter on fixture transcripts, a real Prometheus
with the shipped rules, a real Alertmanager with the shipped routing, and a webhook on 127.0.0.1
standing in for the owner's phone.

Two budgets share the one stack: `monthly` ($0.01) is below this month's spend and must be
notified; `roomy` ($100) is above it and must never be.
"""

from __future__ import annotations

import json
import shutil
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.support.exporter import ExporterProcess
from tests.support.promstack import (
    RULE_FILES,
    RUNBOOK_URL,
    AlertmanagerProcess,
    PrometheusProcess,
    WebhookReceiver,
    alertmanager_config,
    labels_match,
    prometheus_config,
)
from tests.support.waiting import wait_until

FIXTURES = Path(__file__).parent / "fixtures"
EXCEEDED = "ClaudeUsageBudgetExceeded"


def append_claude_code_turn(root: Path, when: datetime) -> None:
    """Write one Claude Code session with one assistant response at `when`.

    The fixtures are dated 2026-01-25 and budgets count the current calendar month, so without this
    the budgets would see no spend. Sonnet 4.5 at $3 / $15 per million: 1000 input tokens ($0.003)
    and 2000 output tokens ($0.03) cost $0.033.
    """
    session = str(uuid.uuid4())
    line = {
        "parentUuid": None,
        "isSidechain": False,
        "userType": "external",
        "cwd": "/home/alice/src/e2e",
        "sessionId": session,
        "version": "2.0.76",
        "gitBranch": "main",
        "message": {
            "model": "claude-sonnet-4-5-20250929",
            "id": f"msg_e2e{uuid.uuid4().hex}",
            "type": "message",
            "role": "assistant",
            "content": [{"type": "text", "text": "Done."}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {
                "input_tokens": 1000,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
                "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
                "output_tokens": 2000,
                "service_tier": "standard",
            },
        },
        "requestId": f"req_e2e{uuid.uuid4().hex}",
        "type": "assistant",
        "uuid": str(uuid.uuid4()),
        "timestamp": when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z",
    }
    project = root / "projects" / "-home-alice-src-e2e"
    project.mkdir(parents=True, exist_ok=True)
    (project / f"{session}.jsonl").write_text(json.dumps(line, separators=(",", ":")) + "\n")


@pytest.fixture
def transcripts(tmp_path: Path) -> dict[str, Path]:
    roots = {"claude_code": tmp_path / "claude-code", "openclaw": tmp_path / "clawdbot"}
    shutil.copytree(FIXTURES / "claude-code", roots["claude_code"])
    shutil.copytree(FIXTURES / "clawdbot", roots["openclaw"])
    append_claude_code_turn(roots["claude_code"], datetime.now(timezone.utc))
    return roots


def test_budget_overage_reaches_the_owner_and_a_roomy_budget_stays_silent(tmp_path, transcripts):
    exporter_config = {
        "sources": {name: {"roots": [str(root)]} for name, root in transcripts.items()},
        "timezone": "UTC",  # the new turn is written in UTC: keep it in the same month
        "budgets": [
            {"name": "monthly", "period": "month", "limit_usd": 0.01},
            {"name": "roomy", "period": "month", "limit_usd": 100},
        ],
    }
    with (
        WebhookReceiver() as webhook,
        AlertmanagerProcess(tmp_path / "alertmanager", alertmanager_config(webhook.url)) as alertmanager,
        ExporterProcess(tmp_path / "exporter", exporter_config) as exporter,
        PrometheusProcess(
            tmp_path / "prometheus",
            prometheus_config(f"127.0.0.1:{exporter.port}", f"127.0.0.1:{alertmanager.port}", interval="1s"),
            RULE_FILES,
        ) as prometheus,
    ):

        def state() -> str:  # what each part saw, for a failure message
            return (
                f"\nratios: {prometheus.query('budget:claude_usage_budget_used:ratio')}"
                f"\nALERTS: {prometheus.query('ALERTS')}"
                f"\nwebhook: {webhook.received}"
                f"\nexporter log:\n{exporter.log()[-3000:]}"
                f"\nprometheus log:\n{prometheus.log()[-2000:]}"
                f"\nalertmanager log:\n{alertmanager.log()[-2000:]}"
            )

        # Scrape (1 s) + evaluation (1 s) + the critical route's 10 s group_wait, with slack.
        try:
            path, payload, alert = webhook.wait_for(
                labels_match({"alertname": EXCEEDED, "budget": "monthly"}), timeout=45, what="monthly exceeded"
            )
        except TimeoutError as error:
            raise AssertionError(f"{error}{state()}") from None
        assert (path, payload["receiver"]) == ("/urgent", "owner-urgent")
        assert alert["labels"]["severity"] == "critical"
        assert alert["annotations"]["summary"] == "Budget monthly (month) exceeded: $0.03 spent of its $0.01 limit."
        assert alert["annotations"]["runbook_url"] == RUNBOOK_URL.format(EXCEEDED)

        # roomy: its ratio has been recorded many times (the rules ran on real data) and never
        # produced the alert, not even a pending one...
        wait_until(
            lambda: prometheus.query('count_over_time(budget:claude_usage_budget_used:ratio{budget="roomy"}[1m]) >= 5'),
            20, what="roomy's used ratio recorded 5 times",
        )
        (roomy,) = prometheus.query('budget:claude_usage_budget_used:ratio{budget="roomy"}')
        assert float(roomy["value"][1]) == pytest.approx(0.033 / 100)
        assert prometheus.query(f'ALERTS{{alertname="{EXCEEDED}",budget="roomy"}}') == []
        # ...and nothing about it reaches the webhook a few seconds later either.
        with pytest.raises(TimeoutError):
            webhook.wait_for(labels_match({"budget": "roomy"}), timeout=3, what="any roomy notification")
