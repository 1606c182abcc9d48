"""The configuration contract (DESIGN.md): every key optional, each error names its key and file."""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from .pricing import COST_MODES, PriceRule, PricingError, load_override_file

PERIODS = ("day", "week", "month")
MATCH_KEYS = ("source", "agent", "model")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(s|m|h|d|w)$")
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_BUDGET_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


class ConfigError(ValueError):
    """One clear line: the file, the key and what is wrong."""


@dataclass(frozen=True)
class Budget:
    name: str
    period: str
    limit_usd: float
    match: dict[str, re.Pattern[str]] = field(default_factory=dict)
    warning_ratio: float = 0.8

    def matches(self, source: str, agent: str, model: str) -> bool:
        values = {"source": source, "agent": agent, "model": model}
        return all(pattern.fullmatch(values[key]) for key, pattern in self.match.items())


@dataclass(frozen=True)
class Config:
    claude_code_roots: tuple[Path, ...]
    openclaw_roots: tuple[Path, ...]
    state_dir: Path
    pricing_mode: str = "auto"
    price_overrides: tuple[PriceRule, ...] = ()
    session_window_seconds: float = 7 * 86400
    session_max_series: int = 500
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    week_start: int = 0  # Monday, as datetime.weekday() counts
    budgets: tuple[Budget, ...] = ()
    poll_interval_seconds: float = 30.0
    max_line_bytes: int = 16 * 1024 * 1024
    source_file: Path | None = None

    @property
    def roots(self) -> dict[str, tuple[Path, ...]]:
        return {"claude_code": self.claude_code_roots, "openclaw": self.openclaw_roots}


def load_config(path: Path | None, state_dir: Path | None = None, env: dict[str, str] | None = None) -> Config:
    """Read and validate the config file (None: defaults only); command-line flags win over the file."""
    env = dict(os.environ if env is None else env)
    origin = str(path) if path else "defaults"
    document: dict[str, Any] = {}
    if path is not None:
        try:
            text = path.read_text()
        except OSError as error:
            raise ConfigError(f"{path}: cannot read the config file: {error.strerror}") from None
        try:
            document = yaml.safe_load(text) or {}
        except yaml.YAMLError as error:
            raise ConfigError(f"{path}: not valid YAML: {error}") from None
        if not isinstance(document, dict):
            raise ConfigError(f"{path}: the top level must be a mapping of keys")
    reader = _Reader(origin, path.parent if path else Path.cwd(), env)
    return reader.config(document, state_dir)


