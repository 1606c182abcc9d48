"""Reading OpenClaw 2026.8+ agent databases while OpenClaw writes them (formats.md §3).

Each database is opened read-only (`file:...?mode=ro`; never `immutable=1`, which would ignore the
WAL) and its connection is kept, so `PRAGMA data_version` tells whether another connection
committed since the last read: a change event on the database or its `-wal`, or the poll net,
costs one pragma when nothing changed. Reads are short transactions (an overview, then chunks of
at most CHUNK_ROWS rows / CHUNK_BYTES bytes per session, then one archive blob at a time) and
decoding happens after each one ends, so OpenClaw's checkpoints and VACUUM never wait on us.

Where to resume is the caller's (the ledger's): per session the rewrite generation and the last
seq read. A new generation is read again from seq 0; the dedup keys make that harmless. What a
read returns (events, new cursors, session names) is committed by the ingest loop in one
transaction. Parsing is `sources.openclaw_sqlite` (pure).
"""

from __future__ import annotations

import io
import logging
import os
import sqlite3
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from .events import ParseError, SessionName, UsageEvent
from .ledger import ArchiveCursor, SessionCursor
from .sources import openclaw_sqlite as oc
from .sources.common import label_safe
from .sources.openclaw_jsonl import NAME as SOURCE
from .lines import LineSplitter

log = logging.getLogger(__name__)

CHUNK_ROWS = 500
CHUNK_BYTES = 8 * 1024 * 1024
BUSY_TIMEOUT_SECONDS = 2.0
MAX_GENERATION_RESTARTS = 3
# A change event on the -wal comes while the commit is being written (its frames, then an fsync,
# then the WAL index): data_version may not have moved yet when we look, and no event follows.
# So a database whose WAL was written is looked at again every RECHECK_INTERVAL for RECHECK_SECONDS.
RECHECK_SECONDS = 1.5
RECHECK_INTERVAL_SECONDS = 0.1
_TABLES = ("transcript_events", "session_windows", "transcript_rewrite_watermarks", "session_transcript_archives")

# Where to resume one database: {session_id: cursor} and the (session_id, generation) of the
# archives already read.
Resume = Callable[[str], tuple[dict[str, SessionCursor], set[tuple[str, str]]]]


@dataclass(frozen=True, slots=True, order=True)
class AgentDatabase:
    path: Path
    agent: str


@dataclass
class DatabaseRead:
    """What one read of one database produced; `present` is False when the file is gone."""

    database: AgentDatabase
    present: bool = True
    events: list[UsageEvent] = field(default_factory=list)
    session_cursors: list[SessionCursor] = field(default_factory=list)
    archive_cursors: list[ArchiveCursor] = field(default_factory=list)
    session_names: list[SessionName] = field(default_factory=list)
    rows: int = 0  # rows and archive lines read
    errors: dict[str, int] = field(default_factory=dict)

    def error(self, reason: str, count: int = 1) -> None:
        self.errors[reason] = self.errors.get(reason, 0) + count


@dataclass
class _Connection:
    """A kept read-only connection to one database file."""

    db: sqlite3.Connection
    identity: tuple[int, int]  # (device, inode): a replaced file is opened again
    data_version: int | None = None  # None: read at the next check
    names: dict[str, str] = field(default_factory=dict)  # session names already handed out


@dataclass(frozen=True, slots=True)
class _Session:
    session_id: str
    name: str
    max_seq: int | None


