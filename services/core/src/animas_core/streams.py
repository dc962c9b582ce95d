"""Provisioning of streams, buckets and durable consumers from the specs in contracts."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import AsyncGenerator, AsyncIterator
from datetime import UTC, datetime
from typing import cast

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, ObjectStoreConfig, StorageType, StreamConfig
from nats.js.api import SubjectTransform as NatsSubjectTransform
from nats.js.errors import NotFoundError

from animas_contracts.subjects import (
    ACTIVITY_STREAM,
    BODIES_BUCKET,
    DEFAULT_ACTIVITY_PARTITIONS,
    DELIVERIES_BUCKET,
    DELIVERIES_TTL_S,
    HEADER_MSG_ID,
    SCHEDULES_BUCKET,
    SCHEDULES_TTL_S,
    SERVICES_BUCKET,
    StreamSpec,
    activity_stream,
    deadletter_stream,
    deltas_stream,
    partitions_of,
    stored_activity_filter,
)

_log = logging.getLogger(__name__)

SERVICES_TTL_S = 15.0


def stream_config(spec: StreamSpec) -> StreamConfig:
    """The nats-py config for a stream spec."""
    transform = (
        NatsSubjectTransform(src=spec.transform.src, dest=spec.transform.dest) if spec.transform else None
    )
    return StreamConfig(
        name=spec.name,
        description=spec.description,
        subjects=list(spec.subjects),
        max_age=spec.max_age_s,
        max_bytes=spec.max_bytes,
        duplicate_window=spec.duplicate_window_s,
        storage=StorageType.FILE if spec.storage == "file" else StorageType.MEMORY,
        subject_transform=transform,
        num_replicas=spec.replicas,
    )


async def ensure_stream(js: JetStreamContext, spec: StreamSpec) -> StreamConfig:
    """Create the stream if it is missing; an existing stream is left as it is and returned.

    An existing activity stream keeps its partition count: changing it would move animas to
    other partitions while events of theirs are still unprocessed.
    """
    try:
        info = await js.stream_info(spec.name)
    except NotFoundError:
        _log.info("creating stream", extra={"stream": spec.name})
        info = await js.add_stream(stream_config(spec))
    return info.config


async def ensure_all(
    js: JetStreamContext, *, partitions: int = DEFAULT_ACTIVITY_PARTITIONS, replicas: int = 1
) -> int:
    """Provision every stream and bucket the system uses; return the activity partition count."""
    activity = await ensure_stream(js, dataclasses.replace(activity_stream(partitions), replicas=replicas))
    await ensure_stream(js, dataclasses.replace(deltas_stream(), replicas=replicas))
    await ensure_stream(js, dataclasses.replace(deadletter_stream(), replicas=replicas))
    await ensure_buckets(js, replicas)
    return activity_partitions(activity)


async def ensure_buckets(js: JetStreamContext, replicas: int = 1) -> None:
    """The health, delivery-log and schedule KV buckets and the object store for large bodies."""
    try:
        await js.key_value(SERVICES_BUCKET)
    except NotFoundError:
        await js.create_key_value(bucket=SERVICES_BUCKET, ttl=SERVICES_TTL_S, history=1, replicas=replicas)
    try:
        await js.key_value(DELIVERIES_BUCKET)
    except NotFoundError:
        await js.create_key_value(
            bucket=DELIVERIES_BUCKET, ttl=DELIVERIES_TTL_S, history=1, replicas=replicas
        )
    try:
        await js.key_value(SCHEDULES_BUCKET)
    except NotFoundError:
        # History 1: a claim or cursor is only ever read at its latest revision.
        await js.create_key_value(bucket=SCHEDULES_BUCKET, ttl=SCHEDULES_TTL_S, history=1, replicas=replicas)
    try:
        await js.object_store(BODIES_BUCKET)
    except NotFoundError:
        await js.create_object_store(BODIES_BUCKET, config=ObjectStoreConfig(replicas=replicas))


def activity_partitions(config: StreamConfig) -> int:
    """The partition count recorded in the activity stream's subject transform."""
    if config.name != ACTIVITY_STREAM or config.subject_transform is None:
        raise ValueError(f"{config.name} is not a partitioned activity stream")
    dest = config.subject_transform.dest
    assert dest is not None
    return partitions_of(dest)


async def read_stored(
    js: JetStreamContext,
    subject: str,
    *,
    stream: str = ACTIVITY_STREAM,
    start_seq: int = 1,
    start_time: datetime | None = None,
    headers_only: bool = False,
    batch: int = 500,
) -> AsyncIterator[Msg]:
    """Every stored message on ``subject`` from ``start_seq`` up to the stream's end *now*, in order.

    An ephemeral, unacknowledged consumer: reading changes nothing, and messages stored after the
    call began are left out, so a replay has a fixed end. ``start_time``, when given, starts at
    the first message stored at or after it instead of at ``start_seq``.
    """
    last_seq = (await js.stream_info(stream)).state.last_seq
    if last_seq < start_seq:
        return
    by_time = start_time is not None
    config = ConsumerConfig(
        deliver_policy=DeliverPolicy.BY_START_TIME if by_time else DeliverPolicy.BY_START_SEQUENCE,
        opt_start_seq=None if by_time else start_seq,
        opt_start_time=start_time.astimezone(UTC) if start_time else None,
        ack_policy=AckPolicy.NONE,
        headers_only=headers_only,
        inactive_threshold=60.0,
    )
    sub = await js.pull_subscribe(subject, stream=stream, config=config)
    try:
        while True:
            try:
                msgs = await sub.fetch(batch, timeout=1.0)
            except TimeoutError:
                return
            for msg in msgs:
                if msg.metadata.sequence.stream > last_seq:
                    return
                yield msg
            tail = msgs[-1].metadata
            if tail.num_pending == 0 or tail.sequence.stream >= last_seq:
                return
    finally:
        await sub.unsubscribe()


async def event_stored_after(
    js: JetStreamContext, *, anima: str, event_type: str, event_id: str, after_seq: int
) -> bool:
    """Whether ``event_id`` is stored among ``anima``'s ``event_type`` events after ``after_seq``.

    The redelivery guard of a consumer whose effects have derived ids: JetStream's duplicate
    window drops a repeat published soon after the first, this finds one however late the
    redelivery comes. Only headers are read (the id is the ``Nats-Msg-Id``), and only one
    anima's events of one type stored after the point where the cause was.
    """
    subject = stored_activity_filter(anima=anima, event_type=event_type)
    # read_stored is an async generator: closing it at once when the id is found removes its
    # ephemeral consumer now, instead of in a finalizer task that may outlive the connection.
    scan = read_stored(js, subject, start_seq=after_seq + 1, headers_only=True)
    async with contextlib.aclosing(cast(AsyncGenerator[Msg, None], scan)) as messages:
        async for msg in messages:
            if (msg.headers or {}).get(HEADER_MSG_ID) == event_id:
                return True
    return False
