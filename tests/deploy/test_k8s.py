"""The Kubernetes manifests (deploy/k8s), checked offline: every object against its schema, and what the platform
needs of them (probes, resources, drain time, autoscaling on the policy's metric, budgets, settings that exist)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from scanfleet.config import Settings

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
SCHEMAS = Path(__file__).parent / "schemas"

# The oldest Kubernetes the manifests promise to work on (PDB unhealthyPodEvictionPolicy and the preStop sleep
# action are stable there), and a recent one, so that an API removed since is caught too.
KUBERNETES_VERSIONS = ("1.31.0", "1.35.0")
CRD_SCHEMAS = {
    ("keda.sh/v1alpha1", "ScaledObject"): "keda-scaledobject-v1alpha1.json",
    ("monitoring.coreos.com/v1", "PodMonitor"): "podmonitor-v1.json",
}
# After the drain a worker hands unfinished jobs back and closes its connections: give that this much.
HAND_BACK_SECONDS = 10


def settings_env_names() -> set[str]:
    """Every environment variable Settings reads."""
    prefix = Settings.model_config.get("env_prefix", "")
    names: set[str] = set()
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        if alias is None:
            names.add(f"{prefix}{name}".upper())
        else:
            names.update(str(choice) for choice in getattr(alias, "choices", [alias]))
    return names


def configured_settings(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings as a process would read them from exactly this environment."""
    for name in settings_env_names():
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings(_env_file=None)


def kustomization() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    return loaded


def documents() -> list[tuple[str, dict[str, Any]]]:
    """(file, object) for every object the kustomization applies."""
    found = []
    for name in kustomization()["resources"]:
        found += [(name, doc) for doc in yaml.safe_load_all((K8S / name).read_text()) if doc]
    return found


def objects(kind: str) -> list[dict[str, Any]]:
    return [doc for _, doc in documents() if doc["kind"] == kind]


def one(kind: str, name: str) -> dict[str, Any]:
    (found,) = [doc for doc in objects(kind) if doc["metadata"]["name"] == name]
    return found


def pod_labels(deployment: dict[str, Any]) -> dict[str, str]:
    labels: dict[str, str] = deployment["spec"]["template"]["metadata"]["labels"]
    return labels


def containers(deployment: dict[str, Any]) -> Iterator[dict[str, Any]]:
    spec = deployment["spec"]["template"]["spec"]
    yield from spec.get("initContainers", [])
    yield from spec["containers"]


@pytest.fixture
def config(monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The settings every pod runs with: the ConfigMap's, over the defaults."""
    return configured_settings(one("ConfigMap", "scanfleet-config")["data"], monkeypatch)


def test_kustomization_applies_every_manifest_in_the_folder_once() -> None:
    listed = kustomization()["resources"]
    assert len(listed) == len(set(listed))
    on_disk = {path.name for path in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(listed) == on_disk
    keys = [(doc["kind"], doc["metadata"]["name"]) for _, doc in documents()]
    assert len(keys) == len(set(keys)), keys
    # kustomize places everything in its namespace; a namespace written in a manifest would fight it.
    assert all("namespace" not in doc["metadata"] for _, doc in documents())
    assert [doc["metadata"]["name"] for doc in objects("Namespace")] == [kustomization()["namespace"]]


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_core_objects_match_the_kubernetes_schema(version: str) -> None:
    core = [(name, doc) for name, doc in documents() if (doc["apiVersion"], doc["kind"]) not in CRD_SCHEMAS]
    assert {doc["kind"] for _, doc in core} >= {"Namespace", "ConfigMap", "Deployment", "Service"}
    for name, doc in core:
        try:
            # strict: a field Kubernetes does not know (a typo) is an error, as kubectl's field validation makes it.
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            message = f"{name}: {doc['kind']}/{doc['metadata']['name']}: {error.message} at {list(error.path)}"
            pytest.fail(message, pytrace=False)


def test_custom_resources_match_their_crd_schemas() -> None:
    seen = set()
    for name, doc in documents():
        schema_file = CRD_SCHEMAS.get((doc["apiVersion"], doc["kind"]))
        if schema_file is None:
            continue
        schema = json.loads((SCHEMAS / schema_file).read_text())
        errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(doc), key=str)
        assert not errors, f"{name}: " + "; ".join(f"{e.message} at {list(e.path)}" for e in errors)
        seen.add(doc["kind"])
    assert seen == {"ScaledObject", "PodMonitor"}


def test_the_crd_schemas_refuse_what_the_api_server_would() -> None:
    scaled = one("ScaledObject", "scanfleet-worker")
    schema = json.loads((SCHEMAS / CRD_SCHEMAS[("keda.sh/v1alpha1", "ScaledObject")]).read_text())
    typo = {**scaled, "spec": {**scaled["spec"], "maxReplicas": 3}}
    wrong_type = {**scaled, "spec": {**scaled["spec"], "minReplicaCount": "1"}}
    for broken in (typo, wrong_type):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken, schema, cls=jsonschema.Draft202012Validator)


