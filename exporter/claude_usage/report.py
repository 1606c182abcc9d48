"""`claude-usage-exporter report`: ingest what is new, then print the seed-style report.

The report ingests into the same ledger as a serving exporter, safely: the ledger's dedup keys
count each event once whichever process commits it first, writers take the lock up front and wait
for each other, and the serving exporter picks up what the report committed from the change log.
The report only scans and commits; it never applies or prunes the change log (that is the serving
process's job), so the exporter sees the report's additions exactly once.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from .aggregate import Aggregate
from .analysis import UsageReport, session_label
from .formatting import (
    TOKEN_TYPE_NAMES,
    forecast_overage_note,
    local_time,
    number,
    overage_note,
    share,
    time_left,
    usd,
    used_note,
)
from .api import load_report, to_json
from .config import Config
from .ingest import Ingestor
from .ledger import Ledger
from .page import render_page

log = logging.getLogger(__name__)

FORMATS = ("markdown", "json", "html")
HEADLINES = {
    "exceeded": "CRITICAL ALERT: BUDGET EXCEEDED",
    "warning": "WARNING: BUDGET RUNNING OUT",
    "ok": "STATUS: OK",
}
_MARKDOWN_SPECIAL = set("\\`*_[]<>|~&#")


def md(value: object) -> str:
    """A value as literal Markdown text: no emphasis, links, HTML or table cells can come out of it."""
    text = " ".join(str(value).split())
    return "".join("\\" + c if c in _MARKDOWN_SPECIAL else c for c in text)


def render_markdown(report: UsageReport) -> str:
    month = report.periods["month"]
    a = report.analysis
    out = [
        "# Claude API usage report",
        f"**Generated:** {local_time(report.generated_at, report.timezone)} ({md(report.timezone.key)})",
        "",
        f"## {HEADLINES[report.status] if report.budgets else 'STATUS: NO BUDGET CONFIGURED'}",
        "",
        "### Current status",
    ]
    labels = {"day": "Today's", "week": "Weekly", "month": "Monthly"}
    for name, p in report.periods.items():
        out.append(f"- **{labels[name]} token usage:** {number(p.totals.total_tokens)} tokens ({usd(p.totals.cost_usd)})")
    out.append(f"- **Monthly spend:** {usd(month.totals.cost_usd)}")
    for b in report.budgets:
        remaining = f"{usd(b.remaining_usd)} remaining" + (" **OVERAGE**" if b.overage_usd > 0 else "")
        out.append(
            f"- **Budget {md(b.name)} ({b.period}):** {usd(b.spend_usd)} of {usd(b.limit_usd)} allocated; {remaining};"
            f" status {b.status}"
        )
    out += ["", "### Financial impact"]
    if not report.budgets:
        out.append("- No budget is configured: add one under `budgets` in the config to get a status and a forecast.")
    for b in report.budgets:
        if b.overage_usd > 0:
            out.append(f"- **Budget {md(b.name)} exceeded by:** {usd(b.overage_usd)}{overage_note(b)}")
        else:
            out.append(f"- **Budget {md(b.name)}:** {usd(b.remaining_usd)} left{used_note(b)}")
        out.append(
            f"  - Forecast for the {b.period}: {usd(b.forecast_usd)}{forecast_overage_note(b)}; the {b.period} ends"
            f" {local_time(b.period_end, report.timezone)} ({time_left(b.seconds_left)})"
        )

    out += ["", "---", "", "## Usage breakdown", "", "### Session data analysis"]
    out.append(f"- **Files scanned:** {number(a.files_scanned)}")
    out.append(f"- **Sessions:** {number(a.sessions_in_period)} this month, {number(a.sessions_scanned)} in the ledger")
    if report.top_sessions:
        top = report.top_sessions[0]
        out.append(
            f"- **Primary session:** {md(session_label(top))} ({md(top.source)}, agent {md(top.agent)}):"
            f" {usd(top.cost_usd)}, {share(top.share)} of the month's spend"
        )
    out.append(
        f"- **Usage period:** {local_time(month.start, report.timezone, '%Y-%m-%d')} to {local_time(report.generated_at, report.timezone, '%Y-%m-%d')} ({a.days} days)"
    )
    out.append(f"- **Daily average:** {number(a.daily_average_tokens)} tokens/day, {usd(a.daily_average_cost_usd)}/day")
    if a.cost_per_million_tokens_usd is not None:
        out.append(f"- **Cost per million tokens:** {usd(a.cost_per_million_tokens_usd)}")
    out.append(f"- **First activity:** {local_time(a.first_activity, report.timezone)}; **last activity:** {local_time(a.last_activity, report.timezone)}")
    if a.unpriced_models:
        out.append(f"- **Models with no price (cost understated):** {md(', '.join(a.unpriced_models))}")

    out += _table(
        "Token distribution",
        ["Type", "Tokens:", "Share:"],
        [[TOKEN_TYPE_NAMES[t.token_type], number(t.tokens), share(t.share)] for t in a.token_distribution],
    )
    out += _table(
        "Model mix",
        ["Model", "Tokens:", "Token share:", "Cost:", "Cost share:", "Requests:"],
        [
            [md(m.model), number(m.tokens), share(m.token_share), usd(m.cost_usd), share(m.cost_share), number(m.requests)]
            for m in a.model_mix
        ],
    )
    out += _table("Spend per day", ["Day", "Cost:", "Tokens:"], [[d.day.isoformat(), usd(d.cost_usd), number(d.tokens)] for d in a.daily])
    out += _table(
        "Heavy hitters",
        ["Session", "Agent", "Model", "Cost:", "Share:", "Tokens:"],
        [
            [md(session_label(s)), md(s.agent), md(s.model), usd(s.cost_usd), share(s.share), number(s.tokens)]
            for s in report.top_sessions
        ],
    )

    out += ["", "---", "", "## Recommendations", ""]
    for i, r in enumerate(report.recommendations, 1):
        saving = f" *Estimated saving: {usd(r.estimated_saving_usd)}.*" if r.estimated_saving_usd is not None else ""
        out.append(f"{i}. **[{r.severity}] {md(r.title)}**: {md(r.reason)}{saving}")
    if not report.recommendations:
        out.append("Nothing to recommend right now.")
    out += ["", "---", "", "Figures from the exporter's ledger: ids, names, counts and money only, never transcript content.", ""]
    return "\n".join(out)


def _table(title: str, columns: list[str], rows: list[list[str]]) -> list[str]:
    """A Markdown table under a heading; a column named with a trailing ':' is right-aligned (numbers)."""
    header = "| " + " | ".join(c.rstrip(":") for c in columns) + " |"
    rule = "|" + "|".join("---:" if c.endswith(":") else "---" for c in columns) + "|"
    body = ["| " + " | ".join(cells) + " |" for cells in rows] or ["| (none this month) |" + " |" * (len(columns) - 1)]
    return ["", f"### {title}", "", header, rule, *body]


def render(report: UsageReport, fmt: str) -> str:
    if fmt == "json":
        return to_json(report)
    if fmt == "html":
        return render_page(report)
    return render_markdown(report)


def write_atomically(path: Path, text: str) -> None:
    """Write beside the target and rename over it, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def ingest_once(config: Config, ledger: Ledger) -> None:
    """One scan of every root, committed to the ledger; no watchers, and no applying or pruning of
    the change log (Ingestor.sync would prune changes the serving exporter has not applied yet)."""
    started = time.monotonic()
    Ingestor(config, ledger, Aggregate()).scan()
    log.info("report: transcripts scanned in %.2fs", time.monotonic() - started)


def run_report(
    config: Config, ledger: Ledger, fmt: str = "markdown", output: Path | None = None, write_dir: Path | None = None
) -> int:
    """Ingest what is new into `ledger` (closed afterwards), then render the report from it."""
    try:
        ingest_once(config, ledger)
    except sqlite3.Error as error:
        print(f"claude-usage-exporter: error: ledger: {error}", file=sys.stderr)
        return 1
    finally:
        ledger.close()
    report = load_report(config)
    text = render(report, fmt)
    try:
        if output is not None:
            write_atomically(output, text)
        else:
            sys.stdout.write(text)
            sys.stdout.flush()
        if write_dir is not None:
            write_atomically(write_dir / "claude-usage.json", to_json(report))
            write_atomically(write_dir / "claude-usage.html", render_page(report))
    except OSError as error:
        print(f"claude-usage-exporter: error: cannot write {error.filename or 'the report'}: {error.strerror}", file=sys.stderr)
        return 1
    return 0
