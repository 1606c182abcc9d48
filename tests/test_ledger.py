"""The ledger: each event once, supersedes add only the difference, changes replayable, durable."""

from __future__ import annotations

import sqlite3

import pytest

from claude_usage.events import PricedEvent, TokenCounts, UsageEvent
from claude_usage.ledger import SCHEMA_VERSION, Batch, FileCursor, Ledger, LedgerError


def priced(key: str, output: int, cost: float, session: str = "s", priced_: bool = True) -> PricedEvent:
    event = UsageEvent("claude_code", key, 1_769_335_200.0, "demo", session, "anthropic", "m", TokenCounts(3, output, 10, 0, 0))
    return PricedEvent(event, cost, priced_)


@pytest.fixture
def ledger(tmp_path):
    ledger = Ledger(tmp_path)
    yield ledger
    ledger.close()


def test_new_event_then_duplicate_then_larger_duplicate(ledger):
    assert ledger.commit(Batch(events=[priced("k", 2, 0.1)])) == 1
    assert ledger.commit(Batch(events=[priced("k", 2, 0.1)])) == 0
    assert ledger.commit(Batch(events=[priced("k", 164, 0.3)])) == 1
    changes = ledger.changes_since(0)
    assert [(c.tokens.output, c.requests) for c in changes] == [(2, 1), (162, 0)]
    assert sum(c.cost_usd for c in changes) == pytest.approx(0.3)
    rev, sessions = ledger.session_totals()
    assert rev == changes[-1].rev
    (row,) = sessions
    assert (row.tokens.output, row.requests, row.cost_usd) == (164, 1, pytest.approx(0.3))


def test_smaller_duplicate_never_lowers(ledger):
    ledger.commit(Batch(events=[priced("k", 164, 0.3)]))
    assert ledger.commit(Batch(events=[priced("k", 2, 0.1)])) == 0
    (row,) = ledger.session_totals()[1]
    assert row.tokens.output == 164


def test_duplicates_inside_one_batch_collapse_to_the_largest(ledger):
    ledger.commit(Batch(events=[priced("k", 2, 0.1), priced("k", 164, 0.3), priced("j", 1, 0.01)]))
    changes = ledger.changes_since(0)
    assert sorted((c.tokens.output, c.requests) for c in changes) == [(1, 1), (164, 1)]


def test_unpriced_tokens_are_tracked(ledger):
    ledger.commit(Batch(events=[priced("k", 7, 0.0, priced_=False)]))
    (row,) = ledger.session_totals()[1]
    assert row.unpriced_tokens == 3 + 7 + 10


def test_cursors_commit_with_events_and_survive_reopen(tmp_path):
    cursor = FileCursor("/t/a.jsonl", "claude_code", 1, 2, 300, 310, "abc")
    first = Ledger(tmp_path)
    first.commit(Batch(events=[priced("k", 2, 0.1)], cursors=[cursor]))
    first.close()
    again = Ledger(tmp_path)
    assert again.file_cursor("/t/a.jsonl") == cursor
    assert again.file_cursor_by_inode(1, 2) == [cursor]
    again.commit(Batch(forget_paths=["/t/a.jsonl"]))
    assert again.file_cursor("/t/a.jsonl") is None
    assert len(again.session_totals()[1]) == 1  # forgetting a file never forgets its events
    again.close()


def test_a_failed_commit_leaves_nothing(ledger):
    bad_cursor = FileCursor("/t/a.jsonl", "claude_code", 1, 2, 300, 310, None)  # NOT NULL violated
    with pytest.raises(sqlite3.IntegrityError):
        ledger.commit(Batch(events=[priced("k", 2, 0.1)], cursors=[bad_cursor]))
    assert ledger.session_totals()[1] == []
    assert ledger.changes_since(0) == []


def test_prune_keeps_events_and_revision(ledger):
    ledger.commit(Batch(events=[priced("k", 2, 0.1)]))
    rev = ledger.last_rev()
    ledger.prune_changes(rev)
    assert ledger.changes_since(0) == []
    ledger.commit(Batch(events=[priced("j", 2, 0.1)]))
    assert ledger.changes_since(rev)[0].rev == rev + 1  # revisions never repeat after a prune


def test_two_processes_share_one_ledger(tmp_path):
    writer, reader = Ledger(tmp_path), Ledger(tmp_path)
    before = reader.data_version()
    writer.commit(Batch(events=[priced("k", 2, 0.1)]))
    assert reader.data_version() != before
    assert len(reader.changes_since(0)) == 1
    writer.close()
    reader.close()


def test_newer_schema_is_refused(tmp_path):
    Ledger(tmp_path).close()
    with sqlite3.connect(tmp_path / "ledger.sqlite") as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(LedgerError, match="newer than this exporter"):
        Ledger(tmp_path)
