"""The memory graph: explicit and implicit edges, personalized PageRank and spreading activation."""

from __future__ import annotations

import itertools
import math
import random

import pytest

from animas_priming.domain.graph import (
    MemoryGraph,
    build_graph,
    implicit_edges,
    implicit_edges_between,
    personalized_pagerank,
    resolve_link,
    spread,
    within_hops,
)
from animas_priming.ports import Chunk


def chunk(path: str, *links: str, ordinal: int = 0) -> Chunk:
    return Chunk(
        chunk_id=f"{path}#{ordinal}",
        anima="sample",
        path=path,
        memory_type=path.split("/")[0],
        heading="",
        text="",
        links=links,
    )


def chain_graph(*paths: str) -> MemoryGraph:
    graph = MemoryGraph()
    for a, b in itertools.pairwise(paths):
        graph.add_edge(a, b)
    return graph


KNOWN = {"knowledge/a.md", "knowledge/b.md", "procedures/deploy.md"}


@pytest.mark.parametrize(
    ("source", "link", "expected"),
    [
        ("knowledge/a.md", "knowledge/b.md", "knowledge/b.md"),
        ("knowledge/a.md", "b.md", "knowledge/b.md"),
        ("knowledge/a.md", "./b", "knowledge/b.md"),
        ("knowledge/a.md", "../procedures/deploy.md#rollback", "procedures/deploy.md"),
        ("knowledge/a.md", "/procedures/deploy.md", "procedures/deploy.md"),
        ("knowledge/a.md", "knowledge/missing.md", None),
        ("knowledge/a.md", "https://example.com/b.md", None),
        ("knowledge/a.md", "#section", None),
    ],
)
def test_resolve_link(source: str, link: str, expected: str | None) -> None:
    assert resolve_link(source, link, KNOWN) == expected


def test_explicit_links_are_undirected_edges_between_known_files() -> None:
    graph = build_graph(
        [
            chunk("knowledge/a.md", "b.md", "knowledge/nowhere.md", "a.md"),
            chunk("knowledge/b.md"),
            chunk("skills/x.md"),
        ]
    )
    assert set(graph) == {"knowledge/a.md", "knowledge/b.md", "skills/x.md"}
    assert graph.neighbours("knowledge/a.md") == {"knowledge/b.md": 1.0}  # no self-link, no dangling link
    assert graph.neighbours("knowledge/b.md") == {"knowledge/a.md": 1.0}
    assert graph.neighbours("skills/x.md") == {}


def test_memory_types_limit_the_nodes() -> None:
    graph = build_graph(
        [chunk("knowledge/a.md", "../procedures/p.md"), chunk("procedures/p.md")],
        memory_types=["knowledge", "episodes"],
    )
    assert set(graph) == {"knowledge/a.md"}
    assert graph.neighbours("knowledge/a.md") == {}


def test_implicit_edges_use_the_threshold_and_the_best_chunk_pair() -> None:
    vectors = [
        ("knowledge/a.md", [1.0, 0.0, 0.0]),
        ("knowledge/a.md", [0.0, 0.0, 1.0]),
        ("knowledge/b.md", [0.8, 0.6, 0.0]),  # cosine 0.8 with a's first chunk
        ("knowledge/c.md", [0.0, 1.0, 0.0]),  # cosine 0.6 with b: below 0.75
        ("knowledge/d.md", [0.0, 0.0, 2.0]),  # same direction as a's second chunk, longer
        ("knowledge/z.md", [0.0, 0.0, 0.0]),  # no direction
    ]
    edges = implicit_edges(vectors, 0.75)
    assert [(a, b) for a, b, _ in edges] == [
        ("knowledge/a.md", "knowledge/b.md"),
        ("knowledge/a.md", "knowledge/d.md"),
    ]
    similarity = dict(((a, b), s) for a, b, s in edges)
    assert similarity["knowledge/a.md", "knowledge/b.md"] == pytest.approx(0.8)
    assert similarity["knowledge/a.md", "knowledge/d.md"] == pytest.approx(1.0)


def test_chunks_of_one_file_do_not_link_it_to_itself() -> None:
    assert implicit_edges([("knowledge/a.md", [1.0, 0.0]), ("knowledge/a.md", [1.0, 0.0])]) == []


def test_incremental_edges_match_a_full_rebuild() -> None:
    rng = random.Random(7)
    base = [rng.gauss(0, 1) for _ in range(16)]
    vectors = [(f"knowledge/{i % 9}.md", [b + rng.gauss(0, 0.8) for b in base]) for i in range(30)]
    changed = [pair for pair in vectors if pair[0] in {"knowledge/3.md", "knowledge/5.md"}]
    others = [pair for pair in vectors if pair not in changed]
    full = implicit_edges(vectors, 0.75)
    touching = [e for e in full if {"knowledge/3.md", "knowledge/5.md"} & {e[0], e[1]}]
    assert touching, "the test vectors should produce some edges"
    assert implicit_edges_between(changed, others, 0.75) == touching


