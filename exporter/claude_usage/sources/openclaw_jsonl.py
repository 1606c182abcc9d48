"""Clawdbot / Moltbot / OpenClaw JSONL transcripts, up to 2026.7 (formats.md §2).

<root>/agents/<agentId>/sessions/<sessionId>.jsonl, plus the renamed archives of deleted and reset
sessions. The same entries reappear in forks, compaction rewrites and imports; the dedup key
(agent, entry id, message timestamp, provider/model) makes each count once.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterable

import orjson

from ..events import ParseError, SessionName, TokenCounts, UsageEvent
from . import FileContext, FileKind, FileSource
from .common import iso_timestamp, label_safe, load_object, looks_like_object, optional_cost, token_count

NAME = "openclaw"

# <sid>.jsonl, <sid>-topic-<thread>.jsonl, and <sid>.jsonl.(deleted|reset).<timestamp>.
# Not: .bak.<ts> (a copy taken before compaction), .lock, checkpoints, trajectories, and the
# SQLite era's .deleted.<ts>.<generation>.zst archives (matched by _ZSTD_ARCHIVE instead).
_TRANSCRIPT = re.compile(r"^(?P<session>.+?)\.jsonl(?:\.(?:deleted|reset)\.[^/]+)?$")
_NOT_TRANSCRIPT = re.compile(r"\.checkpoint\..*\.jsonl$|\.trajectory\.jsonl$|\.zst$|\.lock$|\.jsonl\.bak\.")
# OpenClaw 2026.8+ (formats.md §3): a deleted session's whole JSONL as zstd frames,
# <sid>.jsonl.deleted.<ts>.<generation>.zst; and the JSONL files `doctor --fix` imported into SQLite,
# moved to session-sqlite-import-archive/<session-key slug>.<sid>.jsonl.imported-<ms>[.<n>].
_ZSTD_ARCHIVE = re.compile(r"^(?P<session>.+?)\.jsonl\.(?:deleted|reset)\.[^/]+\.zst$")
_IMPORTED = re.compile(r"^(?:.*\.)?(?P<session>[^.]+)\.jsonl(?:\.[^/]*)?$")
_NOT_IMPORTED = re.compile(r"\.checkpoint\.|\.trajectory\.jsonl|\.jsonl\.bak\.|\.zst$|\.lock$|\.json$")
IMPORT_ARCHIVE_DIR = "session-sqlite-import-archive"
_MIRROR_PROVIDERS = {"clawdbot", "moltbot", "openclaw"}


def watch_dirs(root: Path) -> Iterable[Path]:
    # OpenClaw 2026.8+'s registry of agent databases (read by sqlite_reader), where there is one.
    registry = root / "state"
    return [root / "agents", registry] if (registry / "openclaw.sqlite").is_file() else [root / "agents"]


def classify(path: Path, root: Path) -> FileContext | None:
    try:
        agent, folder, *rest = path.relative_to(root / "agents").parts
    except ValueError:
        return None
    if folder == IMPORT_ARCHIVE_DIR and len(rest) == 1:
        match = _IMPORTED.match(rest[0])
        if match is None or _NOT_IMPORTED.search(rest[0]):
            return None
        return FileContext(FileKind.TRANSCRIPT, agent=agent, session=match["session"])
    if folder != "sessions" or len(rest) != 1:
        return None
    name = rest[0]
    if archive := _ZSTD_ARCHIVE.match(name):
        return FileContext(FileKind.ZSTD_TRANSCRIPT, agent=agent, session=archive["session"])
    if name == "sessions.json":
        return FileContext(FileKind.SESSION_INDEX, agent=agent, session="")
    match = _TRANSCRIPT.match(name)
    if match is None or _NOT_TRANSCRIPT.search(name):
        return None
    return FileContext(FileKind.TRANSCRIPT, agent=agent, session=match["session"])


def parse_line(line: bytes, context: FileContext) -> UsageEvent | None:
    if b'"usage"' not in line:
        if line.strip() and not looks_like_object(line):
            raise ParseError("invalid_json", "not a JSON object line")
        return None
    return event_from_entry(load_object(line), agent=context.agent, session=context.session)


def event_from_entry(entry: dict[str, Any], agent: str, session: str) -> UsageEvent | None:
    """One transcript entry (a JSONL line or a SQLite row) to a usage event, or None."""
    if entry.get("type") != "message":
        return None
    message = entry.get("message")
    if not isinstance(message, dict) or message.get("role") != "assistant":
        return None
    usage = message.get("usage")
    if not isinstance(usage, dict):
        return None
    provider = label_safe(message.get("provider"), "unknown")
    model = label_safe(message.get("model"), "unknown")

    cache_write = token_count(usage, "cacheWrite")
    write_1h = min(token_count(usage, "cacheWrite1h"), cache_write)
    tokens = TokenCounts(
        input=token_count(usage, "input"),
        output=token_count(usage, "output"),
        cache_read=token_count(usage, "cacheRead"),
        cache_write_5m=cache_write - write_1h,
        cache_write_1h=write_1h,
    )
    # Lines the agent writes itself (delivery mirrors, injected turns) were never sent to a model.
    if tokens.total == 0 and (provider in _MIRROR_PROVIDERS or message.get("stopReason") == "injected"):
        return None

    entry_id = entry.get("id")
    if not isinstance(entry_id, str) or not entry_id:
        raise ParseError("invalid_record", "message entry without an id")
    message_time = message.get("timestamp")
    if isinstance(message_time, (int, float)) and not isinstance(message_time, bool):
        timestamp = float(message_time) / 1000.0
        time_key = str(int(message_time))
    else:
        timestamp = iso_timestamp(entry.get("timestamp"), "timestamp")
        time_key = str(entry.get("timestamp"))
    cost = usage.get("cost")
    return UsageEvent(
        source=NAME,
        dedup_key=f"oc:{agent}:{entry_id}:{time_key}:{provider}/{model}",
        timestamp=timestamp,
        agent=agent,
        session=session,
        provider=provider,
        model=model,
        tokens=tokens,
        recorded_cost_usd=optional_cost(cost.get("total")) if isinstance(cost, dict) else None,
    )


def parse_index(data: bytes, context: FileContext) -> list[SessionName]:
    """sessions.json: session key -> {sessionId, ...}; the key is the human name of the session."""
    try:
        index = orjson.loads(data)
    except orjson.JSONDecodeError as error:
        raise ParseError("invalid_json", f"at byte {error.pos}") from None
    if not isinstance(index, dict):
        raise ParseError("invalid_record", "sessions.json is not an object")
    names = []
    for key, entry in index.items():
        if isinstance(entry, dict):
            session_id = label_safe(entry.get("sessionId"), "")
            name = label_safe(key, "")
            if session_id and name:
                names.append(SessionName(NAME, session_id, name))
    return names


SOURCE = FileSource(
    name=NAME,
    description="Clawdbot / Moltbot / OpenClaw (JSONL)",
    watch_dirs=watch_dirs,
    classify=classify,
    parse_line=parse_line,
    parse_index=parse_index,
)
