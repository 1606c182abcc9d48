"""The fixtures' totals from formats.md §4, and agreement with ccusage 20.0.24's output for them."""

from __future__ import annotations

import json

import pytest

from tests.support.pipeline import Pipeline, config_from
from tests.support.transcripts import FIXTURES, exporter_config

# formats.md §4: model -> (requests, input, output, cache_read, cache_write_5m, cache_write_1h, cost)
CLAUDE_CODE = {
    "claude-sonnet-4-5-20250929": (2, 8, 584, 33_400, 5_200, 1_200, 0.045504),
    "claude-haiku-4-5-20251001": (2, 10, 405, 3_100, 3_920, 0, 0.007245),
}
OPENCLAW = {
    "claude-haiku-4-5": (2, 10, 238, 11_842, 12_129, 0, 0.01754545),
    "claude-sonnet-4-5": (2, 10, 389, 13_020, 13_234, 0, 0.0593985),
}


@pytest.fixture
def pipeline(fixture_pipeline):
    return fixture_pipeline


@pytest.mark.parametrize("source, expected", [("claude_code", CLAUDE_CODE), ("openclaw", OPENCLAW)])
def test_every_model_matches_formats_md(pipeline, source, expected):
    for model, (requests, *tokens, cost) in expected.items():
        totals = pipeline.totals(source=source, model=model)
        assert totals.requests == requests, model
        assert totals.tokens == tokens, model
        assert totals.cost_usd == pytest.approx(cost, abs=1e-9), model
        assert totals.unpriced_tokens == 0


def test_grand_totals(pipeline):
    claude = pipeline.totals(source="claude_code")
    assert (claude.tokens, claude.requests) == ([18, 989, 36_500, 9_120, 1_200], 4)
    assert claude.cost_usd == pytest.approx(0.052749, abs=1e-9)
    openclaw = pipeline.totals(source="openclaw")
    assert (openclaw.tokens, openclaw.requests) == ([20, 627, 24_862, 25_363, 0], 4)
    assert openclaw.cost_usd == pytest.approx(0.07694395, abs=1e-9)


def test_agents_and_sessions(pipeline):
    snapshot = pipeline.aggregate.snapshot()
    assert snapshot.sessions_per_agent == {("claude_code", "metrics-demo"): 1, ("openclaw", "main"): 1}
    sessions = {key[:3] for key in snapshot.by_session}
    assert sessions == {
        # the Explore subagent's lines carry the parent's sessionId: one session, not two
        ("claude_code", "metrics-demo", "3b1f6a2e-9c4d-4e8f-a7b2-5d0c8e1f9a34"),
        ("openclaw", "main", "8f4c2d1e-5b7a-4c3e-9d21-6a0b9e3f7c15"),
    }


def test_claude_code_equals_ccusage(pipeline):
    ccusage = json.loads((FIXTURES / "ccusage-20.0.24/claude-session.json").read_text())
    (session,) = ccusage["sessions"]
    for breakdown in session["modelBreakdowns"]:
        ours = pipeline.totals(source="claude_code", model=breakdown["modelName"])
        assert ours.tokens[0] == breakdown["inputTokens"]
        assert ours.tokens[1] == breakdown["outputTokens"]
        assert ours.tokens[2] == breakdown["cacheReadTokens"]
        assert ours.tokens[3] + ours.tokens[4] == breakdown["cacheCreationTokens"]
        assert ours.cost_usd == pytest.approx(breakdown["cost"], abs=1e-9)
    total = pipeline.totals(source="claude_code")
    assert total.total_tokens == ccusage["totals"]["totalTokens"]
    assert total.cost_usd == pytest.approx(ccusage["totals"]["totalCost"], abs=1e-9)


def test_openclaw_equals_ccusage(pipeline):
    ccusage = json.loads((FIXTURES / "ccusage-20.0.24/openclaw-session.json").read_text())
    total = pipeline.totals(source="openclaw")
    assert total.total_tokens == ccusage["totals"]["totalTokens"]
    assert total.cost_usd == pytest.approx(ccusage["totals"]["totalCost"], abs=1e-9)


def test_calculate_mode_recomputes_openclaw_costs(tmp_path, fixture_roots):
    # The recorded costs equal our computed ones on this fixture, so both modes agree to 1e-9.
    claude_root, openclaw_root = fixture_roots
    config = config_from(tmp_path, exporter_config(None, openclaw_root, pricing={"mode": "calculate"}))
    pipeline = Pipeline(config).scan()
    try:
        assert pipeline.totals(source="openclaw").cost_usd == pytest.approx(0.07694395, abs=1e-9)
    finally:
        pipeline.close()
