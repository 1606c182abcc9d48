"""/metrics: metric families built from a snapshot of the totals at scrape time.

No global Counter objects: the ledger is the source of truth, the aggregate mirrors it, and each
scrape renders what the aggregate holds (the pattern of prometheus_client's custom collectors).
"""

from __future__ import annotations

import time
from typing import Callable, Iterable

from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from . import __version__
from .aggregate import Aggregate, Snapshot
from .config import Config
from .events import TOKEN_TYPES
from .ingest import IngestStats

PREFIX = "claude_usage_"


def _families() -> dict[str, Callable[[], Metric]]:
    """Every family this collector can yield, empty; used by describe() and filled by collect()."""
    c, g = CounterMetricFamily, GaugeMetricFamily
    specs = {
        "tokens_total": (c, "Tokens used, by token type.", ["source", "agent", "model", "token_type"]),
        "cost_usd_total": (c, "Cost in US dollars.", ["source", "agent", "model"]),
        "requests_total": (c, "API responses counted (error turns with usage included).", ["source", "agent", "model"]),
        "unpriced_tokens_total": (c, "Tokens of models with no known price: not in the cost.", ["source", "agent", "model"]),
        "sessions_total": (c, "Sessions that used tokens.", ["source", "agent"]),
        "session_tokens_total": (
            c,
            "Tokens per session (recently active sessions only, highest spend first, capped).",
            ["source", "agent", "session", "model", "token_type"],
        ),
        "session_cost_usd_total": (
            c,
            "Cost per session in US dollars (recently active sessions only, capped).",
            ["source", "agent", "session", "model"],
        ),
        "session_last_activity_timestamp_seconds": (
            g,
            "Time of a session's latest counted response.",
            ["source", "agent", "session"],
        ),
        "lines_read_total": (c, "Transcript lines and rows read since the exporter started.", ["source"]),
        "parse_errors_total": (c, "Lines or rows skipped because they could not be used.", ["source", "reason"]),
        "files_watched": (g, "Transcript files followed.", ["source"]),
        "last_event_timestamp_seconds": (g, "Time of the latest counted response.", ["source", "agent"]),
        "build_info": (g, "Exporter version; always 1.", ["version"]),
    }
    return {
        name: (lambda cls=cls, doc=doc, labels=labels, name=name: cls(PREFIX + name, doc, labels=labels))
        for name, (cls, doc, labels) in specs.items()
    }


class UsageCollector(Collector):
    def __init__(self, config: Config, aggregate: Aggregate, stats: IngestStats, clock: Callable[[], float] = time.time):
        self.config = config
        self.aggregate = aggregate
        self.stats = stats
        self.clock = clock
        self._families = _families()

    def describe(self) -> Iterable[Metric]:
        return [make() for make in self._families.values()]

    def collect(self) -> Iterable[Metric]:
        snapshot = self.aggregate.snapshot()
        families = {name: make() for name, make in self._families.items()}
        self._usage(snapshot, families)
        self._sessions(snapshot, families)
        self._self_metrics(snapshot, families)
        return families.values()

    def _usage(self, snapshot: Snapshot, f: dict[str, Metric]) -> None:
        for (source, agent, model), totals in sorted(snapshot.by_model.items()):
            labels = [source, agent, model]
            for token_type, value in zip(TOKEN_TYPES, totals.tokens):
                f["tokens_total"].add_metric(labels + [token_type], value)
            f["cost_usd_total"].add_metric(labels, totals.cost_usd)
            f["requests_total"].add_metric(labels, totals.requests)
            f["unpriced_tokens_total"].add_metric(labels, totals.unpriced_tokens)
        for (source, agent), count in sorted(snapshot.sessions_per_agent.items()):
            f["sessions_total"].add_metric([source, agent], count)

    def _sessions(self, snapshot: Snapshot, f: dict[str, Metric]) -> None:
        exposed = exposed_sessions(snapshot, self.clock() - self.config.session_window_seconds, self.config.session_max_series)
        for key in exposed:
            f["session_last_activity_timestamp_seconds"].add_metric(list(key), snapshot.session_last_activity[key])
        exposed_keys = set(exposed)
        for (source, agent, session, model), totals in sorted(snapshot.by_session.items()):
            if (source, agent, session) not in exposed_keys:
                continue
            labels = [source, agent, session, model]
            for token_type, value in zip(TOKEN_TYPES, totals.tokens):
                f["session_tokens_total"].add_metric(labels + [token_type], value)
            f["session_cost_usd_total"].add_metric(labels, totals.cost_usd)

    def _self_metrics(self, snapshot: Snapshot, f: dict[str, Metric]) -> None:
        # Copies (atomic under the GIL): the ingest thread may add keys while we render.
        lines_read, parse_errors = self.stats.lines_read.copy(), self.stats.parse_errors.copy()
        for source in sorted(self.config.roots):
            f["lines_read_total"].add_metric([source], lines_read.get(source, 0))
        for (source, reason), count in sorted(parse_errors.items()):
            f["parse_errors_total"].add_metric([source, reason], count)
        files = self.stats.files_watched()
        for source in sorted(self.config.roots):
            f["files_watched"].add_metric([source], files.get(source, 0))
        for (source, agent), timestamp in sorted(snapshot.last_event.items()):
            f["last_event_timestamp_seconds"].add_metric([source, agent], timestamp)
        f["build_info"].add_metric([__version__], 1)


def exposed_sessions(snapshot: Snapshot, active_since: float, limit: int) -> list[tuple[str, str, str]]:
    """Sessions active since `active_since`, highest spend first, at most `limit` of them."""
    spend: dict[tuple[str, str, str], float] = {}
    for (source, agent, session, _), totals in snapshot.by_session.items():
        key = (source, agent, session)
        if snapshot.session_last_activity.get(key, 0.0) >= active_since:
            spend[key] = spend.get(key, 0.0) + totals.cost_usd
    return sorted(spend, key=lambda key: (-spend[key], key))[:limit]
