"""The typed records that flow from the parsers to the ledger."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

TOKEN_TYPES = ("input", "output", "cache_read", "cache_write_5m", "cache_write_1h")


@dataclass(frozen=True, slots=True)
class TokenCounts:
    input: int = 0
    output: int = 0
    cache_read: int = 0
    cache_write_5m: int = 0
    cache_write_1h: int = 0

    def as_tuple(self) -> tuple[int, int, int, int, int]:
        return (self.input, self.output, self.cache_read, self.cache_write_5m, self.cache_write_1h)

    def items(self) -> Iterator[tuple[str, int]]:
        return zip(TOKEN_TYPES, self.as_tuple())

    @property
    def total(self) -> int:
        return sum(self.as_tuple())

    @property
    def prompt(self) -> int:
        """Everything sent to the model: what the long-context threshold is measured on."""
        return self.input + self.cache_read + self.cache_write_5m + self.cache_write_1h

    def merged_with(self, other: "TokenCounts") -> "TokenCounts":
        """Field-wise maximum, so a superseding duplicate can only ever add."""
        return TokenCounts(*(max(a, b) for a, b in zip(self.as_tuple(), other.as_tuple())))


@dataclass(frozen=True, slots=True)
class UsageEvent:
    """One API response's usage, as written in a transcript."""

    source: str
    dedup_key: str
    timestamp: float  # seconds since the epoch, UTC
    agent: str
    session: str
    provider: str
    model: str
    tokens: TokenCounts
    recorded_cost_usd: float | None = None  # what the agent itself wrote, where the format records it


@dataclass(frozen=True, slots=True)
class PricedEvent:
    event: UsageEvent
    cost_usd: float
    priced: bool  # False: no price is known for the model; cost_usd is 0 and the tokens are "unpriced"


@dataclass(frozen=True, slots=True)
class SessionName:
    """A human name for a session (OpenClaw's session key, Claude Code's project folder)."""

    source: str
    session: str
    name: str


class ParseError(ValueError):
    """A line or row that is not what its format promises. `reason` is one of PARSE_ERROR_REASONS."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


# A small fixed set, because these become label values of claude_usage_parse_errors_total.
PARSE_ERROR_REASONS = (
    "invalid_json",  # not a JSON object, cut short, or binary garbage
    "invalid_record",  # valid JSON without the fields the format promises (e.g. usage that is not numbers)
    "line_too_long",  # longer than max_line_bytes; skipped without being held in memory
    "decode_error",  # a compressed row or archive that does not decompress
    "unreadable",  # a file or database that cannot be opened or read
    "unsupported_schema",  # a database whose schema this version does not know how to read
)


@dataclass(slots=True)
class ReadStats:
    """What one pass over a file or database saw, beyond the events themselves."""

    lines: int = 0
    errors: dict[str, int] = field(default_factory=dict)

    def error(self, reason: str) -> None:
        self.errors[reason] = self.errors.get(reason, 0) + 1
