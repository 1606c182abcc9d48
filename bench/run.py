#!/usr/bin/env python3
"""Benchmark of claude-usage-exporter on a large synthetic corpus (issue 2). A script, not a test.

It generates a deterministic (seeded) corpus of Claude Code and OpenClaw JSONL transcripts in a
temporary directory, runs the installed console script on it as a real process and prints:

- cold scan: process start to /-/ready 200, seconds and MB/s (whole corpus, and Claude Code only);
- restart to ready (SIGTERM, start again on the same state dir);
- append-to-visible latency p50/p95 (one assistant line appended to a live Claude Code transcript,
  polled through /metrics?name[]=claude_usage_requests_total until the request count grows);
- /metrics scrape time (median) with the per-session series exposed;
- peak RSS (VmHWM) of the exporter process;
- when ccusage 20.0.24 is installed: its wall time on the same Claude Code files, the ratio, and
  whether its totals agree with ours.

Every figure is printed with its target from the issue and PASS/MISS. It always exits 0 (unless it
cannot run at all). Only the standard library is used; see bench/README.md.
"""

from __future__ import annotations

import argparse
import base64
import bisect
import http.client
import json
import math
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCH_OUT = REPO / "bench" / "out"
CCUSAGE_VERSION = "20.0.24"
CCUSAGE_PREFIX = BENCH_OUT / "ccusage"
MANIFEST = "manifest.json"
GENERATOR_VERSION = 1

TOKEN_TYPES = ("input", "output", "cache_read", "cache_write_5m", "cache_write_1h")

# USD per million tokens (formats.md section 5): input, output, cache write 5m, cache write 1h, cache read.
# Used only to write the cost OpenClaw records in its transcripts.
OPENCLAW_PRICES = {
    "claude-haiku-4-5": (1.0, 5.0, 1.25, 2.0, 0.10),
    "claude-sonnet-4-5": (3.0, 15.0, 3.75, 6.0, 0.30),
    "claude-opus-4-5": (5.0, 25.0, 6.25, 10.0, 0.50),
}
CLAUDE_CODE_MODELS = (
    ("claude-sonnet-4-5-20250929", 0.60),
    ("claude-opus-4-5-20251101", 0.28),
    ("claude-haiku-4-5-20251001", 0.12),
)
SUBAGENT_MODELS = (("claude-haiku-4-5-20251001", 0.7), ("claude-sonnet-4-5-20250929", 0.3))
OPENCLAW_MODELS = (("claude-sonnet-4-5", 0.5), ("claude-haiku-4-5", 0.35), ("claude-opus-4-5", 0.15))
PROJECTS = (
    "api-server", "web-frontend", "infra", "ml-pipeline", "docs-site",
    "mobile-app", "data-tools", "cli", "billing", "search-service",
)
OPENCLAW_AGENTS = ("main", "work", "family", "ops")
TOOLS = ("Read", "Bash", "Grep", "Edit", "Glob", "Write", "WebFetch", "Task")
TOOL_WEIGHTS = (30, 25, 12, 12, 6, 5, 4, 6)
CLAUDE_CODE_VERSIONS = ("1.0.98", "2.0.76", "2.1.3", "2.1.7")

# The share of the corpus's bytes (and sessions) that is Claude Code; the rest is OpenClaw.
CLAUDE_CODE_SHARE = 0.7
SESSIONS_PER_MB = 1.5  # 500 MB -> 750 sessions, so more than 500 are active within 7 days
SESSION_SPAN_SECONDS = (6.5 * 86400, 1 * 86400)  # sessions start between 6.5 and 1 day(s) before the anchor


# --------------------------------------------------------------------------------------------------
# Corpus generation
# --------------------------------------------------------------------------------------------------


def compact(obj: object) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def iso(ts: float) -> str:
    ms = int(round(ts * 1000))
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"


BIG = "\x00BIG\x00"
BIG_ESCAPED = compact(BIG)[1:-1]  # how json.dumps writes the placeholder


@dataclass
class Totals:
    tokens: list[int] = field(default_factory=lambda: [0, 0, 0, 0, 0])
    requests: int = 0
    cost_usd: float = 0.0

    def add(self, tokens: tuple[int, int, int, int, int], cost: float = 0.0) -> None:
        for i, value in enumerate(tokens):
            self.tokens[i] += value
        self.requests += 1
        self.cost_usd += cost

    def as_dict(self) -> dict:
        return {"tokens": dict(zip(TOKEN_TYPES, self.tokens)), "requests": self.requests, "cost_usd": self.cost_usd}


class TextPool:
    """Pre-escaped JSON string material: realistic text and code, sliced by size, plus base64."""

    def __init__(self, rng: random.Random, lines: int = 40_000):
        letters = "abcdefghijklmnopqrstuvwxyz"
        words = ["".join(rng.choices(letters, k=rng.randint(2, 10))) for _ in range(4000)]
        words += ["def", "return", "self", "import", "None", "true", "false", "const", "await", "async",
                  "{", "}", "(", ")", "[]", "=>", "==", "\"quoted\"", "'single'", "\\path\\to", "\t", "#", "//",
                  "é", "→", "✓", "日本語", "🙂", "<div>", "</div>", "&&", "||"]
        pieces = []
        for i in range(lines):
            indent = " " * (4 * rng.randint(0, 4))
            text = indent + " ".join(rng.choices(words, k=rng.randint(2, 18)))
            if i % 7 == 0:
                text = f"{i:6d}\t{text}"
            pieces.append(compact(text + "\n")[1:-1])
        self.pieces = pieces
        self.offsets = [0]
        for piece in pieces:
            self.offsets.append(self.offsets[-1] + len(piece))
        self.total = self.offsets[-1]
        self.b64 = base64.b64encode(rng.randbytes(1_800_000)).decode()
        self.rng = rng
        self.words = words

    def text(self, size: int) -> str:
        """About `size` characters of escaped text (whole pool lines, so every escape is intact)."""
        size = max(1, min(size, self.total - 1))
        start_limit = bisect.bisect_right(self.offsets, self.total - size) - 1
        start = self.rng.randint(0, max(0, start_limit))
        end = bisect.bisect_left(self.offsets, self.offsets[start] + size)
        return "".join(self.pieces[start : max(end, start + 1)])

    def plain(self, words: int) -> str:
        """Unescaped short prose (for json.dumps)."""
        return " ".join(self.rng.choices(self.words[:4000], k=words))

    def base64(self, size: int) -> str:
        size = min(size, len(self.b64) - 4)
        start = self.rng.randint(0, len(self.b64) - size) & ~3
        return self.b64[start : start + size]


class Ids:
    BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

    def __init__(self, rng: random.Random):
        self.rng = rng

    def uuid(self) -> str:
        r = self.rng.getrandbits(128)
        h = f"{r:032x}"
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[r & 3]}{h[17:20]}-{h[20:32]}"

    def token(self, k: int) -> str:
        return "".join(self.rng.choices(self.BASE62, k=k))

    def hex(self, k: int) -> str:
        return f"{self.rng.getrandbits(4 * k):0{k}x}"


