"""The production :class:`~animas_priming.ports.MemoryIndex`: Weaviate, one tenant per anima.

One multi-tenant collection holds every anima's chunks; a tenant is an anima, so a query can
only ever see one anima's objects. Vectors come from our embedder (no server-side vectorizer).
Each file also gets one vector-less *file marker* object (``memory_type`` ``_file``) holding its
digest, so a file that yields no chunks is still recorded; every chunk query filters on the real
memory types, which leaves the markers out.

The collection does not record the embedding model: give each model its own collection name
(e.g. ``AnimaMemory_MiniLM384``) so a model change starts from an empty collection.

The object building is in small pure functions so tests can pin it without a server.
"""

from __future__ import annotations

import dataclasses
import re
import threading
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlparse

import weaviate
from weaviate.classes.config import Configure, DataType, Property, Tokenization, VectorDistances
from weaviate.classes.data import DataObject
from weaviate.classes.query import Filter, FilterReturn, HybridFusion, MetadataQuery
from weaviate.classes.tenants import Tenant
from weaviate.collections import Collection
from weaviate.collections.classes.config import MultiTenancyConfigCreate
from weaviate.collections.classes.config_vectors import VectorConfigCreate
from weaviate.exceptions import WeaviateBaseError
from weaviate.util import generate_uuid5

from animas_priming.chunking import CONTEXT_WEIGHT, cjk_terms, search_terms
from animas_priming.domain.fusion import KEYWORD_SHARE
from animas_priming.domain.query_terms import content_terms
from animas_priming.ports import MEMORY_TYPES, Chunk, Hit, SearchScope

FILE_MARKER = "_file"
"""``memory_type`` of the one vector-less object per file that records its digest."""
ALPHA = 1.0 - KEYWORD_SHARE
"""Hybrid weight: 0 is pure BM25, 1 pure vector; Weaviate's relative-score fusion is the embedded
index's (min-max normalised convex mix), so the same share gives both the same order."""
SEARCHABLE_PROPERTIES = ("heading", "text", "cjk", "context")
QUERY_PROPERTIES = ("heading", "text", "cjk", f"context^{CONTEXT_WEIGHT:g}")
"""BM25 properties with their boosts: an episode entry's previous entry (``context``) weighs as in
the embedded index (:data:`~animas_priming.chunking.CONTEXT_WEIGHT`)."""
_EXACT_PROPERTIES = {
    "chunk_id": DataType.TEXT,
    "path": DataType.TEXT,
    "memory_type": DataType.TEXT,
    "date": DataType.TEXT,
    "importance": DataType.TEXT,
    "trust": DataType.TEXT,
    "links": DataType.TEXT_ARRAY,
    "digest": DataType.TEXT,
}
_TENANT = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
_EXPLAINED = re.compile(r"Result Set (keyword|vector),[^)]*\) Document [^:]*: original score ([-+0-9.eE]+)")


@dataclasses.dataclass(frozen=True)
class CollectionConfig:
    """Everything ``client.collections.create`` is given."""

    name: str
    properties: tuple[Property, ...]
    vector_config: VectorConfigCreate
    multi_tenancy_config: MultiTenancyConfigCreate


@dataclasses.dataclass(frozen=True)
class HybridArguments:
    """Everything ``collection.query.hybrid`` is given."""

    query: str | None
    vector: list[float] | None
    alpha: float
    limit: int
    filters: FilterReturn
    query_properties: list[str]
    fusion_type: HybridFusion
    return_metadata: MetadataQuery


