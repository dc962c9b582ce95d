"""Talking to an anima over HTTP: one message in, the reply back, whole or streamed.

Both endpoints admit a request the same way, register interest in what answers it, and only then
publish the ``message.received`` event, so a fast answer cannot slip past.
"""

from __future__ import annotations

import asyncio
import logging

from nats.aio.client import Client
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from animas_contracts import InvalidAnimaName, MessageReceived, ResponseSent, validate_anima_name
from animas_core.broker import EventSink
from animas_gateway.directory import AnimaDirectory, DirectoryUnavailable
from animas_gateway.domain import (
    BadRequest,
    error_body,
    message_event,
    message_ids,
    not_ready_detail,
    parse_chat_request,
    reply_body,
)
from animas_gateway.replies import EventWaiter
from animas_gateway.settings import GatewaySettings
from animas_gateway.streaming import ChatStream, EventStreamResponse

_log = logging.getLogger(__name__)


class ChatApi:
    """``POST /api/animas/{name}/chat`` and ``POST /api/animas/{name}/chat/stream``."""

    def __init__(
        self,
        nc: Client,
        publisher: EventSink,
        directory: AnimaDirectory,
        replies: EventWaiter,
        settings: GatewaySettings,
    ) -> None:
        self._nc = nc
        self._publisher = publisher
        self._directory = directory
        self._replies = replies
        self._settings = settings
        self._streams: set[ChatStream] = set()

    @property
    def open_streams(self) -> int:
        """Streamed chats still holding a subscription (0 once every client is done or gone)."""
        return len(self._streams)

    async def chat(self, request: Request) -> Response:
        """Publish the message and answer with the reply, or 202 when it is not ready in time."""
        admitted = await self.admit(request)
        if isinstance(admitted, Response):
            return admitted
        reply = self._replies.expect(admitted.id)
        refused = await self.publish(admitted)
        if refused is not None:
            self._replies.forget(admitted.id)
            return refused
        try:
            answer = await asyncio.wait_for(reply, self._settings.chat_timeout_s)
        except TimeoutError:
            self._replies.forget(admitted.id)
            detail = not_ready_detail(admitted, self._settings.chat_timeout_s)
            return JSONResponse({**message_ids(admitted), "status": "accepted", "detail": detail}, 202)
        if not isinstance(answer, ResponseSent):
            return JSONResponse(error_body("unexpected answer"), status_code=500)
        return JSONResponse(reply_body(admitted, answer))

    async def stream(self, request: Request) -> Response:
        """Publish the message and stream the anima's output as server-sent events, then the reply."""
        admitted = await self.admit(request)
        if isinstance(admitted, Response):
            return admitted
        stream = ChatStream(
            self._nc,
            self._replies,
            admitted,
            timeout_s=self._settings.chat_timeout_s,
            keepalive_s=self._settings.sse_keepalive_s,
            on_close=self._streams.discard,
        )
        self._streams.add(stream)
        try:
            await stream.open()
            refused = await self.publish(admitted)
        except BaseException:
            await stream.close()
            raise
        if refused is not None:
            await stream.close()
            return refused
        return EventStreamResponse(stream)

    async def admit(self, request: Request) -> MessageReceived | Response:
        """The event a chat request becomes, or the error response that refuses it."""
        name = request.path_params["name"]
        try:
            validate_anima_name(name)
        except InvalidAnimaName as exc:
            return JSONResponse(error_body(str(exc)), status_code=400)
        try:
            body = parse_chat_request(await request.body(), self._settings.max_message_chars)
        except BadRequest as exc:
            return JSONResponse(error_body(str(exc)), status_code=422)
        try:
            animas = await self._directory.animas()
        except DirectoryUnavailable as exc:
            return JSONResponse(error_body(str(exc)), status_code=503)
        if name not in animas:
            return JSONResponse(
                error_body(f"no anima named {name!r}", animas=sorted(animas)), status_code=404
            )
        if not animas[name].enabled:
            return JSONResponse(
                error_body(f"anima {name!r} is disabled (`anima enable {name}`)"), status_code=409
            )
        return message_event(name, body)

    async def publish(self, event: MessageReceived) -> Response | None:
        """Store the message on the activity stream; an error response when that failed."""
        try:
            await self._publisher.publish(event)
        except Exception as exc:
            _log.exception("could not publish message.received")
            return JSONResponse(error_body(f"the message could not be stored: {exc}"), status_code=503)
        return None
