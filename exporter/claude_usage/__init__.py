"""Prometheus exporter for Claude API token usage and cost, from agent session transcripts."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("claude-usage-exporter")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"
