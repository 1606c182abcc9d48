"""What an event cost: genai-prices data, our corrections and the user's overrides, as float rates.

genai-prices resolves a model name and date to Decimal prices; that is too slow per event, so each
(provider, model, day) is resolved once into a `Rates` of floats and the per-event arithmetic is
plain float math. The package's auto-updater is never started: prices come from its bundled data.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, fields, replace
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from .events import PricedEvent, TokenCounts, UsageEvent

log = logging.getLogger(__name__)

PER_MILLION = 1_000_000
RATE_KEYS = ("input", "output", "cache_read", "cache_write_5m", "cache_write_1h")
COST_MODES = ("auto", "calculate")
_UNRESOLVED = object()


@dataclass(frozen=True, slots=True)
class Rates:
    """USD per million tokens of each type."""

    input: float
    output: float
    cache_read: float
    cache_write_5m: float
    cache_write_1h: float

    def cost(self, tokens: TokenCounts) -> float:
        return (
            tokens.input * self.input
            + tokens.output * self.output
            + tokens.cache_read * self.cache_read
            + tokens.cache_write_5m * self.cache_write_5m
            + tokens.cache_write_1h * self.cache_write_1h
        ) / PER_MILLION


@dataclass(frozen=True, slots=True)
class ModelRates:
    base: Rates
    # Anthropic's long-context rule: above the threshold the *whole* request is billed at these.
    long_context: Rates | None = None
    threshold: int = 200_000

    def cost(self, tokens: TokenCounts) -> float:
        if self.long_context is not None and tokens.prompt > self.threshold:
            return self.long_context.cost(tokens)
        return self.base.cost(tokens)


class PricingError(ValueError):
    """A price file that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class PriceRule:
    """One entry of a corrections or override file."""

    pattern: re.Pattern[str]
    provider: str | None
    since: date | None
    rates: dict[str, float]
    long_context: dict[str, float] | None
    threshold: int

    def applies(self, provider: str, model: str, day: date) -> bool:
        return (
            self.pattern.fullmatch(model) is not None
            and (self.provider is None or self.provider == provider)
            and (self.since is None or day >= self.since)
        )


def load_price_rules(text: str, origin: str) -> list[PriceRule]:
    try:
        document = yaml.safe_load(text) or {}
    except yaml.YAMLError as error:
        raise PricingError(f"{origin}: not valid YAML: {error}") from None
    if not isinstance(document, dict) or not isinstance(document.get("models", []), list):
        raise PricingError(f"{origin}: models: must be a list")
    return [_price_rule(entry, f"{origin}: models[{i}]") for i, entry in enumerate(document.get("models") or [])]


def _price_rule(entry: Any, where: str) -> PriceRule:
    if not isinstance(entry, dict):
        raise PricingError(f"{where}: must be a mapping")
    known = {"model", "model_regex", "provider", "since", "long_context", *RATE_KEYS}
    for key in entry:
        if key not in known:
            raise PricingError(f"{where}.{key}: unknown key")
    if ("model" in entry) == ("model_regex" in entry):
        raise PricingError(f"{where}: needs exactly one of model, model_regex")
    try:
        pattern = re.compile(entry["model_regex"]) if "model_regex" in entry else re.compile(re.escape(str(entry["model"])))
    except re.error as error:
        raise PricingError(f"{where}.model_regex: {error}") from None
    since = entry.get("since")
    if since is not None and not isinstance(since, date):
        try:
            since = date.fromisoformat(str(since))
        except ValueError:
            raise PricingError(f"{where}.since: not a date (YYYY-MM-DD)") from None
    long_context = entry.get("long_context")
    threshold = 200_000
    if long_context is not None:
        if not isinstance(long_context, dict):
            raise PricingError(f"{where}.long_context: must be a mapping")
        threshold = long_context.get("threshold", threshold)
        if not isinstance(threshold, int) or threshold <= 0:
            raise PricingError(f"{where}.long_context.threshold: must be a positive integer")
        long_context = _rate_values({k: v for k, v in long_context.items() if k != "threshold"}, f"{where}.long_context")
    return PriceRule(
        pattern=pattern,
        provider=entry.get("provider"),
        since=since,
        rates=_rate_values({k: entry[k] for k in RATE_KEYS if k in entry}, where),
        long_context=long_context,
        threshold=threshold,
    )


def _rate_values(values: dict[str, Any], where: str) -> dict[str, float]:
    rates = {}
    for key, value in values.items():
        if key not in RATE_KEYS:
            raise PricingError(f"{where}.{key}: unknown key")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise PricingError(f"{where}.{key}: must be a non-negative number (USD per million tokens)")
        rates[key] = float(value)
    return rates


def bundled_corrections() -> list[PriceRule]:
    text = resources.files(__package__).joinpath("data/price_corrections.yaml").read_text()
    return load_price_rules(text, "bundled price_corrections.yaml")


def load_override_file(path: Path) -> list[PriceRule]:
    try:
        text = path.read_text()
    except OSError as error:
        raise PricingError(f"{path}: cannot be read: {error.strerror}") from None
    return load_price_rules(text, str(path))