class AgentDatabases:
    """The agent databases below the OpenClaw state dirs, and one kept connection to each."""

    source = SOURCE  # the `source` label of what they hold: the same family as the JSONL files

    def __init__(self, roots: tuple[Path, ...], max_line_bytes: int, busy_timeout: float = BUSY_TIMEOUT_SECONDS):
        self.roots = tuple(Path(os.path.normpath(root)) for root in roots)
        self.max_line_bytes = max_line_bytes
        self.busy_timeout = busy_timeout
        self._open: dict[str, _Connection] = {}
        self._registered: dict[str, AgentDatabase] = {}  # listed by a registry, outside <root>/agents
        self._registries: dict[str, tuple[int | None, list[AgentDatabase]]] = {}  # path -> (data_version, listed)
        self._reported: set[tuple[str, str]] = set()  # (path, problem) logged once until it goes away
        self._recheck: dict[Path, float] = {}  # database -> until when (monotonic) to look again

    # -- where the databases are -----------------------------------------------------------

    def route(self, path: Path) -> list[AgentDatabase] | None:
        """What a changed path means: None when it is not a database file; else the databases to
        check ([] for files we ignore: the -shm our own reads touch, OpenClaw's lock databases)."""
        path = Path(os.path.normpath(path))
        for root in self.roots:
            role = oc.database_file(path, root)
            if role is None:
                continue
            if role.registry:
                return self.discover()
            if role.database is None:
                return []
            if path.name.endswith("-wal"):
                self._recheck[role.database] = time.monotonic() + RECHECK_SECONDS
            return [AgentDatabase(role.database, role.agent)]
        for database in self._registered.values():
            if path.name in (database.path.name, database.path.name + "-wal") and path.parent == database.path.parent:
                if path.name.endswith("-wal"):
                    self._recheck[database.path] = time.monotonic() + RECHECK_SECONDS
                return [database]
        return None

    def rechecks(self) -> set[Path]:
        """Databases whose WAL was written lately: their paths, to be routed (and read) again."""
        now = time.monotonic()
        self._recheck = {path: until for path, until in self._recheck.items() if until > now}
        return set(self._recheck)

    def wait_seconds(self, idle: float) -> float:
        """How long the ingest loop may wait for file events before rechecks are due."""
        return min(idle, RECHECK_INTERVAL_SECONDS) if self._recheck else idle

    def discover(self) -> list[AgentDatabase]:
        """Every agent database: <root>/agents/*/agent/openclaw-agent.sqlite, plus the registry's."""
        found: dict[str, AgentDatabase] = {}
        for root in self.roots:
            for path in sorted((root / "agents").glob(f"*/agent/{oc.DATABASE_NAME}")):
                found.setdefault(str(path), AgentDatabase(path, path.parent.parent.name))
        registered = {}
        for root in self.roots:
            for database in self._registry(root):
                key = str(database.path)
                if key not in found and database.path.exists():
                    found[key] = registered[key] = database
        self._registered = registered
        return sorted(found.values())

    def _registry(self, root: Path) -> list[AgentDatabase]:
        """agent_databases(agent_id, path) in <root>/state/openclaw.sqlite; [] when there is none."""
        path = root.joinpath(*oc.REGISTRY_PARTS)
        key = str(path)
        connection = self._connection(path)
        if connection is None:
            self._registries.pop(key, None)
            return []
        try:
            version = connection.db.execute("PRAGMA data_version").fetchone()[0]
            cached = self._registries.get(key)
            if cached is not None and cached[0] == version:
                return cached[1]
            listed = []
            with _read_transaction(connection.db) as db:
                columns = {_text(row[1]) for row in db.execute("PRAGMA table_info(agent_databases)")}
                rows = db.execute("SELECT agent_id, path FROM agent_databases").fetchall() if {"agent_id", "path"} <= columns else []
            for agent, value in rows:
                agent = label_safe(_text(agent), "")
                database_path = oc.registry_path(root, _text(value))
                if agent and database_path is not None:
                    listed.append(AgentDatabase(Path(os.path.normpath(database_path)), agent))
            self._registries[key] = (version, listed)
            self._solved(key)
            return listed
        except sqlite3.Error as error:
            self._problem(key, f"cannot read the agent_databases registry path={path}: {error}", logging.WARNING)
            self._close(key)
            return []

    # -- reading -----------------------------------------------------------------------------

    def read(self, database: AgentDatabase, resume: Resume) -> DatabaseRead:
        """What changed in a database since the cursors `resume` gives; nothing when its
        data_version has not moved since the last read."""
        key = str(database.path)
        result = DatabaseRead(database)
        connection = self._connection(database.path, result)
        if connection is None:
            result.present = database.path.exists()
            return result
        table = "sqlite_master"
        try:
            version = connection.db.execute("PRAGMA data_version").fetchone()[0]
            if version == connection.data_version:
                return result
            table = "transcript_events"
            with _read_transaction(connection.db) as db:
                columns = _columns(db)
                plan = oc.schema_plan(db.execute("PRAGMA user_version").fetchone()[0], columns)
                sessions = self._sessions(db, plan) if plan.readable else []
                generations = self._generations(db, plan) if plan.readable else {}
                archives = self._archives(db, plan, columns) if plan.readable else []
            if plan.version == 0 and not columns["transcript_events"]:
                return result  # created, not migrated yet: OpenClaw's first commit moves data_version
            if not self._schema_readable(key, plan, result):
                connection.data_version = version
                return result
            cursors, archives_read = resume(key)
            for session in sessions:
                self._session_name(connection, session.session_id, session.name, result)
                if session.max_seq is None:
                    continue
                generation = generations.get(session.session_id, "")
                cursor = cursors.get(session.session_id)
                start = -1
                if cursor is not None and cursor.generation == generation:
                    if cursor.last_seq == session.max_seq:
                        continue
                    if cursor.last_seq < session.max_seq:
                        start = cursor.last_seq
                    # else: fewer rows under the same generation: read it all again
                self._read_session(connection.db, plan, database, session.session_id, generation, start, result)
            table = "session_transcript_archives"
            for session_id, generation, name in archives:
                self._session_name(connection, session_id, name, result)
                if (session_id, generation) not in archives_read:
                    self._read_archive(connection.db, database, session_id, generation, result)
            connection.data_version = version
            self._solved(key)
            log.debug("read path=%s data_version=%d rows=%d events=%d", key, version, result.rows, len(result.events))
        except sqlite3.Error as error:
            # Not a data_version read: the next change or poll reads it again, from the cursors.
            busy = getattr(error, "sqlite_errorname", "") in ("SQLITE_BUSY", "SQLITE_LOCKED")
            message = f"cannot read OpenClaw database path={key} table={table}: {error}"
            if self._problem(key, message, logging.INFO if busy else logging.WARNING) and not busy:
                result.error("unreadable")
            if not busy:
                self._close(key)  # opened again at the next check
        return result

    def _sessions(self, db: sqlite3.Connection, plan: oc.SchemaPlan) -> list[_Session]:
        if plan.windows:
            # One index seek per session: transcript_events' primary key is (session_id, seq).
            rows = db.execute(
                "SELECT w.session_id, w.session_key,"
                " (SELECT max(e.seq) FROM transcript_events AS e WHERE e.session_id = w.session_id)"
                " FROM session_windows AS w ORDER BY w.session_id"
            ).fetchall()
        else:
            rows = db.execute("SELECT session_id, NULL, max(seq) FROM transcript_events GROUP BY session_id").fetchall()
        return [_Session(_text(sid), label_safe(_text(name), ""), seq) for sid, name, seq in rows if _text(sid)]

    def _generations(self, db: sqlite3.Connection, plan: oc.SchemaPlan) -> dict[str, str]:
        if not plan.watermarks:
            return {}
        return {_text(sid): _text(gen) for sid, gen in db.execute("SELECT session_id, generation FROM transcript_rewrite_watermarks")}

    def _archives(self, db: sqlite3.Connection, plan: oc.SchemaPlan, columns: dict[str, frozenset[str]]) -> list[tuple[str, str, str]]:
        if not plan.archives:
            return []
        name = "session_key" if "session_key" in columns["session_transcript_archives"] else "NULL"
        rows = db.execute(f"SELECT session_id, generation, {name} FROM session_transcript_archives ORDER BY session_id, generation")
        return [(_text(sid), _text(gen), label_safe(_text(key), "")) for sid, gen, key in rows]

    def _read_session(
        self,
        db: sqlite3.Connection,
        plan: oc.SchemaPlan,
        database: AgentDatabase,
        session_id: str,
        generation: str,
        start: int,
        result: DatabaseRead,
    ) -> None:
        columns = "seq, event_json, event_zstd, event_utf8_bytes" if plan.zstd else "seq, event_json, NULL, NULL"
        query = f"SELECT {columns} FROM transcript_events WHERE session_id = ? AND seq > ? ORDER BY seq"
        restarts = 0
        logged = False
        label = label_safe(session_id, "unknown")  # what the events carry; the query uses the stored id
        while True:
            with _read_transaction(db):
                current = generation
                if plan.watermarks:
                    row = db.execute("SELECT generation FROM transcript_rewrite_watermarks WHERE session_id = ?", (session_id,)).fetchone()
                    current = _text(row[0]) if row else ""
                rows, exhausted = [], True
                if current == generation:
                    cursor = db.execute(query, (session_id, start))
                    size = 0
                    while len(rows) < CHUNK_ROWS and size < CHUNK_BYTES:
                        row = cursor.fetchone()
                        if row is None:
                            break
                        rows.append(row)
                        size += len(row[1] or b"") + len(row[2] or b"")
                    else:
                        exhausted = False
                    cursor.close()
            if current != generation:  # rewritten while we read: that generation from seq 0
                if restarts >= MAX_GENERATION_RESTARTS:
                    return  # still moving; the next change reads it
                restarts += 1
                generation, start = current, -1
                continue
            for seq, event_json, event_zstd, size in rows:
                result.rows += 1
                row = oc.TranscriptRow(label, seq, event_json, event_zstd, size)
                try:
                    event = oc.event_from_row(row, database.agent, self.max_line_bytes)
                except ParseError as error:
                    if not logged:
                        log.warning(
                            "skipped a row: path=%s table=transcript_events session=%s seq=%d reason=%s",
                            database.path, label, seq, error.reason,
                        )
                        logged = True
                    result.error(error.reason)
                    continue
                if event is not None:
                    result.events.append(event)
            if rows:
                start = rows[-1][0]
                result.session_cursors.append(SessionCursor(str(database.path), session_id, generation, start))
            if exhausted:
                return

    def _read_archive(self, db: sqlite3.Connection, database: AgentDatabase, session_id: str, generation: str, result: DatabaseRead) -> None:
        with _read_transaction(db):
            row = db.execute(
                "SELECT encoding, archive_blob FROM session_transcript_archives WHERE session_id = ? AND generation = ?",
                (session_id, generation),
            ).fetchone()
        if row is None:
            return  # gone since the overview
        encoding, blob = _text(row[0]), bytes(row[1] or b"")
        label = label_safe(session_id, "unknown")
        where = f"path={database.path} table=session_transcript_archives session={label} generation={label_safe(generation, '?')}"
        lines = oc.ZstdLines(io.BytesIO(blob), self.max_line_bytes) if encoding == "zstd" else _PlainLines(blob, self.max_line_bytes)
        try:
            read_lines(lines, database.agent, label, where, result)
        except ParseError as error:
            log.warning("cannot decode a session archive: %s reason=%s", where, error.reason)
            result.error(error.reason)
        result.archive_cursors.append(ArchiveCursor(str(database.path), session_id, generation))

    def _session_name(self, connection: _Connection, session_id: str, name: str, result: DatabaseRead) -> None:
        if name and connection.names.get(session_id) != name and label_safe(session_id, ""):
            connection.names[session_id] = name
            result.session_names.append(SessionName(SOURCE, session_id, name))

    def _schema_readable(self, key: str, plan: oc.SchemaPlan, result: DatabaseRead) -> bool:
        if plan.known and plan.readable:
            return True
        if plan.readable:
            if (key, f"schema {plan.version}") not in self._reported:
                self._reported.add((key, f"schema {plan.version}"))
                log.warning(
                    "OpenClaw database path=%s has schema version=%d, not one this exporter knows (%s);"
                    " reading it, since transcript_events has every column it reads",
                    key, plan.version, ", ".join(map(str, sorted(oc.KNOWN_SCHEMAS))),
                )
            return True
        if (key, f"unsupported {plan.version}") not in self._reported:
            self._reported.add((key, f"unsupported {plan.version}"))
            log.error(
                "cannot read OpenClaw database path=%s: schema version=%d (this exporter knows %s) lacks the"
                " transcript_events columns %s; its usage is not counted until the exporter is upgraded",
                key, plan.version, ", ".join(map(str, sorted(oc.KNOWN_SCHEMAS))), ", ".join(plan.missing) or "(no table)",
            )
            result.error("unsupported_schema")
        return False

    # -- connections -------------------------------------------------------------------------

    def _connection(self, path: Path, result: DatabaseRead | None = None) -> _Connection | None:
        key = str(path)
        try:
            status = os.stat(path)
        except OSError:
            self._close(key)
            return None
        identity = (status.st_dev, status.st_ino)
        connection = self._open.get(key)
        if connection is not None and connection.identity == identity:
            return connection
        self._close(key)
        try:
            db = sqlite3.connect(
                f"file:{urllib.parse.quote(key)}?mode=ro",
                uri=True,
                timeout=self.busy_timeout,
                isolation_level=None,  # we open (short) transactions ourselves
                check_same_thread=False,  # used by the ingest thread only, one call at a time
            )
        except sqlite3.Error as error:
            if self._problem(key, f"cannot open OpenClaw database path={key}: {error}", logging.ERROR) and result:
                result.error("unreadable")
            return None
        db.text_factory = bytes  # event_json as bytes; ids are decoded one by one
        connection = self._open[key] = _Connection(db, identity)
        return connection

    def _close(self, key: str) -> None:
        connection = self._open.pop(key, None)
        if connection is not None:
            connection.db.close()

    def close(self) -> None:
        for key in list(self._open):
            self._close(key)

    def _problem(self, key: str, message: str, level: int) -> bool:
        """Log a problem once (until the database reads cleanly again); True when it is new."""
        if (key, message) in self._reported:
            return False
        self._reported.add((key, message))
        log.log(level, "%s", message)
        return True

    def _solved(self, key: str) -> None:
        """A database read cleanly: its read problems may be logged again if they come back."""
        self._reported = {(k, m) for k, m in self._reported if k != key or m.startswith(("schema ", "unsupported "))}


