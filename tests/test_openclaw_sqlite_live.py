"""The console script on a live OpenClaw 2026.9 database written by a second connection the way
OpenClaw writes it (issue 6): appends counted within 2 s, rewrites and deletions that count nothing
twice and lower nothing, JSONL + SQLite counted once, and checkpoints never blocked by our reads."""

from __future__ import annotations

import os
import shutil
import time

import pytest

from tests.support.exporter import ExporterProcess
from tests.support.openclaw_db import (
    DATABASE,
    IMPORT_TOTALS,
    IMPORTED_SESSION,
    LIVE_SESSION,
    LIVE_TOTALS,
    SESSIONS,
    OpenClawWriter,
    copy_sqlite_fixture,
)
from tests.support.transcripts import FIXTURES, OPENCLAW_FIXTURE, copy_fixture_roots, exporter_config
from tests.support.waiting import wait_until

# The poll net is the fallback for lost file events; set far away, so every pass here is event-driven.
NO_POLL = {"watch": {"poll_interval": "10m"}}


def openclaw(exporter: ExporterProcess) -> tuple[float, float]:
    """(requests, cost) of the openclaw source."""
    samples = exporter.samples()
    requests = sum(v for (name, labels), v in samples.items() if name == "claude_usage_requests_total" and ("source", "openclaw") in labels)
    cost = sum(v for (name, labels), v in samples.items() if name == "claude_usage_cost_usd_total" and ("source", "openclaw") in labels)
    return requests, cost


def lines_read(exporter: ExporterProcess) -> float:
    return exporter.value("claude_usage_lines_read_total", source="openclaw") or 0.0


def assert_counted(exporter: ExporterProcess, requests: int, cost: float) -> None:
    got_requests, got_cost = openclaw(exporter)
    assert got_requests == requests
    assert got_cost == pytest.approx(cost, abs=1e-9)


def wait_counted(exporter: ExporterProcess, requests: int, timeout: float, what: str) -> None:
    wait_until(lambda: openclaw(exporter)[0] == requests, timeout, what=what)


@pytest.fixture
def live(tmp_path):
    root = copy_sqlite_fixture("2026.9.6-live", tmp_path / "openclaw")
    exporter = ExporterProcess(tmp_path / "exporter", {**exporter_config(None, root), **NO_POLL}).start()
    writer = OpenClawWriter(root / DATABASE)
    exporter.root, exporter.writer = root, writer
    yield exporter
    writer.close()
    exporter.stop()


def test_appended_rows_are_counted_within_two_seconds(live):
    assert_counted(live, LIVE_TOTALS[0], LIVE_TOTALS[-1])
    assert live.value("claude_usage_files_watched", source="openclaw") == 2  # the database, the .zst archive
    started = time.monotonic()
    turn = live.writer.append_turn()
    wait_counted(live, LIVE_TOTALS[0] + 1, 2.0, "an appended text row on /metrics")
    assert time.monotonic() - started < 2.0
    big = live.writer.append_turn(pad_to=3000)  # stored as a zstd row, as OpenClaw 2026.9 does
    assert live.writer.db.execute(
        "SELECT event_json IS NULL AND event_zstd IS NOT NULL FROM transcript_events WHERE session_id = ? AND seq = ?", (LIVE_SESSION, big.seq)
    ).fetchone() == (1,)
    started = time.monotonic()
    wait_counted(live, LIVE_TOTALS[0] + 2, 2.0, "an appended zstd row on /metrics")
    assert time.monotonic() - started < 2.0
    assert_counted(live, LIVE_TOTALS[0] + 2, LIVE_TOTALS[-1] + turn.cost + big.cost)
    session = dict(source="openclaw", agent="main", session=LIVE_SESSION, model="claude-haiku-4-5", token_type="input")
    assert live.value("claude_usage_session_tokens_total", **session) == 600


