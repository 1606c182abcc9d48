"""Static checks of docker-compose.yml and the exporter image: no Docker engine needed.

What `docker compose up -d` needs to work and stay private: pinned images, every mounted file in
the repository, Prometheus scraping services that exist, start-up ordered on health, ports on
loopback only, and an image whose entry point is the console script pyproject.toml declares.
"""

from __future__ import annotations

import glob
import json
import re
import tomllib
from pathlib import Path, PurePosixPath

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, dict] = COMPOSE["services"]
DOCKERFILE = ROOT / "exporter" / "Dockerfile"


def split_volume(entry: str | dict) -> tuple[str, str, str]:
    """(source, target, mode) of a short or long volume entry; a ${VAR:-default} source stays whole."""
    if isinstance(entry, dict):
        return entry.get("source", ""), entry["target"], "ro" if entry.get("read_only") else "rw"
    if entry.startswith("${"):
        end = entry.index("}") + 1
        source, rest = entry[:end], entry[end + 1:]
    else:
        source, _, rest = entry.partition(":")
    target, _, mode = rest.partition(":")
    return source, target, mode or "rw"


def mounts(service: str) -> list[tuple[str, str, str]]:
    return [split_volume(v) for v in SERVICES[service].get("volumes", [])]


def is_bind(source: str) -> bool:
    return source.startswith((".", "/", "~", "${"))


def host_path(service: str, container_path: str) -> Path | None:
    """The repository file that a bind mount of `service` shows at `container_path`."""
    for source, target, _ in mounts(service):
        if source.startswith("./") and (container_path == target or container_path.startswith(target + "/")):
            return ROOT / source / PurePosixPath(container_path).relative_to(target)
    return None


def container_ports(service: str) -> set[int]:
    return {int(str(p).rsplit(":", 1)[-1].split("/")[0]) for p in SERVICES[service].get("ports", [])}


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())  # join continuation lines
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def assert_pinned(image: str, where: str) -> None:
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    assert ":" in last, f"{where}: {image} has no explicit tag"
    tag = last.split(":", 1)[1]
    assert tag and tag != "latest" and "$" not in tag, f"{where}: {image} is not pinned"


def test_the_four_services():
    assert set(SERVICES) == {"exporter", "prometheus", "alertmanager", "grafana"}


def test_images_are_pinned():
    for name, service in SERVICES.items():
        if "image" in service:
            assert_pinned(service["image"], name)
        else:
            assert "build" in service, f"{name} has neither image nor build"
    for op, arg in dockerfile_instructions():
        if op == "FROM":
            assert_pinned(arg.split()[0], "exporter/Dockerfile")


def test_bind_mounts_exist_and_are_read_only():
    declared = set(COMPOSE.get("volumes") or {})
    for name in SERVICES:
        for source, target, mode in mounts(name):
            if not is_bind(source):
                assert source in declared, f"{name}: named volume {source} is not declared"
                continue
            # Every host folder is only read: transcripts and configuration alike.
            assert mode == "ro", f"{name}: {source} is mounted {mode}"
            if source.startswith("${"):
                # The user's transcript folders, overridable: ${CLAUDE_HOME:-~/.claude}.
                assert re.fullmatch(r"\$\{[A-Z_]+:-~/\.[a-z]+\}", source), source
                continue
            assert source.startswith("./"), f"{name}: {source} is outside the repository"
            assert (ROOT / source).exists(), f"{name}: {source} does not exist in the repository"


def test_state_lives_in_named_volumes():
    wanted = {"exporter": "/var/lib/claude-usage-exporter", "prometheus": "/prometheus", "grafana": "/var/lib/grafana"}
    for name, path in wanted.items():
        assert any(not is_bind(s) and t == path for s, t, _ in mounts(name)), f"{name}: no named volume at {path}"


def test_transcripts_are_mounted_where_the_container_config_looks():
    config = yaml.safe_load((ROOT / "exporter" / "config.docker.yml").read_text())
    targets = {t for s, t, _ in mounts("exporter") if s.startswith("${")}
    roots = {root for source in config["sources"].values() for root in source["roots"]}
    assert roots and roots <= targets, (roots, targets)
    assert host_path("exporter", "/etc/claude-usage-exporter/config.yml") == ROOT / "exporter" / "config.docker.yml"
    assert {"name": "monthly", "period": "month", "limit_usd": 50} in config["budgets"]


def test_prometheus_targets_are_compose_services():
    config = yaml.safe_load((ROOT / "prometheus" / "prometheus.yml").read_text())
    static = [sc for job in config.get("scrape_configs", []) for sc in job.get("static_configs", [])]
    static += [sc for am in config.get("alerting", {}).get("alertmanagers", []) for sc in am.get("static_configs", [])]
    targets = [t for sc in static for t in sc.get("targets", [])]
    assert targets
    jobs = {job["job_name"] for job in config["scrape_configs"]}
    assert "claude-usage" in jobs  # the dashboards and rules select job="claude-usage"
    for target in targets:
        host, _, port = target.rpartition(":")
        if host == "localhost":  # Prometheus scraping itself, inside its own container
            host = "prometheus"
        assert host in SERVICES, f"prometheus.yml target {target} is not a compose service"
        assert int(port) in container_ports(host), f"{target}: {host} does not listen on {port}"


