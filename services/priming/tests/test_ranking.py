"""Ranking: relevance first, small recency/frequency/importance/graph additions, and the relevance cut."""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, datetime

import pytest

from animas_priming.chunking import heading_matcher
from animas_priming.domain.ranking import (
    COMPONENTS,
    MemoryStats,
    RankWeights,
    rank,
    recency_decay,
    relevant,
)
from animas_priming.ports import Chunk, Hit

NOW = datetime(2026, 3, 1, tzinfo=UTC).timestamp()
PRIOR = RankWeights().recency
"""The recency prior of a memory of today (or of unknown age)."""


def hit(
    path: str,
    score: float,
    *,
    date: str | None = None,
    importance: str = "normal",
    keyword: float | None = None,
    dense: float | None = None,
) -> Hit:
    chunk = Chunk(
        chunk_id=f"{path}#0",
        anima="sample",
        path=path,
        memory_type=path.split("/")[0],
        heading="",
        text=f"text of {path}",
        date=date,
        importance=importance,
    )
    return Hit(chunk=chunk, score=score, keyword=keyword, dense=dense)


def paths(ranked: list[tuple[Hit, float]]) -> list[str]:
    return [h.chunk.path for h, _ in ranked]


def test_decay_halves_every_half_life() -> None:
    assert recency_decay("2026-03-01", now=NOW) == 1.0
    assert recency_decay("2026-01-30", now=NOW, half_life_days=30) == pytest.approx(0.5)
    assert recency_decay("2025-12-31", now=NOW, half_life_days=30) == pytest.approx(0.25)
    assert recency_decay("2026-02-22T00:00:00+09:00", now=NOW, half_life_days=7) == pytest.approx(
        0.5 ** ((7 + 9 / 24) / 7)
    )


@pytest.mark.parametrize("when", [None, "", "not a date", "2026-13-45", "2027-01-01"])
def test_unknown_or_future_dates_count_as_recent(when: str | None) -> None:
    assert recency_decay(when, now=NOW) == 1.0


def test_best_hit_is_normalised_to_one() -> None:
    ranked = rank(
        [hit("knowledge/a.md", 0.02, date="2026-03-01"), hit("knowledge/b.md", 0.01, date="2026-03-01")],
        now=NOW,
    )
    assert [round(s - PRIOR, 6) for _, s in ranked] == [1.0, 0.5]


@pytest.mark.parametrize("age_days", [0, 30, 90, 365, 3650])
@pytest.mark.parametrize("ratio", [0.1, 0.2, 0.5])
def test_an_old_relevant_memory_beats_a_new_irrelevant_one(age_days: int, ratio: float) -> None:
    old_date = datetime.fromtimestamp(NOW - age_days * 86_400, tz=UTC).date().isoformat()
    old = hit("knowledge/old.md", 1.0, date=old_date)
    new = hit("knowledge/new.md", ratio, date="2026-03-01")
    assert paths(rank([new, old], now=NOW)) == ["knowledge/old.md", "knowledge/new.md"]


def test_recency_only_breaks_near_ties() -> None:
    a_year_old = hit("episodes/2025-03-01.md", 1.0, date="2025-03-01")
    today_but_less_apt = hit("episodes/2026-03-01.md", 0.95, date="2026-03-01")
    today_and_as_apt = hit("episodes/2026-02-28.md", 0.995, date="2026-02-28")
    ranked = paths(rank([today_but_less_apt, a_year_old, today_and_as_apt], now=NOW))
    assert ranked == ["episodes/2026-02-28.md", "episodes/2025-03-01.md", "episodes/2026-03-01.md"]


def test_recency_as_a_multiplier_is_the_ranking_before() -> None:
    weights = RankWeights(recency=0.3, recency_multiplies=True)
    old = hit("episodes/2026-01-30.md", 1.0, date="2026-01-30")  # one half-life: decay 0.5
    new = hit("episodes/2026-03-01.md", 0.9, date="2026-03-01")
    scores = {h.chunk.path: s for h, s in rank([old, new], now=NOW, weights=weights)}
    assert scores == {
        "episodes/2026-03-01.md": pytest.approx(0.9),
        "episodes/2026-01-30.md": pytest.approx(0.85),
    }


def test_between_equally_relevant_memories_the_recent_one_wins() -> None:
    old = hit("episodes/2025-01-01.md", 1.0, date="2025-01-01")
    new = hit("episodes/2026-02-28.md", 1.0, date="2026-02-28")
    assert paths(rank([old, new], now=NOW)) == ["episodes/2026-02-28.md", "episodes/2025-01-01.md"]


def test_dates_by_path_are_used_when_the_chunk_has_none() -> None:
    a, b = hit("knowledge/a.md", 1.0), hit("knowledge/b.md", 1.0)
    ranked = rank([a, b], now=NOW, dates={"knowledge/a.md": "2024-01-01"})
    assert paths(ranked) == ["knowledge/b.md", "knowledge/a.md"]


