"""Schemas of the custom resources our manifests use: KEDA's ScaledObject.

kubernetes-validate knows only the built-in kinds. The ScaledObject schema comes from the
``cloudcoil-models-keda`` package (Apache-2.0): pydantic models generated from KEDA's own CRDs
(release 2.16.1; package version 2.16.1.0). Its JSON schema is made strict here, as
kubernetes-validate's strict schemas are: every object with declared properties refuses others,
because the API server prunes unknown fields of a structural CRD without a word, so a typo'd
field would otherwise vanish on apply.

The CRD types a trigger's ``metadata`` as a plain string map; the scaler reads the keys. For the
``nats-jetstream`` scaler the keys are checked against the ones KEDA documents for it (2.8 to
2.16: ``natsServerMonitoringEndpoint``, ``account``, ``stream``, ``consumer``, ``lagThreshold``,
``activationLagThreshold``, ``useHttps``), since a misspelt key is ignored by KEDA as well.
"""

from __future__ import annotations

import functools
from typing import Any

import jsonschema  # type: ignore[import-untyped, unused-ignore]

KEDA = ("keda.sh/v1alpha1", "ScaledObject")
CUSTOM_KINDS = frozenset({KEDA})
"""(apiVersion, kind) of the custom resources checked here instead of by kubernetes-validate."""

NATS_JETSTREAM_REQUIRED = frozenset({"natsServerMonitoringEndpoint", "stream", "consumer", "lagThreshold"})
NATS_JETSTREAM_KEYS = NATS_JETSTREAM_REQUIRED | {"account", "activationLagThreshold", "useHttps"}


def _strict(node: object) -> None:
    """Forbid undeclared properties everywhere a schema declares some (in place)."""
    if isinstance(node, dict):
        if "properties" in node and "additionalProperties" not in node:
            node["additionalProperties"] = False
        for value in node.values():
            _strict(value)
    elif isinstance(node, list):
        for value in node:
            _strict(value)


@functools.cache
def scaled_object_schema() -> dict[str, Any]:
    """The strict JSON schema of ``keda.sh/v1alpha1`` ScaledObject."""
    from cloudcoil.models.keda.v1alpha1 import ScaledObject

    schema = ScaledObject.model_json_schema(by_alias=True, mode="validation")
    _strict(schema)
    return schema


def _trigger_errors(trigger: dict[str, Any], index: int) -> list[str]:
    if trigger.get("type") != "nats-jetstream":
        return []
    keys = set((trigger.get("metadata") or {}).keys())
    where = f"spec/triggers/{index}/metadata"
    problems = [f"{where}: unknown nats-jetstream key {key!r}" for key in sorted(keys - NATS_JETSTREAM_KEYS)]
    problems += [
        f"{where}: missing nats-jetstream key {key!r}" for key in sorted(NATS_JETSTREAM_REQUIRED - keys)
    ]
    return problems


def custom_resource_errors(obj: dict[str, Any]) -> list[str]:
    """``path: message`` lines for one custom resource; empty when it is valid."""
    schema = scaled_object_schema()
    validator = jsonschema.validators.validator_for(schema)(schema)
    problems = [
        f"{'/'.join(map(str, error.absolute_path)) or '(top)'}: {error.message}"
        for error in sorted(validator.iter_errors(obj), key=lambda e: list(map(str, e.absolute_path)))
    ]
    triggers = (obj.get("spec") or {}).get("triggers") or []
    for index, trigger in enumerate(triggers if isinstance(triggers, list) else []):
        if isinstance(trigger, dict):
            problems += _trigger_errors(trigger, index)
    return problems
