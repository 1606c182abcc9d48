"""Copies of the OpenClaw SQLite fixtures, and a second connection that writes them the way OpenClaw
does (formats.md §3): the next seq, a bumped session_windows.transcript_updated_at, zstd rows of
1 KiB and more, rewrites under a new generation, deletion into a .zst archive."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import zstandard

from tests.support.transcripts import FIXTURES

SQLITE_FIXTURES = FIXTURES / "openclaw-sqlite"
DATABASE = "agents/main/agent/openclaw-agent.sqlite"
SESSIONS = "agents/main/sessions"
LIVE_SESSION = "efad855f-3ac3-41e2-b8db-dbfde6ddc4c0"  # 2026.9.6-live: the version-4 session
IMPORTED_SESSION = "8f4c2d1e-5b7a-4c3e-9d21-6a0b9e3f7c15"  # the Clawdbot fixture, imported
ZSTD_ROW_BYTES = 1024  # OpenClaw 2026.9 stores rows of this size and more as zstd

# formats.md §4: (requests, input, output, cache_read, cache_write, cost)
LIVE_TOTALS = (7, 632, 765, 27_862, 25_363, 0.08174995)
IMPORT_TOTALS = (4, 20, 627, 24_862, 25_363, 0.07694395)


def copy_sqlite_fixture(name: str, destination: Path) -> Path:
    """A writable copy of fixtures/openclaw-sqlite/<name> (a state dir); returns its root."""
    shutil.copytree(SQLITE_FIXTURES / name, destination)
    for path in (destination, *destination.rglob("*")):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return destination


def octet_length(value: object) -> int | None:
    """SQLite 3.43's octet_length(), which OpenClaw's CHECK constraints call."""
    if value is None:
        return None
    if isinstance(value, str):
        return len(value.encode("utf-8"))
    if isinstance(value, (bytes, memoryview)):
        return len(value)
    return len(str(value).encode("utf-8"))


@dataclass(frozen=True)
class Turn:
    entry_id: str
    seq: int
    tokens: tuple[int, int, int, int]  # input, output, cacheRead, cacheWrite
    cost: float


class OpenClawWriter:
    """A second connection to an agent database, writing it as OpenClaw does."""

    def __init__(self, path: Path):
        self.path = path
        self.db = sqlite3.connect(path, timeout=10, isolation_level=None)
        self.db.create_function("octet_length", 1, octet_length, deterministic=True)
        assert self.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"

    def close(self) -> None:
        self.db.close()

    def checkpoint(self) -> tuple[int, int, int]:
        """PRAGMA wal_checkpoint(TRUNCATE): (busy, wal frames, frames checkpointed)."""
        return tuple(self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone())

    def append_turn(
        self,
        session_id: str = LIVE_SESSION,
        *,
        tokens: tuple[int, int, int, int] = (300, 40, 1000, 0),
        pad_to: int = 0,
        model: str = "claude-haiku-4-5",
    ) -> Turn:
        """One assistant turn at the next seq (a zstd row when it is 1 KiB or more)."""
        now = time.time()
        entry_id = str(uuid.uuid4())
        input_, output, cache_read, cache_write = tokens
        rates = (1e-6, 5e-6, 0.1e-6, 1.25e-6)  # Claude Haiku 4.5 (formats.md §5)
        parts = [n * r for n, r in zip(tokens, rates)]
        entry = {
            "type": "message",
            "id": entry_id,
            "parentId": None,
            "timestamp": datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            "message": {
                "role": "assistant",
                "content": [{"type": "text", "text": "x" * pad_to}],
                "api": "anthropic-messages",
                "provider": "anthropic",
                "model": model,
                "usage": {
                    "input": input_,
                    "output": output,
                    "cacheRead": cache_read,
                    "cacheWrite": cache_write,
                    "totalTokens": sum(tokens),
                    "cost": {"input": parts[0], "output": parts[1], "cacheRead": parts[2], "cacheWrite": parts[3], "total": sum(parts)},
                },
                "stopReason": "stop",
                "timestamp": int(now * 1000),
            },
        }
        line = json.dumps(entry, separators=(",", ":"))
        self.db.execute("BEGIN IMMEDIATE")
        seq = self.db.execute("SELECT coalesce(max(seq), -1) + 1 FROM transcript_events WHERE session_id = ?", (session_id,)).fetchone()[0]
        created = int(now * 1000)
        if len(line.encode()) >= ZSTD_ROW_BYTES:
            data = line.encode()
            self.db.execute(
                "INSERT INTO transcript_events (session_id, seq, event_json, created_at, event_zstd, event_utf8_bytes, navigation_json)"
                " VALUES (?, ?, NULL, ?, ?, ?, ?)",
                (session_id, seq, created, zstandard.ZstdCompressor().compress(data), len(data), _navigation(entry_id, len(data))),
            )
        else:
            self.db.execute(
                "INSERT INTO transcript_events (session_id, seq, event_json, created_at) VALUES (?, ?, ?, ?)",
                (session_id, seq, line, created),
            )
        self.db.execute("UPDATE session_windows SET transcript_updated_at = ? WHERE session_id = ?", (created, session_id))
        self.db.execute("COMMIT")
        return Turn(entry_id, seq, tokens, sum(parts))

    def lines(self, session_id: str) -> list[bytes]:
        """A session's rows as JSONL lines, zstd rows decoded."""
        lines = []
        for event_json, event_zstd in self.db.execute(
            "SELECT event_json, event_zstd FROM transcript_events WHERE session_id = ? ORDER BY seq", (session_id,)
        ):
            lines.append(event_json.encode() if event_json is not None else zstandard.ZstdDecompressor().decompress(event_zstd))
        return lines

    def rewrite(self, session_id: str, keep_last: int) -> str:
        """`sessions compact --max-lines`: keep the header and the last rows, renumbered from 0,
        under a new generation. Returns the generation."""
        generation = uuid.uuid4().hex
        self.db.execute("BEGIN IMMEDIATE")
        rows = self.db.execute(
            "SELECT seq, event_json, created_at, event_zstd, event_utf8_bytes, navigation_json FROM transcript_events"
            " WHERE session_id = ? ORDER BY seq",
            (session_id,),
        ).fetchall()
        kept = [rows[0], *rows[-keep_last:]]
        self.db.execute("DELETE FROM transcript_event_identities WHERE session_id = ?", (session_id,))
        self.db.execute("DELETE FROM transcript_events WHERE session_id = ?", (session_id,))
        for seq, (_, *values) in enumerate(kept):
            self.db.execute(
                "INSERT INTO transcript_events (session_id, seq, event_json, created_at, event_zstd, event_utf8_bytes, navigation_json)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (session_id, seq, *values),
            )
        self.db.execute(
            "UPDATE transcript_rewrite_watermarks SET generation = ?, updated_at = ? WHERE session_id = ?",
            (generation, int(time.time() * 1000), session_id),
        )
        self.db.execute("COMMIT")
        return generation

    def delete_session(self, session_id: str, sessions_dir: Path) -> Path:
        """Archive a session (blob + a .zst file that appears as a hard link), then delete its rows."""
        data = b"".join(line + b"\n" for line in self.lines(session_id))
        blob = zstandard.ZstdCompressor(write_content_size=False).compress(data)
        generation, session_key = self.db.execute(
            "SELECT r.generation, w.session_key FROM transcript_rewrite_watermarks AS r"
            " JOIN session_windows AS w USING (session_id) WHERE session_id = ?",
            (session_id,),
        ).fetchone()
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H-%M-%S.%f")[:-3] + "Z"
        name = f"{session_id}.jsonl.deleted.{stamp}.{generation}.zst"
        now = int(time.time() * 1000)
        self.db.execute("BEGIN IMMEDIATE")
        self.db.execute(
            "INSERT INTO session_transcript_archives (session_id, generation, session_key, reason, encoding, archive_blob,"
            " archive_sha256, archive_name, created_at) VALUES (?, ?, ?, 'deleted', 'zstd', ?, ?, ?, ?)",
            (session_id, generation, session_key, blob, hashlib.sha256(blob).hexdigest(), name, now),
        )
        self.db.execute("COMMIT")
        staging = sessions_dir.parent / f".{name}.tmp"  # outside sessions/: only the link shows up there
        staging.write_bytes(blob)
        archive = sessions_dir / name
        os.link(staging, archive)
        staging.unlink()
        self.db.execute("BEGIN IMMEDIATE")
        self.db.execute("DELETE FROM transcript_event_identities WHERE session_id = ?", (session_id,))
        self.db.execute("DELETE FROM transcript_events WHERE session_id = ?", (session_id,))
        self.db.execute("DELETE FROM transcript_rewrite_watermarks WHERE session_id = ?", (session_id,))
        self.db.execute("UPDATE session_transcript_archives SET published_at = ? WHERE session_id = ?", (now, session_id))
        self.db.execute("COMMIT")
        return archive


def _navigation(entry_id: str, size: int) -> str:
    """The smallest navigation_json OpenClaw's CHECK on zstd rows accepts."""
    entry = {"type": "message", "id": entry_id}
    return json.dumps(
        {
            "version": 1,
            "report": {"kind": "canonical", "hasParentId": False, "entry": entry},
            "navigation": {**entry, "message": {"role": "assistant"}},
            "reset": {**entry, "message": {"role": "assistant"}},
            "model": {**entry, "message": {"role": "assistant"}},
            "modelBytes": size,
            "modelWithoutCheckpointBytes": size,
            "withoutCustomDataBytes": size,
        },
        separators=(",", ":"),
    )
