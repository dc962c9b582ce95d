"""Secrets in and out of the shared config document (the ``CONFIG`` bucket, :mod:`animas_core.config_store`).

The operator's config reaches every service through NATS KV, and secrets never enter KV: there
every set secret (a credential's ``api_key``, an API token's digest, a webhook source's secrets
and tokens) is ``"***"``. Each service puts back the secrets it holds itself, from its own
config file (0600 on one machine; a mounted Secret in Kubernetes) or, for credentials, from
``ANIMAWORKS_CREDENTIAL_<NAME>_API_KEY``. What a service does not hold it goes without: a
credential falls through to its environment variable, a token or webhook source it cannot check
is left out, so a request relying on it is refused as if it were unknown (default deny).
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from animas_core.config import AnimaWorksConfig
    from animas_core.webhook_config import WebhookSource

MASK: Final = "***"
"""What a set secret is in the shared document (and in every view for people)."""

_OPTIONAL_SOURCE_KEYS: Final = ("token", "callback_secret")
"""A webhook source works without these (answers are recorded as undelivered, callbacks signed
with the newest secret), so one the service does not hold becomes null."""


def mask_token_digests(view: dict[str, Any]) -> dict[str, Any]:
    """``view`` (a :func:`~animas_core.config.masked_view`) with each API token's digest masked too."""
    api = view.get("api")
    tokens = api.get("tokens") if isinstance(api, dict) else None
    for token in (tokens or {}).values():
        if isinstance(token, dict) and token.get("sha256"):
            token["sha256"] = MASK
    return view


def with_local_secrets(document: dict[str, Any], local: AnimaWorksConfig | None) -> dict[str, Any]:
    """The shared ``document`` with each ``"***"`` replaced by the secret ``local`` holds there.

    ``local`` is this process's own config file (None: it has none). A credential key it lacks
    becomes null (the environment supplies it); an API token or a webhook source it cannot fill
    is left out.
    """
    data = copy.deepcopy(document)
    credentials = data.get("credentials")
    for name, entry in (credentials if isinstance(credentials, dict) else {}).items():
        if isinstance(entry, dict) and entry.get("api_key") == MASK:
            held = local.credentials.get(name) if local else None
            key = held.api_key if held else None
            entry["api_key"] = key.get_secret_value() if key is not None else None
    tokens = _section(data, "api", "tokens")
    for name in list(tokens):
        entry = tokens[name]
        if isinstance(entry, dict) and entry.get("sha256") == MASK:
            kept = local.api.tokens.get(name) if local else None
            if kept is None:
                del tokens[name]
            else:
                entry["sha256"] = kept.sha256
    sources = _section(data, "webhooks", "sources")
    for name in list(sources):
        entry = sources[name]
        held_source = local.webhooks.sources.get(name) if local else None
        if isinstance(entry, dict) and not _fill_source(entry, held_source):
            del sources[name]
    return data


def _section(data: dict[str, Any], outer: str, inner: str) -> dict[str, Any]:
    """``data[outer][inner]`` when both are objects, else an empty one (nothing to fill)."""
    section = data.get(outer)
    found = section.get(inner) if isinstance(section, dict) else None
    return found if isinstance(found, dict) else {}


def _fill_source(entry: dict[str, Any], held: WebhookSource | None) -> bool:
    """Fill one webhook source's masked secrets from ``held``; False when a required one is missing."""
    secrets = entry.get("secrets")
    kept = held.secret_values() if held else ()
    if isinstance(secrets, list):
        for index, secret in enumerate(secrets):
            if secret == MASK:
                if index >= len(kept):
                    return False
                secrets[index] = kept[index]
    if entry.get("app_token") == MASK:
        if held is None or held.app_token is None:
            return False
        entry["app_token"] = held.app_token.get_secret_value()
    for field in _OPTIONAL_SOURCE_KEYS:
        if entry.get(field) == MASK:
            value = getattr(held, field, None) if held else None
            entry[field] = value.get_secret_value() if value is not None else None
    return True
