"""The composition root of memory-writer."""

from __future__ import annotations

import asyncio

from animas_contracts.subjects import (
    ACTIVITY_STREAM,
    RPC_MEMORY_ANIMAS,
    RPC_MEMORY_BOARD,
    RPC_MEMORY_READ_ALL,
    RPC_MEMORY_REBUILD,
    RPC_MEMORY_SHARED,
    RPC_MEMORY_SNAPSHOT,
    RPC_MEMORY_SYNC_ALL,
)
from animas_core.home import Home
from animas_core.rpc_tracing import Responder, traced_responder
from animas_core.runtime import ConsumerSpec, ServiceRuntime
from animas_memory_writer.adapters.activity_log import ActivityLogFiles
from animas_memory_writer.applier import MemoryApplier
from animas_memory_writer.board_reads import BoardServer
from animas_memory_writer.handlers import Projector, Rebuilder
from animas_memory_writer.reads import ReadServer
from animas_memory_writer.settings import MemoryWriterSettings
from animas_memory_writer.snapshot_rpc import SnapshotServer
from animas_memory_writer.snapshots import Snapshots
from animas_memory_writer.watcher import Watcher

SERVICE = "memory-writer"

ACTIVITY_CONSUMER = ConsumerSpec(
    durable="memory-writer-activity",
    filter_subject="activity.>",
    stream=ACTIVITY_STREAM,
    # One in flight: files change in stream order even when a message is redelivered.
    max_ack_pending=1,
)


async def setup(runtime: ServiceRuntime, settings: MemoryWriterSettings) -> None:
    """Register the projector, the rebuild, read and sync endpoints, and the hand-edit watcher."""
    home = Home(settings.home)
    config = runtime.config
    applier = MemoryApplier(home, config)
    snapshots = Snapshots(home, config, runtime.js)
    projector = Projector(ActivityLogFiles(home), applier, runtime.js, runtime.publisher, snapshots)
    rebuilder = Rebuilder(projector, runtime.js, settings.replay_batch)
    reads = ReadServer(home)
    watcher = Watcher(projector, runtime.publisher, settings.watch_interval_s)
    runtime.consume(ACTIVITY_CONSUMER, projector)
    nc = runtime.broker.connection
    rpcs: dict[str, Responder] = {
        RPC_MEMORY_REBUILD: rebuilder.on_request,
        RPC_MEMORY_READ_ALL: reads.on_read,
        RPC_MEMORY_ANIMAS: reads.on_list,
        RPC_MEMORY_SHARED: reads.on_shared,
        RPC_MEMORY_BOARD: BoardServer(applier.boards).on_request,
        RPC_MEMORY_SYNC_ALL: watcher.on_sync,
        RPC_MEMORY_SNAPSHOT: SnapshotServer(projector, runtime.js, ACTIVITY_CONSUMER.durable).on_request,
    }
    for subject, respond in rpcs.items():
        await nc.subscribe(
            subject, queue=SERVICE, cb=traced_responder(respond, tracer_provider=runtime.tracer_provider)
        )
    if settings.watch_interval_s > 0:
        runtime.background(asyncio.create_task(watcher.run()))