class PriceBook:
    """Resolves and caches rates; prices events. Not shared between threads."""

    def __init__(self, mode: str = "auto", overrides: list[PriceRule] | None = None):
        if mode not in COST_MODES:
            raise PricingError(f"pricing.mode: must be one of {', '.join(COST_MODES)}")
        self.mode = mode
        # Later rules win: the user's overrides over our corrections over genai-prices.
        self._rules = bundled_corrections() + list(overrides or [])
        self._cache: dict[tuple[str, str, int], ModelRates | None] = {}
        self._reported_unpriced: set[tuple[str, str]] = set()

    def price(self, event: UsageEvent) -> PricedEvent:
        if self.mode == "auto" and event.recorded_cost_usd is not None:
            return PricedEvent(event, event.recorded_cost_usd, True)
        rates = self.rates(event.provider, event.model, event.timestamp)
        if rates is None:
            if event.tokens.total and (event.provider, event.model) not in self._reported_unpriced:
                self._reported_unpriced.add((event.provider, event.model))
                log.warning("no price known for model=%s provider=%s: its tokens are counted as unpriced", event.model, event.provider)
            return PricedEvent(event, 0.0, event.tokens.total == 0)
        return PricedEvent(event, rates.cost(event.tokens), True)

    def rates(self, provider: str, model: str, timestamp: float) -> ModelRates | None:
        # Keyed on the UTC day number: a datetime per event was a tenth of a cold scan.
        key = (provider, model, int(timestamp // 86400))
        rates = self._cache.get(key, _UNRESOLVED)
        if rates is _UNRESOLVED:
            day = datetime.fromtimestamp(key[2] * 86400, UTC).date()
            rates = self._cache[key] = self._resolve(provider, model, day)
        return rates  # type: ignore[return-value]

    def _resolve(self, provider: str, model: str, day: date) -> ModelRates | None:
        resolved = genai_rates(provider, model, day)
        for rule in self._rules:
            if rule.applies(provider, model, day):
                resolved = _apply_rule(resolved, rule, f"{provider}/{model}")
        return resolved


def _apply_rule(current: ModelRates | None, rule: PriceRule, what: str) -> ModelRates | None:
    if current is None:
        if set(rule.rates) < {"input", "output"}:
            return None  # a rule that only patches a tier cannot price a model on its own
        base = _complete_rates(rule.rates)
    else:
        base = replace(current.base, **rule.rates)
    long_context = current.long_context if current else None
    threshold = current.threshold if current else 200_000
    if rule.long_context is not None:
        long_context = _complete_rates(rule.long_context, like=long_context or base)
        threshold = rule.threshold
    return ModelRates(base=base, long_context=long_context, threshold=threshold)


def _complete_rates(values: dict[str, float], like: Rates | None = None) -> Rates:
    """Missing cache rates follow Anthropic's multipliers of the input rate."""
    if like is not None:
        return replace(like, **values)
    input_rate = values["input"]
    defaults = {"cache_read": input_rate * 0.1, "cache_write_5m": input_rate * 1.25, "cache_write_1h": input_rate * 2}
    return Rates(**{**defaults, **values})


def genai_rates(provider: str, model: str, day: date) -> ModelRates | None:
    """The bundled genai-prices data for one model on one day, or None when it has no price."""
    from genai_prices import data_snapshot
    from genai_prices.types import TieredPrices

    snapshot = data_snapshot.get_snapshot()
    found = None
    for provider_id in dict.fromkeys((provider, "anthropic", None)):
        try:
            found = snapshot.find_provider_model(model, None, provider_id, None)
            break
        except LookupError:
            continue
    if found is None:
        return None
    _, model_info = found
    prices = model_info.get_prices(datetime(day.year, day.month, day.day, 12, tzinfo=UTC))
    keys = {
        "input": "input_mtok",
        "output": "output_mtok",
        "cache_read": "cache_read_mtok",
        "cache_write_5m": "cache_write_mtok",
        "cache_write_1h": "cache_write_1h_mtok",
    }
    base: dict[str, float] = {}
    tier: dict[str, float] = {}
    threshold = 200_000
    for ours, theirs in keys.items():
        value = getattr(prices, theirs, None)
        if isinstance(value, TieredPrices):
            base[ours] = float(value.base)
            if value.tiers:
                tier[ours] = float(value.tiers[0].price)
                threshold = value.tiers[0].start
        elif value is not None:
            base[ours] = float(value)
    if "input" not in base or "output" not in base:
        return None
    base_rates = _complete_rates(base)
    long_context = _complete_rates(tier, like=_scaled(base_rates, tier)) if tier else None
    return ModelRates(base=base_rates, long_context=long_context, threshold=threshold)


def _scaled(base: Rates, tier: dict[str, float]) -> Rates:
    """Tier rates the data leaves out scale with the input rate, as Anthropic bills them."""
    factor = tier.get("input", base.input) / base.input if base.input else 1.0
    return Rates(**{f.name: getattr(base, f.name) * factor for f in fields(Rates)})
