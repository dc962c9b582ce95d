"""What the rendered Kubernetes manifests must contain (issue #18): resources and probes on every
container, PodDisruptionBudgets that keep replicated workloads up without blocking drains,
NetworkPolicies that open only each component's flows, secrets only from Secrets, and a KEDA
ScaledObject on the consumers agent-runner really has.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped, unused-ignore]
from tests.unit.k8s_policies import OUTSIDE, Endpoint, Policies, pod

from animas_agent_runner.app import message_consumers
from animas_contracts.subjects import ACTIVITY_STREAM, DEFAULT_ACTIVITY_PARTITIONS
from animas_tools import keda_scaling, manifests

ROOT = Path(__file__).resolve().parents[2]
NAMESPACE = "animaworks"
WORKLOADS = ("Deployment", "StatefulSet", "Job")
SECRET_NAME = re.compile(r"PASSWORD|TOKEN|SECRET|API_?KEY|PRIVATE_KEY|CREDENTIAL", re.IGNORECASE)
NATS_CLIENTS = (
    "gateway",
    "agent-runner",
    "priming",
    "memory-writer",
    "consolidator",
    "scheduler",
    "outbound",
    "provision",
)


@pytest.fixture(scope="module")
def base() -> list[dict[str, Any]]:
    return manifests.render(ROOT / "infra", "k8s")


@pytest.fixture(scope="module")
def keda() -> list[dict[str, Any]]:
    return manifests.render(ROOT / "infra", "k8s-keda")


def _workloads(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Workloads by their pods' app.kubernetes.io/name (the Job animaworks-provision is "provision")."""
    return {
        o["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"]: o
        for o in objects
        if o["kind"] in WORKLOADS
    }


def _pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    return dict(workload["spec"]["template"]["spec"])


def _containers(workload: dict[str, Any]) -> list[dict[str, Any]]:
    spec = _pod_spec(workload)
    return [*spec.get("initContainers", []), *spec["containers"]]


def _pod(objects: list[dict[str, Any]], name: str) -> Endpoint:
    return pod(NAMESPACE, _workloads(objects)[name]["spec"]["template"]["metadata"]["labels"])


# --- resources and probes ---------------------------------------------------------------------


def test_every_container_requests_cpu_and_memory_and_is_memory_limited(base: list[dict[str, Any]]) -> None:
    # No CPU limits, on purpose: a limit throttles a cycle's burst even on an idle node; the
    # requests reserve each container's share and the memory limit stops a leak taking the node.
    for name, workload in _workloads(base).items():
        for container in _containers(workload):
            resources = container.get("resources") or {}
            where = f"{name}/{container['name']}"
            assert {"cpu", "memory"} <= set(resources.get("requests") or {}), where
            assert "memory" in (resources.get("limits") or {}), where


def test_every_long_running_container_has_readiness_and_liveness_probes(base: list[dict[str, Any]]) -> None:
    for name, workload in _workloads(base).items():
        if workload["kind"] == "Job":
            continue  # runs to completion; its exit status is its health
        for container in _pod_spec(workload)["containers"]:
            assert "readinessProbe" in container and "livenessProbe" in container, (
                f"{name}/{container['name']}"
            )


def test_exec_probes_read_the_file_the_runtime_writes_on_a_writable_volume(
    base: list[dict[str, Any]],
) -> None:
    (env,) = (
        o for o in base if o["kind"] == "ConfigMap" and o["metadata"]["name"].startswith("animaworks-env")
    )
    probe_file = env["data"]["ANIMAWORKS_PROBE_FILE"]
    checked = set()
    for name, workload in _workloads(base).items():
        for container in _pod_spec(workload)["containers"]:
            for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
                command = (container.get(kind) or {}).get("exec", {}).get("command")
                if not command:
                    continue
                assert command[:3] == ["python", "-m", "animas_core.probe"], name
                assert command[3] == ("live" if kind == "livenessProbe" else "ready"), f"{name} {kind}"
                assert command[4:] == ["--file", probe_file], name
                assert {"configMapRef": {"name": env["metadata"]["name"]}} in container["envFrom"], name
                mounts = {m["mountPath"] for m in container.get("volumeMounts", [])}
                assert str(Path(probe_file).parent) in mounts, (
                    f"{name}: the probe file's folder is not a volume"
                )
                checked.add(name)
    assert checked == set(NATS_CLIENTS) - {"gateway", "provision"}


# --- disruption budgets -------------------------------------------------------------------------


