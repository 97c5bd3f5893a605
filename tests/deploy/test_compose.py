"""deploy/compose/docker-compose.yml, checked without a Docker engine: against the Compose schema, and against the
repository (every mounted path and build input exists, every variable is a setting, Prometheus and Grafana find
what they are pointed at)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.deploy.test_k8s import configured_settings, settings_env_names

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "deploy" / "compose" / "docker-compose.yml"
HERE = COMPOSE_FILE.parent  # compose resolves relative paths from the file's folder
SCHEMA = Path(__file__).parent / "schemas" / "compose-spec.json"
HAND_BACK_SECONDS = 10


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())  # merge keys (<<: *app) resolved as compose does
    return loaded


def services() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose()["services"]
    return found


def app_services() -> dict[str, dict[str, Any]]:
    """The services running the platform's image."""
    return {name: service for name, service in services().items() if "build" in service}


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    return dict(item.split("=", 1) for item in env) if isinstance(env, list) else {k: str(v) for k, v in env.items()}


def bind_mounts(service: dict[str, Any]) -> list[tuple[Path, str]]:
    """(host path, container path) of every bind mount; named volumes are left out."""
    found = []
    for volume in service.get("volumes", []):
        source, target = (volume["source"], volume["target"]) if isinstance(volume, dict) else volume.split(":")[:2]
        if source.startswith((".", "/")):
            found.append(((HERE / source).resolve(), target))
    return found


def seconds(duration: str) -> float:
    parts = re.fullmatch(r"(?:(\d+)m)?(?:(\d+)s)?", duration)
    assert parts and duration, duration
    return int(parts[1] or 0) * 60 + int(parts[2] or 0)


def test_the_file_matches_the_compose_schema() -> None:
    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.Draft7Validator(schema)  # the Compose schema's draft
    errors = sorted(validator.iter_errors(compose()), key=str)
    assert not errors, "; ".join(f"{e.message} at {list(e.path)}" for e in errors)


def test_the_schema_refuses_a_misspelt_key() -> None:
    schema = json.loads(SCHEMA.read_text())
    broken = compose()
    broken["services"]["worker"]["stop_grace_periode"] = "45s"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema, cls=jsonschema.Draft7Validator)


def test_the_whole_platform_is_there() -> None:
    assert set(services()) >= {
        "postgres", "valkey", "migrate", "api", "worker", "browser-worker", "scheduler", "prometheus", "grafana"
    }  # fmt: skip
    assert {name for name, service in app_services().items()} == {
        "migrate", "api", "worker", "browser-worker", "scheduler"
    }  # fmt: skip


def test_every_mounted_host_path_and_build_input_is_in_the_repository() -> None:
    for name, service in services().items():
        for host, _ in bind_mounts(service):
            assert host.is_relative_to(ROOT) and host.exists(), (name, host)
    for name, service in app_services().items():
        context = (HERE / service["build"]["context"]).resolve()
        assert context == ROOT, name
        dockerfile = context / service["build"]["dockerfile"]
        for source in re.findall(r"^COPY (?!--from)(.+) \S+$", dockerfile.read_text(), re.MULTILINE):
            for path in source.split():
                assert (context / path).exists(), (dockerfile, path)


def test_every_env_var_of_the_platform_is_a_valid_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    known = settings_env_names()
    for name, service in app_services().items():
        assert set(environment(service)) <= known, (name, set(environment(service)) - known)
        settings = configured_settings(environment(service), monkeypatch)
        assert settings.database_url == "postgresql://scanfleet:scanfleet@postgres:5432/scanfleet", name


def test_services_start_after_what_they_need() -> None:
    for name, service in services().items():
        needs = service.get("depends_on", {})
        assert set(needs) <= set(services()), name
        assert set(needs) != {name}
    for name in ("api", "worker", "scheduler"):
        assert services()[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    named = {
        volume.split(":")[0]
        for service in services().values()
        for volume in service.get("volumes", [])
        if not volume.startswith((".", "/"))
    }
    assert named <= set(compose()["volumes"])


def test_workers_scale_and_get_longer_than_their_drain_to_stop(monkeypatch: pytest.MonkeyPatch) -> None:
    worker = services()["worker"]
    # Replicas of one service cannot share a container name or a host port.
    assert "container_name" not in worker and "ports" not in worker
    grace = configured_settings(environment(worker), monkeypatch).worker_grace_seconds
    assert seconds(worker["stop_grace_period"]) >= grace + HAND_BACK_SECONDS


def test_the_api_gets_longer_than_its_grace_to_stop(monkeypatch: pytest.MonkeyPatch) -> None:
    api = services()["api"]
    grace = configured_settings(environment(api), monkeypatch).api_grace_seconds
    assert seconds(api["stop_grace_period"]) > grace


def test_prometheus_loads_its_rules_and_scrapes_the_services(monkeypatch: pytest.MonkeyPatch) -> None:
    prometheus = services()["prometheus"]
    mounts = {target: host for host, target in bind_mounts(prometheus)}
    flag = next(arg for arg in prometheus["command"] if arg.startswith("--config.file="))
    config_path = Path(flag.split("=", 1)[1])
    host_dir = mounts[str(config_path.parent)]
    config = yaml.safe_load((host_dir / config_path.name).read_text())
    assert config["rule_files"]
    for pattern in config["rule_files"]:
        assert list(host_dir.glob(pattern)), pattern

    defaults = configured_settings({}, monkeypatch)
    ports = {
        "api": {defaults.api_port},
        "scheduler": {defaults.scheduler_metrics_port},
        "worker": {defaults.worker_metrics_port + index for index in range(16)},  # worker i of a container: + i
        "browser-worker": {defaults.worker_metrics_port},
    }
    for job in config["scrape_configs"]:
        targets = [tuple(t.split(":")) for sc in job.get("static_configs", []) for t in sc["targets"]]
        targets += [(name, str(sd["port"])) for sd in job.get("dns_sd_configs", []) for name in sd["names"]]
        for host, port in targets:
            assert host in app_services(), (job["job_name"], host)
            assert int(port) in ports[host], (job["job_name"], host, port)


def test_grafana_finds_its_provisioning_and_the_dashboards_it_names() -> None:
    mounts = {target: host for host, target in bind_mounts(services()["grafana"])}
    provisioning = mounts["/etc/grafana/provisioning"]
    providers = [
        provider
        for path in sorted((provisioning / "dashboards").glob("*.y*ml"))
        for provider in yaml.safe_load(path.read_text()).get("providers", [])
    ]
    assert providers
    for provider in providers:
        folder = mounts[provider["options"]["path"]]
        assert list(folder.rglob("*.json")), folder
    datasources = [
        source
        for path in sorted((provisioning / "datasources").glob("*.y*ml"))
        for source in yaml.safe_load(path.read_text()).get("datasources", [])
    ]
    assert any(re.fullmatch(r"https?://prometheus:9090/?", source.get("url", "")) for source in datasources)