def test_build_graph_adds_implicit_edges_with_their_similarity() -> None:
    graph = build_graph(
        [chunk("knowledge/a.md"), chunk("knowledge/b.md")],
        [("knowledge/a.md", [1.0, 0.0]), ("knowledge/b.md", [0.8, 0.6]), ("knowledge/gone.md", [1.0, 0.0])],
    )
    assert graph.neighbours("knowledge/a.md") == {"knowledge/b.md": pytest.approx(0.8)}
    assert "knowledge/gone.md" not in graph


def test_remove_node_forgets_its_edges() -> None:
    graph = chain_graph("a", "b", "c")
    graph.remove_node("b")
    assert set(graph) == {"a", "c"}
    assert graph.neighbours("a") == graph.neighbours("c") == {}


def test_within_hops() -> None:
    graph = chain_graph("a", "b", "c", "d", "e")
    assert within_hops(graph, ["a"], 0) == {"a"}
    assert within_hops(graph, ["a"], 2) == {"a", "b", "c"}
    assert within_hops(graph, ["c", "zzz"], 1) == {"b", "c", "d", "zzz"}


def test_pagerank_is_a_distribution_limited_to_the_hops() -> None:
    graph = chain_graph("a", "b", "c", "d", "e")
    ranks = personalized_pagerank(graph, {"a": 1.0}, hops=2)
    assert set(ranks) == {"a", "b", "c"}
    assert math.fsum(ranks.values()) == pytest.approx(1.0)
    assert ranks["a"] > ranks["c"] > 0
    assert ranks["b"] > ranks["c"]


def test_pagerank_ranks_the_seed_above_its_associations() -> None:
    graph = MemoryGraph()
    for neighbour in ("b1", "b2", "b3"):
        graph.add_edge("seed", neighbour)
    graph.add_edge("b1", "c")
    ranks = personalized_pagerank(graph, {"seed": 1.0})
    assert ranks["seed"] > ranks["b1"] > ranks["c"]


def test_pagerank_favours_the_neighbour_of_the_stronger_seed() -> None:
    graph = MemoryGraph()
    graph.add_edge("strong", "x")
    graph.add_edge("weak", "y")
    ranks = personalized_pagerank(graph, {"strong": 0.9, "weak": 0.1, "ignored": -1.0})
    assert ranks["x"] > ranks["y"]
    assert "ignored" not in ranks


def test_pagerank_follows_edge_weights() -> None:
    graph = MemoryGraph()
    graph.add_edge("s", "close", 0.95)
    graph.add_edge("s", "far", 0.76)
    ranks = personalized_pagerank(graph, {"s": 1.0})
    assert ranks["close"] > ranks["far"]


def test_pagerank_without_seeds_and_bad_arguments() -> None:
    graph = chain_graph("a", "b")
    assert personalized_pagerank(graph, {}) == {}
    assert personalized_pagerank(graph, {"a": 0.0}) == {}
    with pytest.raises(ValueError, match="damping"):
        personalized_pagerank(graph, {"a": 1.0}, damping=1.0)
    with pytest.raises(ValueError, match="negative"):
        personalized_pagerank(graph, {"a": 1.0}, hops=-1)


def test_isolated_seed_keeps_all_its_rank() -> None:
    assert personalized_pagerank(MemoryGraph(), {"alone": 2.0}) == {"alone": pytest.approx(1.0)}


def test_spread_activates_neighbours_not_seeds() -> None:
    graph = chain_graph("hit", "linked", "second", "third")
    graph.add_edge("hit", "other-hit")
    boosts = spread([("hit", 1.0), ("other-hit", 0.4), ("hit", 0.2)], graph, 0.5)
    assert set(boosts) == {"linked", "second"}  # two hops; "third" is three away
    assert 0 < boosts["second"] < boosts["linked"] <= 0.5


def test_spread_accepts_a_mapping_and_respects_hops_and_weight() -> None:
    graph = chain_graph("a", "b")
    assert spread({"a": 1.0}, graph, 1.0, hops=0) == {}
    assert spread({"a": 1.0}, graph, 0.0) == {}
    assert spread({"nowhere": 1.0}, graph, 1.0) == {}
    assert 0 < spread({"a": 1.0}, graph, 1.0)["b"] <= 1.0
