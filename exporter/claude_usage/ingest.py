"""The ingest loop: files that changed -> complete lines -> events -> prices -> one ledger commit.

One thread does all of it, so the ledger has a single writer in this process and the order of
commits is the order of reads. watchdog's threads only report paths; a slow full rescan is the
safety net for filesystems that lose events (network mounts, some container volumes).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from .aggregate import BUCKET_RETENTION_SECONDS, BUCKET_SECONDS, Aggregate
from .config import Config
from .events import ParseError
from .ledger import Batch, FileCursor, Ledger, SessionCursor
from .pricing import PriceBook
from .sources import FileContext, FileKind, FileSource, file_sources
from .sources.openclaw_sqlite import ZstdLines
from .sqlite_reader import AgentDatabase, AgentDatabases
from .tailer import ChangeQueue, DirectoryWatcher, LineReader, head_hash

log = logging.getLogger(__name__)

COMMIT_EVERY_EVENTS = 20_000
MAX_INDEX_BYTES = 64 * 1024 * 1024
PRUNE_INTERVAL_SECONDS = 10.0
SYNC_INTERVAL_SECONDS = 1.0
REBUILD_ABOVE_CHANGES = 5_000


@dataclass
class IngestStats:
    """Self-metrics; written by the ingest thread only, read by scrapes."""

    lines_read: dict[str, int] = field(default_factory=dict)
    parse_errors: dict[tuple[str, str], int] = field(default_factory=dict)
    files: dict[str, set[str]] = field(default_factory=dict)

    def error(self, source: str, reason: str, count: int = 1) -> None:
        self.parse_errors[(source, reason)] = self.parse_errors.get((source, reason), 0) + count

    def record(self, source: str, lines: int, errors: dict[str, int]) -> None:
        """One read's lines (or rows) and the reasons it skipped some of them."""
        self.lines_read[source] = self.lines_read.get(source, 0) + lines
        for reason, count in errors.items():
            self.error(source, reason, count)

    def files_watched(self) -> dict[str, int]:
        return {source: len(paths) for source, paths in self.files.copy().items()}


@dataclass(frozen=True)
class _Located:
    source: FileSource
    root: Path
    context: FileContext


