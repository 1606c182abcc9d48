"""OpenClaw 2026.8 and later: per-agent SQLite transcripts (formats.md §3). Pure functions only.

A row of `transcript_events` is one JSONL line of formats.md §2, stored as text (`event_json`) or,
from schema 23, as one zstd frame (`event_zstd`, with `event_utf8_bytes` its decoded length).
Deleted sessions are kept as zstd archives (a `.zst` file and a `session_transcript_archives`
blob) holding the whole JSONL transcript. Every entry becomes a UsageEvent through
`openclaw_jsonl.event_from_entry`, so the dedup key is the JSONL one and an entry seen as a JSONL
line, an imported row, a live row and an archive line counts once.

The I/O (connections, read transactions, change detection) lives in `sqlite_reader`. The file
names of the `.zst` archives and of the JSONL files `doctor --fix` moved away are rules of the
`openclaw` FileSource (`openclaw_jsonl.classify`); the ingest loop reads the archives whole
through `ZstdLines`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Iterator

import zstandard

from ..events import ParseError, UsageEvent
from ..lines import LineSplitter
from . import FileContext, FileKind, openclaw_jsonl

DATABASE_NAME = "openclaw-agent.sqlite"
REGISTRY_PARTS = ("state", "openclaw.sqlite")  # below a state dir: the agent_databases registry

# PRAGMA user_version of the releases whose schema this module was written against.
KNOWN_SCHEMAS = {19: "2026.8.1", 23: "2026.9.6"}
NEWEST_KNOWN_SCHEMA = max(KNOWN_SCHEMAS)
BASE_COLUMNS = frozenset({"session_id", "seq", "event_json"})
ZSTD_COLUMNS = frozenset({"event_zstd", "event_utf8_bytes"})

ZSTD_READ_BYTES = 64 * 1024


# -- schema --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SchemaPlan:
    """How to read one database, decided from its user_version and the columns it has."""

    version: int
    readable: bool
    known: bool  # a version this module was written against
    zstd: bool  # transcript_events has event_zstd / event_utf8_bytes
    windows: bool  # session_windows(session_id, session_key): session names and the session list
    watermarks: bool  # transcript_rewrite_watermarks(session_id, generation)
    archives: bool  # session_transcript_archives(session_id, generation, encoding, archive_blob)
    missing: tuple[str, ...] = ()  # transcript_events columns an unreadable schema lacks


def schema_plan(version: int, columns: dict[str, frozenset[str]]) -> SchemaPlan:
    """`columns`: table name -> its column names, for the tables this module reads.

    A known version needs only what it is known to have. An unknown version is read when
    `transcript_events` has every column the newest known schema reads (an older unknown one: the
    text columns, plus the zstd ones if it has them); otherwise it is unsupported.
    """
    events = columns.get("transcript_events", frozenset())
    needed = BASE_COLUMNS | (ZSTD_COLUMNS if version > NEWEST_KNOWN_SCHEMA else frozenset())
    missing = tuple(sorted(needed - events))
    windows = columns.get("session_windows", frozenset())
    watermarks = columns.get("transcript_rewrite_watermarks", frozenset())
    archives = columns.get("session_transcript_archives", frozenset())
    return SchemaPlan(
        version=version,
        readable=not missing,
        known=version in KNOWN_SCHEMAS,
        zstd=ZSTD_COLUMNS <= events,
        windows={"session_id", "session_key"} <= windows,
        watermarks={"session_id", "generation"} <= watermarks,
        archives={"session_id", "generation", "encoding", "archive_blob"} <= archives,
        missing=missing,
    )


# -- rows ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TranscriptRow:
    """One row of transcript_events, as stored."""

    session_id: str
    seq: int
    event_json: bytes | str | None  # bytes when the connection's text_factory is bytes
    event_zstd: bytes | None = None
    event_utf8_bytes: int | None = None


def decode_row(row: TranscriptRow, max_bytes: int) -> bytes:
    """The JSONL line a row stores (UTF-8, no newline)."""
    if row.event_json is not None:
        line = row.event_json if isinstance(row.event_json, bytes) else row.event_json.encode("utf-8", "surrogatepass")
        if len(line) > max_bytes:
            raise ParseError("line_too_long", f"{len(line)} bytes")
        return line
    if row.event_zstd is None:
        raise ParseError("invalid_record", "neither event_json nor event_zstd")
    size = row.event_utf8_bytes
    if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
        raise ParseError("invalid_record", "event_zstd without a positive event_utf8_bytes")
    if size > max_bytes:
        raise ParseError("line_too_long", f"{size} bytes")
    try:
        line = zstandard.ZstdDecompressor().decompress(bytes(row.event_zstd), max_output_size=size)
    except zstandard.ZstdError as error:
        raise ParseError("decode_error", f"event_zstd: {error}") from None
    if len(line) != size:
        raise ParseError("decode_error", f"event_zstd decoded to {len(line)} bytes, not {size}")
    return line


def event_from_row(row: TranscriptRow, agent: str, max_bytes: int) -> UsageEvent | None:
    """A row is one JSONL line of section 2: parsed exactly as the JSONL source parses it."""
    return event_from_line(decode_row(row, max_bytes), agent, row.session_id)


def event_from_line(line: bytes, agent: str, session: str) -> UsageEvent | None:
    """One line of an archive (the JSONL of a whole session) or of a decoded row."""
    return openclaw_jsonl.parse_line(line, FileContext(FileKind.TRANSCRIPT, agent=agent, session=session))


# -- archives ------------------------------------------------------------------------------


class ZstdLines:
    """The complete lines of a zstd stream (one or more frames, with or without a content size).

    Iterating yields each non-empty line; a line longer than `max_line_bytes` is dropped and
    counted in `too_long`. A stream that is not zstd, is corrupt or stops inside a frame raises
    ParseError("decode_error") after the complete lines before the damage were yielded (a partial
    last line is never yielded). `source` is any binary stream: a BytesIO of a blob, an open file.
    """

    def __init__(self, source: BinaryIO, max_line_bytes: int, max_total_bytes: int = 1 << 32):
        self.source = source
        self.max_line_bytes = max_line_bytes
        self.max_total_bytes = max_total_bytes
        self.too_long = 0
        self.decoded_bytes = 0

    def __iter__(self) -> Iterator[bytes]:
        splitter = LineSplitter(self.max_line_bytes)
        try:
            for chunk in self._decoded():
                yield from splitter.feed(chunk)
            yield from splitter.finish()  # the frame ended, so a last line without a newline is complete
        finally:
            self.too_long = splitter.too_long

    def _decoded(self) -> Iterator[bytes]:
        decompressor = zstandard.ZstdDecompressor()
        frame = decompressor.decompressobj()
        started = False  # inside a frame that has not ended
        seen_frame = False
        while True:
            data = self.source.read(ZSTD_READ_BYTES)
            if not data:
                break
            while data:
                try:
                    out = frame.decompress(data)
                except zstandard.ZstdError as error:
                    raise ParseError("decode_error", str(error)) from None
                started = True
                self.decoded_bytes += len(out)
                if self.decoded_bytes > self.max_total_bytes:
                    raise ParseError("decode_error", f"decodes to more than {self.max_total_bytes} bytes")
                if out:
                    yield out
                if frame.eof:  # a frame ended; what follows it (if anything) is the next frame
                    data = frame.unused_data
                    frame = decompressor.decompressobj()
                    started, seen_frame = False, True
                else:
                    data = b""
        if started:
            raise ParseError("decode_error", "the stream ends inside a zstd frame")
        if not seen_frame:
            raise ParseError("decode_error", "empty zstd stream")


# -- where the files are -------------------------------------------------------------------

_LOCK_DATABASE = re.compile(r"\.(?:generation-lock|generation-writer|reindex-lock)\.sqlite(?:-wal|-shm|-journal)?$")


@dataclass(frozen=True, slots=True)
class DatabaseFile:
    """What a path below a state dir is to the SQLite source."""

    database: Path | None  # the database to check (for its -wal too); None: nothing to read
    agent: str  # "" for the registry
    registry: bool = False


def database_file(path: Path, root: Path) -> DatabaseFile | None:
    """The role of a changed file: an agent database (or its WAL), the registry, or something the
    reader ignores (its -shm, OpenClaw's lock databases); None when it is not a database file."""
    try:
        parts = path.relative_to(root).parts
    except ValueError:
        return None
    if len(parts) == 2 and parts[0] == REGISTRY_PARTS[0] and parts[1].startswith(REGISTRY_PARTS[1]):
        suffix = parts[1][len(REGISTRY_PARTS[1]) :]
        if suffix in ("", "-wal"):
            return DatabaseFile(root.joinpath(*REGISTRY_PARTS), agent="", registry=True)
        return DatabaseFile(None, agent="") if suffix in ("-shm", "-journal") else None
    if len(parts) != 4 or parts[0] != "agents" or parts[2] != "agent" or not parts[3].startswith(DATABASE_NAME):
        return None
    suffix = parts[3][len(DATABASE_NAME) :]
    if suffix in ("", "-wal"):
        return DatabaseFile(path.parent / DATABASE_NAME, agent=parts[1])
    if suffix in ("-shm", "-journal") or _LOCK_DATABASE.search(parts[3]):
        return DatabaseFile(None, agent=parts[1])
    return None


def registry_path(root: Path, value: Any) -> Path | None:
    """A `path` of the agent_databases registry: relative to the state dir, or absolute."""
    if not isinstance(value, str) or not value or "\x00" in value:
        return None
    path = Path(value).expanduser()
    return path if path.is_absolute() else root / path
