"""The broker matrix's harness: a seeded nats-server, connections as a service, the server's verdicts."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import nats
from nats.aio.client import Client
from nats.js.api import AckPolicy, ConsumerConfig
from tests.conftest import connect_as
from tests.security.broker_rows import ANIMA

from animas_contracts.subjects import (
    ACTIVITY_STREAM,
    BODIES_BUCKET,
    DEADLETTER_STREAM,
    DELTAS_STREAM,
    SCHEDULES_BUCKET,
    SERVICES_BUCKET,
    deadletter_subject,
)
from animas_core.config import AnimaModelConfig, AnimaWorksConfig
from animas_core.config_store import publish_config
from animas_tools.authority import AUTHORITY, Durable
from animas_tools.nats_server import NatsUser

T = TypeVar("T")
SEED_OBJECT = "matrix-object"
SEED_CONFIG = AnimaWorksConfig(anima_defaults=AnimaModelConfig(model="openai/matrix"))
VERDICT_TIMEOUT_S = 3.0


def matrix_consumer(durable: Durable) -> ConsumerConfig:
    """The config every check uses for a durable (the operator's seed and the owner alike)."""
    return ConsumerConfig(
        name=durable.name,
        durable_name=durable.name,
        filter_subject=f"activity.*.matrix.{durable.name}",
        ack_policy=AckPolicy.EXPLICIT,
    )


class Broker:
    """The server, its users, and the operator's view of it."""

    def __init__(self, url: str, users: dict[str, NatsUser]) -> None:
        self.url, self.users = url, users

    def admin(self, work: Callable[[Client], Awaitable[T]]) -> T:
        """Run ``work`` on a connection as the operator."""

        async def run() -> T:
            nc = await nats.connect(self.url, user="admin", password=self.users["admin"].password)
            try:
                return await work(nc)
            finally:
                await nc.close()

        return asyncio.run(run())


async def seed(nc: Client) -> None:
    """The operator's data the checks work on: events, every durable, health records, an object."""
    js = nc.jetstream()
    await js.publish("activity.seed.message.received", b"{}", stream=ACTIVITY_STREAM)
    await js.publish(f"delta.{ANIMA}", b"{}", stream=DELTAS_STREAM)
    await js.publish(deadletter_subject("seed"), b"{}", stream=DEADLETTER_STREAM)
    await (await js.key_value(SCHEDULES_BUCKET)).put("seed", b"seed")
    for grant in AUTHORITY.values():
        for durable in grant.durables:
            await js.add_consumer(durable.stream, matrix_consumer(durable))
            await js.publish(f"activity.matrix.{durable.name}", b"{}", stream=ACTIVITY_STREAM)
    services = await js.key_value(SERVICES_BUCKET)
    for service in AUTHORITY:
        await services.put(f"{service}.seed", b"seed")
    await (await js.object_store(BODIES_BUCKET)).put(SEED_OBJECT, b"a large body" * 1000)
    await publish_config(js, SEED_CONFIG)


class Session:
    """A connection as one service, collecting the server's permission verdicts."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    async def on_error(self, exc: Exception) -> None:
        """The connection's error callback."""
        self.errors.append(str(exc).lower())

    def violations(self) -> list[str]:
        """Every permission violation reported so far."""
        return [e for e in self.errors if "permissions violation" in e]

    async def refused(self, verb: str, subjects: list[str]) -> list[str]:
        """Which of ``subjects`` the server did *not* refuse (it reports each refusal once)."""
        wanted = {s: f'permissions violation for {verb} to "{s.lower()}"' for s in subjects}
        deadline = asyncio.get_running_loop().time() + VERDICT_TIMEOUT_S
        while asyncio.get_running_loop().time() < deadline:
            missing = [s for s, text in wanted.items() if not any(text in e for e in self.errors)]
            if not missing:
                return []
            await asyncio.sleep(0.02)
        return missing


def as_service(broker: Broker, service: str, work: Callable[[Client, Session], Awaitable[T]]) -> T:
    """Run ``work`` on a connection as ``service`` (with its inbox prefix, as services connect)."""

    async def run() -> T:
        session = Session()
        nc = await connect_as(
            broker.url, broker.users[service], error_cb=session.on_error, allow_reconnect=False
        )
        try:
            return await work(nc, session)
        finally:
            await nc.close()

    return asyncio.run(run())


async def settle(nc: Client) -> None:
    """Every verdict on what was sent so far has arrived."""
    await nc.flush()
    await asyncio.sleep(0.05)  # the error callback runs as its own task
