"""Transcript formats. Each module is a pure parser plus the file-name rules of its format.

A file-based source answers two questions for the tailer, which owns all I/O:
`classify(path, root)` says whether a file under one of its roots is a transcript (and whose),
an index of session names, or nothing; `parse_line(line, context)` turns one complete line into
a UsageEvent or None. Adding a format is adding a module that provides a `FileSource`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from ..events import SessionName, UsageEvent


class FileKind(enum.Enum):
    TRANSCRIPT = "transcript"
    SESSION_INDEX = "session_index"
    # The same lines as a transcript, compressed as zstd frames (OpenClaw's deletion archives):
    # read whole, again whenever the file changes; parse_line reads its lines.
    ZSTD_TRANSCRIPT = "zstd_transcript"


@dataclass(frozen=True, slots=True)
class FileContext:
    """What the path of a transcript tells about its lines."""

    kind: FileKind
    agent: str  # "" when the lines themselves name it (Claude Code: the cwd)
    session: str  # from the file name; a line's own session id wins where it has one


@dataclass(frozen=True)
class FileSource:
    name: str
    description: str
    # The folders below a root that hold its files; watched recursively.
    watch_dirs: Callable[[Path], Iterable[Path]]
    classify: Callable[[Path, Path], FileContext | None]
    parse_line: Callable[[bytes, FileContext], UsageEvent | None]
    parse_index: Callable[[bytes, FileContext], list[SessionName]] | None = None


def file_sources() -> dict[str, FileSource]:
    from . import claude_code, openclaw_jsonl

    return {source.name: source for source in (claude_code.SOURCE, openclaw_jsonl.SOURCE)}
