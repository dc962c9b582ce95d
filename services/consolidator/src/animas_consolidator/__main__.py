"""Run consolidator: ``python -m animas_consolidator``."""

from __future__ import annotations

import asyncio

from animas_consolidator.app import SERVICE, setup
from animas_core.logging import configure_logging
from animas_core.runtime import ServiceRuntime, serve_until_signalled
from animas_core.settings import NatsSettings, ServiceSettings
from animas_core.telemetry import configure_telemetry


def main() -> None:
    """Read settings, set up logging and tracing, and serve until signalled."""
    settings = ServiceSettings()
    configure_logging(SERVICE, settings.log_level)
    provider = configure_telemetry(SERVICE)
    runtime = ServiceRuntime(SERVICE, settings, NatsSettings(), tracer_provider=provider)
    asyncio.run(serve_until_signalled(runtime, setup))


if __name__ == "__main__":
    main()