def collection_config(name: str) -> CollectionConfig:
    """The collection: one property per Chunk field plus ``digest`` and ``cjk``, our own vectors.

    Exact-match fields use ``FIELD`` tokenization and are not BM25-searchable; ``cjk`` holds the
    Japanese words of heading and text (see :func:`animas_priming.chunking.cjk_terms`), so Japanese
    matches without a server-side Japanese tokenizer.
    """
    exact = [
        Property(name=name, data_type=data_type, tokenization=Tokenization.FIELD, index_searchable=False)
        for name, data_type in _EXACT_PROPERTIES.items()
    ]
    searchable = [
        Property(name=name, data_type=DataType.TEXT, tokenization=Tokenization.WORD)
        for name in SEARCHABLE_PROPERTIES
    ]
    return CollectionConfig(
        name=name,
        properties=(*exact, *searchable),
        vector_config=Configure.Vectors.self_provided(
            vector_index_config=Configure.VectorIndex.hnsw(distance_metric=VectorDistances.COSINE)
        ),
        # Activation on access: a tenant offloaded to cold storage wakes up by itself.
        multi_tenancy_config=Configure.multi_tenancy(enabled=True, auto_tenant_activation=True),
    )


def tenant_for(anima: str) -> str:
    """The tenant of an anima: its name (already within Weaviate's tenant name rules).

    Raises:
        ValueError: If ``anima`` is not a valid anima name of at most 64 characters.
    """
    if not _TENANT.fullmatch(anima):
        raise ValueError(f"invalid anima name for a tenant: {anima!r}")
    return anima


def chunk_uuid(anima: str, chunk_id: str) -> str:
    """A stable object id per chunk, so a replayed write replaces instead of duplicating."""
    return generate_uuid5(f"chunk:{anima}/{chunk_id}")


def file_uuid(anima: str, path: str) -> str:
    """The stable object id of a file's marker."""
    return generate_uuid5(f"file:{anima}/{path}")


def chunk_properties(chunk: Chunk, digest: str) -> dict[str, Any]:
    """The object properties of a chunk (``anima`` is the tenant, so it is not repeated)."""
    properties = dataclasses.asdict(chunk)
    del properties["anima"]
    cjk = cjk_terms(f"{chunk.heading}\n{chunk.text}")
    context_cjk = cjk_terms(chunk.context)
    context = f"{chunk.context}\n{context_cjk}" if context_cjk else chunk.context
    return {**properties, "links": list(chunk.links), "cjk": cjk, "context": context, "digest": digest}


def file_marker_properties(path: str, digest: str) -> dict[str, Any]:
    """The properties of a file's marker object."""
    return {"chunk_id": "", "path": path, "memory_type": FILE_MARKER, "digest": digest}


def chunk_from_properties(anima: str, properties: dict[str, Any]) -> Chunk:
    """The Chunk an object was made from by :func:`chunk_properties`."""
    fields = {f.name for f in dataclasses.fields(Chunk)} - {"anima"}
    # Weaviate omits or nulls unset values: whatever is missing takes the Chunk default.
    given = {k: v for k, v in properties.items() if k in fields and v is not None}
    return Chunk(anima=anima, **{**given, "links": tuple(given.get("links", ()))})


def search_filters(memory_types: Sequence[str] | None, important_only: bool) -> FilterReturn:
    """Chunks of the given memory types (all when None), only important ones if asked.

    The type filter is always there, even for all types: it is what leaves file markers out.
    """
    types = list(MEMORY_TYPES if memory_types is None else memory_types)
    where = Filter.by_property("memory_type").contains_any(types or [""])
    if important_only:
        where = where & Filter.by_property("importance").equal("important")
    return where


def hybrid_arguments(
    query: str,
    vector: Sequence[float],
    limit: int,
    memory_types: Sequence[str] | None = None,
    important_only: bool = False,
) -> HybridArguments:
    """The hybrid query: BM25 over heading, text and Japanese words fused with our query vector.

    The keyword side gets the query's search terms (words, Japanese words) less English function
    words, the same terms the embedded index matches, ORed by BM25.
    """
    terms = content_terms(search_terms(query))
    return HybridArguments(
        query=" ".join(terms) if terms else None,
        vector=list(vector) if len(vector) else None,
        alpha=ALPHA,
        limit=limit,
        filters=search_filters(memory_types, important_only),
        query_properties=list(QUERY_PROPERTIES),
        fusion_type=HybridFusion.RELATIVE_SCORE,
        return_metadata=MetadataQuery(score=True, explain_score=True),
    )


