"""outbound against a real nats-server: messages between animas and channel posts, exactly once.

One process runs memory-writer and outbound through their composition roots, each connected as
its own NATS user (so the broker's permissions of authority.py are exercised too); the test
publishes requests as the operator and reads back what the stream stored.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import msgspec
import nats
import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext
from pydantic import SecretStr

from animas_agent_runner.adapters.outbound_verdicts import VERDICT_SUBJECT, BusOutboundSender, verdict_key
from animas_agent_runner.ports import SendVerdict
from animas_agent_runner.settings import AgentRunnerSettings
from animas_contracts import (
    AnimaStatusChanged,
    ChannelPosted,
    DeadLetter,
    Event,
    MemoryOpApplied,
    MessageOrigin,
    MessageReceived,
    OutboundDelivered,
    OutboundFailed,
    OutboundKind,
    OutboundRequested,
    decode_event,
    encode_event,
    uuid7,
)
from animas_contracts.subjects import (
    ACTIVITY_STREAM,
    DEADLETTER_STREAM,
    HEADER_MSG_ID,
    activity_subject,
    deadletter_subject,
    stored_activity_filter,
)
from animas_core.anima_files import AnimaSpec, template_files
from animas_core.broker import EventSink
from animas_core.errors import RetryableError
from animas_core.runtime import ServiceRuntime
from animas_core.settings import NatsSettings
from animas_core.streams import read_stored
from animas_core.waiter import EventWaiter
from animas_memory_writer.app import setup as setup_writer
from animas_memory_writer.settings import MemoryWriterSettings
from animas_outbound.app import REQUESTS
from animas_outbound.app import setup as setup_outbound
from animas_outbound.settings import OutboundSettings
from animas_tools.animas_cli import creation_event
from animas_tools.nats_server import NatsUser
from animas_tools.publish import publish_change

pytestmark = [pytest.mark.nats]

Wrap = Callable[[EventSink], EventSink]


class System:
    """The operator's connection to a running memory-writer and outbound."""

    def __init__(self, url: str, users: dict[str, NatsUser], home: Path, admin: Client) -> None:
        self.url, self.users, self.home, self.admin = url, users, home, admin
        self.js: JetStreamContext = admin.jetstream()
        self.runtimes: list[ServiceRuntime] = []

    def _runtime(
        self, service: str, settings: OutboundSettings | MemoryWriterSettings | AgentRunnerSettings
    ) -> ServiceRuntime:
        user = self.users[service]
        nats_settings = NatsSettings(url=self.url, user=user.name, password=SecretStr(user.password))
        runtime = ServiceRuntime(service, settings, nats_settings)
        self.runtimes.append(runtime)
        return runtime

    async def start_writer(self) -> None:
        settings = MemoryWriterSettings(home=self.home, watch_interval_s=0)
        runtime = self._runtime("memory-writer", settings)
        await runtime.connect()
        await setup_writer(runtime, settings)
        await runtime.start()

    async def start_outbound(
        self, settings: OutboundSettings | None = None, wrap: Wrap | None = None
    ) -> None:
        outbound = settings or OutboundSettings(memory_timeout_s=1.0)
        runtime = self._runtime("outbound", outbound)
        await runtime.connect()
        publisher = wrap(runtime.publisher) if wrap else None
        await setup_outbound(runtime, outbound, publisher=publisher)
        await runtime.start()

    async def create(self, *names: str) -> None:
        for name in names:
            files = template_files(AnimaSpec(name=name, role="general"), "general")
            answer = await publish_change(self.admin, creation_event(name, files, "template:general"))
            assert isinstance(answer, MemoryOpApplied)

    async def publish(self, subject: str, data: bytes, msg_id: str) -> int:
        ack = await self.js.publish(subject, data, stream=ACTIVITY_STREAM, headers={HEADER_MSG_ID: msg_id})
        return ack.seq

    async def request(self, request: OutboundRequested, msg_id: str | None = None) -> int:
        subject = activity_subject(request.anima, request.event_type)
        return await self.publish(subject, encode_event(request), msg_id or request.id)

    async def handled(self, seq: int, timeout_s: float = 30.0) -> None:
        """Wait until outbound has settled (acked or dead-lettered) everything up to ``seq``."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while asyncio.get_running_loop().time() < deadline:
            info = await self.js.consumer_info(ACTIVITY_STREAM, REQUESTS.durable)
            if info.ack_floor is not None and (info.ack_floor.stream_seq or 0) >= seq:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"outbound did not settle stream sequence {seq} in {timeout_s}s")

    async def stored(self, event_type: str, anima: str = "*") -> list[Event]:
        subject = stored_activity_filter(anima=anima, event_type=event_type)
        return [decode_event(m.data) async for m in read_stored(self.js, subject)]

    async def shorten_duplicate_window(self, seconds: float) -> None:
        """As the operator: JetStream's duplicate window of the activity stream, made short."""
        info = await self.js.stream_info(ACTIVITY_STREAM)
        await self.js.update_stream(dataclasses.replace(info.config, duplicate_window=seconds))

    async def stop(self) -> None:
        for runtime in reversed(self.runtimes):
            await runtime.stop()