def _budget_check(objects: list[dict[str, Any]], replicas_of: dict[str, int]) -> None:
    budgets = [o for o in objects if o["kind"] == "PodDisruptionBudget"]
    for name, workload in _workloads(objects).items():
        if workload["kind"] == "Job":
            continue
        labels = workload["spec"]["template"]["metadata"]["labels"]
        mine = [
            b
            for b in budgets
            if all(labels.get(k) == v for k, v in b["spec"]["selector"]["matchLabels"].items())
        ]
        replicas = replicas_of.get(name, workload["spec"].get("replicas", 1))
        if replicas > 1:
            assert len(mine) == 1, f"{name}: {replicas} replicas need one PodDisruptionBudget"
        for budget in mine:
            spec = budget["spec"]
            down = spec["maxUnavailable"] if "maxUnavailable" in spec else replicas - spec["minAvailable"]
            assert down >= 1, f"{name}: its budget blocks every drain"
            assert replicas - down >= 1 or replicas == 1, f"{name}: its budget lets every replica go"


def test_replicated_workloads_have_a_budget_that_keeps_one_and_lets_drains_through(
    base: list[dict[str, Any]],
) -> None:
    _budget_check(base, {})
    assert {b["metadata"]["name"] for b in base if b["kind"] == "PodDisruptionBudget"} >= {
        "nats",
        "agent-runner",
    }


def test_the_budgets_hold_with_keda_at_its_minimum(keda: list[dict[str, Any]]) -> None:
    (scaled,) = (o for o in keda if o["kind"] == "ScaledObject")
    _budget_check(keda, {"agent-runner": scaled["spec"]["minReplicaCount"]})


# --- network policies ---------------------------------------------------------------------------


ALLOWED = [
    *((c, "nats", 4222) for c in NATS_CLIENTS),
    ("nats", "nats", 6222),
    *((c, "otel-collector", 4318) for c in (*NATS_CLIENTS, "local-llm")),
    (OUTSIDE, "gateway", 18500),
    ("agent-runner", "local-llm", 18511),
    ("priming", "weaviate", 8080),
    ("otel-collector", "tempo", 4317),
    ("grafana", "tempo", 3200),
    (OUTSIDE, "grafana", 3000),
    ("prometheus", "otel-collector", 8889),
    ("grafana", "prometheus", 9090),
    ("agent-runner", OUTSIDE, 443),
    ("agent-runner", OUTSIDE, 587),
    ("consolidator", OUTSIDE, 443),
    ("outbound", OUTSIDE, 443),
    ("gateway", OUTSIDE, 443),
]
DENIED = [
    (OUTSIDE, "nats", 4222),
    (OUTSIDE, "nats", 6222),
    (OUTSIDE, "nats", 8222),
    ("gateway", "nats", 6222),
    ("weaviate", "nats", 4222),
    ("grafana", "nats", 4222),
    ("agent-runner", "weaviate", 8080),
    ("gateway", "weaviate", 8080),
    (OUTSIDE, "weaviate", 8080),
    (OUTSIDE, "local-llm", 18511),
    ("gateway", "local-llm", 18511),
    (OUTSIDE, "otel-collector", 4318),
    (OUTSIDE, "otel-collector", 8889),
    (OUTSIDE, "prometheus", 9090),
    ("agent-runner", "prometheus", 9090),
    ("prometheus", OUTSIDE, 443),
    (OUTSIDE, "agent-runner", 8080),
    ("memory-writer", OUTSIDE, 443),
    ("scheduler", OUTSIDE, 443),
    ("priming", OUTSIDE, 443),
    ("local-llm", OUTSIDE, 443),
    ("tempo", OUTSIDE, 443),
    ("consolidator", OUTSIDE, 25),
]


def _flow(objects: list[dict[str, Any]], source: str, target: str, port: int) -> bool:
    def end(name: str) -> Endpoint:
        return name if name == OUTSIDE else _pod(objects, name)

    return Policies(objects, NAMESPACE).allowed(end(source), end(target), port)


@pytest.mark.parametrize(("source", "target", "port"), ALLOWED)
def test_each_needed_flow_is_open(base: list[dict[str, Any]], source: str, target: str, port: int) -> None:
    assert _flow(base, source, target, port)


@pytest.mark.parametrize(("source", "target", "port"), DENIED)
def test_everything_else_is_denied(base: list[dict[str, Any]], source: str, target: str, port: int) -> None:
    assert not _flow(base, source, target, port)


def test_every_pod_resolves_names(base: list[dict[str, Any]]) -> None:
    policies = Policies(base, NAMESPACE)
    dns = pod("kube-system", {"k8s-app": "kube-dns"})
    for name in _workloads(base):
        assert policies.allowed(_pod(base, name), dns, 53, "UDP"), name


