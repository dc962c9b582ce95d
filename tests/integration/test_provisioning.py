"""Streams are the operator's: services check they exist, provisioning creates and upgrades them."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest
from nats.js.api import ConsumerConfig, StreamConfig
from pydantic import SecretStr
from tests.conftest import connect_as

from animas_contracts.subjects import (
    ACTIVITY_STREAM,
    SERVICES_BUCKET,
    activity_stream,
    split_stored_activity_subject,
)
from animas_core.runtime import ServiceRuntime
from animas_core.settings import NatsSettings, ServiceSettings
from animas_core.streams import NotProvisionedError, read_stored, stream_config
from animas_tools.authority import ADMIN_USER
from animas_tools.nats_server import NatsServer, NatsUser, load_or_create_users

pytestmark = [pytest.mark.nats]

Bare = tuple[str, dict[str, NatsUser]]


@pytest.fixture
def bare(tmp_path: Path) -> Iterator[Bare]:
    """A secured nats-server nobody has provisioned yet."""
    users = load_or_create_users(tmp_path / "users.json")
    server = NatsServer(tmp_path / "nats", users=users).start()
    try:
        yield server.url, users
    finally:
        server.stop()


def _as(url: str, user: NatsUser) -> NatsSettings:
    return NatsSettings(url=url, user=user.name, password=SecretStr(user.password))


def _provision(url: str, users: dict[str, NatsUser], *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "ANIMAWORKS_NATS_URL": url,
        "ANIMAWORKS_NATS_USER": ADMIN_USER,
        "ANIMAWORKS_NATS_PASSWORD": users[ADMIN_USER].password,
        "ANIMAWORKS_ACTIVITY_PARTITIONS": "4",
        "PATH": "/usr/bin:/bin",
    }
    return subprocess.run(
        [sys.executable, "-m", "animas_core.provision", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_a_service_on_an_unprovisioned_broker_says_who_provisions(bare: Bare, tmp_path: Path) -> None:
    url, users = bare
    runtime = ServiceRuntime("outbound", ServiceSettings(home=tmp_path), _as(url, users["outbound"]))
    try:
        with pytest.raises(
            NotProvisionedError, match=r"stream ACTIVITY does not exist.*animas_core\.provision"
        ):
            await runtime.connect()
    finally:
        await runtime.broker.stop()


async def test_provisioning_creates_everything_and_a_service_then_starts(bare: Bare, tmp_path: Path) -> None:
    url, users = bare
    done = _provision(url, users)
    assert done.returncode == 0, done.stdout + done.stderr
    assert _provision(url, users).returncode == 0  # again: nothing to do, no error
    runtime = ServiceRuntime("outbound", ServiceSettings(home=tmp_path), _as(url, users["outbound"]))
    try:
        await runtime.connect()
        assert runtime.partitions == 4
    finally:
        await runtime.broker.stop()


def test_provisioning_with_a_service_user_fails_with_the_reason(bare: Bare) -> None:
    url, users = bare
    outbound = users["outbound"]
    env_users = {**users, ADMIN_USER: NatsUser(outbound.name, outbound.password, outbound.permissions)}
    done = _provision(url, env_users)
    assert done.returncode == 1
    assert "provisioning failed" in done.stdout + done.stderr


async def test_provisioning_upgrades_what_an_earlier_build_left(bare: Bare) -> None:
    url, users = bare
    admin = await nats.connect(url, user=ADMIN_USER, password=users[ADMIN_USER].password)
    try:
        js = admin.jetstream()
        # An earlier build: no direct gets on the activity stream, a durable of a retired name.
        old = stream_config(activity_stream(4))
        old.allow_direct = False
        await js.add_stream(old)
        await js.publish("activity.alice.message.received", b"{}", stream=ACTIVITY_STREAM)
        for name in ("agent-runner-messages-p0", "priming-memory-applied"):  # retired names
            await js.add_consumer(ACTIVITY_STREAM, ConsumerConfig(name=name, durable_name=name))
        kept = ConsumerConfig(name="memory-writer-activity", durable_name="memory-writer-activity")
        await js.add_consumer(ACTIVITY_STREAM, kept)
        assert _provision(url, users).returncode == 0
        info = await js.stream_info(ACTIVITY_STREAM)
        assert info.config.allow_direct and info.state.messages == 1
        assert {c.name for c in await js.consumers_info(ACTIVITY_STREAM)} == {"memory-writer-activity"}
        await js.key_value(SERVICES_BUCKET)
    finally:
        await admin.close()
    # ... and a service can now read the stored event without a consumer of its own.
    reader = await connect_as(url, users["scheduler"])
    try:
        [stored] = [m async for m in read_stored(reader.jetstream(), "activity.*.alice.>")]
        assert split_stored_activity_subject(stored.subject)[1:] == ("alice", "message.received")
        assert stored.metadata.sequence.stream == 1
    finally:
        await reader.close()


async def test_a_stream_without_direct_gets_is_reported_not_misread(bare: Bare, tmp_path: Path) -> None:
    url, users = bare
    assert _provision(url, users).returncode == 0
    admin = await nats.connect(url, user=ADMIN_USER, password=users[ADMIN_USER].password)
    try:
        js = admin.jetstream()
        config: StreamConfig = (await js.stream_info(ACTIVITY_STREAM)).config
        config.allow_direct = False
        await js.update_stream(config)
    finally:
        await admin.close()
    runtime = ServiceRuntime("scheduler", ServiceSettings(home=tmp_path), _as(url, users["scheduler"]))
    try:
        with pytest.raises(NotProvisionedError, match="earlier build"):
            await runtime.connect()
    finally:
        await runtime.broker.stop()
