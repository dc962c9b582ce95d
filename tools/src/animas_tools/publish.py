"""Publishing a change as the operator and waiting for memory-writer's answer."""

from __future__ import annotations

import asyncio

from nats.aio.client import Client
from nats.aio.msg import Msg

from animas_contracts import (
    ContractError,
    Event,
    MemoryOpApplied,
    MemoryOpRejected,
    encode_event,
)
from animas_contracts.subjects import ACTIVITY_STREAM, HEADER_EVENT_TYPE, HEADER_MSG_ID, activity_subject
from animas_core.provenance import decode_delivered

Answer = MemoryOpApplied | MemoryOpRejected


class NoAnswer(TimeoutError):
    """memory-writer did not answer in time (the change is stored and will still be applied)."""


async def publish_change(nc: Client, event: Event, *, timeout_s: float = 30.0) -> Answer:
    """Store ``event`` in the activity stream and wait until memory-writer applies or rejects it."""
    answered: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()

    async def on_answer(msg: Msg) -> None:
        try:
            answer = decode_delivered(msg.subject, msg.data)
        except ContractError:
            return
        if not isinstance(answer, MemoryOpApplied | MemoryOpRejected) or answer.op_id != event.id:
            return
        if not answered.done():
            answered.set_result(answer)

    # Subscribed before publishing, so a fast answer cannot be missed.
    sub = await nc.subscribe(f"activity.{event.anima}.memory.op.*", cb=on_answer)
    try:
        await nc.jetstream().publish(
            activity_subject(event.anima, event.event_type),
            encode_event(event),
            stream=ACTIVITY_STREAM,
            headers={HEADER_MSG_ID: event.id, HEADER_EVENT_TYPE: event.event_type},
        )
        try:
            return await asyncio.wait_for(answered, timeout_s)
        except TimeoutError:
            raise NoAnswer(
                f"memory-writer did not answer within {timeout_s:g}s; the change is stored (id {event.id})"
            ) from None
    finally:
        await sub.unsubscribe()
