"""The runtime's bus metrics on a real, secured broker: redeliveries and dead letters per durable, lag.

Both ways a service consumes are covered: one message at a time (agent-runner's partitions, in
tests/e2e/test_metrics.py) and in batches (priming's indexing durables, here): a batch that fails
falls back to its messages one by one under the error policy, a message naked there comes back
(a redelivery), and a poison one is dead-lettered; the lag of each durable is sampled.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import nats
import pytest
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from pydantic import SecretStr

from animas_contracts.subjects import ACTIVITY_STREAM
from animas_core import instruments
from animas_core.errors import PoisonMessage, RetryableError
from animas_core.policy import Delivery
from animas_core.runtime import ServiceRuntime
from animas_core.settings import NatsSettings, ServiceSettings
from animas_core.telemetry import configure_metrics
from animas_priming.app import INDEX_BATCH, applied_consumers
from animas_tools.authority import ADMIN_USER
from animas_tools.nats_server import NatsUser

pytestmark = [pytest.mark.nats]


def _values(reader: InMemoryMetricReader, spec: instruments.Instrument) -> dict[str, Any]:
    """``durable`` → value of ``spec``'s series."""
    data = reader.get_metrics_data()
    if data is None:
        return {}
    return {
        str((p.attributes or {})["durable"]): getattr(p, "value", None)
        for r in data.resource_metrics
        for s in r.scope_metrics
        for m in s.metrics
        if m.name == spec.name
        for p in m.data.data_points
    }


async def test_redeliveries_dead_letters_and_lag_are_counted_per_durable(
    secured_nats: tuple[str, dict[str, NatsUser]], tmp_path: Path
) -> None:
    url, users = secured_nats
    priming = users["priming"]
    reader = InMemoryMetricReader()
    runtime = ServiceRuntime(
        "priming",
        ServiceSettings(home=tmp_path, retry_backoff_s=(0.1,), health_interval_s=0.2),
        NatsSettings(url=url, user=priming.name, password=SecretStr(priming.password)),
        meter_provider=configure_metrics("priming", readers=[reader]),
    )
    await runtime.connect()
    handled: list[tuple[str, int]] = []

    async def batch(deliveries: Sequence[Delivery]) -> None:
        if any(d.data != b"fine" and d.deliveries == 1 for d in deliveries):
            raise RuntimeError("one of these needs a second look")
        handled.extend((d.data.decode(), d.deliveries) for d in deliveries)

    async def alone(delivery: Delivery) -> None:
        if delivery.data == b"poison":
            raise PoisonMessage("not an event")
        if delivery.deliveries == 1:
            raise RetryableError("the index is busy")
        handled.append((delivery.data.decode(), delivery.deliveries))

    specs = applied_consumers(runtime.partitions)
    for spec in specs:
        runtime.consume_batches(spec, batch, alone, batch_size=INDEX_BATCH)
    await runtime.start()
    admin = await nats.connect(url, user=ADMIN_USER, password=users[ADMIN_USER].password)
    try:
        js = admin.jetstream()
        stored = await js.publish("activity.alice.memory.op.applied", b"busy", stream=ACTIVITY_STREAM)
        await js.publish("activity.alice.memory.op.applied", b"poison", stream=ACTIVITY_STREAM)
        # The stream's subject transform chose the partition: read it off the stored subject.
        partition = str((await js.get_msg(ACTIVITY_STREAM, stored.seq)).subject).split(".")[1]
        durable = next(s.durable for s in specs if s.filter_subject.split(".")[1] == partition)
        async with asyncio.timeout(30):
            while ("busy", 2) not in handled or durable not in _values(reader, instruments.DEAD_LETTERS):
                await asyncio.sleep(0.05)
            while _values(reader, instruments.CONSUMER_LAG).get(durable) != 0:
                await asyncio.sleep(0.05)  # sampled again once everything is acknowledged
    finally:
        await admin.close()
        await runtime.stop()

    assert _values(reader, instruments.REDELIVERIES) == {durable: 1}  # "busy", back after its nak
    assert _values(reader, instruments.DEAD_LETTERS) == {durable: 1}  # "poison", once
    assert set(_values(reader, instruments.CONSUMER_LAG)) == {s.durable for s in specs}