def test_every_env_var_a_pod_gets_is_a_setting() -> None:
    known = settings_env_names()
    config_maps = {doc["metadata"]["name"]: doc["data"] for doc in objects("ConfigMap")}
    for deployment in objects("Deployment"):
        for container in containers(deployment):
            names = {env["name"] for env in container.get("env", [])}
            for source in container.get("envFrom", []):
                names |= set(config_maps[source["configMapRef"]["name"]])
            assert names <= known, (deployment["metadata"]["name"], container["name"], names - known)


def test_server_urls_come_from_the_secret_and_are_never_written_down() -> None:
    assert not objects("Secret")
    for deployment in objects("Deployment"):
        for container in containers(deployment):
            env = {item["name"]: item for item in container.get("env", [])}
            assert "DATABASE_URL" in env, container["name"]
            needs_redis = container["name"] != "migrate"
            assert ("REDIS_URL" in env) == needs_redis, container["name"]
            for item in env.values():
                assert "value" not in item, item
                assert item["valueFrom"]["secretKeyRef"]["name"] == "scanfleet"
    for data in (doc["data"] for doc in objects("ConfigMap")):
        assert not any(re.match(r"(postgres(ql)?|rediss?)://", value) for value in data.values())


def test_every_deployment_has_probes_requests_and_limits() -> None:
    assert {d["metadata"]["name"] for d in objects("Deployment")} == {
        "scanfleet-api",
        "scanfleet-worker",
        "scanfleet-browser-worker",
        "scanfleet-scheduler",
    }
    for deployment in objects("Deployment"):
        spec = deployment["spec"]["template"]["spec"]
        for container in containers(deployment):
            resources = container["resources"]
            assert {"cpu", "memory"} <= set(resources["requests"]), container["name"]
            assert "memory" in resources["limits"], container["name"]
        for container in spec["containers"]:
            assert "livenessProbe" in container, container["name"]
            ports = {port["name"]: port["containerPort"] for port in container["ports"]}
            for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
                if kind in container:
                    assert container[kind]["httpGet"]["port"] in ports, (container["name"], kind)


def test_the_api_is_ready_only_when_its_servers_answer_and_alive_while_it_serves() -> None:
    (api,) = one("Deployment", "scanfleet-api")["spec"]["template"]["spec"]["containers"]
    assert api["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert api["livenessProbe"]["httpGet"]["path"] == "/healthz"
    service = one("Service", "scanfleet-api")
    assert service["spec"]["selector"].items() <= pod_labels(one("Deployment", "scanfleet-api")).items()
    assert {port["targetPort"] for port in service["spec"]["ports"]} <= {port["name"] for port in api["ports"]}


def test_workers_and_the_scheduler_are_alive_while_their_event_loop_turns() -> None:
    # /metrics is served from a thread of its own and answers even while the loop is stuck.
    for name in ("scanfleet-worker", "scanfleet-scheduler"):
        (container,) = one("Deployment", name)["spec"]["template"]["spec"]["containers"]
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}, name


def test_pods_run_as_the_images_non_root_user_on_a_read_only_root() -> None:
    user = re.search(r"^USER (\d+)", (ROOT / "deploy" / "Dockerfile").read_text(), re.MULTILINE)
    assert user, "the image's USER must be numeric for runAsNonRoot to verify it"
    for deployment in objects("Deployment"):
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] == int(user.group(1))
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        assert pod["automountServiceAccountToken"] is False
        for container in containers(deployment):
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, container["name"]
            assert context["allowPrivilegeEscalation"] is False, container["name"]
            assert context["capabilities"]["drop"] == ["ALL"], container["name"]