@pytest.fixture
async def system(tmp_path: Path, secured_nats: tuple[str, dict[str, NatsUser]]) -> AsyncIterator[System]:
    url, users = secured_nats
    admin = await nats.connect(url, user="admin", password=users["admin"].password)
    running = System(url, users, tmp_path / "home", admin)
    try:
        yield running
    finally:
        await running.stop()
        await admin.close()


@pytest.fixture
async def alice_and_bob(system: System) -> System:
    await system.start_writer()
    await system.start_outbound()
    await system.create("alice", "bob")
    return system


def _request(
    to: str = "bob", kind: OutboundKind = OutboundKind.MESSAGE, reply_to: str | None = None
) -> OutboundRequested:
    return OutboundRequested(
        anima="alice",
        correlation_id="conversation-1",
        causation_id="cycle-1",
        producer="agent-runner",
        kind=kind,
        to=to,
        text="The build is green.",
        thread_id="thread-1",
        attachments=["sha256:feed"],
        reply_to=reply_to,
    )


async def test_a_message_reaches_the_recipient_once_in_the_same_thread(alice_and_bob: System) -> None:
    system = alice_and_bob
    request = _request(reply_to="message-0")
    await system.handled(await system.request(request))

    [message] = await system.stored("message.received")
    assert isinstance(message, MessageReceived)
    assert (message.anima, message.sender, message.origin) == ("bob", "alice", MessageOrigin.ANIMA)
    assert (message.thread_id, message.reply_to, message.text) == ("thread-1", "message-0", request.text)
    assert (message.correlation_id, message.causation_id) == ("conversation-1", request.id)
    assert message.attachments == ["sha256:feed"]
    [record] = await system.stored("outbound.delivered", anima="alice")
    assert isinstance(record, OutboundDelivered)
    assert (record.request_id, record.delivered_id, record.to) == (request.id, message.id, "bob")
    assert await system.stored("outbound.failed") == []


async def test_the_same_request_stored_twice_delivers_one_message(alice_and_bob: System) -> None:
    system = alice_and_bob
    request = _request()
    await system.handled(await system.request(request))
    # The same bytes again under another Nats-Msg-Id: the stream keeps both, outbound sees both.
    await system.handled(await system.request(request, msg_id=uuid7()))

    assert len(await system.stored("outbound.requested")) == 2
    assert len(await system.stored("message.received", anima="bob")) == 1
    assert len(await system.stored("outbound.delivered", anima="alice")) == 1


class FailsOnce:
    """Stores events, but the first ``outbound.delivered`` raises as if its ack was lost."""

    def __init__(self, inner: EventSink) -> None:
        self._inner, self.failed = inner, False

    async def publish(self, event: Event) -> object:
        if event.event_type == "outbound.delivered" and not self.failed:
            self.failed = True
            raise RetryableError(f"lost the ack of {event.event_type}")
        return await self._inner.publish(event)


async def test_a_redelivery_after_the_duplicate_window_delivers_nothing_twice(system: System) -> None:
    # A duplicate window far shorter than the retry backoff: only the stream check can stop a repeat.
    await system.shorten_duplicate_window(0.3)
    wrapper: list[FailsOnce] = []

    def wrap(sink: EventSink) -> EventSink:
        wrapper.append(FailsOnce(sink))
        return wrapper[0]

    await system.start_writer()
    await system.start_outbound(OutboundSettings(retry_backoff_s=(1.0,)), wrap)
    await system.create("alice", "bob")
    request = _request()
    await system.handled(await system.request(request))

    assert wrapper[0].failed, "the first attempt should have stopped between delivery and record"
    [message] = await system.stored("message.received", anima="bob")
    assert len(await system.stored("outbound.delivered", anima="alice")) == 1
    # The window had passed: the stream itself would now store the same id again.
    await system.publish(activity_subject("bob", "message.received"), encode_event(message), message.id)
    assert len(await system.stored("message.received", anima="bob")) == 2


async def test_the_same_request_stored_again_after_the_window_is_not_sent_again(system: System) -> None:
    # A cycle re-run long after (an outage) asks again with the same derived request id.
    await system.shorten_duplicate_window(0.3)
    await system.start_writer()
    await system.start_outbound()
    await system.create("alice", "bob")
    request = _request()
    await system.handled(await system.request(request))
    await asyncio.sleep(0.5)  # past the duplicate window: the stream stores the same id again
    await system.handled(await system.request(request))

    assert len(await system.stored("outbound.requested", anima="alice")) == 2
    assert len(await system.stored("message.received", anima="bob")) == 1
    assert len(await system.stored("outbound.delivered", anima="alice")) == 1


