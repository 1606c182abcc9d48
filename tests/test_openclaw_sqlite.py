"""OpenClaw 2026.8+ SQLite transcripts (formats.md §3): the fixture databases' totals (§4), zstd rows
and archives, cursors across restarts, JSONL + SQLite copies counted once, unknown schemas."""

from __future__ import annotations

import io
import json
import logging
import shutil
import sqlite3
from pathlib import Path

import pytest
import zstandard

from claude_usage.collector import UsageCollector
from claude_usage.events import ParseError
from claude_usage.sources import FileKind, openclaw_jsonl
from claude_usage.sources import openclaw_sqlite as oc
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
from tests.support.pipeline import Pipeline, config_from
from tests.support.transcripts import FIXTURES, OPENCLAW_FIXTURE, exporter_config

DELETED_SESSION = "2b7e9c41-0d3a-4f6e-8c15-7a9d2e4b6f80"  # 2026.9.6-live: deleted into a .zst archive
ZSTD_ROW_ENTRY = "ed810874-db7e-4f00-8247-14b45165ca96"  # 2026.9.6-live: a mock turn stored as a zstd row


def run(tmp_path: Path, root: Path) -> Pipeline:
    return Pipeline(config_from(tmp_path, exporter_config(None, root))).scan()


def ledger_totals(pipeline: Pipeline) -> tuple:
    (row,) = pipeline.ledger.query(
        "SELECT count(*), sum(input), sum(output), sum(cache_read), sum(cache_write_5m + cache_write_1h), sum(cost_usd)"
        " FROM events WHERE source = 'openclaw'"
    )
    return row


def assert_totals(pipeline: Pipeline, expected: tuple) -> None:
    *counts, cost = ledger_totals(pipeline)
    assert tuple(counts) == expected[:-1]
    assert cost == pytest.approx(expected[-1], abs=1e-9)
    # the in-memory totals /metrics renders agree with the ledger
    totals = pipeline.totals(source="openclaw")
    assert totals.requests == expected[0]
    assert totals.cost_usd == pytest.approx(expected[-1], abs=1e-9)


@pytest.fixture
def pipelines():
    opened: list[Pipeline] = []
    yield opened
    for pipeline in opened:
        pipeline.ingestor.databases.close()
        pipeline.close()


@pytest.mark.parametrize(
    "fixture, expected",
    [("2026.9.6-live", LIVE_TOTALS), ("2026.9.6-import", IMPORT_TOTALS), ("2026.8.1-import", IMPORT_TOTALS)],
)
def test_fixture_database_totals_match_formats_md(tmp_path, pipelines, fixture, expected):
    root = copy_sqlite_fixture(fixture, tmp_path / "state")
    pipeline = run(tmp_path, root)
    pipelines.append(pipeline)
    assert_totals(pipeline, expected)
    assert pipeline.ingestor.stats.parse_errors == {}
    assert str(root / DATABASE) in pipeline.ingestor.stats.files["openclaw"]


def test_live_fixture_counts_the_zstd_row_and_names_sessions(tmp_path, pipelines):
    root = copy_sqlite_fixture("2026.9.6-live", tmp_path / "state")
    pipeline = run(tmp_path, root)
    pipelines.append(pipeline)
    rows = pipeline.ledger.query("SELECT session, output, cost_usd FROM events WHERE dedup_key LIKE ?", (f"oc:main:{ZSTD_ROW_ENTRY}:%",))
    assert rows == [(LIVE_SESSION, 46, pytest.approx(0.001602, abs=1e-12))]
    names = pipeline.ledger.session_names()
    assert names[("openclaw", LIVE_SESSION)] == "agent:main:mock-demo"
    assert names[("openclaw", IMPORTED_SESSION)] == "agent:main:main"
    assert names[("openclaw", DELETED_SESSION)] == "agent:main:telegram:dm:424242"  # from the archive row


@pytest.mark.parametrize("keep", ["file", "blob"])
def test_deleted_session_is_counted_from_either_archive(tmp_path, pipelines, keep):
    """The deleted session's entries only in the .zst file, or only in the database's archive blob."""
    root = copy_sqlite_fixture("2026.9.6-live", tmp_path / "state")
    writer = OpenClawWriter(root / DATABASE)
    # The imported copy of the same entries goes, so the archive is their only source.
    writer.db.execute("DELETE FROM transcript_events WHERE session_id = ?", (IMPORTED_SESSION,))
    if keep == "file":
        writer.db.execute("DELETE FROM session_transcript_archives")
    else:
        for archive in (root / SESSIONS).glob("*.zst"):
            archive.unlink()
    writer.close()
    pipeline = run(tmp_path, root)
    pipelines.append(pipeline)
    assert_totals(pipeline, LIVE_TOTALS)
    sessions = {row[0] for row in pipeline.ledger.query("SELECT DISTINCT session FROM events WHERE model != 'mock-1'")}
    assert sessions == {DELETED_SESSION}


