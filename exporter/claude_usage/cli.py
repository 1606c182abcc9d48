"""Command line: serve (the default), check-config and report. Exit 2 on a bad config, before anything starts."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sqlite3
import sys
import threading
from pathlib import Path

from prometheus_client import CollectorRegistry

from . import __version__
from .aggregate import Aggregate
from .api import UsageApi
from .budget_collector import BudgetCollector
from .collector import UsageCollector
from .config import Config, ConfigError, load_config
from .ingest import Ingestor
from .ledger import Ledger, LedgerError
from .page import UsagePage
from .report import FORMATS, run_report
from .web import ExporterApp, serve

log = logging.getLogger("claude_usage")

DEFAULT_LISTEN = "127.0.0.1:9787"  # transcripts are private: loopback unless told otherwise
EXIT_CONFIG = 2


def _common_flags(parser: argparse.ArgumentParser, default: object) -> None:
    parser.add_argument("--config", type=Path, default=default, metavar="FILE", help="YAML config file (optional)")
    parser.add_argument("--state-dir", type=Path, default=default, metavar="DIR", help="where the ledger is kept")
    parser.add_argument(
        "--log.level", dest="log_level", default=default, choices=["debug", "info", "warning", "error"], help="log level"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="claude-usage-exporter",
        description="Prometheus exporter for Claude API token usage and cost from Claude Code and OpenClaw transcripts.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _common_flags(parser, None)
    parser.add_argument("--web.listen-address", dest="listen", default=DEFAULT_LISTEN, metavar="HOST:PORT")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    # SUPPRESS: a flag given before the sub-command is not overwritten by the sub-command's default.
    check = commands.add_parser("check-config", help="validate the config and the transcript roots, then exit")
    _common_flags(check, argparse.SUPPRESS)
    rescan = commands.add_parser(
        "rescan", help="forget every read position, so the next start reads all transcripts again (nothing counts twice)"
    )
    _common_flags(rescan, argparse.SUPPRESS)
    report = commands.add_parser("report", help="ingest what is new, print the usage report, then exit")
    _common_flags(report, argparse.SUPPRESS)
    report.add_argument("--format", choices=FORMATS, default="markdown", help="report format (default: markdown)")
    report.add_argument("--output", type=Path, metavar="FILE", help="write the report to FILE instead of standard output")
    report.add_argument(
        "--write-dir", type=Path, metavar="DIR", help="also write claude-usage.json and claude-usage.html into DIR"
    )
    return parser


def parse_listen_address(value: str) -> tuple[str, int]:
    host, separator, port = value.rpartition(":")
    if not separator or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"--web.listen-address: expected HOST:PORT, not {value!r}")
    return host.strip("[]") or "0.0.0.0", int(port)


def check_roots(config: Config) -> list[str]:
    """Roots that exist but cannot be read: a start-up error. Missing roots may appear later."""
    problems = []
    for source, roots in config.roots.items():
        for root in roots:
            if root.exists() and not root.is_dir():
                problems.append(f"sources.{source}.roots: {root}: not a directory")
            elif root.exists() and not os.access(root, os.R_OK | os.X_OK):
                problems.append(f"sources.{source}.roots: {root}: permission denied")
    return problems


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=(args.log_level or "info").upper(),
        format="%(asctime)s level=%(levelname)s logger=%(name)s %(message)s",
        stream=sys.stderr,
    )
    try:
        config = load_config(args.config, args.state_dir)
        problems = check_roots(config)
        if problems:
            raise ConfigError("; ".join(problems))
        listen = parse_listen_address(args.listen)
    except ConfigError as error:
        print(f"claude-usage-exporter: error: {error}", file=sys.stderr)
        return EXIT_CONFIG
    if args.command == "check-config":
        return check_config(config)
    ledger = open_ledger(config)
    if ledger is None:
        return EXIT_CONFIG
    if args.command == "rescan":
        return rescan(ledger)
    if args.command == "report":
        return run_report(config, ledger, args.format, args.output, args.write_dir)
    return run_server(config, ledger, *listen)


def check_config(config: Config) -> int:
    print(f"config: {config.source_file or 'none (defaults)'}")
    print(f"state dir: {config.state_dir}")
    for source, roots in config.roots.items():
        for root in roots:
            print(f"{source} root: {root} ({'found' if root.is_dir() else 'not there yet'})")
    print(f"budgets: {', '.join(f'{b.name} ({b.period}, ${b.limit_usd:.2f})' for b in config.budgets) or 'none'}")
    print("config OK")
    return 0


def rescan(ledger: Ledger) -> int:
    """After an upgrade that reads lines an older version skipped: read everything again."""
    forgotten = ledger.forget_cursors()
    ledger.close()
    print(f"forgot {forgotten} read positions in {ledger.path}; the exporter reads every transcript again at its next start")
    return 0


def open_ledger(config: Config) -> Ledger | None:
    """The ledger, or None after one line on stderr naming the state dir and what is wrong."""
    try:
        return Ledger(config.state_dir)
    except (LedgerError, OSError, sqlite3.Error) as error:
        print(f"claude-usage-exporter: error: state_dir: {config.state_dir}: {error}", file=sys.stderr)
        return None


def run_server(config: Config, ledger: Ledger, host: str, port: int) -> int:
    aggregate = Aggregate()
    ingestor = Ingestor(config, ledger, aggregate)
    registry = CollectorRegistry(auto_describe=True)
    registry.register(UsageCollector(config, aggregate, ingestor.stats))
    registry.register(BudgetCollector(config, aggregate))
    app = ExporterApp(registry, ingestor.ready)
    app.route("/", UsagePage(config, ingestor.ready))
    app.route("/api/usage", UsageApi(config, ingestor.ready))
    try:
        server = serve(app, host, port)
    except OSError as error:
        print(f"claude-usage-exporter: error: cannot listen on {host}:{port}: {error.strerror}", file=sys.stderr)
        return 1
    log.info("listening on http://%s:%d/ version=%s", host, port, __version__)
    for source, roots in config.roots.items():
        for root in roots:
            log.info("source=%s root=%s %s", source, root, "found" if root.is_dir() else "not there yet; watched for")

    stop = threading.Event()
    failed = threading.Event()

    def ingest() -> None:
        try:
            ingestor.start_up()
            ingestor.run(stop)
        except Exception:
            log.exception("ingest stopped")
            failed.set()
            stop.set()

    worker = threading.Thread(target=ingest, name="ingest")
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    worker.start()
    stop.wait()
    log.info("shutting down")
    ingestor.stop_waking()
    worker.join(timeout=30)
    server.shutdown()
    ledger.close()
    return 1 if failed.is_set() else 0


if __name__ == "__main__":
    sys.exit(main())
