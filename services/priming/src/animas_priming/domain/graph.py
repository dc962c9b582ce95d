"""The memory graph and spreading activation: multi-hop association (seed 004, search signals).

Nodes are memory files (paths relative to the anima directory). Edges are undirected — recall
runs both ways: thinking of a procedure brings back the incident it came from and vice versa —
and weighted: 1.0 for an explicit link, the cosine similarity for an implicit one. Personalized
PageRank from the files a search found spreads activation to files the search alone would miss.
"""

from __future__ import annotations

import dataclasses
import math
import posixpath
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from itertools import chain
from operator import mul

from animas_priming.ports import Chunk


@dataclasses.dataclass
class MemoryGraph:
    """An undirected, weighted graph of memory files."""

    _edges: dict[str, dict[str, float]] = dataclasses.field(default_factory=dict)

    def add_node(self, path: str) -> None:
        """Add a file with no edges (no-op when present)."""
        self._edges.setdefault(path, {})

    def add_edge(self, a: str, b: str, weight: float = 1.0) -> None:
        """Link two files; a repeated edge keeps its strongest weight. Self-links are ignored."""
        if a == b:
            return
        for x, y in ((a, b), (b, a)):
            row = self._edges.setdefault(x, {})
            row[y] = max(weight, row.get(y, 0.0))

    def remove_node(self, path: str) -> None:
        """Forget a file and its edges (before re-adding a changed file)."""
        for other in self._edges.pop(path, {}):
            self._edges[other].pop(path, None)

    def neighbours(self, path: str) -> Mapping[str, float]:
        """The files linked to ``path``, with edge weights (empty for an unknown path)."""
        return self._edges.get(path, {})

    def __contains__(self, path: object) -> bool:
        return path in self._edges

    def __iter__(self) -> Iterator[str]:
        return iter(self._edges)

    def __len__(self) -> int:
        return len(self._edges)


def resolve_link(source: str, link: str, known: Collection[str]) -> str | None:
    """The memory file a link in ``source`` points to, if it is one of ``known``.

    A link may be written relative to the anima directory ("knowledge/x.md") or to the linking
    file ("x.md", "../procedures/y.md"), with or without ".md" and with a "#section" anchor.

    Args:
        source: Path of the file holding the link.
        link: The link as written.
        known: Paths of the files in the graph.

    Returns:
        The linked path, or None for URLs and links to files outside ``known``.
    """
    target = link.split("#", 1)[0].split("?", 1)[0].strip()
    if not target or "://" in target or target.startswith("mailto:"):
        return None
    bases = (
        posixpath.normpath(target.lstrip("/")),
        posixpath.normpath(posixpath.join(posixpath.dirname(source), target)),
    )
    for base in bases:
        for candidate in (base, f"{base}.md"):
            if candidate in known:
                return candidate
    return None


def _units(vectors: Iterable[tuple[str, Sequence[float]]]) -> list[tuple[str, tuple[float, ...]]]:
    units: list[tuple[str, tuple[float, ...]]] = []
    for path, vector in vectors:
        norm = math.sqrt(sum(x * x for x in vector))
        if norm > 0:  # a zero vector has no direction; it cannot be similar to anything
            units.append((path, tuple(x / norm for x in vector)))
    return units


def _collect(
    pairs: Iterable[tuple[tuple[str, tuple[float, ...]], tuple[str, tuple[float, ...]]]], threshold: float
) -> list[tuple[str, str, float]]:
    best: dict[tuple[str, str], float] = {}
    for (path_a, a), (path_b, b) in pairs:
        if path_a == path_b:
            continue
        similarity = sum(map(mul, a, b))
        if similarity >= threshold:
            key = (path_a, path_b) if path_a < path_b else (path_b, path_a)
            best[key] = max(similarity, best.get(key, -1.0))
    return [(a, b, similarity) for (a, b), similarity in sorted(best.items())]


def implicit_edges(
    vectors: Iterable[tuple[str, Sequence[float]]], threshold: float = 0.75
) -> list[tuple[str, str, float]]:
    """Pairs of files with chunks whose cosine similarity is at least ``threshold``.

    Every chunk vector is compared with every chunk vector of the other files: O(m²·d) for m
    chunks of d dimensions, in plain Python (about 10 µs per pair at 384 dimensions, so ~5 s for
    1,000 chunks and ~45 s for 3,000). That is acceptable for a graph built in the background and
    cached (``RAGConfig.graph_cache_enabled``), never per message; keep it current with
    :func:`implicit_edges_between` when one file changes (O(k·m)). Beyond a few thousand chunks,
    ask the vector index for each chunk's nearest neighbours instead.

    Args:
        vectors: ``(path, vector)`` pairs, several per path when a file has several chunks.
        threshold: Minimum cosine (``RAGConfig.implicit_link_threshold``, 0.75 in seed 004).

    Returns:
        ``(a, b, similarity)`` with ``a < b``, the best similarity between the two files' chunks,
        sorted.
    """
    units = _units(vectors)
    return _collect(((a, b) for i, a in enumerate(units) for b in units[i + 1 :]), threshold)


def implicit_edges_between(
    changed: Iterable[tuple[str, Sequence[float]]],
    others: Iterable[tuple[str, Sequence[float]]],
    threshold: float = 0.75,
) -> list[tuple[str, str, float]]:
    """Like :func:`implicit_edges`, but only the pairs with one side in ``changed``.

    Args:
        changed: ``(path, vector)`` of the files just (re)indexed.
        others: ``(path, vector)`` of the rest of the index.
        threshold: Minimum cosine.

    Returns:
        ``(a, b, similarity)`` as :func:`implicit_edges` returns them.
    """
    new, old = _units(changed), _units(others)
    among_new = ((a, b) for i, a in enumerate(new) for b in new[i + 1 :])
    return _collect(chain(among_new, ((a, b) for a in new for b in old)), threshold)


