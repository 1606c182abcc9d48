"""The installed console script as a process, on copies of the fixtures: issue 2's live guarantees."""

from __future__ import annotations

import gzip
import shutil
import subprocess
import time

import pytest

from tests.support.exporter import CONSOLE_SCRIPT, ExporterProcess
from tests.support.transcripts import CLAUDE_CODE_FIXTURE, OPENCLAW_FIXTURE, append, claude_code_line, exporter_config
from tests.support.waiting import http_get, wait_until

USAGE_FAMILIES = (
    "claude_usage_tokens_total",
    "claude_usage_cost_usd_total",
    "claude_usage_requests_total",
    "claude_usage_unpriced_tokens_total",
    "claude_usage_sessions_total",
    "claude_usage_session_tokens_total",
    "claude_usage_session_cost_usd_total",
)


def usage_totals(exporter: ExporterProcess) -> dict:
    return {key: value for key, value in exporter.samples().items() if key[0] in USAGE_FAMILIES}


def requests(exporter: ExporterProcess) -> float:
    return exporter.total("claude_usage_requests_total")


@pytest.fixture
def exporter(tmp_path, fixture_roots):
    claude_root, openclaw_root = fixture_roots
    process = ExporterProcess(tmp_path / "exporter", exporter_config(claude_root, openclaw_root)).start()
    process.claude_root, process.openclaw_root = claude_root, openclaw_root
    yield process
    process.stop()


def test_fixture_totals_on_metrics(exporter):
    assert exporter.total("claude_usage_cost_usd_total", source="claude_code") == pytest.approx(0.052749, abs=1e-9)
    assert exporter.total("claude_usage_cost_usd_total", source="openclaw") == pytest.approx(0.07694395, abs=1e-9)
    assert exporter.total("claude_usage_tokens_total", token_type="cache_read") == 36_500 + 24_862
    assert requests(exporter) == 8


def test_appended_line_is_visible_within_two_seconds(exporter):
    transcript = exporter.claude_root / CLAUDE_CODE_FIXTURE
    started = time.monotonic()
    append(transcript, claude_code_line(input_tokens=100, output_tokens=1000))
    wait_until(lambda: requests(exporter) == 9, timeout=2.0, what="appended line on /metrics")
    assert time.monotonic() - started < 2.0
    sonnet = dict(source="claude_code", model="claude-sonnet-4-5-20250929")
    assert exporter.total("claude_usage_cost_usd_total", **sonnet) == pytest.approx(0.045504 + 100 * 3e-6 + 1000 * 15e-6)


def test_half_written_line_counts_once_when_complete(exporter):
    transcript = exporter.claude_root / CLAUDE_CODE_FIXTURE
    line = claude_code_line(output_tokens=500)
    append(transcript, line[:200])
    time.sleep(1.0)
    assert requests(exporter) == 8  # no newline yet: nothing counted, and no error either
    assert exporter.total("claude_usage_parse_errors_total") == 0
    append(transcript, line[200:])
    wait_until(lambda: requests(exporter) == 9, timeout=2.0, what="completed line counted")
    append(transcript, claude_code_line(output_tokens=1))  # a later write does not count it again
    wait_until(lambda: requests(exporter) == 10, timeout=2.0, what="next line counted")
    assert exporter.total("claude_usage_tokens_total", token_type="output") == 989 + 627 + 500 + 1
    assert exporter.total("claude_usage_parse_errors_total") == 0


def test_restart_gives_identical_totals(exporter):
    append(exporter.claude_root / CLAUDE_CODE_FIXTURE, claude_code_line())
    wait_until(lambda: requests(exporter) == 9, timeout=2.0, what="appended line")
    before = usage_totals(exporter)
    exporter.restart()
    assert usage_totals(exporter) == before


def test_deleting_every_transcript_and_restarting_keeps_totals(exporter):
    before = usage_totals(exporter)
    shutil.rmtree(exporter.claude_root / "projects")
    shutil.rmtree(exporter.openclaw_root / "agents")
    time.sleep(0.5)
    assert usage_totals(exporter) == before
    exporter.restart()
    assert usage_totals(exporter) == before
    assert exporter.total("claude_usage_files_watched") == 0


def test_compaction_rewrite_adds_nothing(exporter):
    before = usage_totals(exporter)
    live = exporter.openclaw_root / OPENCLAW_FIXTURE
    lines = live.read_bytes().splitlines(keepends=True)
    # OpenClaw compaction: the live file becomes a .bak and is rewritten with the header and its last lines.
    live.rename(live.with_name(live.name + ".bak.2026-01-25T09-23-19.742Z"))
    live.write_bytes(lines[0] + b"".join(lines[-5:]))
    # Claude Code rewritten in place, shorter, with its last lines.
    claude = exporter.claude_root / CLAUDE_CODE_FIXTURE
    claude.write_bytes(b"".join(claude.read_bytes().splitlines(keepends=True)[-4:]))
    marker = exporter.openclaw_root / "agents/main/sessions/marker.jsonl"
    marker.write_bytes(lines[0])  # a file the exporter sees after the rewrites: then they were read
    wait_until(lambda: exporter.total("claude_usage_files_watched") == 3, timeout=3.0, what="rewrites read")
    time.sleep(0.3)
    assert usage_totals(exporter) == before