def test_metrics_are_scraped_where_each_process_serves_them(config: Settings) -> None:
    serves = {
        "scanfleet-api": config.api_port,
        "scanfleet-worker": config.worker_metrics_port,  # one worker process per pod: index 0
        "scanfleet-browser-worker": config.worker_metrics_port,
        "scanfleet-scheduler": config.scheduler_metrics_port,
    }
    assert config.metrics_host == config.api_host == "0.0.0.0"  # reachable from the scraper
    (monitor,) = objects("PodMonitor")
    scraped_ports = {endpoint["port"] for endpoint in monitor["spec"]["podMetricsEndpoints"]}
    for deployment in objects("Deployment"):
        template = deployment["spec"]["template"]
        annotations = template["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true"
        assert int(annotations["prometheus.io/port"]) == serves[deployment["metadata"]["name"]]
        (container,) = template["spec"]["containers"]
        named = {port["name"]: port["containerPort"] for port in container["ports"]}
        assert serves[deployment["metadata"]["name"]] in {named[port] for port in scraped_ports & named.keys()}
        assert monitor["spec"]["selector"]["matchLabels"].items() <= pod_labels(deployment).items()


def test_scraped_jobs_carry_the_names_the_alert_rules_use() -> None:
    (monitor,) = objects("PodMonitor")
    components = {pod_labels(d)["app.kubernetes.io/component"] for d in objects("Deployment")}
    for endpoint in monitor["spec"]["podMetricsEndpoints"]:
        (relabel,) = [r for r in endpoint["relabelings"] if r["targetLabel"] == "job"]
        assert relabel["sourceLabels"] == ["__meta_kubernetes_pod_label_app_kubernetes_io_component"]
        jobs = {relabel["replacement"].replace("$1", component) for component in components}
        assert jobs == {"scanfleet-api", "scanfleet-worker", "scanfleet-browser-worker", "scanfleet-scheduler"}
    rules = " ".join(path.read_text() for path in (ROOT / "deploy" / "prometheus" / "rules").glob("*.yml"))
    named = {job for matcher in re.findall(r'job=~?"([^"]+)"', rules) for job in matcher.split("|")}
    assert named and named <= jobs, named


@pytest.mark.parametrize("name", ["scanfleet-worker", "scanfleet-browser-worker"])
def test_workers_get_longer_than_their_drain_to_stop(config: Settings, name: str) -> None:
    pod = one("Deployment", name)["spec"]["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] >= config.worker_grace_seconds + HAND_BACK_SECONDS


def test_the_api_gets_longer_than_its_pause_and_grace_to_stop(config: Settings) -> None:
    pod = one("Deployment", "scanfleet-api")["spec"]["template"]["spec"]
    (api,) = pod["containers"]
    pause = api["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert pod["terminationGracePeriodSeconds"] > pause + config.api_grace_seconds


def test_one_scheduler_replacing_itself_without_a_gap() -> None:
    scheduler = one("Deployment", "scanfleet-scheduler")["spec"]
    assert scheduler["replicas"] == 1
    assert scheduler["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


@pytest.mark.parametrize(
    ("name", "source"), [("scanfleet-worker", "policy"), ("scanfleet-browser-worker", "browser_policy")]
)
def test_keda_scales_workers_on_the_policy_metric_within_the_policy_bounds(
    config: Settings, name: str, source: str
) -> None:
    scaled = one("ScaledObject", name)["spec"]
    worker = one("Deployment", name)
    assert scaled["scaleTargetRef"] == {"kind": "Deployment", "name": worker["metadata"]["name"]}
    assert "replicas" not in worker["spec"], "the autoscaler owns the worker count"
    (trigger,) = scaled["triggers"]
    assert trigger["type"] == "prometheus"
    query = trigger["metadata"]["query"]
    assert query == f'max(scanfleet_autoscale_desired_replicas{{source="{source}"}})', query
    # AverageValue with threshold 1: the HPA wants ceil(value / 1) pods, the policy's number itself.
    assert trigger["metricType"] == "AverageValue"
    assert float(trigger["metadata"]["threshold"]) == 1
    assert trigger["metadata"]["ignoreNullValues"] == "false"
    assert (scaled["minReplicaCount"], scaled["maxReplicaCount"]) == (
        config.autoscale_min_replicas,
        config.autoscale_max_replicas,
    )
    assert config.autoscale_min_replicas <= scaled["fallback"]["replicas"] <= config.autoscale_max_replicas
    assert scaled["cooldownPeriod"] == config.autoscale_cooldown_seconds


@pytest.mark.parametrize("name", ["scanfleet-worker", "scanfleet-browser-worker"])
def test_the_hpa_behaviour_repeats_the_policy_steps_and_cooldown(config: Settings, name: str) -> None:
    behavior = one("ScaledObject", name)["spec"]["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]
    down = behavior["scaleDown"]
    assert down["stabilizationWindowSeconds"] == config.autoscale_cooldown_seconds
    assert down["policies"] == [
        {"type": "Pods", "value": config.autoscale_step_down, "periodSeconds": int(config.autoscale_cooldown_seconds)}
    ]
    up = behavior["scaleUp"]
    assert up["stabilizationWindowSeconds"] == 0
    assert [(p["type"], p["value"]) for p in up["policies"]] == [("Pods", config.autoscale_step_up)]


def test_budgets_cover_the_api_and_the_workers_one_pod_at_a_time() -> None:
    covered = set()
    for budget in objects("PodDisruptionBudget"):
        selector = budget["spec"]["selector"]["matchLabels"].items()
        matching = [d for d in objects("Deployment") if selector <= pod_labels(d).items()]
        assert len(matching) == 1, budget["metadata"]["name"]
        assert selector <= matching[0]["spec"]["selector"]["matchLabels"].items()
        assert budget["spec"]["maxUnavailable"] == 1
        covered.add(matching[0]["metadata"]["name"])
    assert covered == {"scanfleet-api", "scanfleet-worker", "scanfleet-browser-worker"}
