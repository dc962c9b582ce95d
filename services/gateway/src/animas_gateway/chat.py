"""Talking to an anima over HTTP: one message in, the reply back, whole or streamed.

Both endpoints admit a request the same way, register interest in what answers it, and only then
store the ``message.received`` event, so a fast answer cannot slip past. A request with an
``Idempotency-Key`` (or a ``client_message_id``) is stored at most once: a retry finds the
message it stands for and answers with its reply (:mod:`animas_gateway.ingress`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable

from nats.aio.client import Client
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from animas_contracts import Event, InvalidAnimaName, MessageReceived, ResponseSent, validate_anima_name
from animas_core.broker import EventSink
from animas_core.config import AnimaWorksConfig
from animas_gateway.directory import AnimaDirectory, DirectoryUnavailable
from animas_gateway.domain import (
    BadRequest,
    idempotency_key,
    message_event,
    message_ids,
    not_ready_detail,
    parse_chat_request,
    reply_body,
    same_message,
)
from animas_gateway.ingress import StoredMessages, deliver_once
from animas_gateway.problems import problem
from animas_gateway.replies import SharedReplies
from animas_gateway.settings import GatewaySettings
from animas_gateway.streaming import ChatStream, EventStreamResponse

_log = logging.getLogger(__name__)

RETRY_AFTER_S = "2"
"""What a 503 asks a client to wait before retrying (a broker that restarts is back within seconds)."""

REPLAYED_HEADER = "Idempotent-Replayed"
"""Set on the answer to a retry whose message was stored before (it was not stored again)."""


@dataclasses.dataclass(frozen=True)
class Admitted:
    """A chat request turned into its event, with the key that makes its retries one message."""

    event: MessageReceived
    keyed: bool


@dataclasses.dataclass(frozen=True)
class InStream:
    """The message is on the stream: stored now, or before (then maybe answered already)."""

    earlier: bool = False
    reply: ResponseSent | None = None


class ChatApi:
    """``POST /api/animas/{name}/chat`` and ``POST /api/animas/{name}/chat/stream``."""

    def __init__(
        self,
        nc: Client,
        publisher: EventSink,
        directory: AnimaDirectory,
        replies: SharedReplies,
        settings: GatewaySettings,
        *,
        config: Callable[[], AnimaWorksConfig],
        stored: StoredMessages,
    ) -> None:
        self._nc = nc
        self._publisher = publisher
        self._directory = directory
        self._replies = replies
        self._settings = settings
        self._config = config
        self._stored = stored
        self._streams: set[ChatStream] = set()

    @property
    def open_streams(self) -> int:
        """Streamed chats still holding a subscription (0 once every client is done or gone)."""
        return len(self._streams)

    async def chat(self, request: Request) -> Response:
        """Store the message and answer with the reply, or 202 when it is not ready in time."""
        admitted = await self.admit(request)
        if isinstance(admitted, Response):
            return admitted
        event = admitted.event
        reply = self._replies.expect(event.id)
        stored = await self.store(admitted)
        if isinstance(stored, Response):
            self._replies.forget(event.id, reply)
            return stored
        if stored.reply is not None:
            self._replies.settle(event.id, stored.reply)
        headers = {REPLAYED_HEADER: "true"} if stored.earlier else None
        try:
            answer: Event = await asyncio.wait_for(reply, self._settings.chat_timeout_s)
        except TimeoutError:
            self._replies.forget(event.id, reply)
            detail = not_ready_detail(event, self._settings.chat_timeout_s)
            return JSONResponse({**message_ids(event), "status": "accepted", "detail": detail}, 202, headers)
        if not isinstance(answer, ResponseSent):
            return problem(500, "unexpected answer")
        return JSONResponse(reply_body(event, answer), headers=headers)

    async def stream(self, request: Request) -> Response:
        """Store the message and stream the anima's output as server-sent events, then the reply."""
        admitted = await self.admit(request)
        if isinstance(admitted, Response):
            return admitted
        stream = ChatStream(
            self._nc,
            self._replies,
            admitted.event,
            timeout_s=self._settings.chat_timeout_s,
            keepalive_s=self._settings.sse_keepalive_s,
            on_close=self._streams.discard,
        )
        self._streams.add(stream)
        try:
            await stream.open()
            stored = await self.store(admitted)
        except BaseException:
            await stream.close()
            raise
        if isinstance(stored, Response):
            await stream.close()
            return stored
        if stored.reply is not None:
            self._replies.settle(admitted.event.id, stored.reply)
        return EventStreamResponse(stream, replayed=stored.earlier)

    async def admit(self, request: Request) -> Admitted | Response:
        """The event a chat request becomes, or the error response that refuses it."""
        name = request.path_params["name"]
        try:
            validate_anima_name(name)
        except InvalidAnimaName as exc:
            return problem(400, str(exc))
        try:
            body = parse_chat_request(await request.body(), self._config().api)
            key = idempotency_key(request.headers.get("idempotency-key"), body)
        except BadRequest as exc:
            return problem(422, str(exc))
        try:
            animas = await self._directory.including(name)
        except DirectoryUnavailable as exc:
            return problem(503, str(exc))
        if name not in animas:
            # Only the name asked for: which other animas exist is not the caller's business.
            return problem(404, f"no anima named {name!r}")
        if not animas[name].enabled:
            return problem(409, f"anima {name!r} is disabled (`anima enable {name}`)")
        return Admitted(message_event(name, body, key), keyed=key is not None)

    async def store(self, admitted: Admitted) -> InStream | Response:
        """Put the message on the activity stream once; an error response when that failed."""
        event = admitted.event
        try:
            if not admitted.keyed:
                await self._publisher.publish(event)
                return InStream()
            delivered = await deliver_once(
                self._publisher, self._stored, event, self._config().api.idempotency_window_s
            )
        except Exception as exc:
            _log.exception("could not store message.received")
            # Whether it was stored is unknown: a retry with the same Idempotency-Key is safe.
            return problem(
                503, f"the message could not be stored: {exc}", headers={"Retry-After": RETRY_AFTER_S}
            )
        if delivered.earlier is None:
            return InStream()
        if delivered.earlier.message is not None and not same_message(delivered.earlier.message, event):
            return problem(
                422,
                "this Idempotency-Key was used for another message (other text, sender or thread); "
                "use a new key for a new message",
                **message_ids(event),
            )
        return InStream(earlier=True, reply=delivered.reply)