class _Reader:
    def __init__(self, origin: str, base_dir: Path, env: dict[str, str]):
        self.origin = origin
        self.base_dir = base_dir
        self.env = env
        self.home = Path(env.get("HOME") or Path.home())

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.origin}: {key}: {problem}")

    def mapping(self, value: Any, key: str, allowed: tuple[str, ...]) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(key, "must be a mapping")
        for name in value:
            if name not in allowed:
                raise self.fail(f"{key}.{name}" if key else str(name), f"unknown key (known: {', '.join(allowed)})")
        return value

    def path(self, value: Any, key: str) -> Path:
        if not isinstance(value, str) or not value:
            raise self.fail(key, "must be a path")
        expanded = Path(os.path.expandvars(value.replace("~", str(self.home), 1) if value.startswith("~") else value))
        return expanded if expanded.is_absolute() else self.base_dir / expanded

    def config(self, document: dict[str, Any], state_dir_flag: Path | None) -> Config:
        top = self.mapping(
            document,
            "",
            ("sources", "state_dir", "pricing", "sessions", "timezone", "week_start", "budgets", "watch"),
        )
        sources = self.mapping(top.get("sources"), "sources", ("claude_code", "openclaw"))
        pricing = self.mapping(top.get("pricing"), "pricing", ("mode", "overrides"))
        sessions = self.mapping(top.get("sessions"), "sessions", ("window", "max_series"))
        watch = self.mapping(top.get("watch"), "watch", ("poll_interval", "max_line_bytes"))

        mode = pricing.get("mode", "auto")
        if mode not in COST_MODES:
            raise self.fail("pricing.mode", f"must be one of {', '.join(COST_MODES)}, not {mode!r}")
        overrides: tuple[PriceRule, ...] = ()
        if pricing.get("overrides") is not None:
            try:
                overrides = tuple(load_override_file(self.path(pricing["overrides"], "pricing.overrides")))
            except PricingError as error:
                raise self.fail("pricing.overrides", str(error)) from None

        if state_dir_flag is not None:
            state_dir = state_dir_flag
        elif top.get("state_dir") is not None:
            state_dir = self.path(top["state_dir"], "state_dir")
        else:
            state_dir = Path(self.env.get("XDG_STATE_HOME") or self.home / ".local/state") / "claude-usage-exporter"

        max_series = sessions.get("max_series", 500)
        if isinstance(max_series, bool) or not isinstance(max_series, int) or max_series < 0:
            raise self.fail("sessions.max_series", "must be a whole number >= 0")
        max_line_bytes = watch.get("max_line_bytes", 16 * 1024 * 1024)
        if isinstance(max_line_bytes, bool) or not isinstance(max_line_bytes, int) or max_line_bytes < 1024:
            raise self.fail("watch.max_line_bytes", "must be a whole number >= 1024")

        return Config(
            claude_code_roots=self.roots(sources, "claude_code", self.default_claude_roots()),
            openclaw_roots=self.roots(sources, "openclaw", self.default_openclaw_roots()),
            state_dir=state_dir,
            pricing_mode=mode,
            price_overrides=overrides,
            session_window_seconds=self.duration(sessions.get("window", "7d"), "sessions.window"),
            session_max_series=max_series,
            timezone=self.timezone(top.get("timezone")),
            week_start=self.week_start(top.get("week_start", "monday")),
            budgets=self.budgets(top.get("budgets")),
            poll_interval_seconds=self.duration(watch.get("poll_interval", "30s"), "watch.poll_interval"),
            max_line_bytes=max_line_bytes,
            source_file=None if self.origin == "defaults" else Path(self.origin),
        )

    def roots(self, sources: dict[str, Any], name: str, defaults: tuple[Path, ...]) -> tuple[Path, ...]:
        section = self.mapping(sources.get(name), f"sources.{name}", ("roots",))
        if "roots" not in section:
            return defaults
        roots = section["roots"]
        if roots is None:
            return ()
        if not isinstance(roots, list):
            raise self.fail(f"sources.{name}.roots", "must be a list of paths")
        return tuple(self.path(root, f"sources.{name}.roots[{i}]") for i, root in enumerate(roots))

    def default_claude_roots(self) -> tuple[Path, ...]:
        if self.env.get("CLAUDE_CONFIG_DIR"):
            return tuple(Path(p).expanduser() for p in self.env["CLAUDE_CONFIG_DIR"].split(",") if p.strip())
        return (self.home / ".claude", self.home / ".config/claude")

    def default_openclaw_roots(self) -> tuple[Path, ...]:
        for variable in ("OPENCLAW_STATE_DIR", "CLAWDBOT_STATE_DIR", "MOLTBOT_STATE_DIR"):
            if self.env.get(variable):
                return (Path(self.env[variable]).expanduser(),)
        return tuple(self.home / name for name in (".openclaw", ".clawdbot", ".moltbot"))

    def duration(self, value: Any, key: str) -> float:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
            return float(value)
        match = _DURATION.match(str(value)) if isinstance(value, str) else None
        if match is None or float(match[1]) <= 0:
            raise self.fail(key, f"must be a positive duration such as 30s, 15m, 12h or 7d, not {value!r}")
        return float(match[1]) * _DURATION_UNITS[match[2]]

    def timezone(self, value: Any) -> ZoneInfo:
        if value is None:
            return local_timezone(self.env)
        try:
            return ZoneInfo(str(value))
        except (ZoneInfoNotFoundError, ValueError):
            raise self.fail("timezone", f"unknown time zone {value!r} (use an IANA name such as America/Denver)") from None

    def week_start(self, value: Any) -> int:
        if not isinstance(value, str) or value.lower() not in WEEKDAYS:
            raise self.fail("week_start", f"must be a day name such as monday or sunday, not {value!r}")
        return WEEKDAYS.index(value.lower())

    def budgets(self, value: Any) -> tuple[Budget, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            raise self.fail("budgets", "must be a list")
        budgets: list[Budget] = []
        for i, entry in enumerate(value):
            key = f"budgets[{i}]"
            entry = self.mapping(entry, key, ("name", "period", "limit_usd", "match", "warning_ratio"))
            name = entry.get("name")
            if not isinstance(name, str) or not _BUDGET_NAME.match(name):
                raise self.fail(f"{key}.name", "must be 1-64 letters, digits or _.:-")
            if any(b.name == name for b in budgets):
                raise self.fail(f"{key}.name", f"duplicate budget name {name!r}")
            period = entry.get("period")
            if period not in PERIODS:
                raise self.fail(f"{key}.period", f"must be one of {', '.join(PERIODS)}, not {period!r}")
            limit = entry.get("limit_usd")
            if isinstance(limit, bool) or not isinstance(limit, (int, float)) or not math.isfinite(limit) or limit < 0:
                raise self.fail(f"{key}.limit_usd", "must be a number of US dollars >= 0")
            ratio = entry.get("warning_ratio", 0.8)
            if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not 0 < ratio <= 1:
                raise self.fail(f"{key}.warning_ratio", "must be a number in (0, 1]")
            match = {}
            for match_key, pattern in self.mapping(entry.get("match"), f"{key}.match", MATCH_KEYS).items():
                try:
                    match[match_key] = re.compile(str(pattern))
                except re.error as error:
                    raise self.fail(f"{key}.match.{match_key}", f"not a valid regular expression: {error}") from None
            budgets.append(Budget(name, period, float(limit), match, float(ratio)))
        return tuple(budgets)


def local_timezone(env: dict[str, str]) -> ZoneInfo:
    """The machine's zone as an IANA zone (so daylight saving is right), UTC when it cannot be told."""
    candidates = [env.get("TZ", "").lstrip(":")]
    try:
        candidates.append(os.path.realpath("/etc/localtime").split("/zoneinfo/", 1)[1])
    except (IndexError, OSError):
        pass
    try:
        candidates.append(Path("/etc/timezone").read_text().strip())
    except OSError:
        pass
    for name in candidates:
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")
