"""Authority at the broker: a service's NATS user cannot publish on another service's subjects."""

from __future__ import annotations

import asyncio

import nats
import nats.errors
import pytest
from nats.aio.client import Client
from tests.conftest import connect_as

from animas_tools.nats_server import NatsUser

pytestmark = [pytest.mark.nats]


async def _connect(url: str, user: NatsUser, violations: list[str]) -> Client:
    async def on_error(exc: Exception) -> None:
        violations.append(str(exc))

    return await connect_as(url, user, error_cb=on_error, max_reconnect_attempts=0)


async def _try_publish(url: str, user: NatsUser, subject: str) -> tuple[bool, list[str]]:
    """JetStream-publish as ``user``; return whether the stream stored it, and any violation reported."""
    violations: list[str] = []
    nc = await _connect(url, user, violations)
    try:
        await nc.jetstream().publish(subject, b"{}", timeout=1.0)
        stored = True
    except (nats.errors.TimeoutError, nats.errors.NoRespondersError):
        stored = False
    await asyncio.sleep(0.1)  # the violation arrives asynchronously on the error callback
    if not nc.is_closed:
        await nc.close()
    return stored, violations


@pytest.fixture
def provisioned(secured_nats: tuple[str, dict[str, NatsUser]]) -> tuple[str, dict[str, NatsUser]]:
    return secured_nats  # the fixture provisions the streams as the operator


@pytest.mark.parametrize(
    ("service", "subject"),
    [
        ("agent-runner", "activity.sample.message.received"),  # only gateway/outbound bring messages in
        ("agent-runner", "activity.sample.identity.revised"),  # identity never from inside a cycle
        ("agent-runner", "deadletter.gateway"),  # not even another service's dead letters
        ("memory-writer", "activity.sample.response.sent"),
        ("gateway", "activity.sample.response.sent"),
        ("scheduler", "activity.sample.message.received"),
        ("outbound", "activity.sample.identity.revised"),  # it relays what animas wrote: never identity
        ("outbound", "activity.sample.memory.op.requested"),
        ("outbound", "activity.sample.response.sent"),
    ],
)
async def test_a_service_cannot_publish_on_a_subject_reserved_to_another(
    provisioned: tuple[str, dict[str, NatsUser]], service: str, subject: str
) -> None:
    url, users = provisioned
    stored, violations = await _try_publish(url, users[service], subject)
    assert not stored
    assert any("permissions violation for publish" in v for v in violations), violations


@pytest.mark.parametrize(
    ("service", "subject"),
    [
        ("gateway", "activity.sample.message.received"),
        ("agent-runner", "activity.sample.response.sent"),
        ("agent-runner", "activity.sample.llm.called"),
        ("consolidator", "activity.sample.identity.revised"),
        ("memory-writer", "activity.sample.memory.op.applied"),
        ("outbound", "activity.sample.message.received"),
        ("outbound", "activity.sample.channel.posted"),
        ("outbound", "activity.sample.outbound.delivered"),
        ("outbound", "activity.sample.outbound.failed"),
    ],
)
async def test_a_service_can_publish_its_own_events(
    provisioned: tuple[str, dict[str, NatsUser]], service: str, subject: str
) -> None:
    url, users = provisioned
    stored, violations = await _try_publish(url, users[service], subject)
    assert stored and not violations


async def test_a_wrong_password_is_refused(provisioned: tuple[str, dict[str, NatsUser]]) -> None:
    url, users = provisioned
    impostor = NatsUser("gateway", "not-the-password", users["gateway"].permissions)
    with pytest.raises((nats.errors.Error, OSError)):
        await nats.connect(
            url,
            user=impostor.name,
            password=impostor.password,
            max_reconnect_attempts=0,
            allow_reconnect=False,
        )
