"""The operator's config in NATS KV: one document every service follows, so a change needs no restart.

The ``CONFIG`` bucket holds one key, ``config``: the whole config as JSON with every secret
``"***"`` (:mod:`animas_core.config_secrets`); its history keeps the last revisions, so a change
can be audited (``nats kv history CONFIG config``). Only the operator writes it (``anima config
set``, ``anima up``, provisioning); every service's NATS user may only read its latest revision
and hear that it changed (tools/src/animas_tools/authority.py).

How a service follows it (:class:`ConfigFeed`): it subscribes to the key's subject, on which the
operator's put is published, and on each notice reads the latest revision from the stream
leader (a message get). nats-py's ``KeyValue.watch`` would do the same through an ephemeral push
consumer, but a right to create one lets its owner name any deliver subject, which the broker
does not check against the user's publish rights; a service is never given it. A periodic
re-read covers notices missed while the connection was down.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
from collections.abc import Callable
from typing import Any, Final

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js import JetStreamContext
from nats.js.errors import KeyWrongLastSequenceError, NotFoundError

from animas_core.config import AnimaWorksConfig, masked_view
from animas_core.config_secrets import mask_token_digests

_log = logging.getLogger(__name__)

CONFIG_BUCKET: Final = "CONFIG"
CONFIG_KEY: Final = "config"
CONFIG_STREAM: Final = f"KV_{CONFIG_BUCKET}"
CONFIG_SUBJECT: Final = f"$KV.{CONFIG_BUCKET}.{CONFIG_KEY}"
CONFIG_HISTORY: Final = 16
"""Revisions kept for audit (the most a KV bucket keeps is 64)."""
RECHECK_S: Final = 30.0
"""How often a service re-reads the latest revision without a notice (a reconnect may lose one)."""
NOTICE_REREAD_S: Final = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0)
"""Pauses before reading again after a notice when the first read found no newer revision."""


@dataclasses.dataclass(frozen=True)
class StoredConfig:
    """The latest revision of the key; ``document`` None when it was deleted."""

    revision: int
    document: dict[str, Any] | None


def kv_document(config: AnimaWorksConfig) -> bytes:
    """What goes into the bucket: the config as JSON, every secret and token digest ``"***"``."""
    return json.dumps(mask_token_digests(masked_view(config)), sort_keys=True, ensure_ascii=False).encode()


async def ensure_config_bucket(js: JetStreamContext, replicas: int = 1) -> None:
    """Create the bucket (as the operator) if it is missing."""
    try:
        await js.key_value(CONFIG_BUCKET)
    except NotFoundError:
        await js.create_key_value(bucket=CONFIG_BUCKET, history=CONFIG_HISTORY, replicas=replicas)


async def read_config(js: JetStreamContext) -> StoredConfig | None:
    """The latest revision, read from the stream leader; None when the bucket or key has none.

    A message get by subject, which is all a service may do with the bucket besides listening.
    """
    try:
        msg = await js.get_msg(CONFIG_STREAM, subject=CONFIG_SUBJECT)
    except NotFoundError:
        return None
    operation = (msg.headers or {}).get("KV-Operation")
    if operation in ("DEL", "PURGE") or not msg.data:
        return StoredConfig(msg.seq or 0, None)
    data = json.loads(msg.data)
    if not isinstance(data, dict):
        raise ValueError(f"{CONFIG_BUCKET}/{CONFIG_KEY} revision {msg.seq} is not a JSON object")
    return StoredConfig(msg.seq or 0, data)


async def publish_config(js: JetStreamContext, config: AnimaWorksConfig, *, last: int | None = None) -> int:
    """Store ``config`` (secrets masked) as the operator; return its revision.

    ``last``: only if the latest revision is still this one (0: only if there is none), so two
    operators changing it at once cannot lose each other's change; a conflict raises
    :class:`~nats.js.errors.KeyWrongLastSequenceError`.
    """
    kv = await js.key_value(CONFIG_BUCKET)
    payload = kv_document(config)
    if last is None:
        return await kv.put(CONFIG_KEY, payload)
    if last == 0:
        return await kv.create(CONFIG_KEY, payload)
    return await kv.update(CONFIG_KEY, payload, last=last)


async def push_config(js: JetStreamContext, config: AnimaWorksConfig) -> int:
    """Store ``config`` unless the bucket already holds the same document; return the revision holding it."""
    stored = await read_config(js)
    if (
        stored is not None
        and stored.document is not None
        and json.loads(kv_document(config)) == stored.document
    ):
        return stored.revision
    return await publish_config(js, config)


async def seed_config(js: JetStreamContext, config: AnimaWorksConfig) -> bool:
    """Store ``config`` only if the bucket holds none yet (provisioning); True if it was stored."""
    with contextlib.suppress(KeyWrongLastSequenceError):
        await publish_config(js, config, last=0)
        return True
    return False


class ConfigFeed:
    """The latest config document of the bucket, followed for the life of a service."""

    def __init__(self) -> None:
        self.revision = 0
        self.document: dict[str, Any] | None = None
        self._js: JetStreamContext | None = None
        self._sub: Subscription | None = None
        self._task: asyncio.Task[None] | None = None
        self._notice = asyncio.Event()
        self._listeners: list[Callable[[int], None]] = []

    def on_change(self, listener: Callable[[int], None]) -> None:
        """Call ``listener(revision)`` after each new revision is taken."""
        self._listeners.append(listener)

    async def start(self, nc: Client) -> None:
        """Listen for changes, then read the latest revision (so none falls between the two)."""
        self._js = nc.jetstream()
        self._sub = await nc.subscribe(CONFIG_SUBJECT, cb=self._noticed)
        try:
            await self.refresh()
        except Exception as exc:  # the service starts on its own file; following keeps trying
            _log.warning("reading the config bucket failed: %r", exc)
        self._task = asyncio.create_task(self._follow())

    async def stop(self) -> None:
        """Stop following."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()

    async def refresh(self) -> None:
        """Take the latest revision if it is newer than the one held."""
        assert self._js is not None, "start() first"
        stored = await read_config(self._js)
        # A notice comes before the put is stored or may be for a put the stream refused: the
        # revision read is the truth, and an older or equal one changes nothing.
        if stored is None or stored.revision <= self.revision:
            return
        self.revision, self.document = stored.revision, stored.document
        _log.info("config revision taken", extra={"revision": stored.revision})
        for listener in self._listeners:
            listener(stored.revision)

    async def _noticed(self, _: Msg) -> None:
        self._notice.set()

    async def _follow(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._notice.wait(), RECHECK_S)
            noticed = self._notice.is_set()
            self._notice.clear()
            held = self.revision
            # On a cluster the notice can come before the bucket's leader stores the put (its Raft
            # group commits it first): a read after a notice that finds nothing newer is tried again.
            for pause in (0.0, *(NOTICE_REREAD_S if noticed else ())):
                await asyncio.sleep(pause)
                try:
                    await self.refresh()
                except Exception as exc:  # the next notice or re-check may get through
                    _log.warning("reading the config bucket failed: %r", exc)
                if self.revision > held or self._notice.is_set():
                    break
