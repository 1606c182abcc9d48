"""Reading complete lines from a cursor; partial and over-long lines."""

from __future__ import annotations

from claude_usage import tailer
from claude_usage.tailer import LineReader, head_hash


def test_partial_last_line_waits_for_its_newline(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_bytes(b'{"a":1}\n{"b":')
    reader = LineReader(path, 0, 1024)
    assert list(reader) == [b'{"a":1}']
    assert reader.offset == 8
    with open(path, "ab") as handle:
        handle.write(b"2}\n")
    again = LineReader(path, reader.offset, 1024)
    assert list(again) == [b'{"b":2}']
    assert again.offset == path.stat().st_size


def test_over_long_lines_are_skipped_across_chunks(tmp_path, monkeypatch):
    monkeypatch.setattr(tailer, "CHUNK_BYTES", 7)  # lines straddle many reads
    path = tmp_path / "t.jsonl"
    path.write_bytes(b"a\n" + b"x" * 5000 + b"\nbb\n\n" + b"y" * 5000)
    reader = LineReader(path, 0, 1024)
    assert list(reader) == [b"a", b"bb"]
    assert reader.too_long == 1  # the unfinished long line at the end is not counted yet
    assert reader.offset == 2 + 5001 + 3 + 1


def test_line_start_points_at_the_line(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_bytes(b"first\nsecond\n")
    reader = LineReader(path, 0, 1024)
    starts = [reader.line_start for _ in reader]
    assert starts == [0, 6]


def test_head_hash_covers_only_what_was_read(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_bytes(b"header\n")
    before = head_hash(path, 7)
    path.write_bytes(b"header\nmore lines\n")
    assert head_hash(path, 7) == before
    path.write_bytes(b"HEADER\nmore lines\n")
    assert head_hash(path, 7) != before
