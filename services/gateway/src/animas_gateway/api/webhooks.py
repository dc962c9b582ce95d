"""``POST /api/webhooks/{source}``: Slack, Chatwork and generic webhooks in, ``message.received`` out.

The route is public (no API token): the source's signature is the authentication. The raw body
is read once (bounded by ``api.max_body_bytes`` like every body) and verified before any of it is
parsed (:mod:`animas_gateway.webhook_signatures`). Then:

- an unknown (or disabled, or Socket Mode) source is 401, logged with the caller's address (no
  anima to record it under, so no event);
- a missing or wrong signature, or a timestamp outside the 5-minute window, is 401 and a
  ``webhook.rejected`` event under the source's anima (source, kind, reason, address; never the
  body, the signature or a secret);
- a verified Slack ``url_verification`` is answered with its challenge; a bot's message, an edit
  or another event is 200 ``{"ignored": ...}`` and dropped;
- a verified message is stored once as ``message.received`` (origin ``external``) for the
  source's anima and answered 202 ``{"event_id": ...}``: its id is derived from the platform's
  id of the message, and the stored messages of ``api.idempotency_window_s`` are looked up
  before it is stored, so Slack's retries (up to three, minutes apart) and duplicates are one
  message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from animas_core.broker import EventSink
from animas_core.config import AnimaWorksConfig, ConfigError, WebhookSource
from animas_gateway.ingress import StoredMessages, deliver_once
from animas_gateway.operations import Operation, Param
from animas_gateway.problems import Problem
from animas_gateway.webhook_inputs import (
    BadPayload,
    Challenge,
    Ignored,
    message_event,
    read_input,
    rejected_event,
)
from animas_gateway.webhook_signatures import (
    RejectReason,
    SignatureRejected,
    verify_chatwork,
    verify_generic,
    verify_slack,
)

_log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

SLACK_SIGNATURE = "x-slack-signature"
SLACK_TIMESTAMP = "x-slack-request-timestamp"
CHATWORK_SIGNATURE = "x-chatworkwebhooksignature"
CHATWORK_SIGNATURE_PARAM = "chatwork_webhook_signature"
GENERIC_SIGNATURE = "x-animaworks-signature"
GENERIC_TIMESTAMP = "x-animaworks-timestamp"
RETRY_AFTER_S = "2"
MAX_SOURCE_SHOWN = 64


def verify(source: WebhookSource, request: Request, body: bytes, now: datetime) -> None:
    """Whether ``request`` is signed by ``source`` (the scheme of its kind).

    Raises:
        SignatureRejected: why it is not.
    """
    headers = request.headers
    secrets = source.secret_values()
    if source.kind == "slack":
        verify_slack(secrets, headers.get(SLACK_SIGNATURE), headers.get(SLACK_TIMESTAMP), body, now)
    elif source.kind == "chatwork":
        signature = headers.get(CHATWORK_SIGNATURE) or request.query_params.get(CHATWORK_SIGNATURE_PARAM)
        verify_chatwork(secrets, signature, body)
    else:
        verify_generic(secrets, headers.get(GENERIC_SIGNATURE), headers.get(GENERIC_TIMESTAMP), body, now)


class WebhookIngress:
    """The handler of ``POST /api/webhooks/{source}``."""

    def __init__(
        self,
        publisher: EventSink,
        stored: StoredMessages,
        config: Callable[[], AnimaWorksConfig],
        clock: Clock,
    ) -> None:
        self._publisher = publisher
        self._stored = stored
        self._config = config
        self._clock = clock

    async def receive(self, request: Request) -> Response:
        """Verify, then store the message once (202), answer a challenge, or drop what is not a message."""
        name: str = request.path_params["source"]
        body = await request.body()
        remote = request.client.host if request.client else None
        try:
            config = self._config()
        except ConfigError as exc:
            raise Problem(503, f"the gateway cannot read its config.json: {exc}") from None
        source = config.webhooks.sources.get(name)
        if source is None or not source.enabled or source.mode == "socket":
            _log.warning(
                "webhook refused",
                extra={
                    "source": name[:MAX_SOURCE_SHOWN],
                    "reason": RejectReason.UNKNOWN_SOURCE.value,
                    "remote_address": remote,
                },
            )
            raise Problem(401, "no webhook source of this name is configured", reason="unknown_source")
        try:
            verify(source, request, body, self._clock())
        except SignatureRejected as exc:
            await self._record_rejection(name, source, exc.reason, remote)
            raise Problem(401, str(exc), reason=exc.reason.value) from None
        try:
            said = read_input(source.kind, name, body, source.account_id)
            if isinstance(said, Challenge):
                return JSONResponse({"challenge": said.challenge})
            if isinstance(said, Ignored):
                _log.info("webhook ignored", extra={"source": name, "why": said.why})
                return JSONResponse({"ignored": said.why})
            event = message_event(name, source.anima, said, config.api, source.people)
        except BadPayload as exc:
            raise Problem(422, f"invalid webhook body: {exc}", title="Unprocessable request") from None
        try:
            if said.delivery_key is None:
                await self._publisher.publish(event)
                earlier = False
            else:
                delivered = await deliver_once(
                    self._publisher, self._stored, event, config.api.idempotency_window_s
                )
                earlier = delivered.earlier is not None
        except Exception as exc:
            _log.exception("could not store a webhook's message.received", extra={"source": name})
            raise Problem(
                503, f"the message could not be stored ({type(exc).__name__}); a redelivery is safe"
            ) from None
        _log.info(
            "webhook accepted",
            extra={"source": name, "anima": source.anima, "message_id": event.id, "repeat": earlier},
        )
        return JSONResponse({"event_id": event.id, "repeat": earlier}, status_code=202)

    async def _record_rejection(
        self, name: str, source: WebhookSource, reason: RejectReason, remote: str | None
    ) -> None:
        _log.warning(
            "webhook refused",
            extra={"source": name, "anima": source.anima, "reason": reason.value, "remote_address": remote},
        )
        event = rejected_event(name, source.kind, source.anima, reason.value, remote)
        try:
            await self._publisher.publish(event)
        except Exception as exc:
            # The caller is refused either way; a broker outage must not turn a 401 into a 503.
            _log.warning("could not record webhook.rejected: %s", type(exc).__name__)


def operations(
    publisher: EventSink, stored: StoredMessages, config: Callable[[], AnimaWorksConfig], clock: Clock
) -> list[Operation]:
    """The webhook route (public: the signature is the authentication)."""
    ingress = WebhookIngress(publisher, stored, config, clock)
    return [
        Operation(
            "POST",
            "/api/webhooks/{source}",
            ingress.receive,
            "Receive a signed webhook (Slack Events API, Chatwork or generic HMAC) for the source's anima",
            "webhooks",
            None,
            status=202,
            params=(
                Param("source", "path", "The webhook source's name (config.json webhooks.sources)"),
                Param(SLACK_SIGNATURE, "header", "Slack: v0=<hex HMAC-SHA256>"),
                Param(SLACK_TIMESTAMP, "header", "Slack: Unix seconds"),
                Param(CHATWORK_SIGNATURE, "header", "Chatwork: base64 HMAC-SHA256"),
                Param(CHATWORK_SIGNATURE_PARAM, "query", "Chatwork: the signature, when not in the header"),
                Param(GENERIC_SIGNATURE, "header", "generic: sha256=<hex HMAC-SHA256 of '<ts>.<body>'>"),
                Param(GENERIC_TIMESTAMP, "header", "generic: Unix seconds"),
            ),
            errors=(400, 401, 413, 422, 503),
            also=((200, None),),
        )
    ]
