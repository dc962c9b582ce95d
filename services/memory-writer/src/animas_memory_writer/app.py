"""The composition root of memory-writer."""

from __future__ import annotations

from animas_contracts.subjects import ACTIVITY_STREAM, RPC_MEMORY_REBUILD
from animas_core.config import CachedConfig
from animas_core.home import Home
from animas_core.runtime import ConsumerSpec, ServiceRuntime
from animas_memory_writer.adapters.activity_log import ActivityLogFiles
from animas_memory_writer.handlers import ActivityProjector, Rebuilder
from animas_memory_writer.settings import MemoryWriterSettings

SERVICE = "memory-writer"

ACTIVITY_CONSUMER = ConsumerSpec(
    durable="memory-writer-activity",
    filter_subject="activity.>",
    stream=ACTIVITY_STREAM,
    # One in flight: lines land in stream order even when a message is redelivered.
    max_ack_pending=1,
)


async def setup(runtime: ServiceRuntime, settings: MemoryWriterSettings) -> None:
    """Register the projector and the rebuild endpoint."""
    home = Home(settings.home)
    files = ActivityLogFiles(home)
    projector = ActivityProjector(files, CachedConfig(home.config_file))
    rebuilder = Rebuilder(projector, files, runtime.js, settings.replay_batch)
    runtime.consume(ACTIVITY_CONSUMER, projector)
    await runtime.broker.connection.subscribe(RPC_MEMORY_REBUILD, queue=SERVICE, cb=rebuilder.on_request)