def test_a_restart_reads_nothing_again(tmp_path, pipelines):
    root = copy_sqlite_fixture("2026.9.6-live", tmp_path / "state")
    first = run(tmp_path, root)
    pipelines.append(first)
    assert first.ingestor.stats.lines_read["openclaw"] == 28 + 14 + 14  # rows, the .zst file, the archive blob
    cursors = {row[0]: row[1:] for row in first.ledger.query("SELECT session_id, generation, last_seq FROM session_cursors")}
    assert cursors[LIVE_SESSION] == ("0f7e29d002964320b05eb3b4f2987aaa", 13)
    first.ingestor.databases.close()
    first.close()
    pipelines.remove(first)
    second = run(tmp_path, root)
    pipelines.append(second)
    assert second.ingestor.stats.lines_read.get("openclaw", 0) == 0
    assert_totals(second, LIVE_TOTALS)


def test_the_poll_net_reads_only_databases_that_changed(tmp_path, pipelines):
    root = copy_sqlite_fixture("2026.9.6-live", tmp_path / "state")
    pipeline = run(tmp_path, root)
    pipelines.append(pipeline)
    read = pipeline.ingestor.stats.lines_read["openclaw"]
    pipeline.scan()  # data_version has not moved: not one row read
    assert pipeline.ingestor.stats.lines_read["openclaw"] == read
    writer = OpenClawWriter(root / DATABASE)
    turn = writer.append_turn(pad_to=2000)  # a zstd row
    writer.close()
    pipeline.scan()
    assert pipeline.ingestor.stats.lines_read["openclaw"] == read + 1
    assert_totals(pipeline, (8, 632 + 300, 765 + 40, 27_862 + 1000, 25_363, LIVE_TOTALS[-1] + turn.cost))
    assert pipeline.ledger.query("SELECT last_seq FROM session_cursors WHERE session_id = ?", (LIVE_SESSION,)) == [(turn.seq,)]


def test_jsonl_import_archive_and_sqlite_count_once(tmp_path, pipelines):
    """An upgrade: the old JSONL file, doctor's moved copy of it, and the imported rows."""
    root = copy_sqlite_fixture("2026.9.6-import", tmp_path / "state")
    (root / SESSIONS).mkdir()
    shutil.copy(FIXTURES / "clawdbot" / OPENCLAW_FIXTURE, root / SESSIONS / f"{IMPORTED_SESSION}.jsonl")
    moved = root / "agents/main/session-sqlite-import-archive" / f"agent_main_main.{IMPORTED_SESSION}.jsonl.imported-1796399209967"
    moved.parent.mkdir()
    shutil.copy(FIXTURES / "clawdbot" / OPENCLAW_FIXTURE, moved)
    pipeline = run(tmp_path, root)
    pipelines.append(pipeline)
    assert_totals(pipeline, IMPORT_TOTALS)
    assert str(moved) in pipeline.ingestor.stats.files["openclaw"]
    assert pipeline.ingestor.stats.lines_read["openclaw"] == 28 + 14 + 14


def test_registry_lists_a_database_outside_agents(tmp_path, pipelines):
    fixture = copy_sqlite_fixture("2026.9.6-import", tmp_path / "fixture")
    root = tmp_path / "state"
    (root / "state").mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere" / "work.sqlite"
    elsewhere.parent.mkdir()
    shutil.copy(fixture / DATABASE, elsewhere)
    registry = sqlite3.connect(root / "state/openclaw.sqlite")
    registry.execute("PRAGMA journal_mode=WAL")
    registry.execute("CREATE TABLE agent_databases (agent_id TEXT PRIMARY KEY, path TEXT NOT NULL, created_at INTEGER)")
    registry.execute("INSERT INTO agent_databases VALUES ('work', ?, 0)", (str(elsewhere),))
    registry.commit()
    registry.close()
    pipeline = run(tmp_path, root)
    pipelines.append(pipeline)
    assert_totals(pipeline, IMPORT_TOTALS)
    assert {row[0] for row in pipeline.ledger.query("SELECT DISTINCT agent FROM events")} == {"work"}


def test_unknown_newer_schema_with_the_columns_is_read(tmp_path, pipelines, caplog):
    root = copy_sqlite_fixture("2026.9.6-live", tmp_path / "state")
    writer = OpenClawWriter(root / DATABASE)
    writer.db.execute("PRAGMA user_version = 31")
    writer.close()
    with caplog.at_level(logging.WARNING, logger="claude_usage"):
        pipeline = run(tmp_path, root)
    pipelines.append(pipeline)
    assert_totals(pipeline, LIVE_TOTALS)
    assert any("version=31" in r.getMessage() and str(root / DATABASE) in r.getMessage() for r in caplog.records)
    assert pipeline.ingestor.stats.parse_errors == {}


