"""A long, varied stored history for the rebuild benchmark, published as the operator.

Each round of an anima is seven events: two chat turns in and out, a knowledge write (one of 40
topics, rewritten), an episode, a memory access; every 16th round a task is created and finished.
memory-writer answers each change with ``memory.op.applied``, so about 1.3 events are stored per
event published. Event times advance a minute per round, so day files hold a realistic day each.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from nats.aio.client import Client
from nats.js.api import PubAck

from animas_contracts import (
    AppendEpisode,
    CreateTask,
    Event,
    MemoryAccessed,
    MemoryOp,
    MemoryOpRequested,
    MessageReceived,
    ResponseSent,
    TaskState,
    TransitionTask,
    WriteKnowledge,
    derive_id,
    encode_event,
    uuid7,
)
from animas_contracts.subjects import ACTIVITY_STREAM, HEADER_MSG_ID, activity_subject
from animas_core.anima_files import AnimaSpec, template_files
from animas_tools.animas_cli import creation_event

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
PUBLISH_WINDOW = 256
"""Publishes in flight at once (acks awaited together)."""


def anima_names(count: int) -> list[str]:
    """The benchmark's anima names."""
    return [f"bench-{i}" for i in range(count)]


def _round(anima: str, n: int) -> Iterator[Event]:
    at = T0 + timedelta(minutes=n)

    def op(body: MemoryOp) -> MemoryOpRequested:
        return MemoryOpRequested(
            id=uuid7(), op=body, producer="agent-runner", correlation_id=uuid7(), anima=anima, ts=at
        )

    message = MessageReceived(
        id=uuid7(), text=f"Note {n}: the numbers for week {n % 52} are in.", sender="human:alice",
        thread_id="t", producer="gateway", correlation_id=uuid7(), anima=anima, ts=at,
    )  # fmt: skip
    yield message
    yield ResponseSent(
        id=derive_id(message.id, "reply"), text=f"Thanks, noted {n}.", in_reply_to=message.id,
        to=message.sender, thread_id="t", producer="agent-runner", correlation_id=message.correlation_id,
        anima=anima, ts=at,
    )  # fmt: skip
    topic = f"knowledge/topic-{n % 40}.md"
    yield op(WriteKnowledge(path=topic, content=f"# Topic {n % 40}\n\nLatest figure: {n}.\n"))
    yield op(AppendEpisode(title=f"Note {n}", at=at, trigger="chat", decision="noted it", result="ok"))
    yield MemoryAccessed(
        id=uuid7(), paths=[topic], producer="priming", correlation_id=uuid7(), anima=anima, ts=at
    )
    if n % 16 == 0:
        yield op(CreateTask(task_id=f"t{n}", title=f"Follow up on note {n}"))
        yield op(TransitionTask(task_id=f"t{n}", to=TaskState.DONE))


def events(animas: list[str], start_round: int, published: int) -> Iterator[Event]:
    """Rounds of every anima in turn from ``start_round``, until ``published`` events."""
    count, n = 0, start_round
    while True:
        for anima in animas:
            for event in _round(anima, n):
                yield event
                count += 1
                if count >= published:
                    return
        n += 1


async def publish(nc: Client, stream: Iterator[Event]) -> int:
    """Store every event (deduplicated by id, in order of the iterator); how many were published."""
    js = nc.jetstream()
    pending: list[asyncio.Future[PubAck]] = []
    total = 0
    for event in stream:
        subject = activity_subject(event.anima, event.event_type)
        headers = {HEADER_MSG_ID: event.id}
        pending.append(
            await js.publish_async(subject, encode_event(event), stream=ACTIVITY_STREAM, headers=headers)
        )
        total += 1
        if len(pending) >= PUBLISH_WINDOW:
            await asyncio.gather(*pending)
            pending.clear()
    await asyncio.gather(*pending)
    return total


async def create(nc: Client, animas: list[str], heartbeat: str | None = None) -> None:
    """Create the animas from the engineer template (optionally with another heartbeat.md)."""

    def created(name: str) -> Event:
        files = template_files(AnimaSpec(name=name, role="engineer"), "engineer")
        if heartbeat is not None:
            files["heartbeat.md"] = heartbeat
        return creation_event(name, files, "template:engineer")

    await publish(nc, (created(name) for name in animas))
