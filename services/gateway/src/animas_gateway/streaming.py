"""Relaying one chat as server-sent events: the anima's streamed output, then its reply.

A :class:`ChatStream` listens on ``delta.<anima>`` (core NATS: subscribers see each piece as it is
published, whatever the ``DELTAS`` stream keeps) and for the reply, and must be opened before the
message is published so that no piece and no fast reply can be missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable

import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from animas_contracts import ContractError, Event, MessageReceived, ModelDelta, ResponseSent
from animas_contracts.subjects import delta_subject
from animas_core.provenance import decode_delivered
from animas_gateway.deltas import KEEP_ALIVE, DeltaOrder, delta_frame, sse_frame
from animas_gateway.domain import message_ids, not_ready_detail, reply_body
from animas_gateway.replies import SharedReplies

_log = logging.getLogger(__name__)

_Arrival = ModelDelta | asyncio.Future[Event]
"""What the stream waits for: a piece of output, or the settled future of the reply."""


class ChatStream:
    """The deltas answering one message, in order, then the reply; or an error when none comes in time."""

    def __init__(
        self,
        nc: Client,
        replies: SharedReplies,
        message: MessageReceived,
        *,
        timeout_s: float,
        keepalive_s: float,
        on_close: Callable[[ChatStream], None] = lambda _: None,
    ) -> None:
        self.message = message
        self._nc = nc
        self._replies = replies
        self._timeout_s = timeout_s
        self._keepalive_s = keepalive_s
        self._on_close = on_close
        self._arrivals: asyncio.Queue[_Arrival] = asyncio.Queue()
        self._sub: Subscription | None = None
        self._reply: asyncio.Future[Event] | None = None
        self._closed = False

    async def open(self) -> None:
        """Register interest in the pieces and the reply. Call before publishing the message."""
        self._reply = self._replies.expect(self.message.id)
        self._reply.add_done_callback(self._arrivals.put_nowait)
        self._sub = await self._nc.subscribe(delta_subject(self.message.anima), cb=self._on_delta)

    async def close(self) -> None:
        """Stop listening and stop waiting (idempotent): nothing outlives the HTTP response."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._reply is not None:
                self._replies.forget(self.message.id, self._reply)
                if not self._reply.done():
                    self._reply.cancel()
            if self._sub is not None:
                # The subscription leaves the client before the UNSUB is sent, so a connection
                # already closed (nothing left to tell the server) is no leak.
                with contextlib.suppress(nats.errors.Error):
                    await self._sub.unsubscribe()
        finally:
            self._on_close(self)

    async def frames(self) -> AsyncGenerator[bytes, None]:
        """The SSE frames: deltas in ``seq`` order, keep-alives while idle, then the reply or an error."""
        order = DeltaOrder()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout_s
        while (remaining := deadline - loop.time()) > 0:
            try:
                arrival = await asyncio.wait_for(self._arrivals.get(), min(self._keepalive_s, remaining))
            except TimeoutError:
                yield KEEP_ALIVE
                continue
            if isinstance(arrival, ModelDelta):
                for delta in order.accept(arrival):
                    yield delta_frame(delta)
                continue
            async for frame in self._finish(order, arrival):
                yield frame
            return
        yield sse_frame(
            "error",
            {
                "error": f"no reply in time: {not_ready_detail(self.message, self._timeout_s)}",
                **message_ids(self.message),
            },
        )

    async def _finish(self, order: DeltaOrder, reply: asyncio.Future[Event]) -> AsyncIterator[bytes]:
        if reply.cancelled():
            yield sse_frame("error", {"error": "the gateway is shutting down", **message_ids(self.message)})
            return
        # The reply came through another subscription, whose callback may have run before ours saw
        # the last pieces. A PING/PONG round trip is a barrier: whatever the server sent before its
        # PONG is read first, and our callback (which never waits) queues it before flush returns.
        with contextlib.suppress(nats.errors.Error, TimeoutError):
            await self._nc.flush(timeout=2)
        while not self._arrivals.empty():
            late = self._arrivals.get_nowait()
            if isinstance(late, ModelDelta):
                for delta in order.accept(late):
                    yield delta_frame(delta)
        for delta in order.rest():
            yield delta_frame(delta)
        answer = reply.result()
        if isinstance(answer, ResponseSent):
            yield sse_frame("reply", reply_body(self.message, answer))
        else:
            yield sse_frame("error", {"error": "unexpected answer", **message_ids(self.message)})

    async def _on_delta(self, msg: Msg) -> None:
        try:
            event = decode_delivered(msg.subject, msg.data)
        except ContractError as exc:
            _log.warning("undecodable delta on %s: %s", msg.subject, exc)
            return
        if isinstance(event, ModelDelta) and event.in_reply_to == self.message.id:
            self._arrivals.put_nowait(event)


class EventStreamResponse(StreamingResponse):
    """``text/event-stream`` for one :class:`ChatStream`, which it closes however the response ends.

    Starlette cancels the body when the client goes away, possibly while the generator waits at a
    ``yield``, where its own ``finally`` would not run; so the cleanup lives here instead.
    """

    media_type = "text/event-stream"

    def __init__(self, stream: ChatStream, *, replayed: bool = False) -> None:
        self._stream = stream
        self._frames = stream.frames()
        headers = {
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",  # tell proxies such as nginx not to hold pieces back
            "X-Message-Id": stream.message.id,
            "X-Correlation-Id": stream.message.correlation_id,
        }
        if replayed:  # a retry of a message stored before: it was not stored again
            headers["Idempotent-Replayed"] = "true"
        super().__init__(self._frames, headers=headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self._frames.aclose()
            await self._stream.close()
