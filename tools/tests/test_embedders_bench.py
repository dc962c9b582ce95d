"""The embedders benchmark's Japanese set and keyword side, with no embedding model loaded."""

from __future__ import annotations

from pathlib import Path

from tools.bench.embedders.japanese import JapaneseResult, keyword_rows, load_set
from tools.bench.embedders.keyword import tokenizers
from tools.bench.embedders.scoring import Scores

from animas_priming.chunking import chunk_file

SET = Path(__file__).resolve().parents[1] / "bench" / "japanese" / "set.json"


def test_every_answer_exists_and_every_memory_is_one_chunk() -> None:
    data = load_set(SET)
    assert len(data.memories) >= 40 and len(data.queries) >= 30
    for _, relevant in data.queries:
        assert relevant and relevant <= data.memories.keys()
    for path, text in data.memories.values():
        assert len(chunk_file("tomoko", path, text)) == 1, path


def test_scores_count_recall_at_5_and_10_and_the_first_answer() -> None:
    scores = Scores()
    scores.add(["x", "a", "y", "z", "w", "v", "b"], frozenset({"a", "b"}))
    assert (scores.r5(), scores.r10(), scores.reciprocal_ranks) == (50.0, 100.0, 0.5)


def test_morphological_keywords_beat_character_trigrams_on_the_set() -> None:
    data = load_set(SET)
    result = JapaneseResult()
    keyword_rows(data, tokenizers(), result)
    assert {"bigram", "trigram", "unidic-lite"} <= result.bm25.keys()
    assert result.bm25["unidic-lite"].r10() > result.bm25["bigram"].r10() > result.bm25["trigram"].r10()
