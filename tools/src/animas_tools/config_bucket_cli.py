"""``anima config set --nats-url``: change a running cluster's config where its services read it.

The change is made to the ``CONFIG`` bucket's latest revision (not to a local config.json, which
the operator of a cluster need not have), validated whole, and stored only if nobody changed the
config in between; then this waits until every running service instance holds it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, Final

from nats.aio.client import Client
from nats.js.errors import KeyWrongLastSequenceError

from animas_core.config import AnimaWorksConfig, ConfigError, parse_config
from animas_core.config_secrets import MASK
from animas_core.config_store import publish_config, read_config
from animas_core.home import Home
from animas_tools.cli_support import fail, say_applied, with_nats
from animas_tools.config_sync import apply_config

DIGEST_STAND_IN: Final = "0" * 64
BASE64_STAND_IN: Final = "AAAA"


def with_stand_ins(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with each masked token digest and Chatwork secret replaced by a value of its shape.

    Only to validate: the bucket's document holds ``"***"`` for every secret, which the model
    takes as a key or a signing secret but not as a SHA-256 digest or a base64 Chatwork token.
    Whatever stands in is masked again by :func:`kv_document` before anything is stored.
    """
    data = copy.deepcopy(document)
    api = data.get("api")
    tokens = api.get("tokens") if isinstance(api, dict) else None
    for token in (tokens if isinstance(tokens, dict) else {}).values():
        if isinstance(token, dict) and token.get("sha256") == MASK:
            token["sha256"] = DIGEST_STAND_IN
    webhooks = data.get("webhooks")
    sources = webhooks.get("sources") if isinstance(webhooks, dict) else None
    for source in (sources if isinstance(sources, dict) else {}).values():
        if (
            isinstance(source, dict)
            and source.get("kind") == "chatwork"
            and isinstance(source.get("secrets"), list)
        ):
            source["secrets"] = [BASE64_STAND_IN if s == MASK else s for s in source["secrets"]]
    return data


def bucket_view(home: Home, nats_url: str) -> dict[str, Any]:
    """The bucket's latest document (every secret already ``"***"``)."""
    found: dict[str, Any] = {}

    async def work(nc: Client) -> None:
        stored = await read_config(nc.jetstream())
        if stored is None or stored.document is None:
            raise fail(
                "the config bucket holds no config (provisioning seeds it; `anima config set` writes it)"
            )
        found.update(stored.document)

    with_nats(home.root, nats_url, work)
    return found


def set_in_bucket(home: Home, nats_url: str, change: Callable[[dict[str, Any]], None]) -> AnimaWorksConfig:
    """Apply ``change`` to the bucket's latest document, validate, store and wait for the services.

    ``change`` may refuse (raise) after changing the document; then nothing is stored. Returns the
    config stored (each masked secret stood in for; print it only masked).
    """
    published: list[AnimaWorksConfig] = []

    async def work(nc: Client) -> None:
        js = nc.jetstream()
        stored = await read_config(js)
        data = copy.deepcopy(stored.document) if stored is not None and stored.document is not None else {}
        change(data)
        try:
            config = parse_config(with_stand_ins(data))
        except ConfigError as exc:
            raise fail(f"{exc} (the config bucket left unchanged)") from None
        try:
            await publish_config(js, config, last=stored.revision if stored is not None else 0)
        except KeyWrongLastSequenceError:
            raise fail(
                "the config changed while this ran (another operator?); nothing was written: run it again"
            ) from None
        published.append(config)
        say_applied(await apply_config(js, config))

    with_nats(home.root, nats_url, work)
    return published[0]