def explained_scores(explain_score: str | None) -> tuple[float | None, float | None]:
    """``(bm25, cosine similarity)`` read from a hybrid result's explanation, None where absent.

    Weaviate explains a relative-score fusion as ``Hybrid (Result Set keyword,bm25) Document …:
    original score X, normalized score: …`` and the same for ``vector,hybridVector``; the vector
    side's original score is its similarity (1 - cosine distance).
    """
    found = dict(_EXPLAINED.findall(explain_score or ""))
    keyword, dense = found.get("keyword"), found.get("vector")
    return (float(keyword) if keyword else None, float(dense) if dense else None)


def connect(url: str, grpc_port: int = 50051) -> weaviate.WeaviateClient:
    """A client for the Weaviate server at ``url`` (http or https), gRPC on ``grpc_port``."""
    parsed = urlparse(url)
    secure = parsed.scheme == "https"
    host = parsed.hostname or "localhost"
    return weaviate.connect_to_custom(
        http_host=host,
        http_port=parsed.port or (443 if secure else 8080),
        http_secure=secure,
        grpc_host=host,
        grpc_port=grpc_port,
        grpc_secure=secure,
    )


_TERMS_VERSION = "2"
"""Bump when what the ``cjk`` property holds changes (2: Japanese words, not bigrams)."""


def collection_for(model_name: str) -> str:
    """One collection per embedding model and term layout, so either change starts from empty."""
    slug = "".join(ch if ch.isalnum() else "_" for ch in model_name).strip("_")
    return f"AnimaMemory_{slug}_t{_TERMS_VERSION}"


