"""Run the installed console script as a real process, the way a user runs it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from prometheus_client.parser import text_string_to_metric_families

from .waiting import free_port, http_get, stop_process, wait_until

DISCOVERY_VARIABLES = ("CLAUDE_CONFIG_DIR", "OPENCLAW_STATE_DIR", "CLAWDBOT_STATE_DIR", "MOLTBOT_STATE_DIR", "XDG_STATE_HOME")
CONSOLE_SCRIPT = shutil.which("claude-usage-exporter", path=os.path.dirname(sys.executable)) or "claude-usage-exporter"


def parse_metrics(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


@dataclass
class ExporterProcess:
    """One exporter process on a free 127.0.0.1 port with its own config and state dir."""

    workdir: Path
    config: dict[str, Any]
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def state_dir(self) -> Path:
        return self.workdir / "state"

    @property
    def config_path(self) -> Path:
        return self.workdir / "config.yaml"

    @property
    def log_path(self) -> Path:
        return self.workdir / "exporter.log"

    def start(self, wait_ready: float = 30.0) -> "ExporterProcess":
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(yaml.safe_dump(self.config))
        # A home of its own: with a partial config the exporter must never find the real user's transcripts.
        home = self.workdir / "home"
        home.mkdir(exist_ok=True)
        env = {k: v for k, v in os.environ.items() if k not in DISCOVERY_VARIABLES}
        env.update({"HOME": str(home), "XDG_STATE_HOME": str(home / ".local/state"), "PYTHONUNBUFFERED": "1", **self.env})
        self._log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [
                CONSOLE_SCRIPT,
                "--config", str(self.config_path),
                "--state-dir", str(self.state_dir),
                "--web.listen-address", f"127.0.0.1:{self.port}",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        if wait_ready:
            self.wait_ready(wait_ready)
        return self

    def wait_ready(self, timeout: float = 30.0) -> None:
        def ready() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"exporter exited with {self.process.returncode}:\n{self.log()}")
            return http_get(self.url + "/-/ready", timeout=2)[0] == 200

        wait_until(ready, timeout, what=f"exporter ready on {self.url}")

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is None:
            return
        stop_process(self.process, timeout)
        self.process = None
        self._log.close()

    def restart(self) -> None:
        self.stop()
        self.start()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def metrics_text(self) -> str:
        status, _, body = http_get(self.url + "/metrics")
        assert status == 200, f"/metrics answered {status}"
        return body.decode()

    def samples(self) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
        return parse_metrics(self.metrics_text())

    def value(self, name: str, **labels: str) -> float | None:
        """The sample with exactly these labels, or None."""
        return self.samples().get((name, frozenset(labels.items())))

    def total(self, name: str, **labels: str) -> float:
        """Sum of every sample of `name` whose labels include these."""
        wanted = set(labels.items())
        return sum(v for (n, lbls), v in self.samples().items() if n == name and wanted <= lbls)

    def __enter__(self) -> "ExporterProcess":
        return self if self.process else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
