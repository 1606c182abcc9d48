"""Claude Code transcripts: <root>/projects/<project-slug>/**/*.jsonl (formats.md §1)."""

from __future__ import annotations

import hashlib
import posixpath
from functools import lru_cache
from pathlib import Path
from typing import Iterable

from ..events import ParseError, TokenCounts, UsageEvent
from . import FileContext, FileKind, FileSource
from .common import iso_timestamp, label_safe, load_object, looks_like_object, optional_cost, token_count

NAME = "claude_code"
SYNTHETIC_MODEL = "<synthetic>"


def watch_dirs(root: Path) -> Iterable[Path]:
    return [root / "projects"]


def classify(path: Path, root: Path) -> FileContext | None:
    try:
        relative = path.relative_to(root / "projects")
    except ValueError:
        return None
    if len(relative.parts) < 2 or path.suffix != ".jsonl":
        return None
    # Subagent files carry their parent's sessionId in every line; the file name is only a fallback.
    return FileContext(FileKind.TRANSCRIPT, agent="", session=path.stem)


def parse_line(line: bytes, context: FileContext) -> UsageEvent | None:
    # Most bytes are user turns and tool results; only assistant lines carry "usage".
    if b'"usage"' not in line:
        if line.strip() and not looks_like_object(line):
            raise ParseError("invalid_json", "not a JSON object line")
        return None
    record = load_object(line)
    if record.get("type") != "assistant":
        return None
    message = record.get("message")
    if not isinstance(message, dict):
        return None
    usage = message.get("usage")
    if not isinstance(usage, dict):
        return None
    model = message.get("model")
    if model == SYNTHETIC_MODEL:
        return None  # an API error written by Claude Code itself: no request was billed

    cache_write = token_count(usage, "cache_creation_input_tokens")
    split = usage.get("cache_creation")
    if isinstance(split, dict) and split:
        write_1h = token_count(split, "ephemeral_1h_input_tokens")
        write_5m = token_count(split, "ephemeral_5m_input_tokens")
        write_5m += max(0, cache_write - write_5m - write_1h)  # keep the total when the split undercounts
    else:
        write_1h, write_5m = 0, cache_write
    tokens = TokenCounts(
        input=token_count(usage, "input_tokens"),
        output=token_count(usage, "output_tokens"),
        cache_read=token_count(usage, "cache_read_input_tokens"),
        cache_write_5m=write_5m,
        cache_write_1h=write_1h,
    )

    if record.get("isApiErrorMessage") is True and tokens.total == 0:
        return None

    session = label_safe(record.get("sessionId"), context.session)
    cwd = record.get("cwd")
    agent = label_safe(_project(cwd) if isinstance(cwd, str) else None, "unknown")
    return UsageEvent(
        source=NAME,
        dedup_key=_dedup_key(record, message, session, line),
        timestamp=iso_timestamp(record.get("timestamp"), "timestamp"),
        agent=agent,
        session=session,
        provider="anthropic",
        model=label_safe(model, "unknown"),
        tokens=tokens,
        recorded_cost_usd=optional_cost(record.get("costUSD")),
    )


@lru_cache(maxsize=1024)
def _project(cwd: str) -> str:
    return posixpath.basename(cwd.rstrip("/"))


def _dedup_key(record: dict, message: dict, session: str, line: bytes) -> str:
    # One response is streamed as several lines sharing message.id and requestId (formats.md §1).
    message_id = message.get("id")
    if isinstance(message_id, str) and message_id:
        request_id = record.get("requestId")
        if isinstance(request_id, str) and request_id:
            return f"cc:{message_id}:{request_id}"
        return f"cc:{message_id}:session:{session}"
    line_id = record.get("uuid")
    if isinstance(line_id, str) and line_id:
        return f"cc:line:{line_id}"
    return "cc:sha1:" + hashlib.sha1(line.strip()).hexdigest()


SOURCE = FileSource(
    name=NAME,
    description="Claude Code",
    watch_dirs=watch_dirs,
    classify=classify,
    parse_line=parse_line,
)
