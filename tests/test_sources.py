"""The pure parsers: what a line means, and which files count (formats.md §1 and §2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from claude_usage.events import ParseError, TokenCounts
from claude_usage.sources import FileContext, FileKind, claude_code, openclaw_jsonl
from tests.support.transcripts import claude_code_line

CC = FileContext(FileKind.TRANSCRIPT, agent="", session="file-session")
OC = FileContext(FileKind.TRANSCRIPT, agent="work", session="s1")


def cc(line: bytes):
    return claude_code.parse_line(line.rstrip(b"\n"), CC)


def test_claude_code_streamed_lines_share_one_key():
    first = cc(claude_code_line(output_tokens=2, message_id="msg_1", request_id="req_1"))
    last = cc(claude_code_line(output_tokens=164, message_id="msg_1", request_id="req_1"))
    assert first.dedup_key == last.dedup_key == "cc:msg_1:req_1"
    assert last.tokens.output == 164


def test_claude_code_attributes_by_line_session_and_cwd_basename():
    event = cc(claude_code_line(session_id="parent-session", cwd="/home/alice/src/shop/"))
    assert (event.session, event.agent, event.source, event.provider) == ("parent-session", "shop", "claude_code", "anthropic")


def test_claude_code_cache_split_and_missing_split():
    event = cc(claude_code_line(cache_write_5m=100, cache_write_1h=50, cache_read=7))
    assert event.tokens == TokenCounts(1000, 2000, 7, 100, 50)
    record = json.loads(claude_code_line(cache_write_5m=300))
    del record["message"]["usage"]["cache_creation"]
    event = cc(json.dumps(record).encode())
    assert (event.tokens.cache_write_5m, event.tokens.cache_write_1h) == (300, 0)


def test_claude_code_synthetic_error_is_not_a_request():
    record = json.loads(claude_code_line(input_tokens=0, output_tokens=0))
    record["message"]["model"] = "<synthetic>"
    record["isApiErrorMessage"] = True
    assert cc(json.dumps(record).encode()) is None


def test_claude_code_without_message_id_counts_the_line():
    record = json.loads(claude_code_line())
    del record["message"]["id"]
    assert cc(json.dumps(record).encode()).dedup_key == f"cc:line:{record['uuid']}"


def test_claude_code_without_request_id_keys_on_session():
    record = json.loads(claude_code_line(message_id="msg_9", session_id="abc"))
    del record["requestId"]
    assert cc(json.dumps(record).encode()).dedup_key == "cc:msg_9:session:abc"


def test_claude_code_recorded_cost_of_old_builds():
    record = json.loads(claude_code_line())
    record["costUSD"] = 0.5
    assert cc(json.dumps(record).encode()).recorded_cost_usd == 0.5


@pytest.mark.parametrize(
    "line, reason",
    [
        (b'{"type":"assistant","message":{"usage":', "invalid_json"),  # cut short
        (b"\x00\xff\xfe garbage \x89PNG", "invalid_json"),
        (b'{"type":"assistant","usage": nope}', "invalid_json"),
        (b'[1, 2, "usage"]', "invalid_json"),
        (b'{"type":"assistant","timestamp":"2026-01-01T00:00:00Z","message":{"id":"m","usage":{"input_tokens":"many"}}}', "invalid_record"),
    ],
)
def test_bad_lines_raise_a_reason(line, reason):
    with pytest.raises(ParseError) as raised:
        cc(line)
    assert raised.value.reason == reason


def test_lines_without_usage_are_not_parsed():
    # A user line (possibly megabytes of tool output) is recognised without a JSON parse.
    assert cc(b'{"type":"user","message":{"content":"' + b"x" * 100_000 + b'"}}') is None


def oc_line(**message: object) -> bytes:
    base = {
        "role": "assistant",
        "provider": "anthropic",
        "model": "claude-haiku-4-5",
        "usage": {"input": 3, "output": 96, "cacheRead": 0, "cacheWrite": 100, "totalTokens": 199, "cost": {"total": 0.25}},
        "stopReason": "stop",
        "timestamp": 1769332445352,
    }
    base.update(message)
    return json.dumps({"type": "message", "id": "e0c7d3b9", "parentId": None, "timestamp": "2026-01-25T09:14:04.502Z", "message": base}).encode()


def test_openclaw_event_and_key():
    event = openclaw_jsonl.parse_line(oc_line(), OC)
    assert event.dedup_key == "oc:work:e0c7d3b9:1769332445352:anthropic/claude-haiku-4-5"
    assert event.tokens == TokenCounts(3, 96, 0, 100, 0)
    assert (event.agent, event.session, event.recorded_cost_usd) == ("work", "s1", 0.25)
    assert event.timestamp == pytest.approx(1769332445.352)


def test_openclaw_one_hour_cache_writes_are_part_of_cache_write():
    usage = {"input": 1, "output": 1, "cacheRead": 0, "cacheWrite": 100, "cacheWrite1h": 40}
    event = openclaw_jsonl.parse_line(oc_line(usage=usage), OC)
    assert (event.tokens.cache_write_5m, event.tokens.cache_write_1h) == (60, 40)


def test_openclaw_error_turns_count_and_mirrors_do_not():
    assert openclaw_jsonl.parse_line(oc_line(stopReason="error"), OC) is not None
    zero = {"input": 0, "output": 0, "cacheRead": 0, "cacheWrite": 0, "totalTokens": 0}
    assert openclaw_jsonl.parse_line(oc_line(provider="clawdbot", model="delivery-mirror", usage=zero), OC) is None


@pytest.mark.parametrize(
    "name, counted",
    [
        ("8f4c.jsonl", True),
        ("8f4c-topic-42.jsonl", True),
        ("8f4c.jsonl.deleted.2026-01-25T09-14-02.117Z", True),
        ("8f4c.jsonl.reset.2026-01-25T09-14-02.117Z", True),
        ("8f4c.jsonl.bak.2026-01-25T09-14-02.117Z", False),
        ("8f4c.jsonl.lock", False),
        ("8f4c.checkpoint.3.jsonl", False),
        ("8f4c.trajectory.jsonl", False),
        ("8f4c.jsonl.deleted.2026-12-04T15-44-33.678Z.bb7e7603.zst", False),
    ],
)
def test_openclaw_file_rules(name, counted):
    root = Path("/state")
    context = openclaw_jsonl.classify(root / "agents/main/sessions" / name, root)
    assert (context is not None and context.kind is FileKind.TRANSCRIPT) == counted
    if counted:
        assert context.agent == "main" and context.session.startswith("8f4c")


def test_openclaw_session_index_names_sessions():
    root = Path("/state")
    context = openclaw_jsonl.classify(root / "agents/main/sessions/sessions.json", root)
    assert context.kind is FileKind.SESSION_INDEX
    index = {"agent:main:telegram:dm:42": {"sessionId": "s1", "updatedAt": 1}, "broken": "x"}
    names = openclaw_jsonl.parse_index(json.dumps(index).encode(), context)
    assert [(n.session, n.name) for n in names] == [("s1", "agent:main:telegram:dm:42")]


def test_claude_code_file_rules():
    root = Path("/home/a/.claude")
    assert claude_code.classify(root / "projects/-home-a-x/s.jsonl", root).session == "s"
    assert claude_code.classify(root / "projects/-home-a-x/s/subagents/agent-1.jsonl", root) is not None
    assert claude_code.classify(root / "projects/s.jsonl", root) is None
    assert claude_code.classify(root / "todos/x.jsonl", root) is None
