"""Copies of the fixture transcripts, and new transcript lines written the way the agents write them."""

from __future__ import annotations

import json
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CLAUDE_CODE_FIXTURE = "projects/-home-alice-src-metrics-demo/3b1f6a2e-9c4d-4e8f-a7b2-5d0c8e1f9a34.jsonl"
OPENCLAW_FIXTURE = "agents/main/sessions/8f4c2d1e-5b7a-4c3e-9d21-6a0b9e3f7c15.jsonl"


def copy_fixture_roots(destination: Path) -> tuple[Path, Path]:
    """Writable copies of the Claude Code and Clawdbot fixture roots."""
    claude_root = destination / "claude"
    openclaw_root = destination / "openclaw"
    shutil.copytree(FIXTURES / "claude-code", claude_root)
    shutil.copytree(FIXTURES / "clawdbot", openclaw_root)
    for path in (*claude_root.rglob("*"), *openclaw_root.rglob("*")):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return claude_root, openclaw_root


def exporter_config(claude_root: Path | None, openclaw_root: Path | None, **extra: object) -> dict:
    return {
        "sources": {
            "claude_code": {"roots": [str(claude_root)] if claude_root else []},
            "openclaw": {"roots": [str(openclaw_root)] if openclaw_root else []},
        },
        **extra,
    }


def iso(timestamp: datetime | None = None) -> str:
    moment = timestamp or datetime.now(UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def claude_code_line(
    *,
    model: str = "claude-sonnet-4-5-20250929",
    input_tokens: int = 1000,
    output_tokens: int = 2000,
    cache_read: int = 0,
    cache_write_5m: int = 0,
    cache_write_1h: int = 0,
    session_id: str = "5e55e55e-0000-4000-8000-000000000001",
    cwd: str = "/home/alice/src/metrics-demo",
    message_id: str | None = None,
    request_id: str | None = None,
    timestamp: datetime | None = None,
) -> bytes:
    """One assistant line as Claude Code writes it (formats.md §1), newline included."""
    record = {
        "parentUuid": None,
        "isSidechain": False,
        "userType": "external",
        "cwd": cwd,
        "sessionId": session_id,
        "version": "2.1.5",
        "gitBranch": "main",
        "requestId": request_id or f"req_{uuid.uuid4().hex[:24]}",
        "type": "assistant",
        "uuid": str(uuid.uuid4()),
        "timestamp": iso(timestamp),
        "message": {
            "id": message_id or f"msg_{uuid.uuid4().hex[:24]}",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [{"type": "text", "text": "done"}],
            "usage": {
                "input_tokens": input_tokens,
                "cache_creation_input_tokens": cache_write_5m + cache_write_1h,
                "cache_read_input_tokens": cache_read,
                "cache_creation": {"ephemeral_5m_input_tokens": cache_write_5m, "ephemeral_1h_input_tokens": cache_write_1h},
                "output_tokens": output_tokens,
                "service_tier": "standard",
            },
        },
    }
    return json.dumps(record, separators=(",", ":")).encode() + b"\n"


def append(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "ab") as handle:
        handle.write(data)
        handle.flush()
