"""Run the local model server: ``python -m animas_local_llm``."""

from __future__ import annotations

import asyncio
import logging
import signal

import uvicorn

from animas_core.logging import configure_logging
from animas_local_llm.engine import Engine
from animas_local_llm.ports import MODEL_NAME, LocalModel
from animas_local_llm.server import create_app
from animas_local_llm.settings import LocalLlmSettings, prefer_passive_openmp

SERVICE = "local-llm"
_log = logging.getLogger(__name__)


def build_engine(settings: LocalLlmSettings) -> Engine:
    """The engine with the real model as its loader (the composition root)."""

    def load() -> LocalModel:
        # torch is imported here, in the loading thread: the server listens and answers /health
        # while the heavy imports (~4 s) run.
        from animas_local_llm.cache import bundled_gguf
        from animas_local_llm.model import SmolLM2, configure_threads

        threads = configure_threads(settings.threads)
        _log.info("loading the model", extra={"model": MODEL_NAME, "threads": threads})
        return SmolLM2.load(settings.gguf_file or bundled_gguf(), settings.model_cache, settings.decoding)

    return Engine(
        load,
        name=MODEL_NAME,
        max_new_tokens=settings.max_new_tokens,
        load_wait_s=settings.load_wait_s,
        stop=tuple(settings.stop),
    )


async def serve(settings: LocalLlmSettings) -> None:
    """Serve HTTP (the model loads in the background) until SIGTERM or SIGINT."""
    app = create_app(build_engine(settings))
    config = uvicorn.Config(app, host=settings.host, port=settings.port, log_config=None, access_log=False)
    server = uvicorn.Server(config)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: setattr(server, "should_exit", True))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            await serving
            raise SystemExit(f"local-llm could not listen on {settings.host}:{settings.port}")
        await asyncio.sleep(0.05)
    host, port = server.servers[0].sockets[0].getsockname()[:2]
    _log.info("local-llm listening", extra={"url": f"http://{host}:{port}", "model": MODEL_NAME})
    await serving


def main() -> None:
    """Read settings, set up logging, and serve."""
    settings = LocalLlmSettings()
    prefer_passive_openmp()  # before torch is imported
    configure_logging(SERVICE, settings.log_level)
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
