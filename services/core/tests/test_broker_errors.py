"""A broker that is away is "retry later", never an unexpected error (issue #12, items 4 and 5).

``EventPublisher.publish`` and ``MemoryClient`` turn every error of a broker outage into a
:class:`RetryableError`, so a tool effect is retried inside its cycle and a message redelivered.
The real connection (a closed one, and a server that is gone) against a real nats-server; the
rest of nats-py's outage errors through a broker that raises them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import nats
import nats.errors
import pytest
from faststream.nats import NatsBroker

from animas_contracts import MessageOrigin, MessageReceived
from animas_core.broker import EventPublisher, make_broker
from animas_core.broker_errors import BROKER_UNREACHABLE
from animas_core.errors import RetryableError
from animas_core.memory_client import MemoryClient
from animas_core.settings import NatsSettings
from animas_core.streams import ensure_all, event_stored_after
from animas_tools.nats_server import NatsServer


def _event() -> MessageReceived:
    return MessageReceived(
        correlation_id="c1",
        producer="gateway",
        anima="sample",
        text="hello",
        sender="human",
        thread_id="t1",
        origin=MessageOrigin.HUMAN,
    )


class RaisingBroker:
    """A broker whose every publish fails with ``error``."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    async def publish(self, *args: Any, **kwargs: Any) -> None:
        raise self.error


@pytest.mark.parametrize("error_type", BROKER_UNREACHABLE, ids=lambda t: f"{t.__module__}.{t.__name__}")
async def test_every_outage_error_of_a_publish_is_retryable(error_type: type[Exception]) -> None:
    error = error_type()
    publisher = EventPublisher(cast(NatsBroker, RaisingBroker(error)))
    with pytest.raises(RetryableError, match=r"no ack from ACTIVITY for activity\.sample\.") as raised:
        await publisher.publish(_event())
    assert raised.value.__cause__ is error


@pytest.mark.parametrize(
    "error", [nats.errors.MaxPayloadError(), nats.errors.BadSubjectError()], ids=lambda e: type(e).__name__
)
async def test_a_publish_the_broker_refuses_is_not_retried(error: Exception) -> None:
    publisher = EventPublisher(cast(NatsBroker, RaisingBroker(error)))
    with pytest.raises(type(error)):
        await publisher.publish(_event())


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[NatsServer]:
    running = NatsServer(tmp_path / "nats").start()
    try:
        nc = await nats.connect(running.url)
        await ensure_all(nc.jetstream())
        await nc.close()
        yield running
    finally:
        running.stop()


@pytest.mark.nats
async def test_a_publish_on_a_closed_connection_is_retryable(server: NatsServer) -> None:
    broker = make_broker(NatsSettings(url=server.url), "agent-runner")
    await broker.connect()
    publisher = EventPublisher(broker, timeout_s=2)
    assert (await publisher.publish(_event())).seq == 1
    await broker.connection.close()
    with pytest.raises(RetryableError) as raised:
        await publisher.publish(_event())
    assert isinstance(raised.value.__cause__, nats.errors.ConnectionClosedError)


@pytest.mark.nats
async def test_a_memory_read_while_the_broker_is_gone_is_retryable(server: NatsServer) -> None:
    nc = await nats.connect(server.url, max_reconnect_attempts=-1, reconnect_time_wait=0.1)
    try:
        server.stop()
        client = MemoryClient(nc, timeout_s=0.5)
        with pytest.raises(RetryableError, match="memory-writer did not answer"):
            await client.animas()
        await nc.close()
        with pytest.raises(RetryableError, match="memory-writer did not answer read of sample"):
            await client.read("sample", "identity.md")
    finally:
        await nc.close()


@pytest.mark.nats
async def test_the_redelivery_guard_with_the_stream_out_of_reach_is_retryable(server: NatsServer) -> None:
    # A redelivered message's guard asks the stream whether its effect is stored already; while
    # the stream cannot answer (a broker restarting, a cluster electing its leader) that is "later".
    nc = await nats.connect(server.url)
    await nc.close()
    with pytest.raises(RetryableError, match="could not look for r1") as raised:
        await event_stored_after(
            nc.jetstream(), anima="sample", event_type="response.sent", event_id="r1", after_seq=0
        )
    assert isinstance(raised.value.__cause__, nats.errors.ConnectionClosedError)
