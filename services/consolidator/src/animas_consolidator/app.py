"""The composition root of consolidator.

Today it connects, provisions the consumer of consolidation.due events and reports healthy.
Consolidation itself comes with a later issue; until then the events wait for it.
"""

from __future__ import annotations

from animas_contracts.subjects import ACTIVITY_STREAM, stored_activity_filter
from animas_core.runtime import ConsumerSpec, ServiceRuntime

SERVICE = "consolidator"

CONSUMERS: tuple[ConsumerSpec, ...] = (
    ConsumerSpec(
        durable="consolidator-due",
        filter_subject=stored_activity_filter(event_type="consolidation.due"),
        stream=ACTIVITY_STREAM,
    ),
)

PENDING_WORK = "daily and weekly consolidation: a later issue"


async def setup(runtime: ServiceRuntime) -> None:
    """Provision this service's consumers and say in its health record what it does not do yet."""
    for spec in CONSUMERS:
        await runtime.provision(spec)
    runtime.extra_health["pending_work"] = PENDING_WORK