def weighted(rng: random.Random, choices: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([c for c, _ in choices], weights=[w for _, w in choices])[0]


def tool_result_size(rng: random.Random) -> int:
    """Characters of one tool result: mostly small, a long tail of tens of KB, some about 1 MB."""
    roll = rng.random()
    if roll < 0.62:
        low, high = 150, 2_500
    elif roll < 0.92:
        low, high = 2_500, 20_000
    elif roll < 0.996:
        low, high = 20_000, 100_000
    else:
        low, high = 400_000, 1_200_000
    return int(math.exp(rng.uniform(math.log(low), math.log(high))))


def output_tokens(rng: random.Random) -> int:
    return int(math.exp(rng.uniform(math.log(20), math.log(4000))))


class Context:
    """A conversation's prompt size, so cache reads and writes look like a real agent loop."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.cached = rng.randint(12_000, 25_000)
        self.pending = rng.randint(2_000, 6_000)  # tokens not yet cached (the first user prompt, tools)

    def add(self, characters: int) -> None:
        self.pending += characters // 4 + 1

    def usage(self) -> tuple[int, int, int]:
        """(input, cache_read, cache_write) of the next request; the prompt stays below 200k tokens."""
        rng = self.rng
        if self.cached + self.pending > 170_000:  # the agent compacts its context
            self.cached, self.pending = rng.randint(15_000, 30_000), rng.randint(1_000, 5_000)
            cache_read = 0
        else:
            cache_read = self.cached
        write = self.pending
        self.cached += write
        self.pending = 0
        placeholder = rng.random() < 0.85  # the upstream defect: input_tokens is often 1-9
        return (rng.randint(1, 9) if placeholder else rng.randint(50, 3_000)), cache_read, write


class CorpusWriter:
    def __init__(self, root: Path, size_mb: float, seed: int, anchor: float):
        self.root = root
        self.rng = random.Random(seed)
        self.ids = Ids(self.rng)
        self.anchor = anchor
        self.target_bytes = int(size_mb * 1_000_000)
        self.pool = TextPool(self.rng)
        self.claude_root = root / "claude"
        self.openclaw_root = root / "openclaw"
        self.cc = Totals()
        self.cc_by_model: dict[str, Totals] = {}
        self.oc = Totals()
        self.oc_keys: set[tuple] = set()
        self.bytes = {"claude_code": 0, "openclaw": 0}
        self.files = {"claude_code": 0, "openclaw": 0}
        self.lines = {"claude_code": 0, "openclaw": 0}
        self.sessions = {"claude_code": 0, "openclaw": 0}
        self.live_candidates: list[tuple[float, str]] = []  # (last timestamp, path) of Claude Code transcripts
        self.index_keys: dict[str, dict[str, str]] = {}  # OpenClaw agent -> session key -> session id
        self.usage_chars = 0  # characters of Claude Code lines that carry usage

    # -- plumbing ---------------------------------------------------------------------------

    def write_file(self, source: str, path: Path, lines: list[str]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = ("\n".join(lines) + "\n").encode()
        path.write_bytes(data)
        self.bytes[source] += len(data)
        self.files[source] += 1
        self.lines[source] += len(lines)

    def session_weights(self, count: int) -> list[float]:
        weights = [math.exp(self.rng.gauss(0, 1.0)) for _ in range(count)]
        total = sum(weights)
        return [w / total for w in weights]

    def session_start(self) -> float:
        early, late = SESSION_SPAN_SECONDS
        return self.anchor - self.rng.uniform(late, early)

    def clamp(self, ts: float) -> float:
        return min(ts, self.anchor - 1.0)

    def generate(self) -> dict:
        started = time.monotonic()
        sessions = max(8, round(self.target_bytes / 1_000_000 * SESSIONS_PER_MB))
        cc_sessions = max(4, round(sessions * CLAUDE_CODE_SHARE))
        oc_sessions = max(4, sessions - cc_sessions)
        cc_budget = int(self.target_bytes * CLAUDE_CODE_SHARE)
        for weight in self.session_weights(cc_sessions):
            self.claude_code_session(max(20_000, int(cc_budget * weight)))
        oc_budget = self.target_bytes - sum(self.bytes.values())
        oc_weights = self.session_weights(oc_sessions)
        for index, weight in enumerate(oc_weights):
            self.openclaw_session(max(20_000, int(oc_budget * weight)), index)
        self.openclaw_indexes()
        self.live_candidates.sort()
        return {
            "generator_version": GENERATOR_VERSION,
            "size_mb": self.target_bytes / 1_000_000,
            "anchor": self.anchor,
            "generated_in_seconds": round(time.monotonic() - started, 1),
            "claude_root": str(self.claude_root),
            "openclaw_root": str(self.openclaw_root),
            "bytes": self.bytes,
            "files": self.files,
            "lines": self.lines,
            "sessions": self.sessions,
            "live_transcript": self.live_candidates[-1][1],
            "claude_code_usage_line_chars": self.usage_chars,
            "expected": {
                "claude_code": self.cc.as_dict(),
                "claude_code_by_model": {m: t.as_dict() for m, t in sorted(self.cc_by_model.items())},
                "openclaw": self.oc.as_dict(),
            },
        }

    # -- Claude Code ------------------------------------------------------------------------

    def claude_code_session(self, target: int) -> None:
        rng, ids, pool = self.rng, self.ids, self.pool
        project = PROJECTS[min(len(PROJECTS) - 1, int(rng.paretovariate(1.2)) - 1)]
        cwd = f"/home/bench/src/{project}"
        slug = cwd.replace("/", "-")
        session_id = ids.uuid()
        version = rng.choice(CLAUDE_CODE_VERSIONS)
        session = _CCSession(
            writer=self,
            cwd=cwd,
            session_id=session_id,
            version=version,
            model=weighted(rng, CLAUDE_CODE_MODELS),
            ttl_1h=rng.random() < 0.25,
            split=not version.startswith("1."),
            ts=self.session_start(),
        )
        lines = session.lines
        if rng.random() < 0.3:
            lines.append(compact({"type": "summary", "summary": pool.plain(8), "leafUuid": ids.uuid()}))
        size = 0
        subagent_files: list[tuple[Path, list[str]]] = []
        while size < target:
            before = len(lines)
            session.user_prompt()
            steps = rng.randint(1, 8)
            for step in range(steps):
                # The turn ends early once the session has its size (so small corpora keep their size).
                last = step == steps - 1 or size + session.size > target
                tool = None if last else rng.choices(TOOLS, weights=TOOL_WEIGHTS)[0]
                session.response(tool)
                if tool == "Task":
                    agent_id = ids.hex(8 if version >= "2.1" else 7)
                    sub = _CCSession(
                        writer=self, cwd=cwd, session_id=session_id, version=version,
                        model=weighted(rng, SUBAGENT_MODELS), ttl_1h=False, split=session.split,
                        ts=session.ts, agent_id=agent_id,
                    )
                    sub.user_prompt()
                    for sub_step in range(rng.randint(2, 10)):
                        sub_last = sub_step == 9 or rng.random() < 0.2
                        sub.response(None if sub_last else rng.choice(("Read", "Grep", "Glob", "Bash")))
                        if sub_last:
                            break
                        sub.tool_result(sub.last_tool)
                    if version >= "2.1":
                        path = self.claude_root / "projects" / slug / session_id / "subagents" / f"agent-{agent_id}.jsonl"
                    else:
                        path = self.claude_root / "projects" / slug / f"agent-{agent_id}.jsonl"
                    subagent_files.append((path, sub.lines))
                    size += sub.size
                    self.usage_chars += sub.usage_chars
                    session.ts = sub.ts
                if tool is not None:
                    session.tool_result(tool)
                if last:
                    break
            if rng.random() < 0.15:
                session.snapshot()
            if rng.random() < 0.02:
                session.api_error()
            size += sum(len(line) for line in lines[before:])
            session.size = 0
        path = self.claude_root / "projects" / slug / f"{session_id}.jsonl"
        self.write_file("claude_code", path, lines)
        self.usage_chars += session.usage_chars
        self.live_candidates.append((session.ts, str(path)))
        for sub_path, sub_lines in subagent_files:
            self.write_file("claude_code", sub_path, sub_lines)
        self.sessions["claude_code"] += 1

    def count_claude_code(self, model: str, tokens: tuple[int, int, int, int, int]) -> None:
        self.cc.add(tokens)
        self.cc_by_model.setdefault(model, Totals()).add(tokens)

    # -- OpenClaw ---------------------------------------------------------------------------

    def openclaw_session(self, target: int, index: int) -> None:
        rng = self.rng
        agent = OPENCLAW_AGENTS[min(len(OPENCLAW_AGENTS) - 1, int(rng.paretovariate(1.0)) - 1)]
        session = _OCSession(self, agent, self.ids.uuid(), weighted(rng, OPENCLAW_MODELS), self.session_start())
        session.header()
        size = 0
        while size < target:
            before = len(session.lines)
            session.user_message()
            steps = rng.randint(1, 6)
            for step in range(steps):
                last = step == steps - 1
                session.assistant(tool=not last)
                if not last:
                    session.tool_result()
            if rng.random() < 0.05:
                session.mirror()
            if rng.random() < 0.03:
                session.compaction()
            size += sum(len(line) for line in session.lines[before:])
        sessions_dir = self.openclaw_root / "agents" / agent / "sessions"
        name = f"{session.session_id}.jsonl"
        roll = rng.random()
        if roll < 0.04:  # a deleted or reset session, renamed by OpenClaw: still counted
            name += f".{rng.choice(('deleted', 'reset'))}.{iso(session.ts).replace(':', '-')}"
        self.write_file("openclaw", sessions_dir / name, session.lines)
        self.sessions["openclaw"] += 1
        keys = self.index_keys.setdefault(agent, {})
        keys[f"agent:{agent}:telegram:dm:{1000 + index}"] = session.session_id
        if 0.04 <= roll < 0.10 and len(session.lines) > 6:
            # A thread of this session: its file starts with a verbatim copy of the parent's entries.
            fork = _OCSession(self, agent, f"{session.session_id}-topic-{rng.randint(1, 999)}", session.model, session.ts)
            fork.header(parent=session.session_id)
            fork.lines.extend(session.lines[1 : rng.randint(2, len(session.lines))])
            fork.copied_from(session)
            for _ in range(rng.randint(1, 4)):
                fork.user_message()
                fork.assistant(tool=False)
            self.write_file("openclaw", sessions_dir / f"{fork.session_id}.jsonl", fork.lines)
            self.sessions["openclaw"] += 1
        elif 0.10 <= roll < 0.13:
            # The backup OpenClaw takes before compaction rewrites the live file: never counted.
            backup = session.lines[: rng.randint(2, len(session.lines))]
            self.write_file("openclaw", sessions_dir / f"{session.session_id}.jsonl.bak.{int(session.ts)}", backup)

    def openclaw_indexes(self) -> None:
        for agent, keys in self.index_keys.items():
            index = {key: {"sessionId": sid, "updatedAt": int(self.anchor * 1000), "chatType": "direct"} for key, sid in keys.items()}
            path = self.openclaw_root / "agents" / agent / "sessions" / "sessions.json"
            path.write_text(json.dumps(index, indent=2))


class _CCSession:
    """One Claude Code conversation (or subagent) being written line by line."""

    def __init__(self, writer: CorpusWriter, cwd: str, session_id: str, version: str, model: str,
                 ttl_1h: bool, split: bool, ts: float, agent_id: str | None = None):
        self.writer, self.rng, self.ids, self.pool = writer, writer.rng, writer.ids, writer.pool
        self.cwd, self.session_id, self.version, self.model = cwd, session_id, version, model
        self.ttl_1h, self.split, self.ts, self.agent_id = ttl_1h, split, ts, agent_id
        self.lines: list[str] = []
        self.size = 0  # characters written since the caller last reset it
        self.usage_chars = 0  # characters of the lines that carry usage
        self.parent: str | None = None
        self.context = Context(self.rng)
        self.last_tool = ""
        self.last_tool_id = ""

    def common(self) -> dict:
        record = {
            "parentUuid": self.parent,
            "isSidechain": self.agent_id is not None,
            "userType": "external",
            "cwd": self.cwd,
            "sessionId": self.session_id,
            "version": self.version,
            "gitBranch": "main",
        }
        if self.agent_id is not None:
            record["agentId"] = self.agent_id
        return record

    def advance(self, low: float, high: float) -> str:
        self.ts = self.writer.clamp(self.ts + self.rng.uniform(low, high))
        return iso(self.ts)

    def emit(self, record: dict, big: str | None = None) -> None:
        line = compact(record)
        if big is not None:
            line = line.replace(BIG_ESCAPED, big)
        self.lines.append(line)
        self.size += len(line)
        if record.get("type") == "assistant":
            self.usage_chars += len(line)
        self.parent = record.get("uuid", self.parent)

    def user_prompt(self) -> None:
        text = self.pool.plain(self.rng.randint(8, 200))
        self.context.add(len(text))
        record = self.common()
        record.update(type="user", message={"role": "user", "content": text}, uuid=self.ids.uuid(),
                      timestamp=self.advance(20, 900), permissionMode="default")
        self.emit(record)

    def response(self, tool: str | None) -> None:
        """One API response, streamed as 2-3 lines with the same message.id and requestId."""
        rng, ids, pool = self.rng, self.ids, self.pool
        input_tokens, cache_read, cache_write = self.context.usage()
        final_output = output_tokens(rng)
        blocks: list[dict] = []
        if rng.random() < 0.3:
            blocks.append({"type": "thinking", "thinking": pool.plain(rng.randint(60, 600)), "signature": pool.base64(rng.randint(300, 900))})
        blocks.append({"type": "text", "text": pool.plain(rng.randint(5, 250))})
        if tool is not None:
            self.last_tool, self.last_tool_id = tool, "toolu_01" + ids.token(22)
            blocks.append({"type": "tool_use", "id": self.last_tool_id, "name": tool, "input": self.tool_input(tool)})
        if len(blocks) == 1:  # a text-only answer is still streamed as two lines
            blocks = [{"type": "text", "text": pool.plain(3)}] + blocks
        message_id, request_id = "msg_01" + ids.token(22), "req_011C" + ids.token(18)
        if self.split:
            write_1h = cache_write if self.ttl_1h else 0
            split = {"ephemeral_5m_input_tokens": cache_write - write_1h, "ephemeral_1h_input_tokens": write_1h}
        else:
            write_1h, split = 0, None
        self.advance(1.5, 25)
        for i, block in enumerate(blocks):
            last = i == len(blocks) - 1
            out = final_output if last else max(1, final_output * (i + 1) // (len(blocks) * rng.randint(2, 4)))
            usage = {"input_tokens": input_tokens, "cache_creation_input_tokens": cache_write,
                     "cache_read_input_tokens": cache_read}
            if split is not None:
                usage["cache_creation"] = split
            usage["output_tokens"] = out
            usage["service_tier"] = "standard"
            record = self.common()
            record.update(
                message={"model": self.model, "id": message_id, "type": "message", "role": "assistant",
                         "content": [block], "stop_reason": ("tool_use" if tool else "end_turn") if last else None,
                         "stop_sequence": None, "usage": usage},
                requestId=request_id, type="assistant", uuid=ids.uuid(), timestamp=self.advance(0.05, 2.0),
            )
            self.emit(record)
        self.context.add(final_output * 4)
        tokens = (input_tokens, final_output, cache_read, cache_write - write_1h, write_1h)
        self.writer.count_claude_code(self.model, tokens)

    def tool_input(self, tool: str) -> dict:
        rng, pool = self.rng, self.pool
        path = f"{self.cwd}/src/{pool.plain(1)}/{pool.plain(1)}.py"
        if tool == "Bash":
            return {"command": f"pytest -q tests/{pool.plain(1)} && git status", "description": pool.plain(5)}
        if tool == "Edit":
            return {"file_path": path, "old_string": pool.plain(rng.randint(5, 80)), "new_string": pool.plain(rng.randint(5, 120))}
        if tool == "Write":
            return {"file_path": path, "content": pool.plain(rng.randint(100, 1200))}
        if tool == "Grep":
            return {"pattern": pool.plain(1), "path": f"{self.cwd}/src", "output_mode": "content"}
        if tool == "Task":
            return {"description": pool.plain(4), "prompt": pool.plain(rng.randint(20, 150)), "subagent_type": "Explore"}
        if tool == "WebFetch":
            return {"url": f"https://docs.example.invalid/{pool.plain(1)}", "prompt": pool.plain(10)}
        return {"file_path": path}

    def tool_result(self, tool: str) -> None:
        rng, ids, pool = self.rng, self.ids, self.pool
        size = tool_result_size(rng)
        record = self.common()
        image = size > 400_000 and rng.random() < 0.4
        if image:  # a screenshot: one base64 image of about 1 MB
            content: object = [{"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": BIG}}]
            big = pool.base64(size)
            extra = {"type": "image", "file": {"type": "image/png", "originalSize": size}}
            self.context.add(1600 * 4)
        else:
            big = pool.text(size)
            content = BIG
            self.context.add(len(big))
            if tool == "Read" and size < 200_000:  # Claude Code repeats a file's text in toolUseResult
                extra = {"type": "text", "file": {"filePath": f"{self.cwd}/src/x.py", "content": BIG, "numLines": size // 40}}
            elif tool == "Bash":
                extra = {"stdout": BIG, "stderr": "", "interrupted": False, "isImage": False}
            else:
                extra = {"mode": "content", "numFiles": rng.randint(1, 40), "numLines": size // 40}
        record.update(
            type="user",
            message={"role": "user", "content": [{"tool_use_id": self.last_tool_id, "type": "tool_result", "content": content}]},
            uuid=ids.uuid(), timestamp=self.advance(0.1, 20), toolUseResult=extra,
        )
        self.emit(record, big)

    def snapshot(self) -> None:
        self.emit({"type": "file-history-snapshot", "messageId": self.ids.uuid(),
                   "snapshot": {"messageId": self.ids.uuid(), "trackedFileBackups": {}, "timestamp": iso(self.ts)},
                   "isSnapshotUpdate": False})

    def api_error(self) -> None:
        record = self.common()
        record.update(
            message={"model": "<synthetic>", "id": self.ids.uuid(), "type": "message", "role": "assistant",
                     "content": [{"type": "text", "text": "API Error: 529 overloaded_error"}], "stop_reason": "stop_sequence",
                     "stop_sequence": None, "usage": {"input_tokens": 0, "output_tokens": 0, "cache_creation_input_tokens": 0,
                                                      "cache_read_input_tokens": 0, "service_tier": None}},
            type="assistant", uuid=self.ids.uuid(), timestamp=self.advance(1, 30), isApiErrorMessage=True,
        )
        self.emit(record)


class _OCSession:
    """One OpenClaw conversation being written entry by entry."""

    def __init__(self, writer: CorpusWriter, agent: str, session_id: str, model: str, ts: float):
        self.writer, self.rng, self.ids, self.pool = writer, writer.rng, writer.ids, writer.pool
        self.agent, self.session_id, self.model, self.ts = agent, session_id, model, ts
        self.lines: list[str] = []
        self.parent: str | None = None
        self.context = Context(self.rng)
        self.call_id = ""

    def advance(self, low: float, high: float) -> float:
        self.ts = self.writer.clamp(self.ts + self.rng.uniform(low, high))
        return self.ts

    def entry(self, kind: str, big: str | None = None, **fields: object) -> None:
        entry_id = self.ids.hex(8)
        record = {"type": kind, "id": entry_id, "parentId": self.parent, "timestamp": iso(self.ts), **fields}
        line = compact(record)
        if big is not None:
            line = line.replace(BIG_ESCAPED, big)
        self.lines.append(line)
        self.parent = entry_id

    def header(self, parent: str | None = None) -> None:
        header = {"type": "session", "version": 3, "id": self.session_id, "timestamp": iso(self.ts), "cwd": f"/home/bench/{self.agent}"}
        if parent:
            header["parentSession"] = parent
        self.lines.append(compact(header))
        if parent:
            return
        self.entry("model_change", provider="anthropic", modelId=self.model)
        self.entry("thinking_level_change", thinkingLevel=self.rng.choice(("off", "low", "medium")))
        self.entry("custom", customType="model-snapshot",
                   data={"timestamp": int(self.ts * 1000), "provider": "anthropic", "modelApi": "anthropic-messages", "modelId": self.model})

    def copied_from(self, parent: "_OCSession") -> None:
        self.parent = parent.parent
        self.ts = parent.ts

    def user_message(self) -> None:
        text = f"[Telegram Bench id:{self.rng.randint(10**8, 10**9)}] " + self.pool.plain(self.rng.randint(5, 120))
        self.context.add(len(text))
        self.advance(30, 3600)
        self.entry("message", message={"role": "user", "content": [{"type": "text", "text": text}], "timestamp": int(self.ts * 1000)})

    def assistant(self, tool: bool) -> None:
        rng, pool = self.rng, self.pool
        input_tokens, cache_read, cache_write = self.context.usage()
        out = output_tokens(rng)
        stop = "toolUse" if tool else "stop"
        if rng.random() < 0.02:
            stop, out = "error", rng.randint(0, 3)  # an error turn is a real request and can carry usage
        content: list[dict] = [{"type": "text", "text": pool.plain(rng.randint(3, 200))}]
        if tool:
            self.call_id = "toolu_01" + self.ids.token(22)
            content.append({"type": "toolCall", "id": self.call_id, "name": "exec", "arguments": {"command": pool.plain(6)}})
        p_in, p_out, p_w5, _, p_read = OPENCLAW_PRICES[self.model]
        cost = {"input": input_tokens * p_in / 1e6, "output": out * p_out / 1e6, "cacheRead": cache_read * p_read / 1e6,
                "cacheWrite": cache_write * p_w5 / 1e6}
        cost["total"] = cost["input"] + cost["output"] + cost["cacheRead"] + cost["cacheWrite"]
        usage = {"input": input_tokens, "output": out, "cacheRead": cache_read, "cacheWrite": cache_write,
                 "totalTokens": input_tokens + out + cache_read + cache_write, "cost": cost}
        self.advance(1, 30)
        message_ms = int(self.ts * 1000)
        message = {"role": "assistant", "content": content, "api": "anthropic-messages", "provider": "anthropic",
                   "model": self.model, "usage": usage, "stopReason": stop, "timestamp": message_ms}
        if stop == "error":
            message["errorMessage"] = '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}'
        self.entry("message", message=message)
        self.context.add(out * 4)
        entry_id = self.parent
        key = (self.agent, entry_id, message_ms, self.model)
        if key not in self.writer.oc_keys:
            self.writer.oc_keys.add(key)
            self.writer.oc.add((input_tokens, out, cache_read, cache_write, 0), cost["total"])

    def tool_result(self) -> None:
        size = tool_result_size(self.rng)
        big = self.pool.text(size)
        self.context.add(len(big))
        self.advance(0.2, 20)
        details = {"status": "completed", "exitCode": 0, "durationMs": self.rng.randint(5, 20000), "cwd": f"/home/bench/{self.agent}"}
        if size < 200_000:
            details["aggregated"] = BIG  # OpenClaw repeats the output here
        self.entry("message", big, message={"role": "toolResult", "toolCallId": self.call_id, "toolName": "exec",
                                            "content": [{"type": "text", "text": BIG}], "details": details,
                                            "isError": False, "timestamp": int(self.ts * 1000)})

    def mirror(self) -> None:
        self.advance(60, 600)
        zero = {"input": 0, "output": 0, "cacheRead": 0, "cacheWrite": 0, "total": 0}
        self.entry("message", message={"role": "assistant", "content": [{"type": "text", "text": self.pool.plain(8)}],
                                       "api": "openai-responses", "provider": "clawdbot", "model": "delivery-mirror",
                                       "usage": {"input": 0, "output": 0, "cacheRead": 0, "cacheWrite": 0, "totalTokens": 0, "cost": zero},
                                       "stopReason": "stop", "timestamp": int(self.ts * 1000)})

    def compaction(self) -> None:
        self.advance(1, 10)
        self.entry("compaction", summary=self.pool.plain(60), firstKeptEntryId=self.parent,
                   tokensBefore=self.context.cached, details={"readFiles": [], "modifiedFiles": []})


def generate_corpus(directory: Path, size_mb: float, seed: int) -> dict:
    anchor = float(int(time.time()) // 3600 * 3600)  # the hour: same seed and hour, same bytes
    writer = CorpusWriter(directory, size_mb, seed, anchor)
    manifest = writer.generate()
    manifest["seed"] = seed
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return manifest


# --------------------------------------------------------------------------------------------------
# Running the exporter
# --------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_get(port: int, path: str, timeout: float = 30.0) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def find_exporter(explicit: str | None) -> str:
    candidates = [explicit] if explicit else []
    candidates += [shutil.which("claude-usage-exporter", path=os.path.dirname(sys.executable)),
                   str(REPO / ".venv" / "bin" / "claude-usage-exporter"), shutil.which("claude-usage-exporter")]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    sys.exit("bench: cannot find the claude-usage-exporter console script (install the project, or pass --exporter)")


class Exporter:
    """One exporter process: a config, a state dir, a port; timed start and stop."""

    def __init__(self, binary: str, workdir: Path, config: dict):
        self.binary = binary
        self.workdir = workdir
        self.state_dir = workdir / "state"
        self.config_path = workdir / "config.json"  # JSON is YAML
        workdir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(json.dumps(config, indent=2))
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.starts = 0

    @property
    def log_path(self) -> Path:
        return self.workdir / "exporter.log"

    def start(self) -> float:
        """Start the process and wait for /-/ready 200; returns the seconds it took."""
        self.starts += 1
        log = open(self.log_path, "ab")
        started = time.perf_counter()
        self.process = subprocess.Popen(
            [self.binary, "--config", str(self.config_path), "--state-dir", str(self.state_dir),
             "--web.listen-address", f"127.0.0.1:{self.port}"],
            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        log.close()
        deadline = started + 3600
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                sys.exit(f"bench: the exporter exited with {self.process.returncode}; see {self.log_path}")
            try:
                if http_get(self.port, "/-/ready", timeout=5)[0] == 200:
                    return time.perf_counter() - started
            except OSError:
                pass
            time.sleep(0.01)
        sys.exit(f"bench: the exporter was not ready within an hour; see {self.log_path}")

    def stop(self) -> float:
        assert self.process is not None
        started = time.perf_counter()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None
        return time.perf_counter() - started

    def memory(self) -> dict[str, int]:
        """VmHWM (peak resident set) and VmRSS of the process, in bytes."""
        assert self.process is not None
        values = {}
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                values[key] = int(rest.split()[0]) * 1024
        return values

    def metrics(self, query: str = "") -> bytes:
        status, body = http_get(self.port, "/metrics" + query)
        if status != 200:
            raise RuntimeError(f"/metrics answered {status}")
        return body


_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_samples(text: str) -> list[tuple[str, dict[str, str], float]]:
    samples = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = _SAMPLE.match(line)
        if match:
            samples.append((match[1], dict(_LABEL.findall(match[2] or "")), float(match[3])))
    return samples


def our_totals(samples: list[tuple[str, dict[str, str], float]], source: str) -> dict:
    tokens = dict.fromkeys(TOKEN_TYPES, 0)
    by_model: dict[str, dict] = {}
    requests, cost = 0, 0.0
    for name, labels, value in samples:
        if labels.get("source") != source:
            continue
        model = by_model.setdefault(labels.get("model", ""), {"tokens": dict.fromkeys(TOKEN_TYPES, 0), "cost_usd": 0.0})
        if name == "claude_usage_tokens_total":
            tokens[labels["token_type"]] += int(value)
            model["tokens"][labels["token_type"]] += int(value)
        elif name == "claude_usage_requests_total":
            requests += int(value)
        elif name == "claude_usage_cost_usd_total":
            cost += value
            model["cost_usd"] += value
    return {"tokens": tokens, "requests": requests, "cost_usd": cost, "by_model": by_model}


def requests_total(exporter: Exporter) -> int:
    body = exporter.metrics("?name[]=claude_usage_requests_total").decode()
    return int(sum(value for name, _, value in parse_samples(body) if name == "claude_usage_requests_total"))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def live_line(index: int, session_id: str, cwd: str) -> bytes:
    unique = f"{os.getpid()}{index:04d}{time.time_ns()}"
    record = {
        "parentUuid": None, "isSidechain": False, "userType": "external", "cwd": cwd, "sessionId": session_id,
        "version": "2.1.7", "gitBranch": "main",
        "message": {"model": "claude-sonnet-4-5-20250929", "id": f"msg_01benchlive{unique}", "type": "message",
                    "role": "assistant", "content": [{"type": "text", "text": f"live append {index}"}],
                    "stop_reason": "end_turn", "stop_sequence": None,
                    "usage": {"input_tokens": 3, "cache_creation_input_tokens": 120, "cache_read_input_tokens": 24_000,
                              "cache_creation": {"ephemeral_5m_input_tokens": 120, "ephemeral_1h_input_tokens": 0},
                              "output_tokens": 42, "service_tier": "standard"}},
        "requestId": f"req_011Cbenchlive{unique}", "type": "assistant",
        "uuid": f"00000000-0000-4000-8000-{index:012d}", "timestamp": iso(time.time()),
    }
    return (compact(record) + "\n").encode()


def measure_appends(exporter: Exporter, transcript: Path, count: int, timeout: float = 10.0) -> tuple[list[float], int]:
    """Append `count` assistant lines one by one; per append, seconds until /metrics shows it."""
    with transcript.open("rb") as handle:  # the first line may be a summary, without a session id
        first = next(record for record in map(json.loads, handle) if record.get("sessionId"))
    session_id, cwd = first["sessionId"], first["cwd"]
    baseline = requests_total(exporter)
    latencies, timeouts = [], 0
    for index in range(count):
        line = live_line(index, session_id, cwd)
        started = time.perf_counter()
        with open(transcript, "ab") as handle:
            handle.write(line)
        while True:
            if requests_total(exporter) > baseline:
                latencies.append(time.perf_counter() - started)
                break
            if time.perf_counter() - started > timeout:
                latencies.append(timeout)
                timeouts += 1
                break
            time.sleep(0.005)
        baseline = requests_total(exporter)
        time.sleep(0.02)
    return latencies, timeouts


def measure_scrapes(exporter: Exporter, count: int) -> tuple[list[float], bytes]:
    times, body = [], b""
    for _ in range(count):
        started = time.perf_counter()
        body = exporter.metrics()
        times.append(time.perf_counter() - started)
    return times, body


# --------------------------------------------------------------------------------------------------
# ccusage
# --------------------------------------------------------------------------------------------------


def find_ccusage(explicit: str | None) -> str | None:
    for candidate in (explicit, str(CCUSAGE_PREFIX / "node_modules" / ".bin" / "ccusage"), shutil.which("ccusage")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def install_ccusage() -> None:
    CCUSAGE_PREFIX.mkdir(parents=True, exist_ok=True)
    command = ["npm", "install", "--prefix", str(CCUSAGE_PREFIX), "--save-exact", f"ccusage@{CCUSAGE_VERSION}"]
    print("bench: " + " ".join(command), flush=True)
    subprocess.run(command, check=False)


def ccusage_version(binary: str) -> str:
    try:
        return subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=60).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def run_ccusage(binary: str, claude_root: Path, runs: int) -> tuple[list[float], dict | None, str]:
    env = {**os.environ, "CLAUDE_CONFIG_DIR": str(claude_root), "NO_COLOR": "1"}
    times, report, error = [], None, ""
    for _ in range(runs):
        started = time.perf_counter()
        result = subprocess.run([binary, "claude", "session", "--json", "--offline"], capture_output=True, env=env)
        times.append(time.perf_counter() - started)
        if result.returncode != 0:
            error = f"exit {result.returncode}: {result.stderr.decode(errors='replace')[-500:]}"
            continue
        try:
            report = json.loads(result.stdout)
        except ValueError as exc:
            error = f"unreadable JSON: {exc}"
    return times, report, error


def compare_with_ccusage(ours: dict, report: dict) -> tuple[bool, list[tuple[str, float, float, bool]]]:
    totals = report.get("totals", {})
    tokens = ours["tokens"]
    rows = [
        ("input", tokens["input"], totals.get("inputTokens", 0)),
        ("output", tokens["output"], totals.get("outputTokens", 0)),
        ("cache write (5m + 1h)", tokens["cache_write_5m"] + tokens["cache_write_1h"], totals.get("cacheCreationTokens", 0)),
        ("cache read", tokens["cache_read"], totals.get("cacheReadTokens", 0)),
    ]
    checked = [(name, a, b, a == b) for name, a, b in rows]
    cost_ours, cost_theirs = ours["cost_usd"], totals.get("totalCost", 0.0)
    cost_ok = math.isclose(cost_ours, cost_theirs, rel_tol=1e-4, abs_tol=0.01)
    checked.append(("cost USD (rel. tol. 1e-4)", cost_ours, cost_theirs, cost_ok))
    return all(ok for *_, ok in checked), checked


# --------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------


def mb(value: float) -> str:
    return f"{value / 1_000_000:.1f} MB"


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "MISS")


def print_table(rows: list[tuple[str, str, str, str]]) -> None:
    headers = ("figure", "value", "target", "result")
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    line = "  ".join("-" * w for w in widths)
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths)))
    print(line)
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=float, default=500, help="corpus size in MB (default 500; 20 for a quick check)")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the corpus (default 1)")
    parser.add_argument("--work-dir", type=Path, help="where the corpus and state go (default: a new temp dir, removed at the end)")
    parser.add_argument("--keep", action="store_true", help="keep the work dir (the corpus can then be reused with --corpus)")
    parser.add_argument("--corpus", type=Path, help="reuse a corpus this script generated before (a dir holding manifest.json)")
    parser.add_argument("--appends", type=int, default=100, help="live appends to time (default 100)")
    parser.add_argument("--scrapes", type=int, default=20, help="full /metrics scrapes to time (default 20)")
    parser.add_argument("--restarts", type=int, default=3, help="restarts to time (default 3; the median is judged)")
    parser.add_argument("--exporter", help="the claude-usage-exporter console script (default: the one beside this Python)")
    parser.add_argument("--ccusage", help="the ccusage executable (default: bench/out/ccusage or PATH)")
    parser.add_argument("--install-ccusage", action="store_true", help=f"npm-install ccusage@{CCUSAGE_VERSION} into bench/out/ccusage first")
    parser.add_argument("--no-ccusage", action="store_true", help="skip the ccusage comparison")
    parser.add_argument("--ccusage-runs", type=int, default=3, help="ccusage runs to time (default 3; the median is used)")
    parser.add_argument("--json", type=Path, dest="json_out", help="also write the figures to this JSON file")
    args = parser.parse_args()

    exporter_binary = find_exporter(args.exporter)
    if args.install_ccusage and not args.no_ccusage:
        install_ccusage()
    ccusage = None if args.no_ccusage else find_ccusage(args.ccusage)

    own_work_dir = args.work_dir is None
    work = Path(tempfile.mkdtemp(prefix="claude-usage-bench-")) if own_work_dir else args.work_dir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    try:
        return run(args, work, exporter_binary, ccusage)
    finally:
        if own_work_dir and not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"\nwork dir kept: {work}" + ("" if args.corpus else f"  (reuse the corpus with --corpus {work / 'corpus'})"))


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def run(args: argparse.Namespace, work: Path, exporter_binary: str, ccusage: str | None) -> int:
    figures: dict = {"exporter": exporter_binary, "load_average_at_start": load_average()}

    # 1. The corpus.
    if args.corpus:
        corpus = args.corpus.resolve()
        manifest = json.loads((corpus / MANIFEST).read_text())
        age_hours = (time.time() - manifest["anchor"]) / 3600
        print(f"bench: reusing the corpus in {corpus} (generated {age_hours:.1f} h ago)")
        if age_hours > 12:
            print("bench: warning: the corpus is old; sessions older than 7 days are not exposed as session series")
    else:
        corpus = work / "corpus"
        if corpus.exists():
            shutil.rmtree(corpus)
        corpus.mkdir(parents=True)
        print(f"bench: generating a {args.size_mb:g} MB corpus (seed {args.seed}) in {corpus} ...", flush=True)
        manifest = generate_corpus(corpus, args.size_mb, args.seed)
        print(f"bench: generated in {manifest['generated_in_seconds']:.1f} s", flush=True)
    claude_root, openclaw_root = Path(manifest["claude_root"]), Path(manifest["openclaw_root"])
    total_bytes = sum(manifest["bytes"].values())
    cc_bytes = manifest["bytes"]["claude_code"]
    figures["corpus"] = {k: manifest[k] for k in ("bytes", "files", "lines", "sessions", "seed", "size_mb")}

    # 2. ccusage on the Claude Code part (before our live appends change the files).
    cc_report, cc_times, cc_error = None, [], ""
    if ccusage:
        print(f"bench: timing ccusage ({ccusage_version(ccusage)}) x{args.ccusage_runs} on {mb(cc_bytes)} of Claude Code ...", flush=True)
        cc_times, cc_report, cc_error = run_ccusage(ccusage, claude_root, args.ccusage_runs)

    base_config = {
        "sessions": {"window": "7d", "max_series": 500},
        "timezone": "UTC",
        "budgets": [{"name": "monthly", "period": "month", "limit_usd": 500}],
    }

    # 3. Cold scan of the Claude Code part alone: the same files ccusage reads.
    cc_only_seconds = None
    if ccusage:
        print("bench: cold scan of the Claude Code part only ...", flush=True)
        only = Exporter(exporter_binary, work / "run-claude-code",
                        {**base_config, "sources": {"claude_code": {"roots": [str(claude_root)]}, "openclaw": {"roots": []}}})
        cc_only_seconds = only.start()
        figures["cc_only_memory"] = only.memory()
        only.stop()

    # 4. The whole corpus: cold scan, totals, scrapes, live appends, memory, restarts.
    print("bench: cold scan of the whole corpus ...", flush=True)
    full = Exporter(exporter_binary, work / "run-full",
                    {**base_config, "sources": {"claude_code": {"roots": [str(claude_root)]}, "openclaw": {"roots": [str(openclaw_root)]}}})
    cold_seconds = full.start()
    memory_after_scan = full.memory()
    samples = parse_samples(full.metrics().decode())
    ours_cc, ours_oc = our_totals(samples, "claude_code"), our_totals(samples, "openclaw")

    print(f"bench: {args.scrapes} scrapes of /metrics ...", flush=True)
    scrape_times, body = measure_scrapes(full, args.scrapes)
    text = body.decode()
    session_series = sum(1 for line in text.splitlines() if line.startswith("claude_usage_session_last_activity_timestamp_seconds{"))
    all_samples = sum(1 for line in text.splitlines() if line and not line.startswith("#"))

    transcript = Path(manifest["live_transcript"])
    original_size = transcript.stat().st_size
    print(f"bench: {args.appends} live appends to {transcript.name} ...", flush=True)
    try:
        latencies, timeouts = measure_appends(full, transcript, args.appends)
        memory_end = full.memory()
        stop_seconds = full.stop()
        print(f"bench: {args.restarts} restarts ...", flush=True)
        restart_times = []
        for _ in range(args.restarts):
            restart_times.append(full.start())
            restarted_memory = full.memory()
            full.stop()
    finally:
        if full.process is not None:
            full.stop()
        with open(transcript, "r+b") as handle:  # leave the corpus as generated, so it can be reused
            handle.truncate(original_size)

    # 5. The figures.
    peak_rss = max(memory_after_scan["VmHWM"], memory_end["VmHWM"], restarted_memory["VmHWM"])
    scrape_median = statistics.median(scrape_times)
    p50, p95 = percentile(latencies, 0.50), percentile(latencies, 0.95)
    restart_median = statistics.median(restart_times)
    cc_median = statistics.median(cc_times) if cc_times and cc_report else None
    ratio = cc_only_seconds / cc_median if cc_median and cc_only_seconds else None

    expected = manifest["expected"]
    truth_ok = (
        ours_cc["tokens"] == expected["claude_code"]["tokens"] and ours_cc["requests"] == expected["claude_code"]["requests"]
        and ours_oc["tokens"] == expected["openclaw"]["tokens"] and ours_oc["requests"] == expected["openclaw"]["requests"]
        and math.isclose(ours_oc["cost_usd"], expected["openclaw"]["cost_usd"], rel_tol=1e-6)
    )
    agree, comparison = (None, []) if cc_report is None else compare_with_ccusage(ours_cc, cc_report)

    corpus_sessions = sum(manifest["sessions"].values())
    corpus_line = (
        f"corpus: {mb(total_bytes)} = Claude Code {mb(cc_bytes)} in {manifest['files']['claude_code']} files "
        f"({manifest['sessions']['claude_code']} sessions, {manifest['lines']['claude_code']:,} lines) + OpenClaw "
        f"{mb(manifest['bytes']['openclaw'])} in {manifest['files']['openclaw']} files "
        f"({manifest['sessions']['openclaw']} sessions, {manifest['lines']['openclaw']:,} lines); seed {manifest['seed']}\n"
        f"        {total_bytes / sum(manifest['lines'].values()) / 1000:.1f} KB per line on average; the Claude Code lines "
        f"that carry usage are {manifest.get('claude_code_usage_line_chars', 0) / cc_bytes:.0%} of its bytes"
    )
    rows = [
        ("cold scan, whole corpus (start -> /-/ready)", f"{cold_seconds:.2f} s = {total_bytes / 1e6 / cold_seconds:.1f} MB/s", "", ""),
    ]
    if cc_only_seconds is not None:
        rows.append(("cold scan, Claude Code part only", f"{cc_only_seconds:.2f} s = {cc_bytes / 1e6 / cc_only_seconds:.1f} MB/s", "", ""))
    if cc_median is not None:
        rows.append((f"ccusage claude session --json --offline (median of {len(cc_times)})",
                     f"{cc_median:.2f} s = {cc_bytes / 1e6 / cc_median:.1f} MB/s", "", ""))
        rows.append(("cold scan ratio, ours / ccusage (same files)", f"{ratio:.2f}x", "<= 1.5x", verdict(ratio <= 1.5)))
    else:
        rows.append(("cold scan ratio, ours / ccusage", "ccusage not run" + (f" ({cc_error})" if cc_error else ""), "<= 1.5x", "n/a"))
    rows += [
        (f"restart to ready (median of {len(restart_times)})", f"{restart_median:.2f} s (max {max(restart_times):.2f} s)", "< 1 s",
         verdict(restart_median < 1.0)),
        (f"append -> visible, p50 / p95 ({len(latencies)} appends)",
         f"{p50 * 1000:.0f} / {p95 * 1000:.0f} ms" + (f", {timeouts} timed out" if timeouts else ""), "p95 < 500 ms",
         verdict(p95 < 0.5 and not timeouts)),
        (f"/metrics scrape (median of {len(scrape_times)}; {session_series} sessions, {all_samples} samples, {len(body) // 1024} KiB)",
         f"{scrape_median * 1000:.1f} ms (max {max(scrape_times) * 1000:.1f} ms)", "< 100 ms", verdict(scrape_median < 0.1)),
        ("peak RSS (VmHWM)", f"{peak_rss / 2**20:.0f} MiB (after scan {memory_after_scan['VmHWM'] / 2**20:.0f}, "
         f"end {memory_end['VmHWM'] / 2**20:.0f}, restarted {restarted_memory['VmHWM'] / 2**20:.0f})", "< 300 MB",
         verdict(peak_rss < 300 * 2**20)),
        ("session series exposed (sessions active within 7 days)", f"{session_series} of {corpus_sessions} sessions", ">= 500",
         verdict(session_series >= 500) if corpus_sessions >= 500 else "n/a"),
        ("totals vs ccusage (Claude Code)", "agree" if agree else ("differ" if agree is False else "ccusage not run"),
         "tokens equal, cost +-0.01%", verdict(agree)),
        ("totals vs the generator's own count", "agree" if truth_ok else "differ", "tokens, requests equal", verdict(truth_ok)),
    ]

    print()
    print("claude-usage-exporter benchmark")
    print(corpus_line)
    print(f"machine: {os.cpu_count()} CPUs, load average {figures['load_average_at_start']} at the start and {load_average()} "
          f"at the end (other work on the machine slows every figure)")
    print(f"exporter: {exporter_binary}; stop on SIGTERM took {stop_seconds:.2f} s")
    print()
    print_table(rows)
    print()
    print("Claude Code totals           ours                 ccusage              generator")
    cc_totals = (cc_report or {}).get("totals", {})
    exp_cc = expected["claude_code"]
    lines = [
        ("input", ours_cc["tokens"]["input"], cc_totals.get("inputTokens"), exp_cc["tokens"]["input"]),
        ("output", ours_cc["tokens"]["output"], cc_totals.get("outputTokens"), exp_cc["tokens"]["output"]),
        ("cache write 5m+1h", ours_cc["tokens"]["cache_write_5m"] + ours_cc["tokens"]["cache_write_1h"],
         cc_totals.get("cacheCreationTokens"), exp_cc["tokens"]["cache_write_5m"] + exp_cc["tokens"]["cache_write_1h"]),
        ("cache read", ours_cc["tokens"]["cache_read"], cc_totals.get("cacheReadTokens"), exp_cc["tokens"]["cache_read"]),
        ("requests", ours_cc["requests"], None, exp_cc["requests"]),
    ]
    for name, a, b, c in lines:
        print(f"  {name:<26} {a:>18,}   {'-' if b is None else f'{b:,}':>18}   {c:>18,}")
    print(f"  {'cost USD':<26} {ours_cc['cost_usd']:>18,.4f}   "
          f"{'-' if not cc_totals else format(cc_totals.get('totalCost', 0.0), ',.4f'):>18}   {'(not computed)':>18}")
    exp_oc = expected["openclaw"]
    print(f"OpenClaw totals: ours {sum(ours_oc['tokens'].values()):,} tokens, {ours_oc['requests']:,} requests, "
          f"${ours_oc['cost_usd']:,.4f}; generator {sum(exp_oc['tokens'].values()):,} tokens, {exp_oc['requests']:,} requests, "
          f"${exp_oc['cost_usd']:,.4f}")
    if agree is False:
        for name, a, b, ok in comparison:
            if not ok:
                print(f"  ccusage differs on {name}: ours {a}, ccusage {b}")
        for model, values in sorted(ours_cc["by_model"].items()):
            print(f"  ours {model}: {values}")

    figures.update(
        cold_scan_seconds=cold_seconds, cold_scan_mb_per_s=total_bytes / 1e6 / cold_seconds,
        cold_scan_claude_code_only_seconds=cc_only_seconds, ccusage_seconds=cc_times, ccusage_median_seconds=cc_median,
        ratio_vs_ccusage=ratio, restart_seconds=restart_times, append_latency_seconds=latencies,
        append_p50_seconds=p50, append_p95_seconds=p95, append_timeouts=timeouts, scrape_seconds=scrape_times,
        scrape_median_seconds=scrape_median, session_series=session_series, samples=all_samples, metrics_bytes=len(body),
        memory_after_scan=memory_after_scan, memory_end=memory_end, memory_restarted=restarted_memory, peak_rss_bytes=peak_rss,
        totals_ours={"claude_code": ours_cc, "openclaw": ours_oc}, totals_ccusage=cc_totals or None, expected=expected,
        agree_with_ccusage=agree, agree_with_generator=truth_ok, stop_seconds=stop_seconds,
    )
    if args.json_out:
        args.json_out.write_text(json.dumps(figures, indent=2))
        print(f"\nfigures written to {args.json_out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
