"""Small pure helpers shared by the parsers."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

import orjson

from ..events import ParseError


def load_object(line: bytes) -> dict[str, Any]:
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError as error:
        raise ParseError("invalid_json", f"at byte {error.pos}") from None
    if not isinstance(record, dict):
        raise ParseError("invalid_json", "not a JSON object")
    return record


def looks_like_object(line: bytes) -> bool:
    """A cheap check for lines we do not parse: a JSON object line starts with { and ends with }."""
    stripped = line.strip()
    return stripped[:1] == b"{" and stripped[-1:] == b"}"


def token_count(usage: dict[str, Any], key: str) -> int:
    value = usage.get(key)
    if type(value) is int and value >= 0:  # the usual case first: this runs five times per response
        return value
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ParseError("invalid_record", f"usage.{key} is not a non-negative number")
    return int(value)


def iso_timestamp(value: Any, key: str) -> float:
    if not isinstance(value, str):
        raise ParseError("invalid_record", f"{key} is not an ISO timestamp")
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise ParseError("invalid_record", f"{key} is not an ISO timestamp") from None


def optional_cost(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        return None
    return float(value)


def label_safe(value: Any, fallback: str) -> str:
    """Ids and names only: anything that is not a short plain string is replaced."""
    if isinstance(value, str) and _plain_label(value):
        return value
    return fallback


@lru_cache(maxsize=4096)  # the same session ids and folders recur on every line of a file
def _plain_label(value: str) -> bool:
    return 0 < len(value) <= 200 and value.isprintable()
