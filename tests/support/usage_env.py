"""Transcripts with usage dated now (the fixtures are from January), for current-period figures.

Writes next to copies of the fixtures: Claude Code responses in a new session, an OpenClaw session
with recorded costs, and its sessions.json whose session key (the human name) can be anything,
`<script>` included.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .exporter import CONSOLE_SCRIPT, DISCOVERY_VARIABLES
from .transcripts import append, claude_code_line, exporter_config, iso

OPENCLAW_SESSION = "0c1a2b3c-4d5e-4f60-8a7b-9c0d1e2f3a4b"
HOSTILE_NAME = "agent:main:<script>window.__pwned=1</script>"
CLAUDE_SESSION = "5e55e55e-0000-4000-8000-00000000c0de"

# What the lines below cost (USD): Sonnet 4.5 at $3 / $15 / $0.30 read; Haiku 4.5 at $1 / $5.
CLAUDE_SONNET_COST = (1_000 * 3 + 20_000 * 15 + 100_000 * 0.30) / 1e6  # 0.333 (under 200k: no long-context rate)
CLAUDE_HAIKU_COST = (2_000 * 1 + 3_000 * 5) / 1e6  # 0.017
OPENCLAW_COSTS = (0.25, 0.125)


def openclaw_turn(model: str, output: int, cost: float, when: datetime | None = None) -> bytes:
    """One assistant entry as OpenClaw writes it (formats.md §2), with its recorded cost."""
    moment = when or datetime.now(UTC)
    entry = {
        "type": "message",
        "id": uuid.uuid4().hex[:8],
        "parentId": None,
        "timestamp": iso(moment),
        "message": {
            "role": "assistant",
            "content": [{"type": "text", "text": "ok"}],
            "api": "anthropic-messages",
            "provider": "anthropic",
            "model": model,
            "usage": {
                "input": 10,
                "output": output,
                "cacheRead": 5_000,
                "cacheWrite": 0,
                "totalTokens": 5_010 + output,
                "cost": {"input": 0, "output": 0, "cacheRead": 0, "cacheWrite": 0, "total": cost},
            },
            "stopReason": "stop",
            "timestamp": int(moment.timestamp() * 1000),
        },
    }
    return json.dumps(entry, separators=(",", ":")).encode() + b"\n"


def write_current_usage(claude_root: Path, openclaw_root: Path, session_name: str = HOSTILE_NAME) -> float:
    """Usage dated now in both sources; returns its total cost."""
    project = claude_root / "projects" / "-home-alice-src-budget-demo"
    append(
        project / f"{CLAUDE_SESSION}.jsonl",
        claude_code_line(
            session_id=CLAUDE_SESSION, cwd="/home/alice/src/budget-demo", input_tokens=1_000, output_tokens=20_000, cache_read=100_000
        )
        + claude_code_line(
            session_id=CLAUDE_SESSION,
            cwd="/home/alice/src/budget-demo",
            model="claude-haiku-4-5-20251001",
            input_tokens=2_000,
            output_tokens=3_000,
        ),
    )
    sessions = openclaw_root / "agents" / "main" / "sessions"
    header = {"type": "session", "version": 3, "id": OPENCLAW_SESSION, "timestamp": iso(), "cwd": "/home/alice/clawd"}
    append(
        sessions / f"{OPENCLAW_SESSION}.jsonl",
        json.dumps(header).encode() + b"\n"
        + openclaw_turn("claude-sonnet-4-5", 4_000, OPENCLAW_COSTS[0])
        + openclaw_turn("claude-haiku-4-5", 2_000, OPENCLAW_COSTS[1]),
    )
    index = {session_name: {"sessionId": OPENCLAW_SESSION, "updatedAt": int(datetime.now(UTC).timestamp() * 1000)}}
    (sessions / "sessions.json").write_text(json.dumps(index))
    return CLAUDE_SONNET_COST + CLAUDE_HAIKU_COST + sum(OPENCLAW_COSTS)


def usage_config(claude_root: Path, openclaw_root: Path) -> dict[str, Any]:
    return exporter_config(
        claude_root,
        openclaw_root,
        timezone="America/Denver",
        week_start="monday",
        budgets=[
            {"name": "monthly", "period": "month", "limit_usd": 0.5},  # below this month's spend: exceeded
            {"name": "roomy-weekly", "period": "week", "limit_usd": 1000},
            {"name": "main-daily", "period": "day", "limit_usd": 10, "match": {"agent": "main", "model": "claude-sonnet.*"}},
        ],
    )


@dataclass
class ReportRun:
    returncode: int
    stdout: str
    stderr: str


def run_report(workdir: Path, config_path: Path, state_dir: Path, *args: str, timeout: float = 30.0) -> ReportRun:
    """`claude-usage-exporter report` as a process, with the same isolation as ExporterProcess."""
    home = workdir / "home"
    home.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in DISCOVERY_VARIABLES}
    env.update({"HOME": str(home), "XDG_STATE_HOME": str(home / ".local/state"), "PYTHONUNBUFFERED": "1"})
    result = subprocess.run(
        [CONSOLE_SCRIPT, "report", "--config", str(config_path), "--state-dir", str(state_dir), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )
    return ReportRun(result.returncode, result.stdout, result.stderr)


def chromium_path() -> str:
    """The Debian chromium binary; a missing browser is a failure, not a skip (tests/run installs it)."""
    path = shutil.which("chromium") or "/usr/bin/chromium"
    assert Path(path).exists(), "chromium is not installed: tests/run installs the Debian package"
    return path


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
