"""Splitting a byte stream, fed in chunks, into complete lines: pure, shared by every reader.

A partial last line stays pending until its newline arrives; a line longer than `max_line_bytes`
is dropped without being held in memory and counted in `too_long`.
"""

from __future__ import annotations

from typing import Iterator


class LineSplitter:
    def __init__(self, max_line_bytes: int, position: int = 0):
        self.max_line_bytes = max_line_bytes
        self.too_long = 0
        self.consumed = position  # stream position after the last complete line
        self.line_start = position  # where the line last yielded starts
        self._position = position  # stream position after everything fed
        self._pending = b""  # the start of the current line, from earlier chunks
        self._skipping = False  # inside a line that is already too long

    def feed(self, chunk: bytes) -> Iterator[bytes]:
        start = 0
        while (newline := chunk.find(b"\n", start)) >= 0:
            pending, skipping = self._pending, self._skipping
            self._pending, self._skipping = b"", False
            self.consumed = self._position + newline + 1
            if skipping:
                self.too_long += 1
            else:
                line = pending + chunk[start:newline] if pending else chunk[start:newline]
                if len(line) > self.max_line_bytes:
                    self.too_long += 1
                elif line.strip():
                    self.line_start = self._position + start - len(pending)
                    yield line
            start = newline + 1
        if not self._skipping:
            rest = chunk[start:]
            if len(self._pending) + len(rest) > self.max_line_bytes:
                self._skipping, self._pending = True, b""
            else:
                self._pending += rest
        self._position += len(chunk)

    def finish(self) -> Iterator[bytes]:
        """The stream has ended (a decompressed archive): a last line without its newline is complete."""
        pending, skipping = self._pending, self._skipping
        self._pending, self._skipping = b"", False
        if skipping:
            self.too_long += 1
        elif pending.strip():
            self.line_start = self._position - len(pending)
            yield pending
