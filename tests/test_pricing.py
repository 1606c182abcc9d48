"""Pricing: our float rates against genai-prices' own calculation, the long-context rule, overrides."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from genai_prices import Usage, calc_price

from claude_usage.events import TokenCounts, UsageEvent
from claude_usage.pricing import PriceBook, PricingError, load_price_rules

FIXTURE_MODELS = ["claude-sonnet-4-5-20250929", "claude-haiku-4-5-20251001", "claude-haiku-4-5", "claude-sonnet-4-5"]
WHEN = datetime(2026, 1, 25, 10, tzinfo=UTC)


def event(model: str, tokens: TokenCounts, recorded: float | None = None, when: datetime = WHEN) -> UsageEvent:
    return UsageEvent("claude_code", "k", when.timestamp(), "a", "s", "anthropic", model, tokens, recorded)


def genai_cost(model: str, tokens: TokenCounts, when: datetime = WHEN) -> float:
    usage = Usage(
        input_tokens=tokens.prompt,  # genai-prices counts cache tokens inside input_tokens
        output_tokens=tokens.output,
        cache_read_tokens=tokens.cache_read,
        cache_write_tokens=tokens.cache_write_5m + tokens.cache_write_1h,
        cache_write_1h_tokens=tokens.cache_write_1h,
    )
    return float(calc_price(usage, model, provider_id="anthropic", genai_request_timestamp=when).total_price)


@pytest.mark.parametrize("model", FIXTURE_MODELS)
@pytest.mark.parametrize(
    "tokens",
    [
        TokenCounts(8, 584, 33_400, 5_200, 1_200),
        TokenCounts(10, 405, 3_100, 3_920, 0),
        TokenCounts(150_000, 1_000, 40_000, 20_000, 0),  # 210k prompt: long context where the model has it
    ],
)
def test_cost_equals_genai_prices(model, tokens):
    ours = PriceBook("calculate").price(event(model, tokens)).cost_usd
    assert ours == pytest.approx(genai_cost(model, tokens), abs=1e-12)


def test_long_context_bills_the_whole_request_at_the_higher_rate():
    book = PriceBook("calculate")
    below = TokenCounts(input=200_000, output=1_000)
    above = TokenCounts(input=200_001, output=1_000)
    assert book.price(event("claude-sonnet-4-5", below)).cost_usd == pytest.approx(0.6 + 0.015)
    assert book.price(event("claude-sonnet-4-5", above)).cost_usd == pytest.approx(200_001 * 6e-6 + 1_000 * 22.5e-6)


def test_sonnet_4_long_context_correction():
    # genai-prices has no >200k tier for Sonnet 4; our bundled correction adds it.
    cost = PriceBook("calculate").price(event("claude-sonnet-4-20250514", TokenCounts(input=250_000, output=1_000))).cost_usd
    assert cost == pytest.approx(250_000 * 6e-6 + 1_000 * 22.5e-6)


def test_auto_uses_the_recorded_cost_and_calculate_ignores_it():
    tokens = TokenCounts(input=1_000_000)
    assert PriceBook("auto").price(event("claude-haiku-4-5", tokens, recorded=0.5)).cost_usd == 0.5
    assert PriceBook("calculate").price(event("claude-haiku-4-5", tokens, recorded=0.5)).cost_usd == pytest.approx(1.0)


def test_unknown_model_is_unpriced_not_free(caplog):
    book = PriceBook("calculate")
    priced = book.price(event("claude-imaginary-9", TokenCounts(input=10)))
    assert (priced.cost_usd, priced.priced) == (0.0, False)
    book.price(event("claude-imaginary-9", TokenCounts(input=10)))
    assert sum("claude-imaginary-9" in r.getMessage() for r in caplog.records) == 1  # logged once


def test_overrides_price_a_private_model_and_win_over_the_data():
    rules = load_price_rules(
        """
models:
  - model: my-private-model
    input: 2
    output: 4
  - model_regex: 'claude-haiku-4-5.*'
    since: 2026-01-01
    output: 1
""",
        "prices.yaml",
    )
    book = PriceBook("calculate", rules)
    private = book.price(event("my-private-model", TokenCounts(input=1_000_000, output=1_000_000, cache_read=1_000_000)))
    assert private.cost_usd == pytest.approx(2 + 4 + 0.2)  # cache read defaults to 0.1x input
    haiku = book.price(event("claude-haiku-4-5", TokenCounts(input=1_000_000, output=1_000_000)))
    assert haiku.cost_usd == pytest.approx(1 + 1)
    before = book.price(event("claude-haiku-4-5", TokenCounts(output=1_000_000), when=datetime(2025, 12, 1, tzinfo=UTC)))
    assert before.cost_usd == pytest.approx(5)  # dated: the override starts on 2026-01-01


@pytest.mark.parametrize(
    "text, key",
    [
        ("models: [{model: x, input: -1, output: 1}]", "models[0].input"),
        ("models: [{input: 1}]", "models[0]"),
        ("models: [{model: x, colour: 1}]", "models[0].colour"),
        ("models: [{model: x, since: yesterday}]", "models[0].since"),
    ],
)
def test_bad_override_names_the_key(text, key):
    with pytest.raises(PricingError, match=rf"prices.yaml: {key.replace('[', '.').replace(']', '.')}"):
        load_price_rules(text, "prices.yaml")