def test_frequency_boost_is_logarithmic_and_capped() -> None:
    weights = RankWeights()
    hits = [hit(f"knowledge/{n}.md", 1.0) for n in (0, 1, 10, 10_000)]
    stats = {f"knowledge/{n}.md": MemoryStats(access_count=n) for n in (0, 1, 10, 10_000)}
    scores = {h.chunk.path: s for h, s in rank(hits, now=NOW, stats=stats)}
    assert scores["knowledge/0.md"] == pytest.approx(1.0 + PRIOR)
    assert scores["knowledge/1.md"] == pytest.approx(1.0 + PRIOR + weights.frequency * math.log1p(1))
    assert scores["knowledge/10.md"] == pytest.approx(1.0 + PRIOR + weights.frequency * math.log1p(10))
    assert scores["knowledge/10000.md"] == pytest.approx(1.0 + PRIOR + weights.frequency_cap)


def test_frequency_cannot_make_an_irrelevant_memory_win() -> None:
    stats = {"knowledge/popular.md": MemoryStats(access_count=1_000_000, importance="important")}
    ranked = rank([hit("knowledge/popular.md", 0.1), hit("knowledge/apt.md", 1.0)], now=NOW, stats=stats)
    assert paths(ranked)[0] == "knowledge/apt.md"


def test_important_boost_from_chunk_or_stats() -> None:
    hits = [
        hit("knowledge/plain.md", 1.0),
        hit("knowledge/chunk.md", 1.0, importance="important"),
        hit("knowledge/stat.md", 1.0),
    ]
    stats = {"knowledge/stat.md": MemoryStats(importance="important")}
    scores = {h.chunk.path: s for h, s in rank(hits, now=NOW, stats=stats)}
    assert scores["knowledge/chunk.md"] == scores["knowledge/stat.md"] == pytest.approx(1.1 + PRIOR)
    assert scores["knowledge/plain.md"] == pytest.approx(1.0 + PRIOR)


def test_graph_activation_is_added_for_the_path() -> None:
    hits = [hit("knowledge/a.md", 1.0), hit("knowledge/b.md", 1.0)]
    ranked = rank(hits, now=NOW, activation={"knowledge/b.md": 1.0, "knowledge/a.md": 5.0})
    scores = {h.chunk.path: s for h, s in ranked}
    expected = 1.0 + PRIOR + RankWeights().graph  # activation clamped to 1
    assert scores["knowledge/b.md"] == scores["knowledge/a.md"] == pytest.approx(expected)


def test_graph_activation_skips_episode_days_unless_asked() -> None:
    hits = [hit("episodes/2026-03-01.md", 1.0), hit("knowledge/topic.md", 1.0)]
    activation = {"episodes/2026-03-01.md": 1.0, "knowledge/topic.md": 1.0}
    scores = {h.chunk.path: s for h, s in rank(hits, now=NOW, activation=activation)}
    assert scores["episodes/2026-03-01.md"] == pytest.approx(1.0 + PRIOR)
    assert scores["knowledge/topic.md"] == pytest.approx(1.0 + PRIOR + RankWeights().graph)
    both = RankWeights(graph_types=("knowledge", "episodes"))
    scores = {h.chunk.path: s for h, s in rank(hits, now=NOW, activation=activation, weights=both)}
    assert scores["episodes/2026-03-01.md"] == pytest.approx(scores["knowledge/topic.md"])


@pytest.mark.parametrize("component", COMPONENTS)
def test_each_component_can_be_switched_off(component: str) -> None:
    hits = [
        hit("knowledge/kw.md", 0.9, keyword=10.0, dense=None, date="2020-01-01"),
        hit("knowledge/dense.md", 0.8, keyword=None, dense=0.9, importance="important"),
    ]
    next_to_kw = hits[0].chunk.path + "#1"  # the entry after kw.md's: context lends it relevance
    named = dataclasses.replace(hits[0].chunk, chunk_id=next_to_kw, heading="Caroline")  # the query's name
    hits.append(dataclasses.replace(hits[0], chunk=named, score=0.5))
    stats = {"knowledge/dense.md": MemoryStats(access_count=50)}
    activation = {"knowledge/kw.md": 1.0}
    match = heading_matcher("What did Caroline paint?")
    on = dict(rank(hits, now=NOW, stats=stats, activation=activation, heading_match=match))
    off = dict(
        rank(
            hits,
            now=NOW,
            stats=stats,
            activation=activation,
            weights=RankWeights().without(component),
            heading_match=match,
        )
    )
    assert on != off
    old_prior = PRIOR * recency_decay("2020-01-01", now=NOW)
    if component == "keyword":  # found only by keyword: relevance 0
        assert off[hits[0]] == pytest.approx(RankWeights().graph + old_prior)
    if component == "dense":
        assert off[hits[1]] == pytest.approx(0.1 + RankWeights().frequency_cap + PRIOR)


