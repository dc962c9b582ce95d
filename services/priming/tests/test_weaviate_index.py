"""The Weaviate index: its object building pinned without a server; the contract where one exists."""

from __future__ import annotations

import dataclasses
import os
import uuid
from collections.abc import Iterator
from typing import Any
from unittest.mock import MagicMock

import pytest
from weaviate.classes.config import DataType, Tokenization, VectorDistances
from weaviate.classes.query import HybridFusion
from weaviate.collections.classes.filters import _FilterAnd, _Filters, _FilterValue

from animas_priming.adapters.embedder import SentenceTransformerEmbedder
from animas_priming.adapters.weaviate_index import (
    ALPHA,
    FILE_MARKER,
    WeaviateMemoryIndex,
    chunk_from_properties,
    chunk_properties,
    chunk_uuid,
    collection_config,
    collection_for,
    connect,
    explained_scores,
    file_marker_properties,
    file_uuid,
    hybrid_arguments,
    search_filters,
    tenant_for,
)
from animas_priming.chunking import chunk_file, search_terms
from animas_priming.domain.fusion import KEYWORD_SHARE
from animas_priming.domain.query_terms import content_terms
from animas_priming.ports import MEMORY_TYPES, Chunk, MemoryIndex

from .index_contract import IndexContract, IndexFactory

# Tests read the environment directly: this switch is for the test run, not a service setting.
WEAVIATE_URL = os.environ.get("WEAVIATE_URL")  # noqa: TID251
WEAVIATE_GRPC_PORT = int(os.environ.get("WEAVIATE_GRPC_PORT", "50051"))  # noqa: TID251
needs_server = pytest.mark.skipif(
    not WEAVIATE_URL, reason="needs a Weaviate server: set WEAVIATE_URL (none can run on this machine)"
)

CHUNK = Chunk(
    chunk_id="knowledge/vendor.md#2",
    anima="alice",
    path="knowledge/vendor.md",
    memory_type="knowledge",
    heading="Slackの設定",
    text="## Slackの設定\n[IMPORTANT] Rotate the token monthly.",
    date="2026-02-11",
    importance="important",
    trust="external",
    links=("knowledge/contacts.md",),
)


def described(where: _Filters) -> Any:
    """A filter as plain data: ``(target, operator, value)`` leaves, ``("and", [...])`` nodes."""
    if isinstance(where, _FilterValue):
        value = list(where.value) if isinstance(where.value, list | tuple) else where.value
        return (where.target, where.operator.value, value)
    assert isinstance(where, _FilterAnd)
    return ("and", [described(f) for f in where.filters])


def test_the_tenant_of_an_anima_is_its_name() -> None:
    assert tenant_for("alice") == "alice"
    assert tenant_for("sales-bot_2") == "sales-bot_2"
    assert tenant_for("a" * 64) == "a" * 64


@pytest.mark.parametrize("name", ["Alice", "", "../alice", "a b", "a" * 65, "1abc"])
def test_names_that_are_not_anima_names_get_no_tenant(name: str) -> None:
    with pytest.raises(ValueError):
        tenant_for(name)


def test_the_collection_has_a_property_per_chunk_field_and_our_own_vectors() -> None:
    config = collection_config("AnimaMemory")
    assert config.name == "AnimaMemory"
    properties = {p.name: p for p in config.properties}
    chunk_fields = {f.name for f in dataclasses.fields(Chunk)} - {"anima"}  # the tenant is the anima
    assert set(properties) == chunk_fields | {"digest", "cjk"}
    assert "context" in chunk_fields
    assert {name for name, p in properties.items() if p.tokenization == Tokenization.WORD} == {
        "heading",
        "text",
        "cjk",
        "context",
    }
    exact = {name for name, p in properties.items() if p.tokenization == Tokenization.FIELD}
    assert exact == set(properties) - {"heading", "text", "cjk", "context"}
    assert all(properties[name].indexSearchable is False for name in exact)
    assert properties["links"].dataType == DataType.TEXT_ARRAY
    assert config.vector_config._to_dict() == {
        "vectorizer": {"none": {}},
        "vectorIndexType": "hnsw",
        "vectorIndexConfig": {"distance": VectorDistances.COSINE.value},
    }
    assert config.multi_tenancy_config.enabled is True
    assert config.multi_tenancy_config.autoTenantActivation is True


