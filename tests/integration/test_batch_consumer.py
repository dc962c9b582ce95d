"""Priming's indexing consumers on a real, secured broker: what is ready is taken as one batch,
and acknowledged only after the batch's work is done."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import nats
import pytest
from pydantic import SecretStr

from animas_contracts.subjects import ACTIVITY_STREAM
from animas_core.policy import Delivery
from animas_core.runtime import ServiceRuntime
from animas_core.settings import NatsSettings, ServiceSettings
from animas_priming.app import INDEX_BATCH, applied_consumers
from animas_tools.authority import ADMIN_USER
from animas_tools.index_lag import index_lag
from animas_tools.nats_server import NatsUser

pytestmark = [pytest.mark.nats]


async def test_ready_events_come_as_one_batch_and_are_acked_after_the_work(
    secured_nats: tuple[str, dict[str, NatsUser]], tmp_path: Path
) -> None:
    url, users = secured_nats
    priming = users["priming"]
    runtime = ServiceRuntime(
        "priming",
        ServiceSettings(home=tmp_path),
        NatsSettings(url=url, user=priming.name, password=SecretStr(priming.password)),
    )
    await runtime.connect()
    batches: list[list[str]] = []
    entered, release = asyncio.Event(), asyncio.Event()

    async def batch(deliveries: Sequence[Delivery]) -> None:
        entered.set()
        await release.wait()
        batches.append([d.data.decode() for d in deliveries])

    async def alone(delivery: Delivery) -> None:
        raise AssertionError("no batch failed, so nothing is handled alone")

    for spec in applied_consumers(runtime.partitions):
        runtime.consume_batches(spec, batch, alone, batch_size=INDEX_BATCH)
    await runtime.start()
    admin = await nats.connect(url, user=ADMIN_USER, password=users[ADMIN_USER].password)
    js = admin.jetstream()
    try:

        async def publish(n: int) -> None:
            await js.publish("activity.alice.memory.op.applied", str(n).encode(), stream=ACTIVITY_STREAM)

        await publish(0)
        await asyncio.wait_for(entered.wait(), 30)
        for n in range(1, 10):  # stored while the first batch works
            await publish(n)
        lag = await index_lag(js)  # the first is not acknowledged while its batch works
        assert (lag.events, lag.durables) == (10, runtime.partitions) and lag.unacked >= 1
        release.set()
        async with asyncio.timeout(30):
            while not (await index_lag(js)).caught_up:
                await asyncio.sleep(0.05)
        assert batches == [["0"], [str(n) for n in range(1, 10)]]
    finally:
        await admin.close()
        await runtime.stop()
