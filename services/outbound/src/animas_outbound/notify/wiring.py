"""Notifications' composition: the ``outbound-notify`` durable, config.json's channels, the KV store."""

from __future__ import annotations

import logging

import httpx
import msgspec

from animas_contracts import DeadLetter
from animas_contracts.subjects import (
    ACTIVITY_STREAM,
    DEADLETTER_STREAM,
    HEADER_MSG_ID,
    deadletter_subject,
    stored_activity_filter,
)
from animas_core.config import CachedConfig, ConfigError
from animas_core.runtime import ConsumerSpec, ServiceRuntime
from animas_outbound.notify.channels import UnusableChannel, build_adapter, channel_names
from animas_outbound.notify.handler import Channel, Channels, NotifyHandler
from animas_outbound.notify.records import KvNotifyStore
from animas_outbound.settings import OutboundSettings

_log = logging.getLogger(__name__)

NOTIFY_REQUESTS = ConsumerSpec(
    durable="outbound-notify",
    filter_subject=stored_activity_filter(event_type="human.notify.requested"),
    stream=ACTIVITY_STREAM,
    # Retries wait with backoff: keep telling JetStream the request is being worked on.
    long_running=True,
)
"""Its own durable, so slow channels never hold up messages between animas."""


class ConfiguredChannels:
    """The enabled channels of ``human_notification`` as config.json says now (re-read on change)."""

    def __init__(self, config: CachedConfig, client: httpx.AsyncClient, timeout_s: float) -> None:
        self._config = config
        self._client = client
        self._timeout_s = timeout_s

    def __call__(self) -> Channels:
        try:
            config = self._config.get()
        except ConfigError as exc:
            # A broken file retries the request later rather than failing it for good.
            raise RuntimeError(f"config.json is invalid: {exc}") from None
        section = config.human_notification
        if not section.enabled:
            return Channels((), "human notifications are not enabled (human_notification.enabled)")
        channels = []
        for name, entry in zip(channel_names(section.channels), section.channels, strict=True):
            if not entry.enabled:
                continue
            try:
                channels.append(Channel(name, build_adapter(entry, config, self._client, self._timeout_s)))
            except UnusableChannel as exc:
                channels.append(Channel(name, None, str(exc)))
        return Channels(tuple(channels))


class JsDeadLetters:
    """Dead letters of failed channels on ``deadletter.outbound``, one per request and channel.

    Counted as the durable's dead letters, like those the error policy stores.
    """

    def __init__(self, runtime: ServiceRuntime, durable: str) -> None:
        self._runtime = runtime
        self._durable = durable

    async def park(self, letter: DeadLetter, msg_id: str) -> None:
        await self._runtime.broker.publish(
            msgspec.json.encode(letter),
            deadletter_subject(self._runtime.service),
            headers={HEADER_MSG_ID: msg_id},
            stream=DEADLETTER_STREAM,
            timeout=5.0,
        )
        self._runtime.metrics.dead_lettered(self._durable)


def setup_notify(runtime: ServiceRuntime, settings: OutboundSettings) -> None:
    """Register the notification consumer."""
    client = httpx.AsyncClient(timeout=settings.notify_timeout_s)
    runtime.on_shutdown(client.aclose)
    handler = NotifyHandler(
        publisher=runtime.publisher,
        store=KvNotifyStore(lambda: runtime.js),
        channels=ConfiguredChannels(runtime.config, client, settings.notify_timeout_s),
        dead_letters=JsDeadLetters(runtime, NOTIFY_REQUESTS.durable),
        faults=runtime.faults,
        service=runtime.service,
        attempts=settings.notify_attempts,
        backoff_s=settings.notify_backoff_s,
    )
    runtime.consume(NOTIFY_REQUESTS, handler)
