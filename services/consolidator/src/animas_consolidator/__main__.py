"""Run consolidator: ``python -m animas_consolidator``."""

from __future__ import annotations

import asyncio

from animas_consolidator.app import SERVICE, setup
from animas_consolidator.settings import ConsolidatorSettings
from animas_core.logging import configure_logging
from animas_core.runtime import ServiceRuntime, serve_until_signalled
from animas_core.settings import NatsSettings
from animas_core.telemetry import configure_metrics, configure_telemetry


def main() -> None:
    """Read settings, set up logging, tracing and metrics, and serve until signalled."""
    settings = ConsolidatorSettings()
    configure_logging(SERVICE, settings.log_level)
    provider = configure_telemetry(SERVICE)
    runtime = ServiceRuntime(
        SERVICE, settings, NatsSettings(), tracer_provider=provider, meter_provider=configure_metrics(SERVICE)
    )

    async def register(rt: ServiceRuntime) -> None:
        await setup(rt, settings)

    asyncio.run(serve_until_signalled(runtime, register))


if __name__ == "__main__":
    main()
