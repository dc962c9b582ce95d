"""The composition root of outbound.

Today it connects, provisions the consumer of outbound.requested events and reports healthy.
Delivery to animas, boards and the outside comes with the agent-cycle issue (#5); until then
the requests wait for it.
"""

from __future__ import annotations

from animas_contracts.subjects import ACTIVITY_STREAM, stored_activity_filter
from animas_core.runtime import ConsumerSpec, ServiceRuntime

SERVICE = "outbound"

CONSUMERS: tuple[ConsumerSpec, ...] = (
    ConsumerSpec(
        durable="outbound-requests",
        filter_subject=stored_activity_filter(event_type="outbound.requested"),
        stream=ACTIVITY_STREAM,
    ),
)

PENDING_WORK = "delivery of messages, boards and notifications: the agent-cycle issue (#5)"


async def setup(runtime: ServiceRuntime) -> None:
    """Provision this service's consumers and say in its health record what it does not do yet."""
    for spec in CONSUMERS:
        await runtime.provision(spec)
    runtime.extra_health["pending_work"] = PENDING_WORK
