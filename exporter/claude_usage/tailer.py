"""Following transcript files: reading complete new lines from a cursor, and noticing changes.

The tailer owns the files and never decides what a line means. A cursor is the offset after the
last complete line, plus the file's identity (device, inode, a hash of its first bytes) so that a
file rewritten in place or replaced under the same name is read again from the start (the ledger's
dedup keys make re-reading harmless), and a renamed file is not.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer

from .lines import LineSplitter

log = logging.getLogger(__name__)

# The events that can change what a file holds. Left out, so that inotify does not even report them:
# opens and read-only closes (our own reads: a cold scan queued several per file it read, about a
# quarter of its time) and a folder's own "modified" (an entry in it changed, and that entry has its
# own event; acting on it rescanned the whole folder on every append to a transcript).
WATCHED_EVENTS = [
    FileCreatedEvent,
    FileModifiedEvent,
    FileClosedEvent,
    FileMovedEvent,
    FileDeletedEvent,
    DirCreatedEvent,
    DirMovedEvent,
    DirDeletedEvent,
]

CHUNK_BYTES = 1 << 20
HEAD_BYTES = 1024


def head_hash(path: Path, length: int) -> str:
    """Hash of the first `length` bytes (at most HEAD_BYTES): what identifies a file's content."""
    with open(path, "rb") as handle:
        return hashlib.sha1(handle.read(min(length, HEAD_BYTES))).hexdigest()


@dataclass
class LineReader:
    """Yields the complete lines after `offset`; a partial last line waits for its newline.

    A line longer than `max_line_bytes` is skipped without being held in memory and counted in
    `too_long`. After iterating, `offset` is the position after the last complete line.
    """

    path: Path
    offset: int
    max_line_bytes: int
    too_long: int = 0
    line_start: int = 0  # where the line last yielded starts, for error messages

    def __iter__(self) -> Iterator[bytes]:
        splitter = LineSplitter(self.max_line_bytes, self.offset)
        with open(self.path, "rb") as handle:
            handle.seek(self.offset)
            while chunk := handle.read(CHUNK_BYTES):
                for line in splitter.feed(chunk):
                    self.offset, self.line_start = splitter.consumed, splitter.line_start
                    yield line
                self.offset, self.too_long = splitter.consumed, splitter.too_long
        # What is still pending is a partial line: it waits for its newline.


class ChangeQueue:
    """Paths reported changed, deduplicated until the ingest loop takes them."""

    def __init__(self) -> None:
        self._paths: set[Path] = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()

    def put(self, path: Path) -> None:
        with self._lock:
            self._paths.add(path)
        self._wake.set()

    def wake(self) -> None:
        self._wake.set()

    def take(self, timeout: float) -> set[Path]:
        self._wake.wait(timeout)
        with self._lock:
            paths, self._paths = self._paths, set()
            self._wake.clear()
        return paths


class _Forwarder(FileSystemEventHandler):
    def __init__(self, queue: ChangeQueue):
        self.queue = queue

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return  # our own reads
        for path in (event.src_path, getattr(event, "dest_path", "")):
            if path:
                self.queue.put(Path(os.fsdecode(path)))


class DirectoryWatcher:
    """watchdog observers on folders that may not exist yet; `refresh()` picks up new ones."""

    def __init__(self, queue: ChangeQueue, on_new_directory: Callable[[Path], None]):
        self.queue = queue
        self.on_new_directory = on_new_directory
        self._wanted: list[Path] = []
        self._watched: dict[Path, object] = {}
        self._observer = Observer()
        self._handler = _Forwarder(queue)

    def start(self, directories: list[Path]) -> None:
        self._wanted = list(directories)
        self._observer.start()
        self.refresh(initial=True)

    def refresh(self, initial: bool = False) -> None:
        for directory in self._wanted:
            exists = directory.is_dir()
            if directory in self._watched:
                if not exists:  # deleted: watch it again if it comes back
                    self._observer.unschedule(self._watched.pop(directory))
                continue
            if not exists:
                continue
            try:
                self._watched[directory] = self._observer.schedule(
                    self._handler, str(directory), recursive=True, event_filter=WATCHED_EVENTS
                )
            except OSError as error:
                log.error("cannot watch directory=%s: %s", directory, error.strerror or error)
                continue
            if not initial:
                log.info("now watching directory=%s", directory)
                self.on_new_directory(directory)

    def stop(self) -> None:
        self._observer.stop()
        self._observer.join(timeout=5)
