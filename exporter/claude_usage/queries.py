"""The ledger reads behind /api/usage, the live page and the report, in one read snapshot.

Everything is a sum over the `events` table in windows of time: the calendar windows of `windows.py`
(the same [start, end) bounds as the aggregate's buckets, so these figures equal /metrics), the
trailing week for the forecast, and the month per session and per 15-minute bucket. Only ids,
names, counts and money are read; the ledger holds nothing else.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from .aggregate import BUCKET_SECONDS, ModelKey, Totals
from .config import Config
from .ledger import TOTALS_SQL
from .windows import PERIODS, Window, current_windows, trailing_window



@dataclass(frozen=True, slots=True)
class SessionRow:
    """One (source, agent, session, model) of the month."""

    source: str
    agent: str
    session: str
    model: str
    totals: Totals
    last_timestamp: float


@dataclass(frozen=True, slots=True)
class BucketRow:
    start: float
    cost_usd: float
    tokens: int


@dataclass(frozen=True)
class LedgerFacts:
    """What the analysis needs, read at `now` in one snapshot of the ledger."""

    now: float
    windows: dict[str, Window]
    trailing: Window
    period_totals: dict[str, dict[ModelKey, Totals]]
    period_sessions: dict[str, int]
    trailing_totals: dict[ModelKey, Totals]
    month_sessions: list[SessionRow]
    month_buckets: list[BucketRow]
    session_names: dict[tuple[str, str], str]
    files_scanned: int
    sessions_scanned: int
    all_time: Totals
    first_timestamp: float | None
    last_timestamp: float | None


def _totals(row: tuple) -> Totals:
    """Totals from the eight columns of TOTALS_SQL."""
    return Totals([int(v or 0) for v in row[0:5]], float(row[5] or 0.0), int(row[6] or 0), int(row[7] or 0))


def window_totals(db: sqlite3.Connection, window: Window) -> dict[ModelKey, Totals]:
    rows = db.execute(
        f"SELECT source, agent, model, {TOTALS_SQL} FROM events WHERE ts >= ? AND ts < ? GROUP BY source, agent, model",
        (window.start, window.end),
    )
    return {(r[0], r[1], r[2]): _totals(r[3:]) for r in rows}


def window_sessions(db: sqlite3.Connection, window: Window) -> int:
    return db.execute(
        "SELECT count(*) FROM (SELECT 1 FROM events WHERE ts >= ? AND ts < ? GROUP BY source, session)",
        (window.start, window.end),
    ).fetchone()[0]


def read_facts(db: sqlite3.Connection, config: Config, now: float) -> LedgerFacts:
    windows = current_windows(now, config.timezone, config.week_start)
    trailing = trailing_window(now)
    month = windows["month"]
    db.execute("BEGIN")  # one snapshot for every read below; a reader never blocks the writer
    try:
        period_totals = {period: window_totals(db, windows[period]) for period in PERIODS}
        period_sessions = {period: window_sessions(db, windows[period]) for period in PERIODS}
        trailing_totals = window_totals(db, trailing)
        month_sessions = [
            SessionRow(r[0], r[1], r[2], r[3], _totals(r[4:12]), float(r[12]))
            for r in db.execute(
                f"SELECT source, agent, session, model, {TOTALS_SQL}, max(ts) FROM events WHERE ts >= ? AND ts < ?"
                " GROUP BY source, agent, session, model",
                (month.start, month.end),
            )
        ]
        month_buckets = [
            BucketRow(float(r[0]), float(r[1] or 0.0), int(r[2] or 0))
            for r in db.execute(
                "SELECT CAST(ts / ? AS INTEGER) * ?, sum(cost_usd),"
                " sum(input + output + cache_read + cache_write_5m + cache_write_1h)"
                " FROM events WHERE ts >= ? AND ts < ? GROUP BY 1 ORDER BY 1",
                (BUCKET_SECONDS, BUCKET_SECONDS, month.start, month.end),
            )
        ]
        month_keys = {(row.source, row.session) for row in month_sessions}
        session_names = {
            (r[0], r[1]): r[2]
            for r in db.execute("SELECT source, session, name FROM sessions")
            if (r[0], r[1]) in month_keys
        }
        row = db.execute(f"SELECT min(ts), max(ts), {TOTALS_SQL} FROM events").fetchone()
        first, last, all_time = row[0], row[1], _totals(row[2:])
        sessions_scanned = db.execute("SELECT count(*) FROM (SELECT 1 FROM events GROUP BY source, session)").fetchone()[0]
        files_scanned = db.execute("SELECT count(*) FROM file_cursors").fetchone()[0]
    finally:
        db.execute("COMMIT")
    return LedgerFacts(
        now=now,
        windows=windows,
        trailing=trailing,
        period_totals=period_totals,
        period_sessions=period_sessions,
        trailing_totals=trailing_totals,
        month_sessions=month_sessions,
        month_buckets=month_buckets,
        session_names=session_names,
        files_scanned=files_scanned,
        sessions_scanned=sessions_scanned,
        all_time=all_time,
        first_timestamp=first,
        last_timestamp=last,
    )
