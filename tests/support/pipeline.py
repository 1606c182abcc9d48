"""The ingest pipeline in-process, without watchers: for tests that check what a scan counts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from claude_usage.aggregate import Aggregate, Totals
from claude_usage.config import Config, load_config
from claude_usage.ingest import Ingestor
from claude_usage.ledger import Ledger


def config_from(tmp_path: Path, document: dict[str, Any]) -> Config:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(document))
    return load_config(path, tmp_path / "state", env={"HOME": str(tmp_path / "home")})


class Pipeline:
    """Ledger + aggregate + ingestor on one state dir; `scan()` is one full pass."""

    def __init__(self, config: Config):
        self.config = config
        self.ledger = Ledger(config.state_dir)
        self.aggregate = Aggregate()
        self.ingestor = Ingestor(config, self.ledger, self.aggregate)
        self.ingestor.load_totals()

    def scan(self) -> "Pipeline":
        self.ingestor.catch_up()
        return self

    def close(self) -> None:
        self.ledger.close()

    def totals(self, **match: str) -> Totals:
        """Sum over the (source, agent, model) rows that match."""
        result = Totals()
        for (source, agent, model), totals in self.aggregate.snapshot().by_model.items():
            labels = {"source": source, "agent": agent, "model": model}
            if all(labels[k] == v for k, v in match.items()):
                result.absorb(totals)
        return result
