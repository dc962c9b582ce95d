"""Streams and buckets: provisioned by the operator, checked by services, read by direct gets.

Creating or changing a stream is the operator's (the ``admin`` user: ``anima up``, the test
fixtures, the Kubernetes provisioning Job, :mod:`animas_core.provision`); a service's user may
not (tools/src/animas_tools/authority.py). A service only checks at start that what it needs
exists (:func:`require_provisioned`) and fails with a clear message when it does not.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import AsyncGenerator, AsyncIterator
from datetime import datetime
from typing import cast

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import ObjectStoreConfig, StorageType, StreamConfig
from nats.js.api import SubjectTransform as NatsSubjectTransform
from nats.js.errors import NotFoundError

from animas_contracts.subjects import (
    ACTIVITY_STREAM,
    BODIES_BUCKET,
    DEADLETTER_STREAM,
    DEFAULT_ACTIVITY_PARTITIONS,
    DELIVERIES_BUCKET,
    DELIVERIES_TTL_S,
    GUARDS_BUCKET,
    GUARDS_TTL_S,
    HEADER_MSG_ID,
    NOTIFICATIONS_BUCKET,
    NOTIFICATIONS_TTL_S,
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
from animas_core.broker_errors import BROKER_UNREACHABLE
from animas_core.config_store import ensure_config_bucket
from animas_core.direct_get import read_direct
from animas_core.errors import RetryableError
from animas_core.stream_retention import Retention, apply_retention

_log = logging.getLogger(__name__)

SERVICES_TTL_S = 15.0

RETIRED_DURABLES = ("agent-runner-messages-p", "priming-memory-applied")
"""Name prefixes of durables of earlier builds: removed by provisioning so they do not pile up events."""


class NotProvisionedError(RuntimeError):
    """A stream or bucket a service needs does not exist (or predates this build)."""


def stream_config(spec: StreamSpec) -> StreamConfig:
    """The nats-py config for a stream spec (direct gets on: that is how services read it)."""
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
        allow_direct=True,
    )


async def ensure_stream(js: JetStreamContext, spec: StreamSpec) -> StreamConfig:
    """Create the stream if it is missing; an existing stream keeps its settings and is returned.

    An existing activity stream keeps its partition count: changing it would move animas to
    other partitions while events of theirs are still unprocessed. The one change made to an
    existing stream is turning direct gets on (streams made by earlier builds lack them).
    """
    try:
        info = await js.stream_info(spec.name)
    except NotFoundError:
        _log.info("creating stream", extra={"stream": spec.name})
        info = await js.add_stream(stream_config(spec))
    if not info.config.allow_direct:
        _log.info("allowing direct gets", extra={"stream": spec.name})
        info = await js.update_stream(dataclasses.replace(info.config, allow_direct=True))
    return info.config


async def ensure_all(
    js: JetStreamContext,
    *,
    partitions: int = DEFAULT_ACTIVITY_PARTITIONS,
    replicas: int = 1,
    retention: Retention | None = None,
) -> int:
    """Provision every stream and bucket the system uses (as the operator); return the partition count.

    ``retention`` (config.json ``housekeeping``) sets the max ages of DELTAS and BODIES, on
    existing streams too; None leaves them as they are.
    """
    activity = await ensure_stream(js, dataclasses.replace(activity_stream(partitions), replicas=replicas))
    await ensure_stream(js, dataclasses.replace(deltas_stream(), replicas=replicas))
    await ensure_stream(js, dataclasses.replace(deadletter_stream(), replicas=replicas))
    await ensure_buckets(js, replicas)
    if retention is not None:
        await apply_retention(js, retention)
    await retire_durables(js)
    return activity_partitions(activity)


async def ensure_buckets(js: JetStreamContext, replicas: int = 1) -> None:
    """The health, delivery-log, guard-window, schedule and config KV buckets; the object store for bodies."""
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
        await js.key_value(NOTIFICATIONS_BUCKET)
    except NotFoundError:
        await js.create_key_value(
            bucket=NOTIFICATIONS_BUCKET, ttl=NOTIFICATIONS_TTL_S, history=1, replicas=replicas
        )
    try:
        await js.key_value(GUARDS_BUCKET)
    except NotFoundError:
        # History 1: a window is read and replaced whole, at its latest revision.
        await js.create_key_value(bucket=GUARDS_BUCKET, ttl=GUARDS_TTL_S, history=1, replicas=replicas)
    try:
        await js.key_value(SCHEDULES_BUCKET)
    except NotFoundError:
        # History 1: a claim or cursor is only ever read at its latest revision.
        await js.create_key_value(bucket=SCHEDULES_BUCKET, ttl=SCHEDULES_TTL_S, history=1, replicas=replicas)
    try:
        await js.object_store(BODIES_BUCKET)
    except NotFoundError:
        await js.create_object_store(BODIES_BUCKET, config=ObjectStoreConfig(replicas=replicas))
    await ensure_config_bucket(js, replicas)


async def retire_durables(js: JetStreamContext) -> list[str]:
    """Delete the activity stream's durables of earlier builds (:data:`RETIRED_DURABLES`)."""
    retired = []
    for consumer in await js.consumers_info(ACTIVITY_STREAM):
        if consumer.name.startswith(RETIRED_DURABLES):
            with contextlib.suppress(NotFoundError):
                await js.delete_consumer(ACTIVITY_STREAM, consumer.name)
                retired.append(consumer.name)
    return retired