def test_chunk_properties_round_trip() -> None:
    properties = chunk_properties(CHUNK, "sha256:ab")
    assert properties["digest"] == "sha256:ab"
    assert properties["cjk"] == "Slack の 設定 Slack の 設定"
    assert properties["links"] == ["knowledge/contacts.md"]
    assert "anima" not in properties
    assert chunk_from_properties("alice", properties) == CHUNK
    plain = dataclasses.replace(CHUNK, date=None, links=())
    assert chunk_from_properties("alice", chunk_properties(plain, "d")) == plain


def test_an_episode_entry_is_stored_with_the_words_of_the_entry_before_it() -> None:
    day = "# Day\n\n## 10:00 Sam\n猫を飼った\n\n## 10:01 Alex\nWhat breed?\n"
    _, answer = chunk_file("alice", "episodes/2026-03-02.md", day)
    properties = chunk_properties(answer, "d")
    assert properties["context"] == "## 10:00 Sam\n猫を飼った\n猫 を 飼っ た"  # Japanese words as in cjk
    assert chunk_from_properties("alice", properties) == answer


def test_file_markers_are_not_chunks_of_any_memory_type() -> None:
    assert file_marker_properties("knowledge/empty.md", "d") == {
        "chunk_id": "",
        "path": "knowledge/empty.md",
        "memory_type": FILE_MARKER,
        "digest": "d",
    }
    assert FILE_MARKER not in MEMORY_TYPES


def test_object_ids_are_stable_and_distinct_per_anima() -> None:
    assert chunk_uuid("alice", "knowledge/a.md#0") == chunk_uuid("alice", "knowledge/a.md#0")
    assert chunk_uuid("alice", "knowledge/a.md#0") != chunk_uuid("bob", "knowledge/a.md#0")
    assert file_uuid("alice", "knowledge/a.md") != chunk_uuid("alice", "knowledge/a.md")
    uuid.UUID(chunk_uuid("alice", "knowledge/a.md#0"))


def test_search_filters() -> None:
    assert described(search_filters(None, False)) == ("memory_type", "ContainsAny", list(MEMORY_TYPES))
    assert described(search_filters(["episodes"], True)) == (
        "and",
        [("memory_type", "ContainsAny", ["episodes"]), ("importance", "Equal", "important")],
    )


def test_hybrid_arguments() -> None:
    text = "Where is the Slackの設定 to deploy!"
    args = hybrid_arguments(text, (0.25, -0.5), 7, ["knowledge"], True)
    assert args.query == " ".join(content_terms(search_terms(text)))  # the embedded index's terms
    assert args.query is not None and args.query.startswith("Slack ") and args.query.endswith(" deploy")
    assert args.vector == [0.25, -0.5]
    assert args.alpha == ALPHA == pytest.approx(1.0 - KEYWORD_SHARE)
    assert args.limit == 7
    assert args.query_properties == ["heading", "text", "cjk", "context^0.5"]  # as the embedded index
    assert args.fusion_type == HybridFusion.RELATIVE_SCORE
    assert args.return_metadata.score and args.return_metadata.explain_score
    assert described(args.filters) == described(search_filters(["knowledge"], True))
    empty = hybrid_arguments("?!", [], 3)
    assert (empty.query, empty.vector) == (None, None)


def test_scores_are_read_from_the_hybrid_explanation() -> None:
    both = (
        "\nHybrid (Result Set keyword,bm25) Document 6d2e: original score 5.725466, "
        "normalized score: 0.069 - \n"
        "Hybrid (Result Set vector,hybridVector) Document 6d2e: original score 0.5909128, "
        "normalized score: 0.8"
    )
    assert explained_scores(both) == (5.725466, 0.5909128)
    vector_only = (
        "Hybrid (Result Set vector,hybridVector) Document x: original score 0.25, normalized score: 1"
    )
    assert explained_scores(vector_only) == (None, 0.25)
    assert explained_scores(None) == (None, None)
    assert explained_scores("something else entirely") == (None, None)


