"""Run the gateway: ``python -m animas_gateway``."""

from __future__ import annotations

import asyncio
import logging
import signal

import uvicorn

from animas_core.logging import configure_logging
from animas_core.runtime import ServiceRuntime
from animas_core.settings import NatsSettings
from animas_core.telemetry import configure_telemetry
from animas_gateway.app import SERVICE, create_app
from animas_gateway.settings import GatewaySettings

_log = logging.getLogger(__name__)


async def serve(settings: GatewaySettings) -> None:
    """Connect to NATS, serve HTTP, and stop both cleanly on SIGTERM or SIGINT."""
    provider = configure_telemetry(SERVICE)
    runtime = ServiceRuntime(SERVICE, settings, NatsSettings(), tracer_provider=provider)
    await runtime.connect()
    app = create_app(runtime, settings, tracer_provider=provider)
    server = uvicorn.Server(
        uvicorn.Config(
            app, host=settings.gateway_host, port=settings.gateway_port, log_config=None, access_log=False
        )
    )
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: setattr(server, "should_exit", True))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            await serving
            raise SystemExit(f"gateway could not listen on {settings.gateway_host}:{settings.gateway_port}")
        await asyncio.sleep(0.05)
    host, port = server.servers[0].sockets[0].getsockname()[:2]
    url = f"http://{host}:{port}"
    runtime.extra_health["url"] = url
    await runtime.start()
    _log.info("gateway ready", extra={"url": url})
    await serving
    await runtime.stop()


def main() -> None:
    """Read settings, set up logging, and serve."""
    settings = GatewaySettings()
    configure_logging(SERVICE, settings.log_level)
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
