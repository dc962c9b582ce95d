"""The composition root of scheduler.

The scheduler consumes no events: it reads schedules from the anima directories and emits
due events. Today it connects and reports healthy; schedules come with the autonomy issue (#7).
"""

from __future__ import annotations

from animas_core.runtime import ConsumerSpec, ServiceRuntime

SERVICE = "scheduler"

CONSUMERS: tuple[ConsumerSpec, ...] = ()

PENDING_WORK = "heartbeat, cron and consolidation schedules: the autonomy issue (#7)"


async def setup(runtime: ServiceRuntime) -> None:
    """Provision this service's consumers and say in its health record what it does not do yet."""
    for spec in CONSUMERS:
        await runtime.provision(spec)
    runtime.extra_health["pending_work"] = PENDING_WORK