class Ingestor:
    def __init__(self, config: Config, ledger: Ledger, aggregate: Aggregate, sources: dict[str, FileSource] | None = None):
        self.config = config
        self.ledger = ledger
        self.aggregate = aggregate
        self.prices = PriceBook(config.pricing_mode, list(config.price_overrides))
        self.sources = sources or file_sources()
        self.stats = IngestStats(files={name: set() for name in self.sources})
        self.queue = ChangeQueue()
        self.watcher = DirectoryWatcher(self.queue, self._scan_directory)
        self.ready = threading.Event()
        self._batch = Batch()
        self._index_seen: dict[str, tuple[int, int]] = {}
        self._last_prune = 0.0
        # OpenClaw 2026.8+ keeps transcripts in per-agent SQLite databases (formats.md §3).
        self.databases = AgentDatabases(config.openclaw_roots if "openclaw" in self.sources else (), config.max_line_bytes)

    # -- where files are ------------------------------------------------------------------

    def watch_targets(self) -> list[tuple[FileSource, Path, Path]]:
        """(source, root, directory to watch) for every configured root."""
        targets = []
        for name, roots in self.config.roots.items():
            source = self.sources.get(name)
            if source is None:
                continue
            for root in roots:
                for directory in source.watch_dirs(root):
                    targets.append((source, root, directory))
        return targets

    def locate(self, path: Path) -> _Located | None:
        for source, root, directory in self.watch_targets():
            if directory in path.parents:
                context = source.classify(path, root)
                if context is not None:
                    return _Located(source, root, context)
        return None

    # -- the loop ---------------------------------------------------------------------------

    def start_up(self) -> None:
        """Totals from the ledger, then watchers, then one full scan; ready after it is committed."""
        started = time.monotonic()
        self.load_totals()
        # Watch before scanning, so a line written during the scan is not missed.
        self.watcher.start([directory for _, _, directory in self.watch_targets()])
        self.catch_up()
        self.ready.set()
        log.info("ready: ledger and first scan done in %.2fs", time.monotonic() - started)

    def load_totals(self) -> None:
        rev, sessions = self.ledger.session_totals()
        recent = self.ledger.bucket_totals_since(time.time() - BUCKET_RETENTION_SECONDS, BUCKET_SECONDS)
        self.aggregate.rebuild(rev, sessions, recent)

    def catch_up(self) -> None:
        """One full scan, committed and applied to the totals."""
        self.scan()
        if self.ledger.last_rev() - self.aggregate.rev > REBUILD_ABOVE_CHANGES:
            self.load_totals()  # a cold scan: one grouped query beats replaying every change
        else:
            self.sync()

    def run(self, stop: threading.Event) -> None:
        next_scan = time.monotonic() + self.config.poll_interval_seconds
        while not stop.is_set():
            paths = self.queue.take(timeout=self.databases.wait_seconds(SYNC_INTERVAL_SECONDS))
            paths |= self.databases.rechecks()  # a WAL write's commit may become visible only later
            try:
                if paths:
                    self.process(paths)
                self.watcher.refresh()
                if time.monotonic() >= next_scan:
                    self.scan()
                    next_scan = time.monotonic() + self.config.poll_interval_seconds
                # Our own commits, and those of another process (a `report` run) on the same ledger.
                self.sync()
                self._prune()
            except Exception:  # one bad pass must not stop the exporter; the next pass retries
                log.exception("ingest pass failed; retrying on the next change")
                self._batch = Batch()
        self.watcher.stop()

    def stop_waking(self) -> None:
        self.queue.wake()

    def sync(self) -> None:
        """Move the in-memory totals by what the ledger committed since they were last moved."""
        while changes := self.ledger.changes_since(self.aggregate.rev):
            self.aggregate.apply(changes)

    def _prune(self) -> None:
        """Only the serving process prunes: it is the one reader of the change log. A `report`
        run must not, or it would delete changes the exporter has not applied yet."""
        if time.monotonic() - self._last_prune > PRUNE_INTERVAL_SECONDS:
            self.ledger.prune_changes(self.aggregate.rev)
            self.aggregate.forget_buckets_before(time.time() - BUCKET_RETENTION_SECONDS)
            self._last_prune = time.monotonic()

    # -- scanning ---------------------------------------------------------------------------

    def scan(self) -> None:
        """Every file under every root: read what is new, forget what is gone."""
        seen: set[str] = set()
        for source, root, directory in self.watch_targets():
            seen.update(self._walk(source, root, directory))
        vanished = [path for path, cursor in self.ledger.file_cursors().items() if path not in seen and cursor.source in self.sources]
        for path in vanished:
            self._forget(path)
        self._read_databases(self.databases.discover())
        self._commit()

    def _scan_directory(self, directory: Path) -> None:
        for source, root, watched in self.watch_targets():
            if watched == directory or watched in directory.parents:
                self._walk(source, root, directory)
        self._commit()
        self.sync()

    def _walk(self, source: FileSource, root: Path, directory: Path) -> list[str]:
        found: list[str] = []
        if not directory.is_dir():
            return found  # a root or folder that does not exist (yet) is not an error

        def unreadable(error: OSError) -> None:
            log.error("cannot read directory=%s: %s", error.filename, error.strerror)
            self.stats.error(source.name, "unreadable")

        for folder, _, names in os.walk(directory, onerror=unreadable):
            for name in sorted(names):
                path = Path(folder, name)
                context = source.classify(path, root)
                if context is None:
                    continue
                found.append(str(path))
                self._read(path, source, context)
        return found

    def process(self, paths: set[Path]) -> None:
        databases: set[AgentDatabase] = set()
        for path in sorted(paths):
            routed = self.databases.route(path)  # an agent database, its -wal, the registry
            if routed is not None:
                databases.update(routed)
                continue
            located = self.locate(path)
            if located is not None:
                self._read(path, located.source, located.context)
            elif path.is_dir():
                self._scan_directory(path)
        self._read_databases(sorted(databases))
        self._commit()

    # -- reading one file -------------------------------------------------------------------

    def _read(self, path: Path, source: FileSource, context: FileContext) -> None:
        if context.kind is FileKind.SESSION_INDEX:
            self._read_index(path, source, context)
        elif context.kind is FileKind.ZSTD_TRANSCRIPT:
            self._read_zstd(path, source, context)
        else:
            self._read_transcript(path, source, context)

    def _read_transcript(self, path: Path, source: FileSource, context: FileContext) -> None:
        status = self._stat_followed(path, source)
        if status is None:
            return
        start = self._resume_offset(path, status)
        if start is None:
            return
        reader = LineReader(path, start, self.config.max_line_bytes)
        lines = 0
        errors: dict[str, int] = {}
        try:
            for line in reader:
                lines += 1
                first_error = not errors
                if (reason := self._parse(line, source, context, errors)) and first_error:
                    log.warning("skipped a line: path=%s offset=%d reason=%s", path, reader.line_start, reason)
                if len(self._batch.events) >= COMMIT_EVERY_EVENTS:
                    # A large file commits as it goes, so memory stays flat and a crash loses nothing.
                    self._batch.cursors.append(self._cursor(path, source, status, reader.offset))
                    self._commit()
        except OSError as error:
            self._unreadable(source, path, error)
        if reader.too_long:
            log.warning("skipped %d over-long lines: path=%s limit_bytes=%d", reader.too_long, path, self.config.max_line_bytes)
            errors["line_too_long"] = errors.get("line_too_long", 0) + reader.too_long
        self.stats.record(source.name, lines + reader.too_long, errors)
        if sum(errors.values()) > 1:
            log.warning("skipped %d lines in path=%s: %s", sum(errors.values()), path, errors)
        self._batch.cursors.append(self._cursor(path, source, status, reader.offset))

    def _stat_followed(self, path: Path, source: FileSource) -> os.stat_result | None:
        """The file's status, counted as followed; None (its cursor forgotten) when it is gone or unreadable."""
        try:
            status = os.stat(path)
        except FileNotFoundError:
            self._forget(str(path))
            return None
        except OSError as error:
            self._unreadable(source, path, error)
            return None
        self.stats.files.setdefault(source.name, set()).add(str(path))
        return status

    def _parse(self, line: bytes, source: FileSource, context: FileContext, errors: dict[str, int]) -> str | None:
        """One line into the pending batch, priced; the reason when it had to be skipped."""
        try:
            event = source.parse_line(line, context)
        except ParseError as error:
            errors[error.reason] = errors.get(error.reason, 0) + 1
            return error.reason
        if event is not None:
            self._batch.events.append(self.prices.price(event))
        return None

    def _resume_offset(self, path: Path, status: os.stat_result) -> int | None:
        """Where to read from: the cursor's offset, 0 for a new or rewritten file, None for nothing new."""
        cursor = self._pending_cursor(str(path)) or self.ledger.file_cursor(str(path))
        if cursor is None:
            cursor = self._renamed_from(path, status)
            if cursor is None:
                return 0
        same_file = (cursor.device, cursor.inode) == (status.st_dev, status.st_ino)
        if not same_file or status.st_size < cursor.offset:
            log.info("file replaced or shrunk, reading it again: path=%s", path)
            return 0
        if status.st_size == cursor.size and cursor.path == str(path):
            return None
        if head_hash(path, cursor.offset) != cursor.head_hash:
            log.info("file rewritten in place, reading it again: path=%s", path)
            return 0
        return cursor.offset

    def _renamed_from(self, path: Path, status: os.stat_result) -> FileCursor | None:
        """A file renamed (e.g. OpenClaw's .deleted./.reset. archives) keeps its cursor."""
        for cursor in self.ledger.file_cursor_by_inode(status.st_dev, status.st_ino):
            if cursor.path != str(path) and not os.path.exists(cursor.path):
                self._batch.forget_paths.append(cursor.path)
                return cursor
        return None

    def _pending_cursor(self, key: str) -> FileCursor | None:
        for cursor in reversed(self._batch.cursors):
            if cursor.path == key:
                return cursor
        return None

    def _cursor(self, path: Path, source: FileSource, status: os.stat_result, offset: int) -> FileCursor:
        return FileCursor(str(path), source.name, status.st_dev, status.st_ino, offset, status.st_size, head_hash(path, offset))

    def _read_index(self, path: Path, source: FileSource, context: FileContext) -> None:
        if source.parse_index is None:
            return
        try:
            status = os.stat(path)
            if self._index_seen.get(str(path)) == (status.st_mtime_ns, status.st_size):
                return
            if status.st_size > MAX_INDEX_BYTES:
                raise ParseError("line_too_long", "session index too large")
            data = path.read_bytes()
            self._batch.session_names.extend(source.parse_index(data, context))
            self._index_seen[str(path)] = (status.st_mtime_ns, status.st_size)
        except FileNotFoundError:
            self._index_seen.pop(str(path), None)
        except OSError as error:
            self._unreadable(source, path, error)
        except ParseError as error:
            log.warning("cannot use session index path=%s reason=%s", path, error.reason)
            self.stats.error(source.name, error.reason)

    # -- OpenClaw 2026.8+: zstd archives and SQLite databases ----------------------------------

    def _read_zstd(self, path: Path, source: FileSource, context: FileContext) -> None:
        """A zstd-compressed transcript (a deleted session's archive): read whole when it changes."""
        status = self._stat_followed(path, source)
        if status is None or self._resume_offset(path, status) is None:
            return
        errors: dict[str, int] = {}
        lines = 0
        try:
            with open(path, "rb") as handle:
                decoded = ZstdLines(handle, self.config.max_line_bytes)
                for line in decoded:
                    lines += 1
                    self._parse(line, source, context, errors)
                if decoded.too_long:
                    errors["line_too_long"] = decoded.too_long
        except ParseError as error:  # the stream itself: not zstd, corrupt, or cut short
            errors[error.reason] = errors.get(error.reason, 0) + 1
        except OSError as error:
            self._unreadable(source, path, error)
            return
        if errors:
            log.warning("skipped parts of a zstd transcript: path=%s %s", path, errors)
        self.stats.record(source.name, lines, errors)
        self._batch.cursors.append(self._cursor(path, source, status, status.st_size))

    def _read_databases(self, databases: list[AgentDatabase]) -> None:
        """Agent databases whose data_version moved: new rows after each session's cursor."""
        for database in databases:
            read = self.databases.read(database, self._database_cursors)
            source = self.databases.source
            files = self.stats.files.setdefault(source, set())
            (files.add if read.present else files.discard)(str(database.path))
            self._batch.events.extend(self.prices.price(event) for event in read.events)
            self._batch.session_cursors.extend(read.session_cursors)
            self._batch.archive_cursors.extend(read.archive_cursors)
            self._batch.session_names.extend(read.session_names)
            self.stats.record(source, read.rows, read.errors)
            if len(self._batch.events) >= COMMIT_EVERY_EVENTS:
                self._commit()

    def _database_cursors(self, database_path: str) -> tuple[dict[str, SessionCursor], set[tuple[str, str]]]:
        """The ledger's cursors for one database, moved by what the pending batch read."""
        cursors = self.ledger.session_cursors(database_path)
        cursors.update((c.session_id, c) for c in self._batch.session_cursors if c.database_path == database_path)
        archives = self.ledger.archive_cursors(database_path)
        archives.update((a.session_id, a.generation) for a in self._batch.archive_cursors if a.database_path == database_path)
        return cursors, archives

    def _forget(self, key: str) -> None:
        # The cursor goes; the events stay in the ledger, so no total is lowered.
        self._batch.forget_paths.append(key)
        for paths in self.stats.files.values():
            paths.discard(key)

    def _unreadable(self, source: FileSource, path: Path, error: OSError) -> None:
        log.error("cannot read path=%s: %s", path, error.strerror or error)
        self.stats.error(source.name, "unreadable")

    def _commit(self) -> None:
        if self._batch:
            batch, self._batch = self._batch, Batch()
            self.ledger.commit(batch)
