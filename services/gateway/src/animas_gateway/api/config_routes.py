"""``GET /api/config`` and ``PUT /api/config``: config.json with every secret masked, and a checked write.

A secret (a credential's ``api_key``, an API token's digest, a webhook source's secrets) is shown
as ``"***"``, never as itself; a write that sends ``"***"`` back keeps the stored value. A write is
validated with the same model every service reads config.json with
(:func:`animas_core.config.parse_config`): an invalid one is 422 with the model's message and
leaves the file as it was; a valid one replaces the file atomically, owner-only
(:func:`animas_core.config.write_config`). ``anima up`` publishes the changed file to the CONFIG
bucket, which every service follows (:mod:`animas_core.config_store`); the gateway's own reads
(``GET``) come from there too.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from animas_core.config import (
    AnimaWorksConfig,
    ConfigError,
    WebhookSource,
    load_config,
    masked_view,
    parse_config,
    write_config,
)
from animas_gateway.operations import Operation, decode_body
from animas_gateway.problems import Problem

MASK = "***"

ConfigDocument = dict[str, Any]
"""config.json as JSON (see the README's configuration section for its sections)."""


def masked(config: AnimaWorksConfig) -> dict[str, Any]:
    """The config as JSON with every secret ``"***"`` (unset ones stay null)."""
    view = masked_view(config)
    for token in (view.get("api") or {}).get("tokens", {}).values():
        if isinstance(token, dict) and token.get("sha256"):
            token["sha256"] = MASK
    return view


def restore_secrets(sent: dict[str, Any], stored: AnimaWorksConfig | None) -> dict[str, Any]:
    """``sent`` with each ``"***"`` secret replaced by the stored value it stands for.

    Raises:
        Problem: 422 when ``"***"`` stands for a secret that is not stored.
    """
    data = copy.deepcopy(sent)

    def stored_key(name: str) -> str | None:
        credential = stored.credentials.get(name) if stored else None
        key = credential.api_key if credential else None
        return key.get_secret_value() if key is not None else None

    def stored_digest(name: str) -> str | None:
        token = stored.api.tokens.get(name) if stored else None
        return token.sha256 if token else None

    places = (
        (data.get("credentials"), "api_key", "credentials", stored_key),
        ((data.get("api") or {}).get("tokens") if isinstance(data.get("api"), dict) else None, "sha256",
         "api.tokens", stored_digest),
    )  # fmt: skip
    for section, field, where, lookup in places:
        if not isinstance(section, dict):
            continue
        for name, entry in section.items():
            if isinstance(entry, dict) and entry.get(field) == MASK:
                value = lookup(name)
                if value is None:
                    raise Problem(
                        422,
                        f"{where}.{name}.{field}: {MASK!r} stands for the stored value, and none is stored; "
                        "send the value itself (or null)",
                    )
                entry[field] = value
    _restore_webhook_secrets(data, stored)
    return data


def _restore_webhook_secrets(data: dict[str, Any], stored: AnimaWorksConfig | None) -> None:
    """Each ``"***"`` in ``webhooks.sources.<name>.secrets`` becomes the stored secret at its place.

    Place, not value: while a secret is rotated the list is ``[old, new]`` shown as
    ``["***", "***"]``; sending ``["***", "<newer>"]`` keeps the first and replaces the second.
    To retire the first of two, send the second one's value alone (``["***"]`` would keep the first).
    """
    webhooks = data.get("webhooks")
    sources = webhooks.get("sources") if isinstance(webhooks, dict) else None
    if not isinstance(sources, dict):
        return
    for name, entry in sources.items():
        source = stored.webhooks.sources.get(name) if stored else None
        if isinstance(entry, dict):
            _restore_source_keys(name, entry, source)
        secrets = entry.get("secrets") if isinstance(entry, dict) else None
        if not isinstance(secrets, list):
            continue
        kept = source.secret_values() if source else ()
        for index, secret in enumerate(secrets):
            if secret != MASK:
                continue
            if index >= len(kept):
                raise Problem(
                    422,
                    f"webhooks.sources.{name}.secrets[{index}]: {MASK!r} stands for the stored secret at "
                    "that place, and none is stored there; send the secret itself",
                )
            secrets[index] = kept[index]


def _restore_source_keys(name: str, entry: dict[str, Any], source: WebhookSource | None) -> None:
    """A source's ``token``, ``callback_secret`` and ``app_token`` sent as ``"***"`` stay as stored."""
    for field in ("token", "callback_secret", "app_token"):
        if entry.get(field) != MASK:
            continue
        kept = getattr(source, field, None) if source else None
        if kept is None:
            raise Problem(
                422,
                f"webhooks.sources.{name}.{field}: {MASK!r} stands for the stored value, and none is "
                "stored; send the value itself (or null)",
            )
        entry[field] = kept.get_secret_value()


def operations(config_path: Path, current: Callable[[], AnimaWorksConfig]) -> list[Operation]:
    """The two routes over ``config_path``; ``current`` is the gateway's cached read of it."""

    async def get_config(_: Request) -> Response:
        try:
            config = current()
        except ConfigError as exc:
            raise Problem(503, f"config.json cannot be read: {exc}") from None
        return JSONResponse(masked(config))

    async def put_config(request: Request) -> Response:
        sent = decode_body(await request.body(), ConfigDocument)
        try:
            stored: AnimaWorksConfig | None = load_config(config_path)
        except ConfigError:
            stored = None  # an unreadable file can still be replaced, but its secrets cannot be kept
        try:
            parsed = parse_config(restore_secrets(sent, stored))
        except ConfigError as exc:
            raise Problem(422, str(exc), title="Invalid config", problems=exc.problems) from None
        write_config(config_path, parsed)
        return JSONResponse(masked(parsed))

    return [
        Operation("GET", "/api/config", get_config, "config.json, every secret masked as \"***\"", "config",
                  "admin", response=ConfigDocument, errors=(503,)),
        Operation("PUT", "/api/config", put_config,
                  "Replace config.json (validated; \"***\" keeps a stored secret; written atomically, 0600)",
                  "config", "admin", body=ConfigDocument, response=ConfigDocument),
    ]  # fmt: skip