async def test_an_unknown_recipient_fails_and_nothing_reaches_anyone(alice_and_bob: System) -> None:
    system = alice_and_bob
    request = _request(to="carol")
    await system.handled(await system.request(request))

    [failure] = await system.stored("outbound.failed", anima="alice")
    assert isinstance(failure, OutboundFailed)
    assert failure.request_id == request.id and "no anima named 'carol'" in failure.reason
    assert await system.stored("message.received") == []
    assert await system.stored("outbound.delivered") == []


async def test_a_disabled_recipient_fails(alice_and_bob: System) -> None:
    system = alice_and_bob
    disable = AnimaStatusChanged(
        anima="bob", correlation_id=uuid7(), producer="cli", changes={"enabled": False}
    )
    assert isinstance(await publish_change(system.admin, disable), MemoryOpApplied)
    await system.handled(await system.request(_request()))

    [failure] = await system.stored("outbound.failed", anima="alice")
    assert isinstance(failure, OutboundFailed) and "disabled" in failure.reason
    assert await system.stored("message.received") == []


async def test_a_channel_post_is_recorded(alice_and_bob: System) -> None:
    system = alice_and_bob
    request = _request(to="general", kind=OutboundKind.CHANNEL)
    await system.handled(await system.request(request))

    [post] = await system.stored("channel.posted", anima="alice")
    assert isinstance(post, ChannelPosted)
    assert (post.channel, post.text, post.request_id) == ("general", request.text, request.id)
    [record] = await system.stored("outbound.delivered", anima="alice")
    assert isinstance(record, OutboundDelivered) and record.delivered_id == post.id


async def test_garbage_is_dead_lettered_and_the_next_request_still_delivered(alice_and_bob: System) -> None:
    system = alice_and_bob
    await system.handled(await system.publish("activity.alice.outbound.requested", b"{not json", uuid7()))

    letters = [
        msgspec.json.decode(m.data, type=DeadLetter)
        async for m in read_stored(system.js, deadletter_subject("outbound"), stream=DEADLETTER_STREAM)
    ]
    assert len(letters) == 1
    assert letters[0].data == b"{not json" and letters[0].reason.startswith("ContractError")
    await system.handled(await system.request(_request()))
    assert len(await system.stored("message.received", anima="bob")) == 1


async def test_a_silent_memory_writer_delays_the_message_never_fails_it(system: System) -> None:
    await system.start_outbound(
        OutboundSettings(memory_timeout_s=1.0, retry_backoff_s=(0.5,), max_deliveries=100)
    )
    request = _request()
    seq = await system.request(request)
    for _ in range(100):  # wait until outbound has asked, found nobody, and let it come back
        info = await system.js.consumer_info(ACTIVITY_STREAM, REQUESTS.durable)
        if info.num_redelivered:
            break
        await asyncio.sleep(0.05)
    assert info.num_redelivered

    await system.start_writer()
    await system.create("alice", "bob")
    await system.handled(seq)
    assert await system.stored("outbound.failed") == []
    assert len(await system.stored("message.received", anima="bob")) == 1


async def test_a_sending_tool_hears_outbound_s_verdict_even_for_a_repeated_request(
    alice_and_bob: System,
) -> None:
    """agent-runner's sender as agent-runner wires it: delivered, refused with the reason, or not yet.

    A request sent again under its id (a redelivered cycle) is dropped by JetStream and outbound
    never settles it twice: the verdict of the first copy is read from the stream.
    """
    system = alice_and_bob
    runtime = system._runtime("agent-runner", AgentRunnerSettings(home=system.home / "runner"))
    await runtime.connect()
    waiter = EventWaiter(VERDICT_SUBJECT, verdict_key)
    await waiter.start(runtime.broker.connection)
    try:
        sender = BusOutboundSender(runtime.publisher, waiter, runtime.js)
        delivered = _request()
        assert await sender.send(delivered, timeout_s=30) == SendVerdict(delivered=True)
        assert await sender.send(delivered, timeout_s=5) == SendVerdict(delivered=True)

        refused = _request(to="nobody")
        verdict = await sender.send(refused, timeout_s=30)
        assert verdict.delivered is False and "there is no anima named 'nobody'" in verdict.reason
        assert await sender.send(refused, timeout_s=5) == verdict

        # outbound away: not confirmed, never "failed".
        for outbound in [r for r in system.runtimes if r.service == "outbound"]:
            await outbound.stop()
        assert await sender.send(_request(), timeout_s=0.5) == SendVerdict(delivered=None)
    finally:
        await waiter.stop()