def test_rewrite_and_delete_count_nothing_twice_and_lower_nothing(live):
    before = lines_read(live)
    live.writer.rewrite(LIVE_SESSION, keep_last=5)  # header + 5 rows, renumbered 0..5, new generation
    wait_until(lambda: lines_read(live) >= before + 6, 2.0, what="the rewritten session read again")
    assert_counted(live, LIVE_TOTALS[0], LIVE_TOTALS[-1])

    turn = live.writer.append_turn()  # the next seq after the renumbered rows
    wait_counted(live, LIVE_TOTALS[0] + 1, 2.0, "a row appended after the rewrite")
    total = LIVE_TOTALS[-1] + turn.cost

    before = lines_read(live)
    archive = live.writer.delete_session(LIVE_SESSION, live.root / SESSIONS)
    rows = 7  # what was left: header + 5 + the appended turn; the archive blob and the .zst file hold them
    wait_until(lambda: lines_read(live) >= before + 2 * rows, 2.0, what="the deletion archives read")
    assert live.writer.db.execute("SELECT count(*) FROM transcript_events WHERE session_id = ?", (LIVE_SESSION,)).fetchone() == (0,)
    assert_counted(live, LIVE_TOTALS[0] + 1, total)
    assert str(archive) and live.value("claude_usage_files_watched", source="openclaw") == 3
    assert live.value("claude_usage_parse_errors_total", source="openclaw", reason="decode_error") is None


def test_jsonl_and_sqlite_copies_of_one_transcript_count_once(live):
    before = lines_read(live)
    shutil.copy(FIXTURES / "clawdbot" / OPENCLAW_FIXTURE, live.root / SESSIONS / f"{IMPORTED_SESSION}.jsonl")
    wait_until(lambda: lines_read(live) >= before + 14, 2.0, what="the JSONL copy read")
    assert_counted(live, LIVE_TOTALS[0], LIVE_TOTALS[-1])


def test_upgrade_from_jsonl_to_sqlite_counts_nothing_twice(tmp_path):
    """Counting the JSONL era first, then doctor --fix: the database appears, the file moves away."""
    _, root = copy_fixture_roots(tmp_path / "transcripts")
    imported = copy_sqlite_fixture("2026.9.6-import", tmp_path / "imported")
    with ExporterProcess(tmp_path / "exporter", {**exporter_config(None, root), **NO_POLL}) as exporter:
        assert_counted(exporter, IMPORT_TOTALS[0], IMPORT_TOTALS[-1])
        before = lines_read(exporter)
        database = root / DATABASE
        database.parent.mkdir(parents=True)
        os.rename(imported / DATABASE, database)  # in place at once, as a finished file
        archive_dir = root / "agents/main/session-sqlite-import-archive"
        archive_dir.mkdir()
        os.rename(root / OPENCLAW_FIXTURE, archive_dir / f"agent_main_main.{IMPORTED_SESSION}.jsonl.imported-1796399209967")
        wait_until(lambda: lines_read(exporter) >= before + 28, 2.0, what="the imported database read")
        # the database and the moved file (its cursor moved with it), not the old name
        wait_until(lambda: exporter.value("claude_usage_files_watched", source="openclaw") == 2, 2.0, what="the move seen")
        assert_counted(exporter, IMPORT_TOTALS[0], IMPORT_TOTALS[-1])
        assert lines_read(exporter) == before + 28


def test_checkpoints_succeed_while_the_exporter_reads(live):
    turns = []
    for _ in range(15):
        turns.append(live.writer.append_turn(pad_to=0 if len(turns) % 2 else 3000))
        # The exporter is reading this commit right now; a TRUNCATE checkpoint needs every reader gone.
        busy, _, _ = live.writer.checkpoint()
        assert busy == 0
        assert os.path.getsize(str(live.root / DATABASE) + "-wal") == 0
    wait_counted(live, LIVE_TOTALS[0] + len(turns), 5.0, "every appended turn")
    assert_counted(live, LIVE_TOTALS[0] + len(turns), LIVE_TOTALS[-1] + sum(t.cost for t in turns))
    live.writer.db.execute("VACUUM")  # needs no reader at all