def test_bad_lines_are_counted_and_skipped(exporter):
    transcript = exporter.claude_root / "projects/-home-alice-src-metrics-demo/bad.jsonl"
    append(
        transcript,
        b'{"type":"assistant","usage": oops}\n'  # malformed JSON
        + b'{"type":"assistant","message":{"usage":{"input_tokens":\n'  # truncated line
        + b"\x00\x9f\x92\x96 PNG garbage \xff\xfe\n"  # binary garbage
        + b'{"type":"user","content":"' + b"x" * (20 * 1024 * 1024) + b'"}\n'  # a 20 MB line
        + claude_code_line(output_tokens=10),
    )
    wait_until(lambda: requests(exporter) == 9, timeout=5.0, what="the good line after the bad ones")
    errors = {dict(labels)["reason"]: value for (name, labels), value in exporter.samples().items() if name == "claude_usage_parse_errors_total"}
    assert errors == {"invalid_json": 3, "line_too_long": 1}
    assert exporter.process.poll() is None
    assert "oops" not in exporter.log() and "garbage" not in exporter.log()  # no transcript content in logs


def test_a_root_that_appears_after_start(tmp_path):
    missing = tmp_path / "later" / ".claude"
    with ExporterProcess(tmp_path / "exporter", exporter_config(missing, None)) as exporter:
        assert requests(exporter) == 0
        append(missing / "projects/-p/s.jsonl", claude_code_line())
        wait_until(lambda: requests(exporter) == 1, timeout=5.0, what="file in a root created after start")


def test_http_endpoints(exporter):
    assert http_get(exporter.url + "/-/healthy")[0] == 200
    assert http_get(exporter.url + "/-/ready")[0] == 200
    status, headers, body = http_get(exporter.url + "/metrics", {"Accept": "application/openmetrics-text; version=1.0.0"})
    assert status == 200 and headers["Content-Type"].startswith("application/openmetrics-text")
    assert body.decode().rstrip().endswith("# EOF")
    status, headers, body = http_get(exporter.url + "/metrics", {"Accept-Encoding": "gzip"})
    assert headers.get("Content-Encoding") == "gzip" and b"claude_usage_cost_usd_total" in gzip.decompress(body)
    status, _, body = http_get(exporter.url + "/metrics?name[]=claude_usage_requests_total")
    names = {line.split("{")[0] for line in body.decode().splitlines() if not line.startswith("#")}
    assert names == {"claude_usage_requests_total"}
    assert http_get(exporter.url + "/nope")[0] == 404


def test_not_ready_answers_503_then_200(tmp_path, fixture_roots):
    claude_root, _ = fixture_roots
    # Enough lines that the first scan takes a moment, so the 503 is observable.
    big = claude_root / "projects/-p/big.jsonl"
    append(big, b"".join(claude_code_line(output_tokens=i) for i in range(1, 60_001)))
    exporter = ExporterProcess(tmp_path / "exporter", exporter_config(claude_root, None)).start(wait_ready=0)
    try:
        first = wait_until(lambda: http_get(exporter.url + "/-/ready")[0], timeout=10.0, what="exporter answering")
        assert first == 503
        status, _, body = http_get(exporter.url + "/metrics")
        assert status == 503 and b"claude_usage" not in body  # never a partial total that would jump
        exporter.wait_ready(60)
        assert requests(exporter) == 60_000 + 4
    finally:
        exporter.stop()


def test_promtool_finds_nothing_to_complain_about(exporter):
    append(exporter.claude_root / "projects/-p/recent.jsonl", claude_code_line())  # a recent session: session series too
    wait_until(lambda: requests(exporter) == 9, timeout=2.0, what="recent line")
    text = exporter.metrics_text()
    assert "claude_usage_session_cost_usd_total" in text
    result = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "" and result.stderr.strip() == ""


def test_rescan_reads_everything_again_and_counts_nothing_twice(exporter):
    bad = exporter.claude_root / "projects/-p/later.jsonl"
    # A line this version cannot use yet (an unknown field type) is skipped and its cursor moves on.
    append(bad, claude_code_line(output_tokens=7).replace(b'"output_tokens":7', b'"output_tokens":"7"'))
    wait_until(lambda: exporter.total("claude_usage_parse_errors_total") == 1, timeout=2.0, what="skipped line")
    before = usage_totals(exporter)
    exporter.stop()
    result = subprocess.run(
        [CONSOLE_SCRIPT, "rescan", "--config", str(exporter.config_path), "--state-dir", str(exporter.state_dir)],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "forgot 3 read positions" in result.stdout
    exporter.start()
    assert usage_totals(exporter) == before  # every file read again from the start: nothing counted twice
    assert exporter.total("claude_usage_lines_read_total") == 10 + 14 + 1