def test_prometheus_rule_files_are_mounted():
    config_path = "/etc/prometheus/prometheus.yml"
    assert f"--config.file={config_path}" in SERVICES["prometheus"]["command"]
    config = yaml.safe_load((ROOT / "prometheus" / "prometheus.yml").read_text())
    for pattern in config.get("rule_files", []):
        # Relative rule paths are resolved against the directory of the config file.
        in_container = str(PurePosixPath(config_path).parent / pattern)
        on_host = host_path("prometheus", in_container)
        assert on_host and glob.glob(str(on_host)), f"rule_files {pattern} matches nothing mounted"


def test_alertmanager_templates_are_mounted():
    command = SERVICES["alertmanager"]["command"]
    config_path = next(c.split("=", 1)[1] for c in command if c.startswith("--config.file="))
    config = yaml.safe_load(host_path("alertmanager", config_path).read_text())
    for pattern in config.get("templates", []):
        in_container = str(PurePosixPath(config_path).parent / pattern)
        on_host = host_path("alertmanager", in_container)
        assert on_host and glob.glob(str(on_host)), f"templates {pattern} matches nothing mounted"


def test_start_up_waits_for_health():
    for name, service in SERVICES.items():
        assert "healthcheck" in service, f"{name} has no healthcheck"
        depends = service.get("depends_on")
        if depends is None:
            continue
        assert isinstance(depends, dict), f"{name}: depends_on needs the long form with a condition"
        for other, rule in depends.items():
            assert other in SERVICES, other
            assert rule.get("condition") == "service_healthy", f"{name} -> {other}: {rule}"
    assert set(SERVICES["grafana"]["depends_on"]) >= {"prometheus"}
    assert set(SERVICES["prometheus"]["depends_on"]) >= {"exporter", "alertmanager"}


def test_ports_are_on_loopback_only():
    expected = {"exporter": 9787, "prometheus": 9090, "alertmanager": 9093, "grafana": 3000}
    for name, service in SERVICES.items():
        for port in service.get("ports", []):
            assert isinstance(port, str) and port.startswith("127.0.0.1:"), f"{name}: {port!r} is not loopback only"
        assert f"127.0.0.1:{expected[name]}:{expected[name]}" in service.get("ports", []), name


def test_secrets_and_retention():
    password = SERVICES["grafana"]["environment"]["GF_SECURITY_ADMIN_PASSWORD"]
    assert password.startswith("${GRAFANA_ADMIN_PASSWORD:?"), "the admin password must come from the environment"
    assert "--storage.tsdb.retention.time=400d" in SERVICES["prometheus"]["command"]


def test_exporter_image_runs_the_console_script():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    scripts = pyproject["project"]["scripts"]
    build = SERVICES["exporter"]["build"]
    assert build == {"context": ".", "dockerfile": "exporter/Dockerfile"}
    instructions = dockerfile_instructions()
    entrypoints = [json.loads(arg) for op, arg in instructions if op == "ENTRYPOINT"]
    assert len(entrypoints) == 1, "one ENTRYPOINT, in exec form"
    command = entrypoints[0]
    assert command[0] in scripts, f"ENTRYPOINT {command[0]} is not in [project.scripts] {sorted(scripts)}"
    options = dict(zip(command[1::2], command[2::2]))
    assert options == {
        "--web.listen-address": "0.0.0.0:9787",
        "--config": "/etc/claude-usage-exporter/config.yml",
        "--state-dir": "/var/lib/claude-usage-exporter",
    }
    users = [arg for op, arg in instructions if op == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0"), "the exporter must not run as root"
    assert any(op == "HEALTHCHECK" and "/-/healthy" in arg and "urllib" in arg for op, arg in instructions)


def test_dockerfile_copies_exist():
    # The build context is the repository root; a missing source fails `docker compose build`.
    for op, arg in dockerfile_instructions():
        if op == "COPY":
            sources = [a for a in arg.split() if not a.startswith("--")][:-1]
            for source in sources:
                assert (ROOT / source).exists(), f"COPY {source}: not in the repository"


@pytest.mark.parametrize("entry, expected", [
    ("${CLAUDE_HOME:-~/.claude}:/transcripts/claude:ro", ("${CLAUDE_HOME:-~/.claude}", "/transcripts/claude", "ro")),
    ("./grafana/dashboards:/var/lib/grafana/dashboards:ro", ("./grafana/dashboards", "/var/lib/grafana/dashboards", "ro")),
    ("grafana-data:/var/lib/grafana", ("grafana-data", "/var/lib/grafana", "rw")),
])
def test_split_volume(entry, expected):
    assert split_volume(entry) == expected
