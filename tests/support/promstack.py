"""Real Prometheus and Alertmanager processes (the Debian binaries) for integration tests.

    with PrometheusProcess(tmp_path / "prom", config_text, rule_files=[...]) as prom:
        prom.query('up{job="claude-usage"}')   # -> [{"metric": {...}, "value": [ts, "1"]}]

Each process listens on a free 127.0.0.1 port, keeps its data and log in its own work directory,
waits (bounded) for /-/ready when started and is stopped on exit: only the process it started.
A missing binary is an error, not a skip: these tests are part of the acceptance.

`prometheus_config()` and `alertmanager_config()` turn the shipped configuration files into copies
that point at test processes; `WebhookReceiver` records what Alertmanager sends.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Iterable

import yaml

from .waiting import free_port, http_get, stop_process, wait_until

REPO = Path(__file__).resolve().parents[2]
PROMETHEUS_YML = REPO / "prometheus" / "prometheus.yml"
RULE_FILES = sorted((REPO / "prometheus" / "rules").glob("*.yml"))
ALERTMANAGER_YML = REPO / "alertmanager" / "alertmanager.yml"
# Every alert's runbook_url: the page docs/runbooks/<alertname>.md of the repository.
RUNBOOK_URL = "https://github.com/claude-usage-exporter/claude-usage-exporter/blob/main/docs/runbooks/{}.md"


def binary(*names: str) -> str:
    """Path of the first of `names` found on PATH; raises if none is installed."""
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    raise FileNotFoundError(f"{' or '.join(names)} is not installed (Debian: apt-get install prometheus prometheus-alertmanager)")


class _Server:
    """A binary serving HTTP on a free 127.0.0.1 port, run from and logging into `workdir`."""

    name = "server"

    def __init__(self, workdir: Path) -> None:
        self.workdir = Path(workdir)
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self._log_file = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.name}.log"

    def _command(self) -> list[str]:
        raise NotImplementedError

    def start(self, wait_ready: float = 30.0) -> "_Server":
        self.workdir.mkdir(parents=True, exist_ok=True)
        command = self._command()
        self._log_file = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            command, cwd=self.workdir, stdout=self._log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        try:
            wait_until(self._ready, wait_ready, interval=0.1, what=f"{self.name} ready on {self.url}")
        except BaseException:
            self.stop()
            raise
        return self

    def _ready(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.log()}")
        return http_get(self.url + "/-/ready", timeout=2)[0] == 200

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is not None:
            stop_process(self.process, timeout)
            self.process = None
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def log(self) -> str:
        """The process's output so far, for failure messages."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def get_json(self, path: str, **params: str) -> Any:
        """GET `path` (with query parameters) and decode the JSON answer; raises unless HTTP 200."""
        query = "?" + urllib.parse.urlencode(params) if params else ""
        status, _, body = http_get(self.url + path + query, timeout=10)
        if status != 200:
            raise RuntimeError(f"{self.name} answered {status} to {path}{query}: {body[:500]!r}")
        return json.loads(body)

    def __enter__(self):
        return self if self.process else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class PrometheusProcess(_Server):
    """Prometheus with `config_yaml_text` as its configuration and `rule_files` as its rules.

    The configuration's `rule_files` key is replaced by the absolute paths of `rule_files` (none by
    default), so the text may be a copy of the shipped prometheus.yml written anywhere.
    """

    name = "prometheus"

    def __init__(self, workdir: Path, config_yaml_text: str, rule_files: Iterable[Path] = ()) -> None:
        super().__init__(workdir)
        config = yaml.safe_load(config_yaml_text) or {}
        config["rule_files"] = [str(Path(path).resolve()) for path in rule_files]
        self.config = config

    def _command(self) -> list[str]:
        config_path = self.workdir / "prometheus.yml"
        config_path.write_text(yaml.safe_dump(self.config, sort_keys=False))
        return [
            binary("prometheus"),
            f"--config.file={config_path}",
            f"--storage.tsdb.path={self.workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--log.level=warn",
        ]

    def query(self, promql: str) -> list:
        """Instant query at the current time: the `result` list of the API answer.

        For a vector that is [{"metric": {labels}, "value": [timestamp, "value as text"]}, ...].
        Raises on a bad query or an HTTP error.
        """
        answer = self.get_json("/api/v1/query", query=promql)
        if answer.get("status") != "success":
            raise RuntimeError(f"query {promql!r} failed: {answer}")
        return answer["data"]["result"]