def read_lines(lines: _PlainLines | oc.ZstdLines, agent: str, session: str, where: str, result: DatabaseRead) -> None:
    """The lines of a whole archive into `result`; a ParseError of the stream itself propagates."""
    logged = False
    for line in lines:
        result.rows += 1
        try:
            event = oc.event_from_line(line, agent, session)
        except ParseError as error:
            if not logged:
                log.warning("skipped a line: %s reason=%s", where, error.reason)
                logged = True
            result.error(error.reason)
            continue
        if event is not None:
            result.events.append(event)
    if lines.too_long:
        result.error("line_too_long", lines.too_long)


@dataclass
class _PlainLines:
    """The lines of an archive stored without compression (`encoding = 'identity'`)."""

    blob: bytes
    max_line_bytes: int
    too_long: int = 0

    def __iter__(self) -> Iterator[bytes]:
        splitter = LineSplitter(self.max_line_bytes)
        try:
            yield from splitter.feed(self.blob)
            yield from splitter.finish()  # the blob is the whole archive: its last line is complete
        finally:
            self.too_long = splitter.too_long


class _read_transaction:
    """BEGIN ... COMMIT around a few reads: one consistent snapshot, held as briefly as possible."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN")
        return self.db

    def __exit__(self, *exc: object) -> None:
        if self.db.in_transaction:
            self.db.execute("ROLLBACK" if exc[0] is not None else "COMMIT")


def _columns(db: sqlite3.Connection, tables: tuple[str, ...] = _TABLES) -> dict[str, frozenset[str]]:
    return {table: frozenset(_text(row[1]) for row in db.execute(f"PRAGMA table_info({table})")) for table in tables}


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return "" if value is None else str(value)
