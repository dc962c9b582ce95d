"""Fusion of the keyword and dense sides: a convex mix of normalised scores (RRF kept to compare)."""

from __future__ import annotations

import pytest

from animas_priming.domain.fusion import KEYWORD_SHARE, dense_only_score, fuse, min_max, reciprocal_rank


def test_min_max_maps_each_side_onto_zero_to_one() -> None:
    assert min_max({"a": 12.0, "b": 7.0, "c": 2.0}) == {"a": 1.0, "b": 0.5, "c": 0.0}
    assert min_max({"only": 3.3}) == {"only": 1.0}  # nothing to compare with: full weight
    assert min_max({}) == {}


def test_a_clear_keyword_lead_outweighs_a_slight_dense_preference() -> None:
    # "exact" matches the query's rare words far better than anything else; "near" is only a hair
    # closer in meaning. Rank fusion would call it a tie broken by id; the scores say otherwise.
    keyword = {"exact": 14.0, "near": 3.0, "other": 2.0}
    dense = {"near": 0.61, "exact": 0.60, "other": 0.30}
    assert [key for key, _ in fuse(keyword, dense, limit=3)] == ["exact", "near", "other"]
    assert [key for key, _ in reciprocal_rank(keyword, dense, limit=2)] == ["exact", "near"]
    assert reciprocal_rank(keyword, dense, limit=2)[0][1] == reciprocal_rank(keyword, dense, limit=2)[1][1]


def test_scores_are_the_weighted_mix_and_a_missing_side_counts_zero() -> None:
    keyword = {"both": 10.0, "words": 5.0, "low": 0.0}
    dense = {"both": 0.9, "meaning": 0.5, "far": 0.1}
    fused = dict(fuse(keyword, dense, limit=10, keyword_share=0.25))
    assert fused["both"] == pytest.approx(1.0)
    assert fused["words"] == pytest.approx(0.25 * 0.5)
    assert fused["meaning"] == pytest.approx(0.75 * 0.5)
    assert fused["low"] == fused["far"] == 0.0


def test_the_keyword_share_moves_the_order_between_the_sides() -> None:
    keyword = {"words": 9.0, "meaning": 1.0}
    dense = {"meaning": 0.8, "words": 0.2}
    assert fuse(keyword, dense, limit=1, keyword_share=0.9)[0][0] == "words"
    assert fuse(keyword, dense, limit=1, keyword_share=0.1)[0][0] == "meaning"


def test_one_side_alone_keeps_its_own_order_at_full_weight() -> None:
    assert fuse({}, {"a": 0.9, "b": 0.5, "c": 0.1}, limit=2) == [("a", 1.0), ("b", 0.5)]
    assert fuse({1: 8.0, 2: 4.0}, {}, limit=5) == [(1, 1.0), (2, 0.0)]
    assert fuse({}, {}, limit=5) == []


def test_ties_are_broken_by_id_and_the_limit_holds() -> None:
    fused = fuse({"b": 1.0, "a": 1.0, "c": 0.0}, {"b": 0.5, "a": 0.5, "c": 0.0}, limit=2)
    assert [key for key, _ in fused] == ["a", "b"]


def test_a_memory_not_yet_indexed_scores_as_fuse_would_score_it() -> None:
    keyword = {"k1": 5.0, "k2": 1.0}
    dense = {"k1": 0.7, "d1": 0.5, "k2": 0.3}
    with_new = dict(fuse(keyword, {**dense, "new": 0.6}, limit=10))
    assert dense_only_score(0.6, dense.values()) == pytest.approx(with_new["new"])
    dense_share = 1.0 - KEYWORD_SHARE
    assert dense_only_score(0.9, dense.values()) == pytest.approx(dense_share)  # the best similarity of all
    assert dense_only_score(0.4, []) == pytest.approx(dense_share)  # alone: the best there is