def test_unknown_schema_without_the_columns_is_reported_once(tmp_path, pipelines, caplog):
    root = tmp_path / "state"
    path = root / DATABASE
    path.parent.mkdir(parents=True)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA user_version = 40")
    db.execute("CREATE TABLE transcript_events (session_id TEXT, seq INTEGER, payload BLOB, PRIMARY KEY (session_id, seq))")
    db.execute("INSERT INTO transcript_events VALUES ('s', 0, x'00')")
    with caplog.at_level(logging.INFO, logger="claude_usage"):
        pipeline = run(tmp_path, root)
        pipelines.append(pipeline)
        db.execute("INSERT INTO transcript_events VALUES ('s', 1, x'00')")  # moves data_version
        pipeline.scan()
        pipeline.ingestor.process({path.with_name(path.name + "-wal")})
    db.close()
    assert pipeline.ingestor.stats.parse_errors == {("openclaw", "unsupported_schema"): 1}
    reports = [r for r in caplog.records if "schema version=40" in r.getMessage()]
    assert len(reports) == 1 and reports[0].levelno == logging.ERROR
    assert str(path) in reports[0].getMessage() and "event_json" in reports[0].getMessage()
    assert ledger_totals(pipeline)[0] == 0
    collector = UsageCollector(pipeline.config, pipeline.aggregate, pipeline.ingestor.stats)
    (family,) = [f for f in collector.collect() if f.name == "claude_usage_parse_errors"]
    assert [(s.labels, s.value) for s in family.samples if s.name.endswith("_total")] == [
        ({"source": "openclaw", "reason": "unsupported_schema"}, 1)
    ]


def test_a_database_not_migrated_yet_is_no_error(tmp_path, pipelines, caplog):
    root = tmp_path / "state"
    path = root / DATABASE
    path.parent.mkdir(parents=True)
    sqlite3.connect(path).execute("PRAGMA journal_mode=WAL").close()  # an empty database, as OpenClaw creates it
    with caplog.at_level(logging.WARNING, logger="claude_usage"):
        pipeline = run(tmp_path, root)
    pipelines.append(pipeline)
    assert pipeline.ingestor.stats.parse_errors == {}
    assert not caplog.records


# -- the pure parts ---------------------------------------------------------------------------


def assistant_line(entry_id: str = "e1", pad: int = 0) -> bytes:
    entry = {
        "type": "message",
        "id": entry_id,
        "timestamp": "2026-12-04T15:46:22.985Z",
        "message": {
            "role": "assistant",
            "content": [{"type": "text", "text": "x" * pad}],
            "provider": "anthropic",
            "model": "claude-haiku-4-5",
            "usage": {"input": 3, "output": 5, "cacheRead": 7, "cacheWrite": 11, "cacheWrite1h": 4, "cost": {"total": 0.25}},
            "timestamp": 1796399182943,
        },
    }
    return json.dumps(entry).encode()


def test_zstd_row_decodes_to_the_same_event_as_its_text():
    line = assistant_line(pad=2000)
    text = oc.event_from_row(oc.TranscriptRow("s", 7, line), "main", 1 << 20)
    packed = zstandard.ZstdCompressor().compress(line)
    zstd = oc.event_from_row(oc.TranscriptRow("s", 7, None, packed, len(line)), "main", 1 << 20)
    assert zstd == text
    assert zstd.dedup_key == "oc:main:e1:1796399182943:anthropic/claude-haiku-4-5"
    assert (zstd.tokens.cache_write_5m, zstd.tokens.cache_write_1h, zstd.recorded_cost_usd) == (7, 4, 0.25)


@pytest.mark.parametrize(
    "row, reason",
    [
        (oc.TranscriptRow("s", 1, None, b"not zstd", 10), "decode_error"),
        (oc.TranscriptRow("s", 1, None, zstandard.ZstdCompressor().compress(b"{}"), 9), "decode_error"),  # wrong length
        (oc.TranscriptRow("s", 1, None, b"x", None), "invalid_record"),
        (oc.TranscriptRow("s", 1, None, None, None), "invalid_record"),
        (oc.TranscriptRow("s", 1, b"y" * 2000), "line_too_long"),
        (oc.TranscriptRow("s", 1, None, b"x", 5000), "line_too_long"),
        (oc.TranscriptRow("s", 1, b'{"usage": nope'), "invalid_json"),
    ],
)
def test_bad_rows_raise_a_reason(row, reason):
    with pytest.raises(ParseError) as raised:
        oc.event_from_row(row, "main", 1024)
    assert raised.value.reason == reason