def build_graph(
    chunks: Iterable[Chunk],
    vectors: Iterable[tuple[str, Sequence[float]]] = (),
    *,
    threshold: float = 0.75,
    memory_types: Collection[str] | None = None,
) -> MemoryGraph:
    """The graph of the files ``chunks`` come from.

    Args:
        chunks: Indexed chunks; their ``links`` become explicit edges (weight 1).
        vectors: ``(path, vector)`` of the chunks, for implicit edges (see :func:`implicit_edges`).
        threshold: Minimum cosine for an implicit edge (``RAGConfig.implicit_link_threshold``).
        memory_types: Only files of these types become nodes
            (``RAGConfig.spreading_memory_types``); None for all.

    Returns:
        The graph. Links to files that are not nodes are dropped: there is nothing to recall.
    """
    kept = [c for c in chunks if memory_types is None or c.memory_type in memory_types]
    graph = MemoryGraph()
    for chunk in kept:
        graph.add_node(chunk.path)
    known = set(graph)
    for chunk in kept:
        for link in chunk.links:
            target = resolve_link(chunk.path, link, known)
            if target is not None:
                graph.add_edge(chunk.path, target, 1.0)
    for a, b, similarity in implicit_edges(((p, v) for p, v in vectors if p in known), threshold):
        graph.add_edge(a, b, similarity)
    return graph


def within_hops(graph: MemoryGraph, seeds: Iterable[str], hops: int) -> set[str]:
    """The seeds and every file at most ``hops`` edges from one of them."""
    reached = set(seeds)
    frontier = {s for s in reached if s in graph}
    for _ in range(hops):
        frontier = {n for node in frontier for n in graph.neighbours(node) if n not in reached}
        if not frontier:
            break
        reached |= frontier
    return reached


def personalized_pagerank(
    graph: MemoryGraph,
    seeds: Mapping[str, float],
    *,
    damping: float = 0.85,
    hops: int = 2,
    iterations: int = 20,
) -> dict[str, float]:
    """PageRank that restarts at the seeds, on the part of the graph within ``hops`` of them.

    Limiting the walk to a few hops keeps association local (``RAGConfig.max_graph_hops``): a
    file five links away is no longer "what this reminds me of", and the cost stays independent
    of the size of the whole memory.

    Args:
        graph: The memory graph.
        seeds: Restart weights by path (e.g. search scores); non-positive ones are ignored.
        damping: Probability of following an edge rather than restarting.
        hops: Radius of the subgraph walked.
        iterations: Power-iteration steps (20 converges to ~0.85²⁰ ≈ 4% of the first step's change).

    Returns:
        Rank by path for every node of the subgraph; the ranks sum to 1. Empty without seeds.

    Raises:
        ValueError: ``damping`` is outside [0, 1), or ``hops``/``iterations`` is negative.
    """
    if not 0.0 <= damping < 1.0:
        raise ValueError(f"damping must be in [0, 1): {damping}")
    if hops < 0 or iterations < 0:
        raise ValueError("hops and iterations cannot be negative")
    positive = {path: weight for path, weight in seeds.items() if weight > 0}
    total = sum(positive.values())
    if not total:
        return {}
    restart = {path: weight / total for path, weight in positive.items()}
    nodes = within_hops(graph, restart, hops)
    out = {u: {v: w for v, w in graph.neighbours(u).items() if v in nodes} for u in nodes}
    out_weight = {u: sum(edges.values()) for u, edges in out.items()}
    rank = {u: restart.get(u, 0.0) for u in nodes}
    for _ in range(iterations):
        following = dict.fromkeys(nodes, 0.0)
        # A node with no edge inside the subgraph hands its walk back to the seeds, so that no
        # rank leaks away and the result stays a distribution.
        stranded = 0.0
        for u, r in rank.items():
            if not r:
                continue
            if out_weight[u] <= 0:
                stranded += r
                continue
            share = damping * r / out_weight[u]
            for v, w in out[u].items():
                following[v] += share * w
        for path, weight in restart.items():
            following[path] += (1.0 - damping) * weight + damping * stranded * weight
        rank = following
    return rank


def spread(
    scores: Mapping[str, float] | Iterable[tuple[str, float]],
    graph: MemoryGraph,
    weight: float = 1.0,
    *,
    hops: int = 2,
    damping: float = 0.85,
    iterations: int = 20,
) -> dict[str, float]:
    """Activation of the files associated with the ranked ones (not the ranked files themselves).

    Args:
        scores: ``(path, score)`` of ranked hits, or a mapping; a path seen twice keeps its best.
        graph: The memory graph.
        weight: Scale of the result; 1 gives activations in [0, 1] for ``rank(activation=…)``.
        hops: ``RAGConfig.max_graph_hops``; 0 spreads nothing.
        damping: As in :func:`personalized_pagerank`.
        iterations: As in :func:`personalized_pagerank`.

    Returns:
        ``weight × rank / highest rank`` for every neighbour with some activation: the most
        activated file overall would get ``weight``.
    """
    items = scores.items() if isinstance(scores, Mapping) else scores
    seeds: dict[str, float] = {}
    for path, score in items:
        seeds[path] = max(score, seeds.get(path, score))
    if hops <= 0 or weight == 0:
        return {}
    ranks = personalized_pagerank(graph, seeds, damping=damping, hops=hops, iterations=iterations)
    top = max(ranks.values(), default=0.0)
    if top <= 0:
        return {}
    return {path: weight * r / top for path, r in ranks.items() if path not in seeds and r > 0}
