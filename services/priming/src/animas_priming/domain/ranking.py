"""Ranking search hits for recall: relevance first, then recency, use, importance and association.

The score of a hit is::

    relevance                                   (the fused search score, the best hit's = 1)
    + w_context × the best relevance of its neighbours (the entries before and after it in its file)
    + w_heading (when its heading names something the query names: a speaker, a topic)
    + w_recency × 0.5 ** (age_days / half_life)  (a small prior: breaks near-ties towards the recent)
    + min(w_frequency × log1p(access_count), frequency_cap)
    + w_important (when [IMPORTANT])
    + w_graph × activation (spreading activation, for knowledge files only)

Relevance decides; the other signals are small additions that reorder near-equals. Recency used to
*multiply* relevance (0.7 + 0.3 × decay), which cost 7.9 recall@5 points on LoCoMo: a question
about an early conversation is as common as one about yesterday, and a multiplier demotes every
old answer, however exact. As a prior of a few hundredths it still puts today's note above last
month's equally relevant one. Graph activation flows between files; an episode file is a whole
day, so activating it lifts every entry of that day, mostly the wrong ones (−2.7 points on
LoCoMo), while a knowledge file is one topic: spreading only into knowledge keeps the
association without the noise. Frequency and importance are small, capped additions (Hebbian
strengthening, not a way for a popular but unrelated memory to take over the prompt).

Context: an entry seldom holds the whole exchange. The question's words are often in one turn
("what breed is your new puppy?") and the answer in the next ("a beagle"), which shares none of
them. A hit whose neighbour in the same file is relevant takes a share of that neighbour's
relevance, so the answer rises with the question (+4.5 recall@5 on LoCoMo's development half).
Separate shares for the entry before and the entry after (0.15–0.4 each, the larger or the sum)
did not beat one share of 0.3 for both; with the heading signal below, shares of 0.4 and 0.5 gave
70.1/76.6 and 69.9/77.0 against 69.7/76.3 at 0.3 (recall@5/@10, development half): within noise,
so 0.3 stays.

Heading, the one large addition: an entry's heading says who spoke or what it is about
(``## 13:56 Caroline``, ``## Contacts``). BM25 barely counts a speaker's name, which half the
entries of a conversation carry; yet a question that names someone is mostly answered by what that
person said. A hit whose heading names a content word of the query (not a function word, number or
honorific) gains 0.4, enough to lift a named person's entry over a somewhat closer one about
someone else: on LoCoMo's development half, with every other weight as shipped, recall@5/@10 went
from 66.0/73.7 without it to 68.0/75.3, 68.9/75.9, 69.7/76.3, 70.0/76.1 and 69.9/76.1 at 0.2, 0.3,
0.4, 0.5 and 0.6.

Every weight was chosen on the development half of LoCoMo (``just bench-recall``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from animas_priming.ports import Hit

_T = TypeVar("_T")
_DAY_S = 86_400.0
COMPONENTS = ("keyword", "dense", "context", "heading", "decay", "frequency", "graph", "important")
"""What :meth:`RankWeights.without` can switch off (one at a time, for ablation benchmarks)."""


@dataclasses.dataclass(frozen=True)
class MemoryStats:
    """What memory-writer knows about a memory file's use (it owns these numbers; DESIGN §8)."""

    access_count: int = 0
    last_access: float | None = None
    """Epoch seconds. Not used for recency: reading a year-old memory does not make it new."""
    importance: str = "normal"
    """``important`` for files marked ``[IMPORTANT]``."""


@dataclasses.dataclass(frozen=True)
class RankWeights:
    """Weights of every ranking component, and switches to turn each one off."""

    relevance: float = 1.0
    """Weight of the search's relevance (normalised to the best hit)."""
    context: float = 0.3
    """Share of the best neighbouring entry's relevance a hit takes (see the module text)."""
    heading: float = 0.4
    """Added when the hit's heading names something the query names (see the module text)."""
    recency: float = 0.02
    """Weight of the recency prior (a tie-breaker: a hit 2% less relevant but new ties an old one)."""
    recency_multiplies: bool = False
    """The ranking before: relevance × (1 − recency + recency × decay). Kept for the benchmark."""
    frequency: float = 0.05
    """Boost per ``log1p(access_count)``: 10 accesses ≈ 0.12."""
    frequency_cap: float = 0.15
    important: float = 0.1
    graph: float = 0.05
    """Multiplies the activation from :func:`~.graph.spread` (0..1)."""
    graph_types: tuple[str, ...] = ("knowledge",)
    """Memory types whose hits take graph activation (not episode days: see the module text)."""
    use_keyword: bool = True
    use_dense: bool = True
    use_context: bool = True
    use_heading: bool = True
    use_decay: bool = True
    use_frequency: bool = True
    use_graph: bool = True
    use_important: bool = True

    def without(self, component: str) -> RankWeights:
        """These weights with one component switched off.

        Args:
            component: One of :data:`COMPONENTS`.

        Returns:
            A copy with ``use_<component>`` false.

        Raises:
            ValueError: ``component`` is not one of :data:`COMPONENTS`.
        """
        if component not in COMPONENTS:
            raise ValueError(f"unknown ranking component {component!r}; use one of {', '.join(COMPONENTS)}")
        switch: dict[str, Any] = {f"use_{component}": False}
        return dataclasses.replace(self, **switch)


DEFAULT_WEIGHTS = RankWeights()


