"""The composition root of scheduler.

The scheduler consumes no events: it reads the animas' schedules through memory-writer and emits
``heartbeat.due``, ``cron.due`` and ``consolidation.due``, each occurrence once across replicas,
restarts and clocks that are off (claims in the ``SCHEDULES`` bucket, see :mod:`.claims`).
"""

from __future__ import annotations

import asyncio

from animas_core.broker import EventSink
from animas_core.memory_client import MemoryClient
from animas_core.runtime import ServiceRuntime
from animas_scheduler.adapters import FileClock, KvClaimStore, OffsetClock, StreamLedger, SystemClock
from animas_scheduler.claims import Claims, Cursors
from animas_scheduler.loop import Scheduler
from animas_scheduler.ports import AnimaDirectory, ClaimStore, Clock, EventLedger
from animas_scheduler.settings import SchedulerSettings

SERVICE = "scheduler"


def make_clock(settings: SchedulerSettings) -> Clock:
    """The system clock, or the test clock file; shifted by the offset when one is set."""
    path = settings.scheduler_clock_file
    clock: Clock = FileClock(path) if path is not None else SystemClock()
    offset = settings.scheduler_clock_offset_s
    return OffsetClock(clock, offset) if offset else clock


async def setup(
    runtime: ServiceRuntime,
    settings: SchedulerSettings,
    *,
    clock: Clock | None = None,
    directory: AnimaDirectory | None = None,
    store: ClaimStore | None = None,
    ledger: EventLedger | None = None,
    publisher: EventSink | None = None,
) -> Scheduler:
    """Start the scheduler loop for the life of the service; the ports default to the real ones."""
    config = runtime.config
    store = store or KvClaimStore(runtime.js)
    publisher = publisher or runtime.publisher
    scheduler: Scheduler

    claims = Claims(
        store=store,
        publisher=publisher,
        ledger=ledger or StreamLedger(runtime.js),
        instance=runtime.instance,
        claim_timeout_s=lambda: scheduler.settings().claim_timeout_s,
        faults=runtime.faults,
        metrics=runtime.metrics,
    )
    scheduler = Scheduler(
        clock=clock or make_clock(settings),
        directory=directory or MemoryClient(runtime.broker.connection, timeout_s=settings.memory_timeout_s),
        claims=claims,
        cursors=Cursors(store, runtime.instance),
        store=store,
        publisher=publisher,
        config=config.get,
        health=runtime.extra_health,
    )
    if settings.scheduler_paused:
        runtime.extra_health["paused"] = "ANIMAWORKS_SCHEDULER_PAUSED is set: nothing fires"
        return scheduler
    runtime.background(asyncio.create_task(scheduler.run()))
    return scheduler