def test_keda_reads_the_nats_monitoring_port_only_in_the_overlay(
    base: list[dict[str, Any]], keda: list[dict[str, Any]]
) -> None:
    operator = pod("keda", {"app": "keda-operator"})
    assert Policies(keda, NAMESPACE).allowed(operator, _pod(keda, "nats"), 8222)
    assert not Policies(keda, NAMESPACE).allowed(operator, _pod(keda, "nats"), 4222)
    assert not Policies(base, NAMESPACE).allowed(operator, _pod(base, "nats"), 8222)


# --- secrets ------------------------------------------------------------------------------------


def test_secret_values_come_only_from_secrets(keda: list[dict[str, Any]]) -> None:
    for name, workload in _workloads(keda).items():
        for container in _containers(workload):
            for env in container.get("env", []):
                if SECRET_NAME.search(env["name"]):
                    assert "secretKeyRef" in env.get("valueFrom", {}), (
                        f"{name}: {env['name']} is not from a Secret"
                    )
    for config in (o for o in keda if o["kind"] == "ConfigMap"):
        assert not [k for k in config.get("data", {}) if SECRET_NAME.search(k)], config["metadata"]["name"]
    generated = {"nats-users", "animaworks-config", "grafana-admin"}
    secrets = [o["metadata"]["name"] for o in keda if o["kind"] == "Secret"]
    assert sorted(s.rsplit("-", 1)[0] for s in secrets) == sorted(generated)


def test_no_manifest_holds_a_secret_and_the_secret_files_are_ignored() -> None:
    for path in [*ROOT.glob("infra/k8s*/*.yaml")]:
        kinds = {doc.get("kind") for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc}
        assert "Secret" not in kinds, f"{path}: Secrets come from kustomize's secretGenerator only"
    lines = (ROOT / "infra/k8s/secrets/.gitignore").read_text(encoding="utf-8").splitlines()
    rules = [line for line in lines if line and not line.startswith("#")]
    assert rules == ["*", "!.gitignore", "!*.example"]


def test_compose_takes_every_secret_from_the_environment_file() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    for name, service in compose["services"].items():
        for var, value in (service.get("environment") or {}).items():
            if SECRET_NAME.search(var):
                assert re.fullmatch(r"\$\{[A-Z0-9_]+:\?[^}]*\}", str(value)), f"{name}: {var} is a literal"


# --- KEDA ---------------------------------------------------------------------------------------


def test_the_scaled_object_watches_the_consumers_agent_runner_creates(keda: list[dict[str, Any]]) -> None:
    (scaled,) = (o for o in keda if o["kind"] == "ScaledObject")
    triggers = scaled["spec"]["triggers"]
    wanted = [c.durable for c in message_consumers(DEFAULT_ACTIVITY_PARTITIONS)]
    assert [t["metadata"]["consumer"] for t in triggers] == wanted
    assert {t["metadata"]["stream"] for t in triggers} == {ACTIVITY_STREAM}
    assert {t["type"] for t in triggers} == {"nats-jetstream"}
    # The sum of every partition's lag, not the longest one.
    formula = scaled["spec"]["advanced"]["scalingModifiers"]["formula"]
    assert sorted(formula.split(" + ")) == sorted(t["name"] for t in triggers)
    assert scaled["spec"]["scaleTargetRef"]["name"] == "agent-runner"
    deployment = _workloads(keda)["agent-runner"]
    assert "replicas" not in deployment["spec"], "the HPA owns the replica count under KEDA"


def test_the_scaled_object_reaches_the_monitoring_port_of_each_member(base: list[dict[str, Any]]) -> None:
    (headless,) = (o for o in base if o["kind"] == "Service" and o["metadata"]["name"] == "nats-headless")
    monitor = next(p["port"] for p in headless["spec"]["ports"] if p["name"] == "monitor")
    host = f"{headless['metadata']['name']}.{headless['metadata']['namespace']}.svc.cluster.local"
    assert f"{host}:{monitor}" == keda_scaling.MONITORING_ENDPOINT
    # The scaler asks a consumer's leader at <server_name>.<endpoint>: server names are pod names.
    nats = _workloads(base)["nats"]
    env = {e["name"]: e for e in _pod_spec(nats)["containers"][0]["env"]}
    assert env["SERVER_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert headless["spec"]["publishNotReadyAddresses"] is True
    accounts = (ROOT / "infra/nats/accounts.conf").read_text(encoding="utf-8")
    assert re.search(rf"^\s*{keda_scaling.ACCOUNT} {{", accounts, re.MULTILINE)