@pytest.fixture(scope="module")
def embedder() -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder()


@pytest.fixture
def make_index() -> Iterator[IndexFactory]:
    assert WEAVIATE_URL
    client = connect(WEAVIATE_URL, WEAVIATE_GRPC_PORT)
    run = uuid.uuid4().hex[:8]
    names: dict[tuple[str, int], str] = {}

    def make(model_name: str, dimensions: int) -> MemoryIndex:
        # One collection per model, as production is told to do: another model starts empty.
        name = names.setdefault((model_name, dimensions), f"ContractTest{run}N{len(names)}")
        return WeaviateMemoryIndex(client, name)

    try:
        yield make
    finally:
        for name in names.values():
            client.collections.delete(name)
        client.close()


@needs_server
class TestWeaviateIndexContract(IndexContract):
    pass


def test_the_adapter_wires_the_client_calls() -> None:
    """Without a server: the calls the adapter makes, against a mock client (the contract needs a server)."""
    client = MagicMock()
    client.collections.exists.return_value = False
    collection = client.collections.use.return_value
    collection.tenants.exists.return_value = False
    tenant = collection.with_tenant.return_value
    tenant.data.insert_many.return_value.has_errors = False
    index = WeaviateMemoryIndex(client, "AnimaMemoryTest")

    created = client.collections.create.call_args
    assert created.args == ("AnimaMemoryTest",)
    assert created.kwargs["vector_config"] == collection_config("AnimaMemoryTest").vector_config
    assert index.count("alice") == 0  # no tenant yet: nothing asked of it
    tenant.aggregate.over_all.assert_not_called()

    index.upsert_file("alice", CHUNK.path, "sha256:ab", [CHUNK], [[0.5, 0.5]])
    collection.tenants.create.assert_called_once()
    collection.with_tenant.assert_called_with("alice")
    assert described(tenant.data.delete_many.call_args.kwargs["where"]) == ("path", "Equal", CHUNK.path)
    marker, chunk = tenant.data.insert_many.call_args.args[0]
    assert (marker.properties, marker.uuid, marker.vector) == (
        file_marker_properties(CHUNK.path, "sha256:ab"),
        file_uuid("alice", CHUNK.path),
        None,
    )
    assert (chunk.properties, chunk.uuid, chunk.vector) == (
        chunk_properties(CHUNK, "sha256:ab"),
        chunk_uuid("alice", CHUNK.chunk_id),
        [0.5, 0.5],
    )

    found = MagicMock(properties=chunk_properties(CHUNK, "sha256:ab"))
    found.metadata.score = 0.75
    found.metadata.explain_score = "Hybrid (Result Set vector,hybridVector) Document x: original score 0.6, n"
    tenant.query.hybrid.return_value.objects = [found]
    [hit] = index.search("alice", "token", [0.5, 0.5], limit=3, memory_types=["knowledge"])
    assert (hit.chunk, hit.score, hit.keyword, hit.dense) == (CHUNK, 0.75, None, 0.6)
    called = tenant.query.hybrid.call_args
    assert called.args == ("token",)
    assert (called.kwargs["alpha"], called.kwargs["limit"], called.kwargs["vector"]) == (ALPHA, 3, [0.5, 0.5])
    assert index.search("alice", "token", [0.5, 0.5], limit=3, memory_types=[]) == []

    index.drop_anima("alice")
    collection.tenants.remove.assert_not_called()  # the mock still says the tenant does not exist
    collection.tenants.exists.return_value = True
    index.drop_anima("alice")
    collection.tenants.remove.assert_called_once_with(["alice"])


def test_each_embedding_model_gets_its_own_collection() -> None:
    assert collection_for("all-MiniLM-L6-v2") == "AnimaMemory_all_MiniLM_L6_v2_t2"
    assert collection_for("intfloat/multilingual-e5-small") != collection_for("all-MiniLM-L6-v2")