def rank(
    hits: Sequence[Hit],
    *,
    now: float,
    stats: Mapping[str, MemoryStats] | None = None,
    dates: Mapping[str, str] | None = None,
    half_life_days: float = 30.0,
    weights: RankWeights = DEFAULT_WEIGHTS,
    activation: Mapping[str, float] | None = None,
    heading_match: Callable[[str], bool] | None = None,
) -> list[tuple[Hit, float]]:
    """Score hits for recall, best first.

    Args:
        hits: Search results (several may come from one file).
        now: The current time, epoch seconds.
        stats: Use statistics by path; a path without any counts as never accessed.
        dates: ISO dates by path for chunks that carry none (e.g. a file's last update).
            A hit whose age is unknown counts as recent: no date is no evidence of age.
        half_life_days: Recency half-life (``RAGConfig.recency_half_life_days``).
        weights: Component weights and switches.
        activation: Spreading activation by path (:func:`~.graph.spread`), 0..1.
        heading_match: Whether a heading names something the query names
            (:func:`animas_priming.chunking.heading_matcher`); None: no heading signal.

    Returns:
        ``(hit, score)`` pairs sorted by score, ties in search order.
    """
    if not hits:
        return []
    stats = stats or {}
    dates = dates or {}
    activation = activation or {}
    raw = [_raw_relevance(hit, weights) for hit in hits]
    best = max(raw)
    by_id = {hit.chunk.chunk_id: value for hit, value in zip(hits, raw, strict=True)}
    scored: list[tuple[Hit, float]] = []
    for hit, relevance_raw in zip(hits, raw, strict=True):
        path = hit.chunk.path
        relevance = relevance_raw / best if best > 0 else 0.0
        if weights.use_context and best > 0:
            around = max((by_id.get(other, 0.0) for other in _neighbours(hit.chunk.chunk_id)), default=0.0)
            relevance += weights.context * around / best
        decay = 1.0
        if weights.use_decay:
            decay = recency_decay(hit.chunk.date or dates.get(path), now=now, half_life_days=half_life_days)
        if weights.use_heading and heading_match is not None and heading_match(hit.chunk.heading):
            relevance += weights.heading
        if weights.recency_multiplies:
            score = relevance * (1.0 - weights.recency + weights.recency * decay)
        else:
            score = weights.relevance * relevance + (weights.recency * decay if weights.use_decay else 0.0)
        stat = stats.get(path, MemoryStats())
        if weights.use_frequency and stat.access_count > 0:
            score += min(weights.frequency * math.log1p(stat.access_count), weights.frequency_cap)
        if weights.use_important and "important" in (hit.chunk.importance, stat.importance):
            score += weights.important
        if weights.use_graph and hit.chunk.memory_type in weights.graph_types:
            score += weights.graph * max(0.0, min(1.0, activation.get(path, 0.0)))
        scored.append((hit, score))
    return sorted(scored, key=lambda pair: pair[1], reverse=True)


def _neighbours(chunk_id: str) -> tuple[str, ...]:
    """Ids of the chunks before and after this one in its file (ids are ``<path>#<position>``)."""
    path, _, position = chunk_id.rpartition("#")
    if not path or not position.isdigit():
        return ()
    return f"{path}#{int(position) - 1}", f"{path}#{int(position) + 1}"


def _raw_relevance(hit: Hit, weights: RankWeights) -> float:
    """The hit's relevance with the switched-off search sides removed (never negative)."""
    if weights.use_keyword and weights.use_dense:
        value = hit.score
    elif weights.use_dense:
        value = hit.dense or 0.0
    elif weights.use_keyword:
        value = hit.keyword or 0.0
    else:
        value = 1.0  # neither side: every hit equally relevant, the other signals decide
    return max(0.0, value)


def recency_decay(when: str | None, *, now: float, half_life_days: float = 30.0) -> float:
    """``0.5 ** (age_days / half_life_days)``: 1 for today, 0.5 after one half-life.

    Args:
        when: ISO date or date-time; a date-time without a zone and a bare date are read as UTC
            (a day's precision does not need the anima's time zone).
        now: The current time, epoch seconds.
        half_life_days: Days for the weight to halve.

    Returns:
        The decay factor in (0, 1]; 1 when ``when`` is missing, unreadable or in the future.
    """
    moment = _epoch(when)
    if moment is None or half_life_days <= 0:
        return 1.0
    age_days = max(0.0, (now - moment) / _DAY_S)
    return float(0.5 ** (age_days / half_life_days))


def _epoch(when: str | None) -> float | None:
    if not when:
        return None
    try:
        if len(when) == 10:
            day = date.fromisoformat(when)
            return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
        moment = datetime.fromisoformat(when)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def relevant(
    ranked: Sequence[tuple[_T, float]], *, min_ratio: float = 0.5, min_score: float = 0.1
) -> list[tuple[_T, float]]:
    """Keep the ranked items that are close enough to the best one.

    A search always returns its ``limit`` hits, however unrelated the tail is; in a prompt of a
    few hundred tokens every unrelated memory displaces a related one and distracts the model
    (a small working memory must stay clean: seed 004, "limited working memory"). Cutting
    relative to the best hit adapts to the query: a sharp query keeps few memories, a broad one
    keeps many.

    Args:
        ranked: ``(item, score)`` pairs, best first (as :func:`rank` returns them).
        min_ratio: Drop items scoring below ``min_ratio`` × the best score.
        min_score: Drop items scoring below this whatever the best is. Relevance is normalised to
            the best hit, so this only bites when relevance is switched off or every hit is
            weak; an absolute floor on search similarity belongs to the search itself.

    Returns:
        The kept pairs, in the same order.
    """
    if not ranked:
        return []
    best = max(score for _, score in ranked)
    floor = max(min_score, min_ratio * best)
    return [(item, score) for item, score in ranked if score >= floor]
