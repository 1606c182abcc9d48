"""The ledger: every counted event once, under its dedup key, with the cursors that produced it.

A SQLite database in WAL mode in the state dir. Events, cursors and the change log are written in
one transaction, so a crash never leaves an event counted without its cursor or the reverse. The
change log (`changes`) is how totals move: each committed insert or supersede appends the
*difference* it made, and the serving process's aggregate follows the log. So a `report` run that
ingests into the same ledger while the exporter serves is seen by the exporter exactly once.
"""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterator, Sequence

from .events import PricedEvent, SessionName, TokenCounts, UsageEvent

SCHEMA_VERSION = 2
LEDGER_FILE = "ledger.sqlite"
_KEY_CHUNK = 500  # below SQLite's bound-parameter limit
# The eight columns every total over `events` is made of: five token sums, cost, requests, unpriced tokens.
TOTALS_SQL = (
    "sum(input), sum(output), sum(cache_read), sum(cache_write_5m), sum(cache_write_1h), sum(cost_usd), count(*),"
    " sum(CASE WHEN priced THEN 0 ELSE input+output+cache_read+cache_write_5m+cache_write_1h END)"
)

# Each entry migrates from version N (its index) to N + 1; never edit one that has shipped.
_MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE events (
        dedup_key TEXT PRIMARY KEY,
        source TEXT NOT NULL, agent TEXT NOT NULL, session TEXT NOT NULL,
        provider TEXT NOT NULL, model TEXT NOT NULL,
        ts REAL NOT NULL,
        input INTEGER NOT NULL, output INTEGER NOT NULL, cache_read INTEGER NOT NULL,
        cache_write_5m INTEGER NOT NULL, cache_write_1h INTEGER NOT NULL,
        cost_usd REAL NOT NULL,
        priced INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX events_by_time ON events (ts);
    CREATE TABLE changes (
        rev INTEGER PRIMARY KEY AUTOINCREMENT,
        source TEXT NOT NULL, agent TEXT NOT NULL, session TEXT NOT NULL, model TEXT NOT NULL,
        ts REAL NOT NULL,
        input INTEGER NOT NULL, output INTEGER NOT NULL, cache_read INTEGER NOT NULL,
        cache_write_5m INTEGER NOT NULL, cache_write_1h INTEGER NOT NULL,
        cost_usd REAL NOT NULL,
        requests INTEGER NOT NULL,
        priced INTEGER NOT NULL
    );
    CREATE TABLE file_cursors (
        path TEXT PRIMARY KEY,
        source TEXT NOT NULL,
        device INTEGER NOT NULL, inode INTEGER NOT NULL,
        offset INTEGER NOT NULL, size INTEGER NOT NULL,
        head_hash TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX file_cursors_by_inode ON file_cursors (device, inode);
    CREATE TABLE sessions (
        source TEXT NOT NULL, session TEXT NOT NULL,
        name TEXT NOT NULL,
        PRIMARY KEY (source, session)
    ) WITHOUT ROWID;
    """,
    # 2: OpenClaw 2026.8+ SQLite transcripts: how far each session's rows were read, and which
    # deletion archives stored in a database were read.
    """
    CREATE TABLE session_cursors (
        database_path TEXT NOT NULL, session_id TEXT NOT NULL,
        generation TEXT NOT NULL, last_seq INTEGER NOT NULL,
        PRIMARY KEY (database_path, session_id)
    ) WITHOUT ROWID;
    CREATE TABLE archive_cursors (
        database_path TEXT NOT NULL, session_id TEXT NOT NULL, generation TEXT NOT NULL,
        PRIMARY KEY (database_path, session_id, generation)
    ) WITHOUT ROWID;
    """,
)


class LedgerError(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class FileCursor:
    """How far a file has been read. `head_hash` tells a rewritten file from an appended one."""

    path: str
    source: str
    device: int
    inode: int
    offset: int
    size: int
    head_hash: str


@dataclass(frozen=True, slots=True)
class SessionCursor:
    """How far one session of an OpenClaw SQLite database was read: rows up to `last_seq` of the
    rewrite `generation` (a new generation is read again from seq 0)."""

    database_path: str
    session_id: str
    generation: str
    last_seq: int


@dataclass(frozen=True, slots=True)
class ArchiveCursor:
    """A session archive stored in an OpenClaw SQLite database (session_transcript_archives), read."""

    database_path: str
    session_id: str
    generation: str


@dataclass(frozen=True, slots=True)
class Change:
    """What one commit added to the totals for one event (a new event, or a larger duplicate)."""

    rev: int
    source: str
    agent: str
    session: str
    model: str
    timestamp: float
    tokens: TokenCounts
    cost_usd: float
    requests: int
    priced: bool


@dataclass
class Batch:
    """Everything one ingest step produced; committed in one transaction."""

    events: list[PricedEvent] = field(default_factory=list)
    cursors: list[FileCursor] = field(default_factory=list)
    forget_paths: list[str] = field(default_factory=list)
    session_names: list[SessionName] = field(default_factory=list)
    session_cursors: list[SessionCursor] = field(default_factory=list)
    archive_cursors: list[ArchiveCursor] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(
            self.events or self.cursors or self.forget_paths or self.session_names or self.session_cursors or self.archive_cursors
        )


@dataclass(frozen=True, slots=True)
class SessionTotal:
    """One (source, agent, session, model) row of the totals, as rebuilt at start-up."""

    source: str
    agent: str
    session: str
    model: str
    tokens: TokenCounts
    cost_usd: float
    requests: int
    unpriced_tokens: int
    last_timestamp: float


class Ledger:
    def __init__(self, state_dir: Path, timeout: float = 30.0):
        state_dir.mkdir(parents=True, exist_ok=True)
        self.path = state_dir / LEDGER_FILE
        # isolation_level=None: we issue BEGIN IMMEDIATE ourselves, so a writer takes the lock up front
        # and two processes (exporter and report) wait for each other instead of failing to upgrade.
        self._db = sqlite3.connect(self.path, timeout=timeout, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._migrate()

    def close(self) -> None:
        self._db.close()

    def _migrate(self) -> None:
        with self._transaction():
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise LedgerError(
                    f"{self.path}: ledger schema {version} is newer than this exporter knows ({SCHEMA_VERSION}); upgrade the exporter"
                )
            for step in range(version, SCHEMA_VERSION):
                for statement in _MIGRATIONS[step].split(";"):
                    if statement.strip():
                        self._db.execute(statement)
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # -- writing ---------------------------------------------------------------------------

    def commit(self, batch: Batch) -> int:
        """Store a batch; returns how many changes it made to the totals."""
        merged = _collapse(batch.events)
        with self._transaction() as db:
            existing = self._existing(db, list(merged))
            inserts, updates, changes = [], [], []
            for key, priced in merged.items():
                event = priced.event
                old = existing.get(key)
                if old is None:
                    inserts.append(_event_row(key, priced, event.tokens, priced.cost_usd))
                    changes.append(_change_row(event, event.tokens, priced.cost_usd, 1, priced.priced))
                    continue
                old_tokens, old_cost, old_ts = old
                tokens = old_tokens.merged_with(event.tokens)
                cost = max(old_cost, priced.cost_usd)
                if tokens == old_tokens and cost == old_cost:
                    continue
                delta = TokenCounts(*(a - b for a, b in zip(tokens.as_tuple(), old_tokens.as_tuple())))
                updates.append((*tokens.as_tuple(), cost, key))
                # The difference belongs to the stored event's time (its window), not the later line's.
                changes.append(_change_row(replace(event, timestamp=old_ts), delta, cost - old_cost, 0, priced.priced))
            db.executemany("INSERT INTO events VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", inserts)
            db.executemany(
                "UPDATE events SET input=?, output=?, cache_read=?, cache_write_5m=?, cache_write_1h=?, cost_usd=?"
                " WHERE dedup_key=?",
                updates,
            )
            db.executemany(
                "INSERT INTO changes (source, agent, session, model, ts, input, output, cache_read,"
                " cache_write_5m, cache_write_1h, cost_usd, requests, priced) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                changes,
            )
            db.executemany(
                "INSERT OR REPLACE INTO file_cursors VALUES (?,?,?,?,?,?,?)",
                [(c.path, c.source, c.device, c.inode, c.offset, c.size, c.head_hash) for c in batch.cursors],
            )
            db.executemany("DELETE FROM file_cursors WHERE path=?", [(p,) for p in batch.forget_paths])
            db.executemany(
                "INSERT OR REPLACE INTO sessions VALUES (?,?,?)",
                [(n.source, n.session, n.name) for n in batch.session_names],
            )
            db.executemany(
                "INSERT OR REPLACE INTO session_cursors VALUES (?,?,?,?)",
                [(c.database_path, c.session_id, c.generation, c.last_seq) for c in batch.session_cursors],
            )
            db.executemany(
                "INSERT OR IGNORE INTO archive_cursors VALUES (?,?,?)",
                [(a.database_path, a.session_id, a.generation) for a in batch.archive_cursors],
            )
        return len(changes)

    def _existing(self, db: sqlite3.Connection, keys: list[str]) -> dict[str, tuple[TokenCounts, float, float]]:
        found = {}
        for start in range(0, len(keys), _KEY_CHUNK):
            chunk = keys[start : start + _KEY_CHUNK]
            marks = ",".join("?" * len(chunk))
            for row in db.execute(
                "SELECT dedup_key, input, output, cache_read, cache_write_5m, cache_write_1h, cost_usd, ts"
                f" FROM events WHERE dedup_key IN ({marks})",
                chunk,
            ):
                found[row[0]] = (TokenCounts(*row[1:6]), row[6], row[7])
        return found

    def forget_cursors(self) -> int:
        """Every read position (files, database sessions, archives): the next scan reads all again.
        The events stay, and their dedup keys make the second reading count nothing twice."""
        with self._transaction() as db:
            return sum(db.execute(f"DELETE FROM {table}").rowcount for table in ("file_cursors", "session_cursors", "archive_cursors"))

    def prune_changes(self, up_to_rev: int) -> None:
        """Drop change rows the serving aggregate has applied; the events table keeps everything."""
        with self._transaction() as db:
            db.execute("DELETE FROM changes WHERE rev <= ?", (up_to_rev,))

    # -- reading ---------------------------------------------------------------------------

    def data_version(self) -> int:
        """Changes when another connection (e.g. a `report` run) commits."""
        return self._db.execute("PRAGMA data_version").fetchone()[0]

    def last_rev(self) -> int:
        row = self._db.execute("SELECT seq FROM sqlite_sequence WHERE name='changes'").fetchone()
        return row[0] if row else 0

    def changes_since(self, rev: int, limit: int = 50_000) -> list[Change]:
        rows = self._db.execute(
            "SELECT rev, source, agent, session, model, ts, input, output, cache_read, cache_write_5m,"
            " cache_write_1h, cost_usd, requests, priced FROM changes WHERE rev > ? ORDER BY rev LIMIT ?",
            (rev, limit),
        ).fetchall()
        return [Change(r[0], r[1], r[2], r[3], r[4], r[5], TokenCounts(*r[6:11]), r[11], r[12], bool(r[13])) for r in rows]

    def session_totals(self) -> tuple[int, list[SessionTotal]]:
        """Totals per (source, agent, session, model), and the change revision they include."""
        self._db.execute("BEGIN")  # one snapshot for both reads
        try:
            rev = self.last_rev()
            rows = self._db.execute(
                f"SELECT source, agent, session, model, {TOTALS_SQL}, max(ts) FROM events GROUP BY source, agent, session, model"
            ).fetchall()
        finally:
            self._db.execute("COMMIT")
        return rev, [SessionTotal(r[0], r[1], r[2], r[3], TokenCounts(*r[4:9]), r[9], r[10], r[11], r[12]) for r in rows]

    def bucket_totals_since(self, since: float, bucket_seconds: int) -> list[Change]:
        """Events at or after `since`, summed per time bucket (to rebuild calendar windows quickly)."""
        rows = self._db.execute(
            "SELECT CAST(ts / ? AS INTEGER) * ?, source, agent, model, sum(input), sum(output), sum(cache_read),"
            " sum(cache_write_5m), sum(cache_write_1h), sum(cost_usd), count(*), priced"
            " FROM events WHERE ts >= ? GROUP BY 1, source, agent, model, priced",
            (bucket_seconds, bucket_seconds, since),
        ).fetchall()
        return [Change(0, r[1], r[2], "", r[3], float(r[0]), TokenCounts(*r[4:9]), r[9], r[10], bool(r[11])) for r in rows]

    def file_cursor_by_inode(self, device: int, inode: int) -> list[FileCursor]:
        rows = self._db.execute(
            "SELECT path, source, device, inode, offset, size, head_hash FROM file_cursors WHERE device=? AND inode=?",
            (device, inode),
        )
        return [FileCursor(*r) for r in rows]

    def file_cursors(self) -> dict[str, FileCursor]:
        rows = self._db.execute("SELECT path, source, device, inode, offset, size, head_hash FROM file_cursors")
        return {r[0]: FileCursor(*r) for r in rows}

    def file_cursor(self, path: str) -> FileCursor | None:
        row = self._db.execute(
            "SELECT path, source, device, inode, offset, size, head_hash FROM file_cursors WHERE path=?", (path,)
        ).fetchone()
        return FileCursor(*row) if row else None

    def session_cursors(self, database_path: str) -> dict[str, SessionCursor]:
        rows = self._db.execute(
            "SELECT database_path, session_id, generation, last_seq FROM session_cursors WHERE database_path=?",
            (database_path,),
        )
        return {r[1]: SessionCursor(*r) for r in rows}

    def archive_cursors(self, database_path: str) -> set[tuple[str, str]]:
        """(session_id, generation) of the archives of one database that were read."""
        rows = self._db.execute("SELECT session_id, generation FROM archive_cursors WHERE database_path=?", (database_path,))
        return {(r[0], r[1]) for r in rows}

    def session_names(self) -> dict[tuple[str, str], str]:
        return {(r[0], r[1]): r[2] for r in self._db.execute("SELECT source, session, name FROM sessions")}

    def query(self, sql: str, parameters: Sequence[object] = ()) -> list[tuple]:
        """Read-only queries for the report and the API (time windows over the events table)."""
        return self._db.execute(sql, parameters).fetchall()


def open_reader(state_dir: Path, timeout: float = 30.0) -> sqlite3.Connection:
    """A read-only connection of its own, for one thread (a web request, the report).

    WAL readers never block the writer; wrap related queries in BEGIN ... COMMIT for one snapshot.
    """
    path = state_dir / LEDGER_FILE
    if not path.exists():
        raise LedgerError(f"{path}: no ledger yet")
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=timeout, isolation_level=None)
    db.execute("PRAGMA query_only=ON")
    return db


def _collapse(events: list[PricedEvent]) -> dict[str, PricedEvent]:
    """Duplicates inside one batch (a streamed response's lines) become one, the largest."""
    merged: dict[str, PricedEvent] = {}
    for priced in events:
        key = priced.event.dedup_key
        seen = merged.get(key)
        if seen is None:
            merged[key] = priced
            continue
        new, old = priced.event.tokens, seen.event.tokens
        if (
            priced.cost_usd >= seen.cost_usd
            and new.input >= old.input
            and new.output >= old.output
            and new.cache_read >= old.cache_read
            and new.cache_write_5m >= old.cache_write_5m
            and new.cache_write_1h >= old.cache_write_1h
        ):
            merged[key] = priced  # the usual case (a later line of a streamed response): what the merge below gives
            continue
        tokens = seen.event.tokens.merged_with(priced.event.tokens)
        base = priced if priced.cost_usd >= seen.cost_usd else seen
        merged[key] = PricedEvent(
            UsageEvent(**{**_fields(base.event), "tokens": tokens}),
            max(seen.cost_usd, priced.cost_usd),
            base.priced,
        )
    return merged


def _fields(event: UsageEvent) -> dict[str, object]:
    return {name: getattr(event, name) for name in UsageEvent.__slots__}


def _event_row(key: str, priced: PricedEvent, tokens: TokenCounts, cost: float) -> tuple:
    e = priced.event
    return (key, e.source, e.agent, e.session, e.provider, e.model, e.timestamp, *tokens.as_tuple(), cost, int(priced.priced))


def _change_row(event: UsageEvent, tokens: TokenCounts, cost: float, requests: int, priced: bool) -> tuple:
    return (event.source, event.agent, event.session, event.model, event.timestamp, *tokens.as_tuple(), cost, requests, int(priced))
