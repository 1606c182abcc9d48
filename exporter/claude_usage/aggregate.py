"""Running totals in memory, rebuilt from the ledger at start-up and moved by its change log.

The scrape path reads only these (never the database), so /metrics stays fast however large the
ledger grows. Recent events are also kept in 15-minute buckets: every time zone's offset is a
multiple of 15 minutes, so calendar days, weeks and months in any zone are exact sums of buckets.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from .events import TokenCounts
from .ledger import Change, SessionTotal

BUCKET_SECONDS = 900
# Enough for the current month and week, the previous full month and a 30-day trailing rate.
BUCKET_RETENTION_SECONDS = 70 * 86400

ModelKey = tuple[str, str, str]  # source, agent, model
SessionKey = tuple[str, str, str, str]  # source, agent, session, model


@dataclass(slots=True)
class Totals:
    tokens: list[int] = field(default_factory=lambda: [0, 0, 0, 0, 0])
    cost_usd: float = 0.0
    requests: int = 0
    unpriced_tokens: int = 0

    def add(self, tokens: TokenCounts, cost: float, requests: int, priced: bool) -> None:
        values = tokens.as_tuple()
        for i, value in enumerate(values):
            self.tokens[i] += value
        self.cost_usd += cost
        self.requests += requests
        if not priced:
            self.unpriced_tokens += sum(values)

    def copy(self) -> "Totals":
        return Totals(list(self.tokens), self.cost_usd, self.requests, self.unpriced_tokens)

    def absorb(self, other: "Totals") -> None:
        for i, value in enumerate(other.tokens):
            self.tokens[i] += value
        self.cost_usd += other.cost_usd
        self.requests += other.requests
        self.unpriced_tokens += other.unpriced_tokens

    @property
    def total_tokens(self) -> int:
        return sum(self.tokens)


@dataclass(frozen=True)
class Snapshot:
    """A consistent copy for one scrape or one API answer."""

    by_model: dict[ModelKey, Totals]
    by_session: dict[SessionKey, Totals]
    session_last_activity: dict[tuple[str, str, str], float]
    sessions_per_agent: dict[tuple[str, str], int]
    last_event: dict[tuple[str, str], float]


class Aggregate:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_model: dict[ModelKey, Totals] = {}
        self._by_session: dict[SessionKey, Totals] = {}
        self._session_last: dict[tuple[str, str, str], float] = {}
        self._agent_sessions: dict[tuple[str, str], set[str]] = {}
        self._last_event: dict[tuple[str, str], float] = {}
        self._buckets: dict[tuple[int, str, str, str], Totals] = {}
        self.rev = 0

    def rebuild(self, rev: int, sessions: Iterable[SessionTotal], recent: Iterable[Change]) -> None:
        with self._lock:
            self.__init__()  # type: ignore[misc]  # start from empty under the same lock
            for row in sessions:
                totals = Totals(list(row.tokens.as_tuple()), row.cost_usd, row.requests, row.unpriced_tokens)
                self._by_session[(row.source, row.agent, row.session, row.model)] = totals
                self._by_model.setdefault((row.source, row.agent, row.model), Totals()).absorb(totals)
                self._touch(row.source, row.agent, row.session, row.last_timestamp)
            for change in recent:
                self._bucket(change).add(change.tokens, change.cost_usd, change.requests, change.priced)
            self.rev = rev

    def apply(self, changes: Iterable[Change]) -> None:
        with self._lock:
            for c in changes:
                self._by_model.setdefault((c.source, c.agent, c.model), Totals()).add(c.tokens, c.cost_usd, c.requests, c.priced)
                self._by_session.setdefault((c.source, c.agent, c.session, c.model), Totals()).add(
                    c.tokens, c.cost_usd, c.requests, c.priced
                )
                self._touch(c.source, c.agent, c.session, c.timestamp)
                self._bucket(c).add(c.tokens, c.cost_usd, c.requests, c.priced)
                self.rev = max(self.rev, c.rev)

    def _touch(self, source: str, agent: str, session: str, timestamp: float) -> None:
        key = (source, agent, session)
        if timestamp > self._session_last.get(key, 0.0):
            self._session_last[key] = timestamp
        self._agent_sessions.setdefault((source, agent), set()).add(session)
        if timestamp > self._last_event.get((source, agent), 0.0):
            self._last_event[(source, agent)] = timestamp

    def _bucket(self, change: Change) -> Totals:
        start = int(change.timestamp // BUCKET_SECONDS) * BUCKET_SECONDS
        return self._buckets.setdefault((start, change.source, change.agent, change.model), Totals())

    def forget_buckets_before(self, timestamp: float) -> None:
        with self._lock:
            for key in [k for k in self._buckets if k[0] + BUCKET_SECONDS <= timestamp]:
                del self._buckets[key]

    def snapshot(self) -> Snapshot:
        with self._lock:
            return Snapshot(
                by_model={k: v.copy() for k, v in self._by_model.items()},
                by_session={k: v.copy() for k, v in self._by_session.items()},
                session_last_activity=dict(self._session_last),
                sessions_per_agent={k: len(v) for k, v in self._agent_sessions.items()},
                last_event=dict(self._last_event),
            )

    def window(self, start: float, end: float) -> dict[ModelKey, Totals]:
        """Totals of events with start <= timestamp < end; both ends on 15-minute boundaries."""
        return self.windows([(start, end)])[0]

    def windows(self, bounds: Sequence[tuple[float, float]]) -> list[dict[ModelKey, Totals]]:
        """Several windows in one pass over the buckets (a scrape needs the day, week, month and trailing week)."""
        results: list[dict[ModelKey, Totals]] = [{} for _ in bounds]
        with self._lock:
            for (bucket, source, agent, model), totals in self._buckets.items():
                for (start, end), result in zip(bounds, results):
                    if start <= bucket < end:
                        result.setdefault((source, agent, model), Totals()).absorb(totals)
        return results
