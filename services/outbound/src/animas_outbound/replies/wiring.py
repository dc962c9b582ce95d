"""Answers outside: the ``outbound-replies`` durable, config.json's webhook sources, the HTTP clients."""

from __future__ import annotations

import httpx

from animas_contracts.subjects import ACTIVITY_STREAM, stored_activity_filter
from animas_core.config import CachedConfig, ConfigError, WebhookSource
from animas_core.runtime import ConsumerSpec, ServiceRuntime
from animas_outbound.notify.wiring import JsDeadLetters
from animas_outbound.ports import DeliveryLog, StoredEvents
from animas_outbound.replies.handler import ExternalReplies
from animas_outbound.replies.platforms import ReplyPoster
from animas_outbound.settings import OutboundSettings

EXTERNAL_REPLIES = ConsumerSpec(
    durable="outbound-replies",
    filter_subject=stored_activity_filter(event_type="response.sent"),
    stream=ACTIVITY_STREAM,
    # Retries wait with backoff: keep telling JetStream the answer is being worked on.
    long_running=True,
)
"""Its own durable, so a slow platform never holds up messages between animas."""


class ConfiguredSources:
    """config.json's webhook sources as they are now (re-read on change)."""

    def __init__(self, config: CachedConfig) -> None:
        self._config = config

    def __call__(self) -> dict[str, WebhookSource]:
        try:
            return dict(self._config.get().webhooks.sources)
        except ConfigError as exc:
            # A broken file retries the answer later rather than failing it for good.
            raise RuntimeError(f"config.json is invalid: {exc}") from None


def setup_replies(
    runtime: ServiceRuntime, settings: OutboundSettings, log: DeliveryLog, stored: StoredEvents
) -> None:
    """Register the consumer of answers to messages from outside."""
    client = httpx.AsyncClient(timeout=settings.reply_timeout_s)
    runtime.on_shutdown(client.aclose)
    handler = ExternalReplies(
        publisher=runtime.publisher,
        sources=ConfiguredSources(runtime.config),
        poster=ReplyPoster(client, settings.reply_timeout_s),
        log=log,
        stored=stored,
        dead_letters=JsDeadLetters(runtime, EXTERNAL_REPLIES.durable),
        faults=runtime.faults,
        service=runtime.service,
        attempts=settings.reply_attempts,
        backoff_s=settings.reply_backoff_s,
    )
    runtime.consume(EXTERNAL_REPLIES, handler)
