"""The composition root of outbound.

One durable consumer (``outbound-requests``) settles every anima's ``outbound.requested`` events
and the answers it owes another anima (``response.sent`` marked ``deliver``), in order: the
checks (recipient, delegation, boards, loop limits, storm guards) first, then the delivery once,
then what it causes (mentions, task records). Notifications to people have their own consumer
(``outbound-notify``, wired in :mod:`animas_outbound.notify.wiring`), and so do answers to people
outside (``outbound-replies``: Slack, Chatwork, generic callbacks, wired in
:mod:`animas_outbound.replies.wiring`).
"""

from __future__ import annotations

import re

from nats.js.errors import KeyNotFoundError

from animas_contracts import Event
from animas_contracts.subjects import ACTIVITY_STREAM, DELIVERIES_BUCKET, stored_activity_filter
from animas_core.broker import EventSink
from animas_core.memory_client import MemoryClient
from animas_core.runtime import ConsumerSpec, ServiceRuntime
from animas_core.streams import event_stored_after
from animas_outbound.boards import BoardRules, MentionFanout
from animas_outbound.checks import LoopLimits
from animas_outbound.delegation import DelegationCheck, DelegationRecords
from animas_outbound.guards import KvWindows, StormGuards
from animas_outbound.handlers import OutboundHandler
from animas_outbound.notify.wiring import setup_notify
from animas_outbound.ports import AnimaDirectory, DeliveryLog, StoredEvents
from animas_outbound.replies.wiring import setup_replies
from animas_outbound.settings import OutboundSettings

SERVICE = "outbound"

REQUESTS = ConsumerSpec(
    durable="outbound-requests",
    filter_subject=stored_activity_filter(event_type="outbound.requested"),
    # Answers to another anima's question travel as the answering anima's response.sent.
    more_subjects=(stored_activity_filter(event_type="response.sent"),),
    stream=ACTIVITY_STREAM,
    # One in flight: an anima's messages arrive in the order it sent them, redeliveries included.
    max_ack_pending=1,
)


def stream_ledger(runtime: ServiceRuntime) -> StoredEvents:
    """The redelivery guard over the activity stream (:func:`animas_core.streams.event_stored_after`)."""

    async def stored(event: Event, after_seq: int) -> bool:
        return await event_stored_after(
            runtime.js,
            anima=event.anima,
            event_type=event.event_type,
            event_id=event.id,
            after_seq=after_seq,
        )

    return stored


class KvDeliveryLog:
    """The delivery log in the ``DELIVERIES`` KV bucket.

    A plain put suffices (create-if-absent would add nothing): one consumer with one message in
    flight is the only writer.
    """

    def __init__(self, runtime: ServiceRuntime) -> None:
        self._runtime = runtime

    async def settled(self, request_id: str) -> bool:
        kv = await self._runtime.js.key_value(DELIVERIES_BUCKET)
        try:
            await kv.get(_key(request_id))
        except KeyNotFoundError:
            return False
        return True

    async def record(self, request_id: str, outcome: str) -> None:
        kv = await self._runtime.js.key_value(DELIVERIES_BUCKET)
        await kv.put(_key(request_id), outcome.encode())


_KEY = re.compile(r"^[A-Za-z0-9_=-]+$")


def _key(request_id: str) -> str:
    # Request ids are uuids; anything else is hex-encoded into the characters KV keys allow.
    return request_id if _KEY.fullmatch(request_id) else "x" + request_id.encode().hex()


async def setup(
    runtime: ServiceRuntime,
    settings: OutboundSettings,
    *,
    publisher: EventSink | None = None,
    directory: AnimaDirectory | None = None,
    stored: StoredEvents | None = None,
    log: DeliveryLog | None = None,
) -> None:
    """Register the request handler; the ports default to the real ones."""
    stored = stored or stream_ledger(runtime)
    log = log or KvDeliveryLog(runtime)
    animas = directory or MemoryClient(runtime.broker.connection, timeout_s=settings.memory_timeout_s)
    config = runtime.config
    boards = MemoryClient(runtime.broker.connection, timeout_s=settings.memory_timeout_s)
    handler = OutboundHandler(
        publisher=publisher or runtime.publisher,
        directory=animas,
        stored=stored,
        log=log,
        faults=runtime.faults,
        # The storm guards count what they let through, so they come last.
        checks=[
            LoopLimits(config),
            BoardRules(boards, config),
            DelegationCheck(animas),
            StormGuards(lambda: config.get().messaging, animas, KvWindows(runtime.js)),
        ],
        followups=[DelegationRecords(), MentionFanout(boards)],
    )
    runtime.consume(REQUESTS, handler)
    setup_notify(runtime, settings)
    setup_replies(runtime, settings, log, stored)
