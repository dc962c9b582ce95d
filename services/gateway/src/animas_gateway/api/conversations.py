"""``GET /api/animas/{name}/conversations[/{thread_id}]``: an anima's threads and what was said in each.

Derived from the anima's stored messages in and out (:mod:`animas_gateway.api.threads`), read by
subject, so the answer is complete however the anima's conversation memory was compacted since.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta
from nats.aio.client import Client
from starlette.requests import Request
from starlette.responses import Response

from animas_contracts.subjects import stored_activity_filter
from animas_gateway.api.stored_reads import (
    CURSOR_PARAM,
    LIMIT_PARAM,
    anima_param,
    query_limit,
    seq_cursor,
    stored_events,
)
from animas_gateway.api.threads import (
    MESSAGE_TYPES,
    ThreadMessage,
    conversation_messages,
    thread_cursor,
    thread_messages,
    thread_summaries,
    threads_after,
)
from animas_gateway.directory import AnimaDirectory, DirectoryUnavailable
from animas_gateway.operations import Operation, Param, json_response
from animas_gateway.problems import Problem

TAG = "conversations"
NAME = Param("name", "path", "The anima.")
THREAD = Param("thread_id", "path", "The thread.")


class ConversationThread(msgspec.Struct, frozen=True, kw_only=True):
    """One thread of an anima's conversations."""

    thread_id: str
    peer: Annotated[str, Meta(description="Whom the thread's first message was with.")]
    last_time: Annotated[str, Meta(description="When its latest message was sent (ISO 8601, UTC).")]
    messages: Annotated[int, Meta(description="How many messages it holds.")]


class ConversationThreadPage(msgspec.Struct, frozen=True, kw_only=True):
    """A page of threads, the most recently active first."""

    items: list[ConversationThread]
    next_cursor: str | None


class ConversationMessage(msgspec.Struct, frozen=True, kw_only=True):
    """One message of a thread."""

    seq: Annotated[int, Meta(description="Its stream sequence.")]
    time: Annotated[str, Meta(description="When it was sent (ISO 8601, UTC).")]
    direction: Annotated[str, Meta(description="in (to the anima) or out (from it).")]
    from_: Annotated[str, Meta(description="Who sent it.")] = msgspec.field(name="from")
    to: Annotated[str, Meta(description="Who it went to.")]
    text: str
    kind: Annotated[
        str, Meta(description="message, reply, task, report, ack or mention; answer for the anima's answer.")
    ]
    id: Annotated[str, Meta(description="Id of the event that recorded it.")]


class ConversationThreadDetail(msgspec.Struct, frozen=True, kw_only=True):
    """A page of one thread's messages, oldest first."""

    thread_id: str
    messages: list[ConversationMessage]
    next_cursor: Annotated[
        str | None, Meta(description="Pass as `cursor` for the messages after these; null at the end.")
    ]


def _item(anima: str, message: ThreadMessage) -> ConversationMessage:
    inbound = message.direction == "in"
    return ConversationMessage(
        seq=message.seq,
        time=message.time.isoformat(),
        direction=message.direction,
        from_=message.sender,
        to=anima if inbound else message.peer,
        text=message.text,
        kind=message.kind,
        id=message.id,
    )


def operations(nc: Client, directory: AnimaDirectory) -> list[Operation]:
    """The conversation routes, reading the stream over ``nc``; ``directory`` says which animas exist."""

    async def messages_of(request: Request) -> tuple[str, list[ThreadMessage]]:
        anima = anima_param(request)
        assert anima is not None  # a path parameter is never empty
        try:
            animas = await directory.including(anima)
        except DirectoryUnavailable as exc:
            raise Problem(503, str(exc)) from None
        if anima not in animas:
            raise Problem(404, f"there is no anima named {anima!r}")
        filters = [stored_activity_filter(anima=anima, event_type=t) for t in MESSAGE_TYPES]
        return anima, conversation_messages(anima, await stored_events(nc, *filters))

    async def list_threads(request: Request) -> Response:
        limit = query_limit(request)
        _, messages = await messages_of(request)
        try:
            rest = threads_after(thread_summaries(messages), request.query_params.get("cursor") or None)
        except ValueError:
            raise Problem(400, "'cursor' must be a next_cursor from an earlier page") from None
        page = rest[:limit]
        items = [
            ConversationThread(
                thread_id=s.thread_id, peer=s.peer, last_time=s.last_time.isoformat(), messages=s.messages
            )
            for s in page
        ]
        more = len(rest) > limit
        return json_response(
            ConversationThreadPage(items=items, next_cursor=thread_cursor(page[-1]) if more else None)
        )

    async def one_thread(request: Request) -> Response:
        limit, after = query_limit(request), seq_cursor(request)
        thread_id = request.path_params["thread_id"]
        anima, messages = await messages_of(request)
        found = thread_messages(messages, thread_id)
        if not found:
            raise Problem(404, f"{anima} has no thread {thread_id!r}")
        rest = [m for m in found if after is None or m.seq > after]
        page = rest[:limit]
        more = len(rest) > limit
        return json_response(
            ConversationThreadDetail(
                thread_id=thread_id,
                messages=[_item(anima, m) for m in page],
                next_cursor=str(page[-1].seq) if more else None,
            )
        )

    return [
        Operation(
            "GET",
            "/api/animas/{name}/conversations",
            list_threads,
            "An anima's conversation threads, the most recently active first",
            TAG,
            "admin",
            response=ConversationThreadPage,
            params=(NAME, CURSOR_PARAM, LIMIT_PARAM),
            errors=(400, 404, 503),
        ),
        Operation(
            "GET",
            "/api/animas/{name}/conversations/{thread_id}",
            one_thread,
            "The messages of one thread, in and out, oldest first",
            TAG,
            "admin",
            response=ConversationThreadDetail,
            params=(NAME, THREAD, CURSOR_PARAM, LIMIT_PARAM),
            errors=(400, 404, 503),
        ),
    ]
