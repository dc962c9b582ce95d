"""Each service image installs only what its service needs: torch only in priming and local-llm,
and there from PyTorch's CPU index (infra/docker/service.Dockerfile).

No Docker engine here, so the check is on what a build would install: the dependency closure
of each service's distribution, as installed in this environment from its pyproject (the same
requirements pip resolves in the image), and the Dockerfile's own condition for fetching the CPU
build of torch, run against each service's pyproject as the build runs it.
"""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from animas_contracts.subjects import SERVICE_NAMES

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "infra/docker/service.Dockerfile"
IMAGES = (*SERVICE_NAMES, "local-llm")
TORCH_IMAGES = {"priming", "local-llm"}
"""The services that embed text or run a model; every other image is torch-free."""
GPU_PACKAGE = re.compile(r"^(nvidia-.*|triton)$")


def closure(distribution: str) -> set[str]:
    """Every distribution a plain ``pip install <distribution>`` brings in (no extras), itself included."""
    seen: set[str] = set()
    todo = [canonicalize_name(distribution)]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for line in importlib.metadata.requires(name) or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(canonicalize_name(requirement.name))
    return seen


def _torch_condition() -> str:
    """The shell test the Dockerfile runs to decide whether a service gets the CPU torch."""
    match = re.search(
        r"if (grep -Eq '[^']+' \"services/\$SERVICE/pyproject\.toml\"); then", DOCKERFILE.read_text()
    )
    assert match, "the Dockerfile no longer decides on torch from the service's pyproject"
    return match[1]


@pytest.mark.parametrize("service", IMAGES)
def test_only_priming_and_local_llm_pull_torch(service: str) -> None:
    installed = closure(f"animaworks-{service}")
    assert ("torch" in installed) == (service in TORCH_IMAGES), sorted(installed)
    assert not {n for n in installed if GPU_PACKAGE.match(n)}, "a CUDA package is a hard dependency"


@pytest.mark.parametrize("service", IMAGES)
def test_the_dockerfile_installs_the_cpu_torch_exactly_where_the_service_needs_torch(service: str) -> None:
    decided = subprocess.run(
        ["bash", "-c", _torch_condition()], cwd=ROOT, env={"SERVICE": service}, check=False, timeout=30
    )
    assert (decided.returncode == 0) == ("torch" in closure(f"animaworks-{service}")), service


def test_the_cpu_torch_is_the_pinned_one_from_pytorchs_cpu_index() -> None:
    text = DOCKERFILE.read_text()
    assert "ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu\n" in text
    assert '-c constraints.txt --index-url "$TORCH_INDEX_URL" torch;' in text
    assert re.search(r"^torch==\d", (ROOT / "constraints.txt").read_text(), re.MULTILINE), "torch is pinned"
    assert "COPY constraints.txt constraints.txt" in text
    # The same pins for everything else, and a build that stops if a GPU package or a non-CPU
    # torch got in anyway.
    assert (
        "pip install --no-cache-dir -c constraints.txt ./contracts ./services/core ./services/${SERVICE}"
        in text
    )
    assert "n.startswith('nvidia-') or n == 'triton'" in text and "torch.endswith('+cpu')" in text
