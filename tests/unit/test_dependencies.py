"""Only services that embed text may depend on torch or sentence-transformers, directly or not."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = {"torch", "sentence-transformers", "transformers"}
MODEL_SERVICES = {"priming", "local-llm"}  # the vector index (DESIGN §3) and the bundled local model
SERVICES = sorted(p.name for p in (ROOT / "services").iterdir() if (p / "pyproject.toml").exists())


def _name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _declared(service: str) -> list[str]:
    project = tomllib.loads((ROOT / "services" / service / "pyproject.toml").read_text())["project"]
    return [_name(r) for r in project.get("dependencies", [])]


def _closure(distribution: str) -> set[str]:
    """Every distribution installed to satisfy ``distribution`` (extras not requested are skipped)."""
    seen: set[str] = set()
    todo = [distribution]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        todo.extend(_name(r) for r in requires if "extra ==" not in r)
    return seen


def test_every_service_is_checked() -> None:
    assert {
        "gateway",
        "agent-runner",
        "priming",
        "memory-writer",
        "consolidator",
        "scheduler",
        "outbound",
        "core",
    } <= set(SERVICES)


@pytest.mark.parametrize("service", [s for s in SERVICES if s not in MODEL_SERVICES])
def test_services_that_do_not_embed_declare_no_torch(service: str) -> None:
    assert not HEAVY & set(_declared(service))


@pytest.mark.parametrize("service", [s for s in SERVICES if s not in MODEL_SERVICES])
def test_services_that_do_not_embed_pull_in_no_torch(service: str) -> None:
    closure = _closure(f"animaworks-{service}")
    assert len(closure) > 3, "the service's distribution must be installed for this check to mean anything"
    assert not HEAVY & closure, sorted(HEAVY & closure)