class AlertmanagerProcess(_Server):
    """Alertmanager with `config_yaml_text` as its configuration, clustering disabled."""

    name = "alertmanager"

    def __init__(self, workdir: Path, config_yaml_text: str) -> None:
        super().__init__(workdir)
        self.config_yaml_text = config_yaml_text

    def _command(self) -> list[str]:
        config_path = self.workdir / "alertmanager.yml"
        config_path.write_text(self.config_yaml_text)
        return [
            binary("prometheus-alertmanager", "alertmanager"),  # Debian renames the binary
            f"--config.file={config_path}",
            f"--storage.path={self.workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--cluster.listen-address=",  # empty: no gossip port, no peers to wait for
            "--log.level=warn",
        ]


def shipped_rules() -> list[dict]:
    """Every rule (as parsed YAML: a dict with `record` or `alert`) of the shipped rule files."""
    return [rule for path in RULE_FILES for group in yaml.safe_load(path.read_text())["groups"] for rule in group["rules"]]


def alert_rules() -> list[dict]:
    """Every alerting rule of the shipped rule files."""
    return [rule for rule in shipped_rules() if "alert" in rule]


def prometheus_config(scrape_target: str, alertmanager_target: str | None = None, interval: str = "1s") -> str:
    """The shipped prometheus.yml, scraping `scrape_target` (host:port) as job claude-usage and
    sending alerts to `alertmanager_target` (or nowhere), scraping and evaluating every `interval`."""
    config = yaml.safe_load(PROMETHEUS_YML.read_text())
    config["global"].update(scrape_interval=interval, scrape_timeout=interval, evaluation_interval=interval)
    (job,) = [job for job in config["scrape_configs"] if job["job_name"] == "claude-usage"]
    job["static_configs"] = [{"targets": [scrape_target]}]
    if alertmanager_target:
        config["alerting"]["alertmanagers"] = [{"static_configs": [{"targets": [alertmanager_target]}]}]
    else:
        config.pop("alerting", None)
    return yaml.safe_dump(config, sort_keys=False)


def alertmanager_config(webhook_base_url: str, text: str | None = None) -> str:
    """The shipped alertmanager.yml (or `text`) with every webhook URL moved to `webhook_base_url`
    (keeping its path, so /urgent and /quiet still tell receivers apart) and template paths made
    absolute, so the copy can live in any directory."""
    config = yaml.safe_load(text if text is not None else ALERTMANAGER_YML.read_text())
    base = urllib.parse.urlsplit(webhook_base_url)
    for receiver in config.get("receivers", []):
        for webhook in receiver.get("webhook_configs", []):
            url = urllib.parse.urlsplit(webhook["url"])
            webhook["url"] = urllib.parse.urlunsplit((base.scheme, base.netloc, url.path, url.query, ""))
    config["templates"] = [str(ALERTMANAGER_YML.parent / pattern) for pattern in config.get("templates", [])]
    return yaml.safe_dump(config, sort_keys=False)


class WebhookReceiver:
    """An HTTP server on a free 127.0.0.1 port that records each POSTed JSON body.

    `received` is a list of (path, payload) in arrival order; `wait_for(match, timeout)` returns the
    first alert (from any payload) for which `match(path, payload, alert)` is true.
    """

    def __init__(self) -> None:
        self.received: list[tuple[str, dict]] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    receiver.received.append((self.path, json.loads(body)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:  # keep test output quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def alerts(self) -> list[tuple[str, dict, dict]]:
        """Every (path, payload, alert) received so far."""
        with self._lock:
            return [(path, payload, alert) for path, payload in self.received for alert in payload.get("alerts", [])]

    def wait_for(self, match: Callable[[str, dict, dict], bool], timeout: float, what: str = "webhook alert"):
        """The first received (path, payload, alert) that matches; raises TimeoutError after `timeout`."""
        return wait_until(
            lambda: next((found for found in self.alerts() if match(*found)), None), timeout, interval=0.1, what=what
        )

    def __enter__(self) -> "WebhookReceiver":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def labels_match(wanted: dict[str, str]) -> Callable[[str, dict, dict], bool]:
    """A `WebhookReceiver.wait_for` matcher: a firing alert whose labels include `wanted`."""
    return lambda path, payload, alert: alert.get("status") == "firing" and wanted.items() <= alert["labels"].items()

