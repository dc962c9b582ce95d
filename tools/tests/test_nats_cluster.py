"""The local 3-node cluster: production's users and permissions, R3 streams, any member's loss survived.

A real cluster of three nats-server processes (about a second to form). The SIGKILL of a stream
leader under chats is tests/cluster/test_node_lost.py; this checks the cluster itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import nats
import nats.errors
import pytest
from nats.js.errors import APIError
from typer.testing import CliRunner

from animas_contracts import MessageReceived
from animas_contracts.subjects import ACTIVITY_STREAM, SERVICES_BUCKET
from animas_core.broker import EventPublisher, make_broker
from animas_core.errors import RetryableError
from animas_core.settings import NatsSettings, nats_servers
from animas_core.streams import ensure_all
from animas_tools.authority import ADMIN_USER
from animas_tools.cli import app
from animas_tools.nats_cluster import CLUSTER_NAME, NatsCluster
from animas_tools.nats_server import NatsUser, load_or_create_users

pytestmark = [pytest.mark.nats]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def users(tmp_path: Path) -> dict[str, NatsUser]:
    return load_or_create_users(tmp_path / "users.json")


@pytest.fixture
def cluster(tmp_path: Path, users: dict[str, NatsUser]) -> Iterator[NatsCluster]:
    running = NatsCluster(tmp_path / "cluster", users).start()
    try:
        yield running
    finally:
        running.stop()


def test_the_seed_urls_setting_is_a_list_of_servers() -> None:
    url = "nats://10.0.0.1:4222, nats://10.0.0.2:4222,nats://10.0.0.3:4222"
    assert NatsSettings(url=url).servers == [
        "nats://10.0.0.1:4222",
        "nats://10.0.0.2:4222",
        "nats://10.0.0.3:4222",
    ]
    assert nats_servers("nats://127.0.0.1:4222") == ["nats://127.0.0.1:4222"]


def test_the_members_are_named_and_clustered_as_the_kubernetes_config_says() -> None:
    conf = (ROOT / "infra" / "nats" / "nats-cluster.conf").read_text(encoding="utf-8")
    assert f"name: {CLUSTER_NAME}\n" in conf
    # The StatefulSet's pods are nats-0..2, and so are the local members.
    assert all(f"nats://nats-{n}.nats-headless:6222" in conf for n in range(3))


def test_streams_at_r3_keep_serving_with_one_member_killed(
    cluster: NatsCluster, users: dict[str, NatsUser]
) -> None:
    admin = users[ADMIN_USER]
    gateway = users["gateway"]

    async def provision_and_publish() -> str:
        nc = await nats.connect(cluster.urls, user=admin.name, password=admin.password)
        try:
            js = nc.jetstream()
            await ensure_all(js, replicas=3)
            info = await js.stream_info(ACTIVITY_STREAM)
            assert info.config.num_replicas == 3
            assert info.cluster is not None and info.cluster.name == CLUSTER_NAME
            assert info.cluster.leader is not None
            assert len(info.cluster.replicas or []) == 2
            kv = await js.stream_info(f"KV_{SERVICES_BUCKET}")
            assert kv.config.num_replicas == 3
            await js.publish("activity.alice.message.received", b"{}", headers={"Nats-Msg-Id": "m1"})
            return info.cluster.leader
        finally:
            await nc.close()

    leader = asyncio.run(provision_and_publish())
    cluster.kill(leader)

    async def after_the_kill() -> None:
        # As a service connects: its own user, the seed list from ANIMAWORKS_NATS_URL with the
        # dead member in it, FastStream's broker and the one publisher of events.
        settings = NatsSettings(url=cluster.url, user=gateway.name, password=gateway.password)
        broker = make_broker(settings, "gateway")
        await broker.connect()
        try:
            publisher = EventPublisher(broker, timeout_s=2)
            event = MessageReceived(
                correlation_id="c1",
                producer="gateway",
                anima="alice",
                text="hi",
                sender="human",
                thread_id="t1",
            )
            # Until the two left elect a new stream leader, a publish finds no stream: retryable,
            # as for every service (animas_core.broker_errors). A bound, not a measurement.
            for _ in range(60):
                try:
                    ack = await publisher.publish(event)
                    break
                except RetryableError:
                    await asyncio.sleep(0.2)
            assert ack.seq == 2 and not ack.duplicate
            again = await publisher.publish(event)
            assert (again.seq, again.duplicate) == (2, True)
            with pytest.raises((APIError, nats.errors.TimeoutError)):
                await broker.connection.jetstream().delete_stream(ACTIVITY_STREAM)  # only the operator may
        finally:
            await broker.stop()

    asyncio.run(after_the_kill())
    cluster.restart(leader)
    assert cluster.healthy(leader)


def test_anima_up_refuses_more_copies_than_its_embedded_server_can_keep(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["up", "--home", str(tmp_path / "home"), "--stream-replicas", "3"])
    assert result.exit_code != 0
    assert "--stream-replicas 3 needs a NATS cluster" in result.output
    assert not (tmp_path / "home" / "nats").exists()  # refused before anything was started