def test_unknown_component_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown ranking component"):
        RankWeights().without("colour")


def test_ranking_with_every_signal_off_keeps_search_order() -> None:
    weights = RankWeights()
    for component in COMPONENTS:
        weights = weights.without(component)
    hits = [hit(f"knowledge/{i}.md", 1.0 / (i + 1), date="2001-01-01") for i in range(5)]
    ranked = rank(hits, now=NOW, stats={"knowledge/4.md": MemoryStats(access_count=9)}, weights=weights)
    assert paths(ranked) == [h.chunk.path for h in hits]
    assert all(score == pytest.approx(1.0) for _, score in ranked)


def test_empty_and_zero_scores() -> None:
    assert rank([], now=NOW) == []
    zero_and_negative = [hit("knowledge/a.md", 0.0), hit("knowledge/b.md", -1.0)]
    assert [s for _, s in rank(zero_and_negative, now=NOW)] == [PRIOR, PRIOR]


def test_relevant_cuts_below_a_fraction_of_the_best() -> None:
    ranked = [("a", 1.0), ("b", 0.6), ("c", 0.5), ("d", 0.49), ("e", 0.1)]
    assert relevant(ranked) == [("a", 1.0), ("b", 0.6), ("c", 0.5)]
    assert relevant(ranked, min_ratio=0.0, min_score=0.2) == ranked[:4]
    assert relevant([]) == []


def test_relevant_keeps_nothing_when_everything_is_noise() -> None:
    assert relevant([("a", 0.05), ("b", 0.04)]) == []


@pytest.mark.parametrize("scores", [[1.0], [3.0, 2.0, 1.0], [0.7, 0.69, 0.1, 0.0], [0.2, 0.2, 0.2]])
def test_relevant_always_keeps_the_best_unless_it_is_below_the_floor(scores: list[float]) -> None:
    ranked = [(str(i), s) for i, s in enumerate(scores)]
    kept = relevant(ranked)
    assert kept[0] == ranked[0]
    assert kept == ranked[: len(kept)]


def test_an_entry_next_to_a_relevant_one_takes_a_share_of_its_relevance() -> None:
    question = hit("episodes/2026-02-01.md", 1.0)  # "what breed is your new puppy?"
    answer = dataclasses.replace(
        question, chunk=dataclasses.replace(question.chunk, chunk_id="episodes/2026-02-01.md#1"), score=0.5
    )
    unrelated = hit("episodes/2026-01-05.md", 0.6)
    far = dataclasses.replace(
        answer, chunk=dataclasses.replace(answer.chunk, chunk_id="episodes/2026-02-01.md#7")
    )
    scores = {h.chunk.chunk_id: s for h, s in rank([question, unrelated, answer], now=NOW)}
    context = RankWeights().context
    assert scores["episodes/2026-02-01.md#1"] == pytest.approx(0.5 + context * 1.0 + PRIOR)
    assert scores["episodes/2026-02-01.md#0"] == pytest.approx(1.0 + context * 0.5 + PRIOR)
    assert scores["episodes/2026-02-01.md#1"] > scores["episodes/2026-01-05.md#0"]
    apart = {h.chunk.chunk_id: s for h, s in rank([question, unrelated, far], now=NOW)}
    assert apart["episodes/2026-02-01.md#7"] < apart["episodes/2026-01-05.md#0"]  # not adjacent: no share


def test_an_entry_whose_heading_names_what_the_query_names_rises() -> None:
    def entry(position: int, speaker: str, score: float) -> Hit:
        chunk = Chunk(
            chunk_id=f"episodes/2026-02-01.md#{position}",
            anima="sample",
            path="episodes/2026-02-01.md",
            memory_type="episodes",
            heading=f"13:5{position} {speaker}",
            text=f"## 13:5{position} {speaker}\nsomething",
            date="2026-02-01",
        )
        return Hit(chunk=chunk, score=score)

    hits = [entry(0, "Melanie", 1.0), entry(4, "Caroline", 0.7)]
    weights = RankWeights().without("context")
    plain = rank(hits, now=NOW, weights=weights)
    assert [h.chunk.heading for h, _ in plain] == ["13:50 Melanie", "13:54 Caroline"]
    named = rank(hits, now=NOW, weights=weights, heading_match=heading_matcher("What did Caroline paint?"))
    assert [h.chunk.heading for h, _ in named] == ["13:54 Caroline", "13:50 Melanie"]
    assert named[0][1] == pytest.approx(
        0.7 + RankWeights().heading + PRIOR * recency_decay("2026-02-01", now=NOW)
    )
    assert dict(named)[hits[0]] == pytest.approx(dict(plain)[hits[0]])  # nothing taken from the others
