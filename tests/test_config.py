"""The config contract: defaults with no file, and one clear line naming the key, exit status 2."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from claude_usage import cli
from claude_usage.config import ConfigError, load_config
from tests.support.exporter import CONSOLE_SCRIPT


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([CONSOLE_SCRIPT, *args], cwd=cwd, capture_output=True, text=True, timeout=60)


def test_no_file_discovers_the_default_locations(tmp_path):
    config = load_config(None, env={"HOME": str(tmp_path)})
    assert config.claude_code_roots == (tmp_path / ".claude", tmp_path / ".config/claude")
    assert config.openclaw_roots == (tmp_path / ".openclaw", tmp_path / ".clawdbot", tmp_path / ".moltbot")
    assert config.state_dir == tmp_path / ".local/state/claude-usage-exporter"
    assert (config.pricing_mode, config.session_window_seconds, config.session_max_series) == ("auto", 7 * 86400, 500)


def test_environment_overrides_discovery(tmp_path):
    env = {"HOME": str(tmp_path), "CLAUDE_CONFIG_DIR": "/a,/b", "CLAWDBOT_STATE_DIR": "/c", "XDG_STATE_HOME": "/x"}
    config = load_config(None, env=env)
    assert config.claude_code_roots == (Path("/a"), Path("/b"))
    assert config.openclaw_roots == (Path("/c"),)
    assert config.state_dir == Path("/x/claude-usage-exporter")


def test_full_config(tmp_path):
    (tmp_path / "prices.yaml").write_text("models: [{model: private, input: 1, output: 2}]\n")
    path = tmp_path / "config.yaml"
    path.write_text(
        """
sources:
  claude_code: {roots: [~/.claude]}
  openclaw: {roots: []}
state_dir: state
pricing: {mode: calculate, overrides: prices.yaml}
sessions: {window: 12h, max_series: 50}
timezone: America/Denver
week_start: sunday
budgets:
  - {name: monthly, period: month, limit_usd: 50}
  - {name: work-daily, period: day, limit_usd: 5, match: {agent: work}}
"""
    )
    config = load_config(path, env={"HOME": "/home/alice"})
    assert config.claude_code_roots == (Path("/home/alice/.claude"),)
    assert config.openclaw_roots == ()
    assert config.state_dir == tmp_path / "state"
    assert (config.pricing_mode, len(config.price_overrides)) == ("calculate", 1)
    assert (config.session_window_seconds, config.session_max_series) == (43200, 50)
    assert (str(config.timezone), config.week_start) == ("America/Denver", 6)
    assert [b.name for b in config.budgets] == ["monthly", "work-daily"]
    assert config.budgets[1].matches("claude_code", "work", "m") and not config.budgets[1].matches("claude_code", "home", "m")


@pytest.mark.parametrize(
    "text, key",
    [
        ("colour: blue", "colour"),
        ("sources: {claude_code: {roots: /x}}", "sources.claude_code.roots"),
        ("sources: {codex: {}}", "sources.codex"),
        ("pricing: {mode: guess}", "pricing.mode"),
        ("pricing: {overrides: missing.yaml}", "pricing.overrides"),
        ("sessions: {window: soon}", "sessions.window"),
        ("sessions: {max_series: -1}", "sessions.max_series"),
        ("timezone: Mars/Olympus", "timezone"),
        ("week_start: someday", "week_start"),
        ("budgets: [{name: m, period: year, limit_usd: 1}]", "budgets[0].period"),
        ("budgets: [{name: m, period: day, limit_usd: -1}]", "budgets[0].limit_usd"),
        ("budgets: [{name: m, period: day, limit_usd: 1}, {name: m, period: day, limit_usd: 2}]", "budgets[1].name"),
        ("budgets: [{name: m, period: day, limit_usd: 1, match: {agent: '('}}]", "budgets[0].match.agent"),
        ("budgets: [{name: m, period: day, limit_usd: 1, match: {team: x}}]", "budgets[0].match.team"),
    ],
)
def test_bad_config_names_file_and_key_and_exits_2(tmp_path, text, key):
    path = tmp_path / "config.yaml"
    path.write_text(text + "\n")
    with pytest.raises(ConfigError, match=rf"^{path}: {key.replace('[', '.').replace(']', '.')}: "):
        load_config(path, env={"HOME": str(tmp_path)})
    result = run_cli("--config", str(path), "check-config", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"claude-usage-exporter: error: {path}: {key}: ")


def test_serve_with_bad_config_exits_2_before_listening(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("timezone: Nowhere/Land\n")
    result = run_cli("--config", str(path), "--web.listen-address", "127.0.0.1:1", cwd=tmp_path)
    assert result.returncode == 2
    assert "timezone: unknown time zone" in result.stderr


def test_a_root_that_is_a_file_exits_2(tmp_path):
    (tmp_path / "not-a-dir").write_text("")
    path = tmp_path / "config.yaml"
    path.write_text(f"sources: {{claude_code: {{roots: [{tmp_path / 'not-a-dir'}]}}}}\n")
    result = run_cli("check-config", "--config", str(path), cwd=tmp_path)
    assert result.returncode == 2
    assert f"sources.claude_code.roots: {tmp_path / 'not-a-dir'}: not a directory" in result.stderr


def test_an_unreadable_root_is_named(tmp_path, monkeypatch):
    # Tests run as root in CI, where permissions do not bite; the check itself is what matters.
    config = load_config(None, env={"HOME": str(tmp_path)})
    (tmp_path / ".claude").mkdir()
    monkeypatch.setattr(cli.os, "access", lambda path, mode: Path(path) != tmp_path / ".claude")
    assert cli.check_roots(config) == [f"sources.claude_code.roots: {tmp_path / '.claude'}: permission denied"]


def test_bad_listen_address_exits_2(tmp_path):
    result = run_cli("--web.listen-address", "localhost", "--state-dir", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 2
    assert "--web.listen-address" in result.stderr


def test_check_config_accepts_a_good_file(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("budgets: [{name: monthly, period: month, limit_usd: 50}]\n")
    result = run_cli("check-config", "--config", str(path), "--state-dir", str(tmp_path / "s"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "monthly (month, $50.00)" in result.stdout
