"""Issue 3's configuration: time zone, week start and budgets (test_config.py covers the basic errors)."""

from __future__ import annotations

import pytest

from claude_usage.config import ConfigError, load_config, local_timezone


def load(tmp_path, text: str, env: dict[str, str] | None = None):
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return load_config(path, tmp_path / "state", env={"HOME": str(tmp_path), **(env or {})})


def test_defaults(tmp_path):
    config = load(tmp_path, "{}\n", env={"TZ": "America/Denver"})
    assert config.timezone.key == "America/Denver"  # the machine's zone, as an IANA name (DST-aware)
    assert config.week_start == 0  # Monday
    assert config.budgets == ()


def test_machine_zone_falls_back_to_a_real_zone():
    assert local_timezone({"TZ": ":Europe/Berlin"}).key == "Europe/Berlin"
    # an unknown TZ value is skipped for the next candidate (/etc/localtime), never an error
    assert local_timezone({"TZ": "Not/AZone"}).key


def test_budget_fields(tmp_path):
    config = load(
        tmp_path,
        """
timezone: Asia/Kolkata
week_start: Sunday
budgets:
  - {name: monthly, period: month, limit_usd: 50}
  - {name: work-agent-daily, period: day, limit_usd: 5.5, match: {agent: work}, warning_ratio: 0.9}
  - {name: free, period: week, limit_usd: 0, match: {source: openclaw, model: 'claude-(sonnet|opus).*'}}
""",
    )
    assert config.timezone.key == "Asia/Kolkata" and config.week_start == 6
    monthly, work, free = config.budgets
    assert (monthly.name, monthly.period, monthly.limit_usd, monthly.match, monthly.warning_ratio) == ("monthly", "month", 50.0, {}, 0.8)
    assert (work.limit_usd, work.warning_ratio) == (5.5, 0.9)
    # exact names match exactly; patterns are full-match regular expressions
    assert work.matches("claude_code", "work", "any") and not work.matches("claude_code", "work2", "any")
    assert free.matches("openclaw", "x", "claude-opus-4-5") and not free.matches("openclaw", "x", "claude-haiku-4-5")
    assert not free.matches("claude_code", "x", "claude-opus-4-5")


@pytest.mark.parametrize(
    ("text", "key", "words"),
    [
        ("timezone: America/Denvr", "timezone", "unknown time zone 'America/Denvr'"),
        ("timezone: ''", "timezone", "unknown time zone"),
        ("timezone: ../../etc/passwd", "timezone", "unknown time zone"),
        ("week_start: 1", "week_start", "day name"),
        ("budgets: [{name: m, period: month, limit_usd: -0.01}]", "budgets[0].limit_usd", ">= 0"),
        ("budgets: [{name: m, period: month, limit_usd: .nan}]", "budgets[0].limit_usd", ">= 0"),
        ("budgets: [{name: m, period: month, limit_usd: .inf}]", "budgets[0].limit_usd", ">= 0"),
        ("budgets: [{name: m, period: month, limit_usd: '50'}]", "budgets[0].limit_usd", "number"),
        ("budgets: [{name: m, period: month}]", "budgets[0].limit_usd", "number"),
        (
            "budgets: [{name: a, period: day, limit_usd: 1}, {name: a, period: month, limit_usd: 2}]",
            "budgets[1].name",
            "duplicate budget name 'a'",
        ),
        ("budgets: [{name: 'a b', period: day, limit_usd: 1}]", "budgets[0].name", "letters"),
        ("budgets: [{name: m, period: Month, limit_usd: 1}]", "budgets[0].period", "day, week, month"),
        ("budgets: [{name: m, period: day, limit_usd: 1, warning_ratio: 0}]", "budgets[0].warning_ratio", "(0, 1]"),
        ("budgets: [{name: m, period: day, limit_usd: 1, match: {model: '[a-'}}]", "budgets[0].match.model", "regular expression"),
        ("budgets: {name: m}", "budgets", "list"),
    ],
)
def test_errors_name_the_file_and_key(tmp_path, text, key, words):
    with pytest.raises(ConfigError) as error:
        load(tmp_path, text + "\n")
    message = str(error.value)
    assert message.startswith(f"{tmp_path / 'config.yaml'}: {key}: "), message
    assert words in message
