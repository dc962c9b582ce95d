"""Several requests waiting for one reply: a retry under the same key while the first still waits."""

from __future__ import annotations

import asyncio

from animas_contracts import ResponseSent, encode_event
from animas_gateway.replies import REPLY_SUBJECT, EventWaiter, SharedReplies, reply_key


def _reply(message_id: str, text: str = "hi") -> ResponseSent:
    return ResponseSent(
        id=f"reply-{message_id}-{text}",
        anima="sample",
        correlation_id=message_id,
        producer="agent-runner",
        text=text,
        in_reply_to=message_id,
        to="human",
        thread_id=message_id,
    )


class _Msg:
    subject = "activity.sample.response.sent"

    def __init__(self, reply: ResponseSent) -> None:
        self.data = encode_event(reply)


async def test_every_request_for_a_message_gets_its_one_reply() -> None:
    waiter = EventWaiter(REPLY_SUBJECT, reply_key)
    replies = SharedReplies(waiter)
    first, retry, other = replies.expect("m1"), replies.expect("m1"), replies.expect("m2")
    assert (replies.pending, waiter.pending) == (2, 2)
    reply = _reply("m1")
    await waiter._on_event(_Msg(reply))  # type: ignore[arg-type]
    await asyncio.sleep(0)  # done-callbacks run on the loop
    assert first.result() == retry.result() == reply
    assert not other.done()
    assert replies.pending == 1


async def test_a_request_that_stops_waiting_leaves_the_others_waiting() -> None:
    waiter = EventWaiter(REPLY_SUBJECT, reply_key)
    replies = SharedReplies(waiter)
    first, retry = replies.expect("m1"), replies.expect("m1")
    replies.forget("m1", first)
    assert (replies.pending, waiter.pending) == (1, 1)
    await waiter._on_event(_Msg(_reply("m1")))  # type: ignore[arg-type]
    await asyncio.sleep(0)
    assert retry.result().id == _reply("m1").id
    assert not first.done()
    replies.forget("m1", retry)  # after the reply: nothing left, nothing raised
    assert (replies.pending, waiter.pending) == (0, 0)


async def test_the_last_request_to_leave_ends_the_wait_on_the_bus() -> None:
    waiter = EventWaiter(REPLY_SUBJECT, reply_key)
    replies = SharedReplies(waiter)
    first, retry = replies.expect("m1"), replies.expect("m1")
    replies.forget("m1", first)
    replies.forget("m1", retry)
    assert (replies.pending, waiter.pending) == (0, 0)


async def test_a_reply_found_in_the_stream_settles_every_waiting_request() -> None:
    waiter = EventWaiter(REPLY_SUBJECT, reply_key)
    replies = SharedReplies(waiter)
    first, retry = replies.expect("m1"), replies.expect("m1")
    found = _reply("m1", "from the stream")
    replies.settle("m1", found)
    assert [f.result() for f in (first, retry)] == [found, found]
    assert (replies.pending, waiter.pending) == (0, 0)
    await waiter._on_event(_Msg(_reply("m1", "late copy")))  # type: ignore[arg-type]  # ignored now


async def test_stopping_the_waiter_cancels_every_request() -> None:
    waiter = EventWaiter(REPLY_SUBJECT, reply_key)
    replies = SharedReplies(waiter)
    first, retry = replies.expect("m1"), replies.expect("m1")
    await waiter.stop()
    await asyncio.sleep(0)
    assert first.cancelled() and retry.cancelled()
    assert replies.pending == 0
