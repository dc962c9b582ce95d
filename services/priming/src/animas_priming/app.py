"""The composition root of priming.

Today it connects, provisions the consumer of applied memory operations (which will keep the
vector index current) and reports healthy. Recall (embeddings, the index, priming) comes with
the recall issue; until then nothing consumes these events, so none is lost.
"""

from __future__ import annotations

from animas_contracts.subjects import ACTIVITY_STREAM, stored_activity_filter
from animas_core.runtime import ConsumerSpec, ServiceRuntime

SERVICE = "priming"

CONSUMERS: tuple[ConsumerSpec, ...] = (
    ConsumerSpec(
        durable="priming-memory-applied",
        filter_subject=stored_activity_filter(event_type="memory.op.applied"),
        stream=ACTIVITY_STREAM,
    ),
)

PENDING_WORK = "recall and priming: the recall issue (#4)"


async def setup(runtime: ServiceRuntime) -> None:
    """Provision this service's consumers and say in its health record what it does not do yet."""
    for spec in CONSUMERS:
        await runtime.provision(spec)
    runtime.extra_health["pending_work"] = PENDING_WORK