class WeaviateMemoryIndex:
    """The memory index in one multi-tenant Weaviate collection (created when missing).

    Args:
        client: A connected client; it stays the caller's to close.
        collection: The collection's name; one per embedding model.
    """

    def __init__(self, client: weaviate.WeaviateClient, collection: str = "AnimaMemory") -> None:
        self._client = client
        self._config = collection_config(collection)
        self._tenants: set[str] = set()
        self._lock = threading.Lock()
        if not client.collections.exists(collection):
            try:
                client.collections.create(
                    collection,
                    properties=list(self._config.properties),
                    vector_config=self._config.vector_config,
                    multi_tenancy_config=self._config.multi_tenancy_config,
                )
            except WeaviateBaseError:
                if not client.collections.exists(collection):  # else another replica won the race
                    raise
        self._collection: Collection[dict[str, Any], None] = client.collections.use(collection)

    def upsert_file(
        self, anima: str, path: str, digest: str, chunks: Sequence[Chunk], vectors: Sequence[Sequence[float]]
    ) -> None:
        if len(chunks) != len(vectors):
            raise ValueError(f"{len(chunks)} chunks but {len(vectors)} vectors")
        if any(chunk.anima != anima or chunk.path != path for chunk in chunks):
            raise ValueError(f"every chunk must be of {anima}/{path}")
        tenant = self._tenant(anima, create=True)
        assert tenant is not None  # create=True never answers None
        tenant.data.delete_many(where=Filter.by_property("path").equal(path))
        objects: list[DataObject[dict[str, Any], None]] = [
            DataObject(properties=file_marker_properties(path, digest), uuid=file_uuid(anima, path))
        ]
        objects += [
            DataObject(
                properties=chunk_properties(c, digest), uuid=chunk_uuid(anima, c.chunk_id), vector=list(v)
            )
            for c, v in zip(chunks, vectors, strict=True)
        ]
        result = tenant.data.insert_many(objects)
        if result.has_errors:
            raise RuntimeError(
                f"weaviate rejected {len(result.errors)} objects of {anima}/{path}: {result.errors}"
            )

    def delete_file(self, anima: str, path: str) -> None:
        tenant = self._tenant(anima, create=False)
        if tenant is not None:
            tenant.data.delete_many(where=Filter.by_property("path").equal(path))

    def drop_anima(self, anima: str) -> None:
        name = tenant_for(anima)
        with self._lock:
            self._tenants.discard(name)
            if self._collection.tenants.exists(name):
                self._collection.tenants.remove([name])

    def file_digests(self, anima: str) -> dict[str, str]:
        tenant = self._tenant(anima, create=False)
        if tenant is None:
            return {}
        # The iterator pages through every object by id (filters are not offered there); the
        # marker objects are picked out here. Fine for thousands of chunks per anima.
        return {
            str(obj.properties["path"]): str(obj.properties["digest"])
            for obj in tenant.iterator(return_properties=["path", "digest", "memory_type"])
            if obj.properties.get("memory_type") == FILE_MARKER
        }

    def count(self, anima: str) -> int:
        tenant = self._tenant(anima, create=False)
        if tenant is None:
            return 0
        return (
            tenant.aggregate.over_all(total_count=True, filters=search_filters(None, False)).total_count or 0
        )

    def search(
        self,
        anima: str,
        query: str,
        vector: Sequence[float],
        *,
        limit: int,
        memory_types: Sequence[str] | None = None,
        important_only: bool = False,
    ) -> list[Hit]:
        tenant = self._tenant(anima, create=False)
        if tenant is None or limit <= 0 or (memory_types is not None and not memory_types):
            return []
        args = hybrid_arguments(query, vector, limit, memory_types, important_only)
        if args.query is None and args.vector is None:
            return []
        response = tenant.query.hybrid(
            args.query,
            vector=args.vector,
            alpha=args.alpha,
            limit=args.limit,
            filters=args.filters,
            query_properties=args.query_properties,
            fusion_type=args.fusion_type,
            return_metadata=args.return_metadata,
        )
        hits = []
        for obj in response.objects:
            keyword, dense = explained_scores(obj.metadata.explain_score)
            chunk = chunk_from_properties(anima, dict(obj.properties))
            hits.append(
                Hit(chunk=chunk, score=float(obj.metadata.score or 0.0), keyword=keyword, dense=dense)
            )
        return hits

    def search_scopes(
        self, anima: str, query: str, vector: Sequence[float], scopes: Sequence[SearchScope]
    ) -> list[list[Hit]]:
        # One hybrid query per scope: Weaviate filters inside each query, and its queries run
        # server-side, so there is no local pass over the vectors to share.
        return [
            self.search(
                anima,
                query if scope.keywords is None else scope.keywords,
                vector,
                limit=scope.limit,
                memory_types=scope.memory_types,
                important_only=scope.important_only,
            )
            for scope in scopes
        ]

    def chunks(self, anima: str, chunk_ids: Sequence[str]) -> list[Chunk]:
        tenant = self._tenant(anima, create=False)
        if tenant is None or not chunk_ids:
            return []
        wanted = list(dict.fromkeys(chunk_ids))
        response = tenant.query.fetch_objects(
            filters=Filter.by_property("chunk_id").contains_any(wanted), limit=len(wanted)
        )
        found = {
            str(o.properties["chunk_id"]): chunk_from_properties(anima, dict(o.properties))
            for o in response.objects
        }
        return [found[chunk_id] for chunk_id in wanted if chunk_id in found]

    def close(self) -> None:
        """Nothing to release: the client belongs to whoever made it."""

    def _tenant(self, anima: str, *, create: bool) -> Collection[dict[str, Any], None] | None:
        """The collection scoped to the anima's tenant; None when it has none and ``create`` is off."""
        name = tenant_for(anima)
        with self._lock:
            if name not in self._tenants:
                if not self._collection.tenants.exists(name):
                    if not create:
                        return None
                    self._collection.tenants.create([Tenant(name=name)])
                self._tenants.add(name)
        return self._collection.with_tenant(name)
