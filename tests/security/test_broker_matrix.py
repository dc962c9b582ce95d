"""The broker matrix (issue #12): what each service's NATS user may do, and what it may not.

Against a real nats-server with the users `anima up` generates from the authority table
(animas_tools.authority). Every row is derived from that table (tests/security/broker_rows.py),
so adding a service adds its rows. Each check connects as the service, with its own inbox prefix
as services do, and reads the server's verdict where the server gives it: a refused publish or
subscription arrives on the connection's error callback as a "permissions violation"; an allowed
operation answers. Where a refusal could still have had an effect (a deleted message, a changed
stream, an overwritten health record, a stored forged event) the effect is checked too.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from nats.aio.client import Client
from nats.js.errors import KeyNotFoundError
from tests.conftest import provision
from tests.security.broker_harness import (
    SEED_OBJECT,
    VERDICT_TIMEOUT_S,
    Broker,
    Session,
    as_service,
    matrix_consumer,
    seed,
    settle,
)
from tests.security.broker_rows import (
    ANIMA,
    allowed_subscriptions,
    durables_of,
    own_event_subjects,
    refused_api,
    refused_publishes,
    refused_subscriptions,
    rpc_requests,
)

from animas_contracts.subjects import (
    ACTIVITY_STREAM,
    BODIES_BUCKET,
    DEADLETTER_STREAM,
    DELTAS_STREAM,
    SCHEDULES_BUCKET,
    SERVICE_NAMES,
    SERVICES_BUCKET,
    deadletter_subject,
)
from animas_core.config import AnimaModelConfig, AnimaWorksConfig
from animas_core.config_store import CONFIG_SUBJECT, kv_document, read_config
from animas_core.streams import read_stored
from animas_tools.authority import AUTHORITY, Bodies, streams_used
from animas_tools.nats_server import NatsServer, load_or_create_users

pytestmark = [pytest.mark.nats]


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    root: Path = tmp_path_factory.mktemp("broker-matrix")
    users = load_or_create_users(root / "users.json")
    server = NatsServer(root / "nats", users=users).start()
    try:
        running = Broker(server.url, users)
        asyncio.run(provision(server.url, users))
        running.admin(seed)
        yield running
    finally:
        server.stop()


SERVICES = list(AUTHORITY)


def test_the_matrix_covers_every_service() -> None:
    assert list(SERVICE_NAMES) == SERVICES


@pytest.mark.parametrize("service", SERVICES)
def test_publishes_its_own_events_journal_dead_letters_and_rpc_calls(broker: Broker, service: str) -> None:
    async def work(nc: Client, session: Session) -> None:
        js = nc.jetstream()
        for subject in own_event_subjects(service):
            assert (await js.publish(subject, b"{}", timeout=VERDICT_TIMEOUT_S)).stream == ACTIVITY_STREAM
        ack = await js.publish(deadletter_subject(service), b"{}", timeout=VERDICT_TIMEOUT_S)
        assert ack.stream == DEADLETTER_STREAM
        if AUTHORITY[service].journal:
            assert (
                await js.publish(f"delta.{ANIMA}", b"{}", timeout=VERDICT_TIMEOUT_S)
            ).stream == DELTAS_STREAM
        for subject in rpc_requests(service):
            await nc.publish(subject, b"{}")
        await settle(nc)
        assert session.violations() == []

    as_service(broker, service, work)


@pytest.mark.parametrize("service", SERVICES)
def test_refused_others_events_rpc_dead_letters_health_records_inboxes_and_buckets(
    broker: Broker, service: str
) -> None:
    subjects = refused_publishes(service)

    async def work(nc: Client, session: Session) -> list[str]:
        for subject in subjects:
            await nc.publish(subject, b"{}")
        await nc.flush()
        return await session.refused("publish", subjects)

    assert as_service(broker, service, work) == []


@pytest.mark.parametrize("service", SERVICES)
def test_subscribes_to_its_inbox_the_rpc_it_serves_and_what_it_listens_to(
    broker: Broker, service: str
) -> None:
    async def work(nc: Client, session: Session) -> None:
        for subject in allowed_subscriptions(service):
            await nc.subscribe(subject)
        await settle(nc)
        assert session.violations() == []

    as_service(broker, service, work)


@pytest.mark.parametrize("service", SERVICES)
def test_refused_subscriptions_to_everything_others_inboxes_and_others_rpc(
    broker: Broker, service: str
) -> None:
    subjects = refused_subscriptions(service)

    async def work(nc: Client, session: Session) -> list[str]:
        for subject in subjects:
            await nc.subscribe(subject)
        await nc.flush()
        return await session.refused("subscription", subjects)

    assert as_service(broker, service, work) == []


@pytest.mark.parametrize("service", SERVICES)
def test_uses_the_jetstream_api_it_needs_on_its_own_durables_reads_and_buckets(
    broker: Broker, service: str
) -> None:
    grant = AUTHORITY[service]

    async def work(nc: Client, session: Session) -> None:
        js = nc.jetstream()
        for stream in streams_used(service):
            assert (await js.stream_info(stream)).config.name == stream
        for durable in durables_of(service):
            await js.add_consumer(durable.stream, matrix_consumer(durable))
            assert (await js.consumer_info(durable.stream, durable.name)).name == durable.name
            sub = await js.pull_subscribe_bind(durable.name, stream=durable.stream)
            [msg] = await sub.fetch(1, timeout=VERDICT_TIMEOUT_S)
            await msg.ack_sync()
            await sub.unsubscribe()
        for stream in grant.reads:
            if stream.startswith("KV_"):  # a bucket read as a bucket: key gets
                key = "seed" if stream == f"KV_{SCHEDULES_BUCKET}" else f"{service}.seed"
                assert (await (await js.key_value(stream.removeprefix("KV_"))).get(key)).value == b"seed"
                continue
            assert [m async for m in read_stored(js, stored_seed_subjects(stream), stream=stream)]
        health = await js.key_value(SERVICES_BUCKET)
        await health.put(f"{service}.matrix", b"ready")
        for bucket in grant.buckets:
            kv = await js.key_value(bucket)
            revision = await kv.put(f"matrix-{service}", b"1")
            assert (await kv.get(f"matrix-{service}")).revision == revision
        bodies = await js.object_store(BODIES_BUCKET) if grant.bodies is not Bodies.NONE else None
        if bodies is not None and grant.bodies is Bodies.WRITE:
            await bodies.put(f"matrix-{service}", b"body")
            assert (await bodies.get_info(f"matrix-{service}")).size == 4
        if bodies is not None and grant.bodies is Bodies.READ:
            assert (await bodies.get(SEED_OBJECT)).data == b"a large body" * 1000
        await settle(nc)
        assert session.violations() == []

    as_service(broker, service, work)


@pytest.mark.parametrize("service", SERVICES)
def test_refused_operator_api_foreign_consumers_ephemeral_consumers_and_unlisted_reads(
    broker: Broker, service: str
) -> None:
    subjects = refused_api(service)

    async def work(nc: Client, session: Session) -> list[str]:
        for subject in subjects:
            await nc.publish(subject, b"{}", reply=nc.new_inbox())
        await nc.flush()
        return await session.refused("publish", subjects)

    assert as_service(broker, service, work) == []


@pytest.mark.parametrize("service", SERVICES)
def test_a_refused_message_delete_and_stream_update_change_nothing(broker: Broker, service: str) -> None:
    before = broker.admin(lambda nc: nc.jetstream().stream_info(ACTIVITY_STREAM))
    first = before.state.first_seq
    update = json.dumps({"name": ACTIVITY_STREAM, "subjects": ["activity.>"], "max_msgs": 1}).encode()

    async def work(nc: Client, session: Session) -> list[str]:
        await nc.publish(f"$JS.API.STREAM.MSG.DELETE.{ACTIVITY_STREAM}", json.dumps({"seq": first}).encode())
        await nc.publish(f"$JS.API.STREAM.UPDATE.{ACTIVITY_STREAM}", update)
        await nc.flush()
        return await session.refused(
            "publish",
            [f"$JS.API.STREAM.MSG.DELETE.{ACTIVITY_STREAM}", f"$JS.API.STREAM.UPDATE.{ACTIVITY_STREAM}"],
        )

    assert as_service(broker, service, work) == []

    async def stored_first(nc: Client) -> bytes:
        return (await nc.jetstream().get_msg(ACTIVITY_STREAM, first)).data or b""

    broker.admin(stored_first)  # raises NotFoundError if the message had been deleted
    after = broker.admin(lambda nc: nc.jetstream().stream_info(ACTIVITY_STREAM))
    assert after.config.max_msgs == before.config.max_msgs


@pytest.mark.parametrize("service", SERVICES)
def test_writes_its_own_health_record_never_another_services(broker: Broker, service: str) -> None:
    victim = next(other for other in SERVICES if other != service)

    async def work(nc: Client, session: Session) -> list[str]:
        health = await nc.jetstream().key_value(SERVICES_BUCKET)
        await health.put(f"{service}.own", b"mine")
        await nc.publish(f"$KV.{SERVICES_BUCKET}.{victim}.seed", b"forged")
        await nc.flush()
        return await session.refused("publish", [f"$KV.{SERVICES_BUCKET}.{victim}.seed"])

    assert as_service(broker, service, work) == []

    async def records(nc: Client) -> tuple[bytes, bytes]:
        health = await nc.jetstream().key_value(SERVICES_BUCKET)
        own, other = await health.get(f"{service}.own"), await health.get(f"{victim}.seed")
        return own.value or b"", other.value or b""

    assert broker.admin(records) == (b"mine", b"seed")


@pytest.mark.parametrize("service", SERVICES)
def test_reads_the_operators_config_and_cannot_change_it(broker: Broker, service: str) -> None:
    forged = kv_document(AnimaWorksConfig(anima_defaults=AnimaModelConfig(model="openai/forged")))

    async def work(nc: Client, session: Session) -> tuple[str | None, list[str]]:
        stored = await read_config(nc.jetstream())  # the latest revision, as a service follows it
        await nc.publish(CONFIG_SUBJECT, forged)
        await nc.flush()
        unrefused = await session.refused("publish", [CONFIG_SUBJECT])
        model = stored.document["anima_defaults"]["model"] if stored and stored.document else None
        return model, unrefused

    assert as_service(broker, service, work) == ("openai/matrix", [])

    async def latest(nc: Client) -> str:
        stored = await read_config(nc.jetstream())
        assert stored is not None and stored.document is not None
        return str(stored.document["anima_defaults"]["model"])

    assert broker.admin(latest) == "openai/matrix"


def test_agent_runner_cannot_store_an_identity_revision_or_inject_one_through_a_consumer(
    broker: Broker,
) -> None:
    forged = "activity.victim.identity.revised"  # an anima no other check publishes for
    push = json.dumps(
        {"stream_name": DELTAS_STREAM, "config": {"deliver_subject": forged, "ack_policy": "none"}}
    )

    async def work(nc: Client, session: Session) -> list[str]:
        await nc.publish(forged, b'{"type": "identity.revised"}')
        # A push consumer would deliver stored deltas (which agent-runner writes) onto the subject.
        await nc.publish(f"$JS.API.CONSUMER.CREATE.{DELTAS_STREAM}", push.encode(), reply=nc.new_inbox())
        await nc.flush()
        return await session.refused("publish", [forged, f"$JS.API.CONSUMER.CREATE.{DELTAS_STREAM}"])

    assert as_service(broker, "agent-runner", work) == []

    async def identity_events(nc: Client) -> list[bytes]:
        return [m.data async for m in read_stored(nc.jetstream(), "activity.*.victim.>")]

    async def consumers(nc: Client) -> int:
        return (await nc.jetstream().stream_info(DELTAS_STREAM)).state.consumer_count

    assert broker.admin(identity_events) == []
    assert broker.admin(consumers) == 0


def test_a_foreign_durable_is_neither_read_nor_rewritten(broker: Broker) -> None:
    victim = durables_of("memory-writer")[0]
    rewrite = matrix_consumer(victim)
    rewrite.filter_subject = "activity.*.*.channel.posted"
    create = f"$JS.API.CONSUMER.CREATE.{victim.stream}.{victim.name}"

    async def work(nc: Client, session: Session) -> list[str]:
        body = json.dumps({"stream_name": victim.stream, "config": rewrite.as_dict()}).encode()
        await nc.publish(create, body, reply=nc.new_inbox())
        await nc.publish(
            f"$JS.API.CONSUMER.MSG.NEXT.{victim.stream}.{victim.name}", b"1", reply=nc.new_inbox()
        )
        await nc.flush()
        return await session.refused(
            "publish", [create, f"$JS.API.CONSUMER.MSG.NEXT.{victim.stream}.{victim.name}"]
        )

    assert as_service(broker, "agent-runner", work) == []
    info = broker.admin(lambda nc: nc.jetstream().consumer_info(victim.stream, victim.name))
    assert info.config.filter_subject == matrix_consumer(victim).filter_subject
    assert info.delivered.stream_seq == 0 or info.num_ack_pending == 0


def test_a_missing_key_is_not_found_for_the_owner_of_a_bucket(broker: Broker) -> None:
    # Reading is granted with the bucket: a miss is an answer (not found), not a refusal.
    async def work(nc: Client, session: Session) -> None:
        kv = await nc.jetstream().key_value(AUTHORITY["scheduler"].buckets[0])
        with pytest.raises(KeyNotFoundError):
            await kv.get("matrix-never-written")
        await settle(nc)
        assert session.violations() == []

    as_service(broker, "scheduler", work)


def stored_seed_subjects(stream: str) -> str:
    """Where :func:`seed` stored something in ``stream``."""
    if stream == DELTAS_STREAM:
        return "delta.>"
    if stream == DEADLETTER_STREAM:
        return "deadletter.>"
    return "activity.*.seed.>"