def test_zstd_lines_reads_frames_without_a_content_size():
    compressor = zstandard.ZstdCompressor(write_content_size=False)
    stream = compressor.compress(b'{"a":1}\n{"b":2}\n') + compressor.compress(b'{"c":3}')  # two frames, no final newline
    lines = oc.ZstdLines(io.BytesIO(stream), 1024)
    assert list(lines) == [b'{"a":1}', b'{"b":2}', b'{"c":3}']


def test_zstd_lines_cut_short_yields_only_complete_lines_then_fails():
    data = b"".join(b'{"n":%d}\n' % i for i in range(5000))
    stream = zstandard.ZstdCompressor(write_content_size=False).compress(data)
    lines = oc.ZstdLines(io.BytesIO(stream[: len(stream) // 2]), 1024)
    seen = []
    with pytest.raises(ParseError) as raised:
        for line in lines:
            seen.append(line)
    assert raised.value.reason == "decode_error"
    assert seen == data.split(b"\n")[: len(seen)]
    for bad in (b"", b"plain text, not zstd"):
        with pytest.raises(ParseError, match="decode_error"):
            list(oc.ZstdLines(io.BytesIO(bad), 1024))


def test_zstd_lines_drops_over_long_lines():
    data = b'{"a":1}\n' + b"z" * 5000 + b'\n{"b":2}\n'
    lines = oc.ZstdLines(io.BytesIO(zstandard.ZstdCompressor().compress(data)), 1024)
    assert list(lines) == [b'{"a":1}', b'{"b":2}']
    assert lines.too_long == 1


V19 = {"transcript_events": frozenset({"session_id", "seq", "event_json", "created_at"})}
V23 = {"transcript_events": V19["transcript_events"] | {"event_zstd", "event_utf8_bytes", "navigation_json"}}


@pytest.mark.parametrize(
    "version, columns, readable, known, zstd",
    [
        (19, V19, True, True, False),
        (23, V23, True, True, True),
        (31, V23, True, False, True),
        (31, V19, False, False, False),  # newer, but the zstd columns are gone: rows would be missed
        (21, V19, True, False, False),  # an unknown release between the two known ones
        (40, {}, False, False, False),
    ],
)
def test_schema_plan(version, columns, readable, known, zstd):
    plan = oc.schema_plan(version, columns)
    assert (plan.readable, plan.known, plan.zstd) == (readable, known, zstd)
    if not readable:
        assert plan.missing


@pytest.mark.parametrize(
    "relative, database, registry",
    [
        ("agents/main/agent/openclaw-agent.sqlite", "agents/main/agent/openclaw-agent.sqlite", False),
        ("agents/main/agent/openclaw-agent.sqlite-wal", "agents/main/agent/openclaw-agent.sqlite", False),
        ("agents/main/agent/openclaw-agent.sqlite-shm", None, False),
        ("agents/main/agent/openclaw-agent.sqlite.generation-lock.sqlite", None, False),
        ("agents/main/agent/openclaw-agent.sqlite.reindex-lock.sqlite-wal", None, False),
        ("state/openclaw.sqlite-wal", "state/openclaw.sqlite", True),
        ("state/openclaw.sqlite-shm", None, False),
    ],
)
def test_database_file_roles(relative, database, registry):
    root = Path("/home/a/.openclaw")
    role = oc.database_file(root / relative, root)
    assert role.database == (root / database if database else None)
    assert role.registry == registry


def test_not_database_files():
    root = Path("/home/a/.openclaw")
    for relative in ("agents/main/agent/auth-profiles.json", "agents/main/sessions/s.jsonl", "state/other.sqlite"):
        assert oc.database_file(root / relative, root) is None


@pytest.mark.parametrize(
    "folder, name, kind, session",
    [
        ("sessions", f"{DELETED_SESSION}.jsonl.deleted.2026-12-04T15-44-33.678Z.bb7e7603.zst", FileKind.ZSTD_TRANSCRIPT, DELETED_SESSION),
        ("session-sqlite-import-archive", f"agent_main_main.{IMPORTED_SESSION}.jsonl.imported-1796399209967", FileKind.TRANSCRIPT, IMPORTED_SESSION),
        ("session-sqlite-import-archive", f"agent_main_x.{IMPORTED_SESSION}.jsonl.imported-1796399209967.2", FileKind.TRANSCRIPT, IMPORTED_SESSION),
        ("session-sqlite-import-archive", f"k.{IMPORTED_SESSION}.trajectory.jsonl.imported-1", None, None),
        ("session-sqlite-import-archive", "manifest.json", None, None),
    ],
)
def test_sqlite_era_file_rules(folder, name, kind, session):
    root = Path("/state")
    context = openclaw_jsonl.classify(root / "agents/main" / folder / name, root)
    assert (context and context.kind, context and context.session) == (kind, session)