async def require_provisioned(js: JetStreamContext) -> int:
    """Check what every service needs exists; return the activity partition count.

    Raises :class:`NotProvisionedError` naming what is missing and who provisions it.
    """
    needed = (ACTIVITY_STREAM, DEADLETTER_STREAM, f"KV_{SERVICES_BUCKET}")
    configs: dict[str, StreamConfig] = {}
    for name in needed:
        try:
            configs[name] = (await js.stream_info(name)).config
        except NotFoundError:
            raise NotProvisionedError(
                f"stream {name} does not exist: streams and buckets are provisioned by the operator "
                "before services start (`anima up` does it; elsewhere run `python -m animas_core.provision` "
                "as the NATS admin user)"
            ) from None
    if not configs[ACTIVITY_STREAM].allow_direct:
        raise NotProvisionedError(
            f"stream {ACTIVITY_STREAM} was provisioned by an earlier build (no direct gets): "
            "provision again as the admin user (`anima up` or `python -m animas_core.provision`)"
        )
    return activity_partitions(configs[ACTIVITY_STREAM])


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
    batch: int = 500,
) -> AsyncIterator[Msg]:
    """Every stored message on ``subject`` from ``start_seq`` up to the stream's end *now*, in order.

    Batched direct gets (:mod:`animas_core.direct_get`): no consumer is made, so reading needs
    no right to create one, and changes nothing. Messages stored after the call began are left
    out, so a replay has a fixed end. ``start_time``, when given, starts at the first message
    stored at or after it instead of at ``start_seq``. Each message carries its stored subject
    and headers, and ``metadata`` with its stream sequence and time.
    """
    last_seq = (await js.stream_info(stream)).state.last_seq
    if last_seq < start_seq:
        return
    async for msg in read_direct(js, stream, subject, start_seq, start_time, last_seq, batch):
        yield msg


async def event_stored_after(
    js: JetStreamContext, *, anima: str, event_type: str, event_id: str, after_seq: int
) -> bool:
    """Whether ``event_id`` is stored among ``anima``'s ``event_type`` events after ``after_seq``.

    The redelivery guard of a consumer whose effects have derived ids: JetStream's duplicate
    window drops a repeat published soon after the first, this finds one however late the
    redelivery comes. Only one anima's events of one type stored after the point where the
    cause was are read; the id is the ``Nats-Msg-Id`` header.
    """
    subject = stored_activity_filter(anima=anima, event_type=event_type)
    # read_stored is an async generator: closing it at once when the id is found ends its
    # batch (and its inbox subscription) now, not in a finalizer that may outlive the connection.
    scan = read_stored(js, subject, start_seq=after_seq + 1)
    try:
        async with contextlib.aclosing(cast(AsyncGenerator[Msg, None], scan)) as messages:
            async for msg in messages:
                if (msg.headers or {}).get(HEADER_MSG_ID) == event_id:
                    return True
    except BROKER_UNREACHABLE as exc:
        # The stream cannot be asked now (a broker restarting, a cluster electing the stream's
        # leader): the guard cannot answer, so the delivery is retried like any outage.
        raise RetryableError(f"could not look for {event_id} in {subject}: {exc!r}") from exc
    return False
