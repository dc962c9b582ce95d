"""Fires and drift are counted by the replica that published the occurrence, once."""

from __future__ import annotations

from datetime import timedelta

from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader

from animas_core import instruments
from animas_core.faults import FaultPoints
from animas_core.metrics import Metrics
from animas_core.telemetry import configure_metrics
from animas_scheduler.claims import Claims
from animas_scheduler.domain import Firing

from .fakes import START, FakeStore, FakeStream


def _replica(store: FakeStore, stream: FakeStream, name: str, reader: InMemoryMetricReader) -> Claims:
    return Claims(
        store=store,
        publisher=stream,
        ledger=stream,
        instance=name,
        claim_timeout_s=lambda: 30.0,
        faults=FaultPoints(""),
        metrics=Metrics(configure_metrics("scheduler", readers=[reader])),
    )


def _points(reader: InMemoryMetricReader) -> dict[str, list[object]]:
    data = reader.get_metrics_data()
    if data is None:
        return {}
    return {
        m.name: list(m.data.data_points)
        for r in data.resource_metrics
        for s in r.scope_metrics
        for m in s.metrics
    }


async def test_the_replica_that_fires_counts_the_fire_and_how_late_it_was() -> None:
    store, stream = FakeStore(), FakeStream()
    readers = InMemoryMetricReader(), InMemoryMetricReader()
    a, b = (_replica(store, stream, name, reader) for name, reader in zip("ab", readers, strict=True))
    due = Firing(START, START, 1, fire=True)
    now = START + timedelta(seconds=5)
    await a.settle("alice", "heartbeat", due, now)
    await b.settle("alice", "heartbeat", due, now)  # finds a's claim: fires nothing

    assert len(stream.events) == 1
    mine, theirs = (_points(r) for r in readers)
    assert instruments.SCHEDULER_FIRES.name not in theirs
    (fires,) = mine[instruments.SCHEDULER_FIRES.name]
    assert (getattr(fires, "value", None), dict(getattr(fires, "attributes", {}))) == (
        1,
        {"anima": "alice", "kind": "heartbeat"},
    )
    (drift,) = mine[instruments.SCHEDULER_DRIFT.name]
    assert isinstance(drift, HistogramDataPoint)
    assert (drift.count, drift.sum) == (1, 5.0)
