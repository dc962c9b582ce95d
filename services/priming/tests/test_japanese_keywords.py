"""Japanese found by keyword: the index's ``cjk`` column holds words, queries send content words."""

from __future__ import annotations

from pathlib import Path

from animas_priming.adapters.sqlite_index import SqliteMemoryIndex
from animas_priming.chunking import chunk_file

# Only the keyword side is searched here (no query vector), so any fixed vector will do.
_VECTOR = [0.0, 0.0, 1.0]
_NOTES = {
    "knowledge/accounting.md": "# 経理\n経理の責任者は佐藤さん。内線は 305。",
    "knowledge/lunch.md": "# 昼食\nお弁当の注文は前日の15時までに共有表へ。",
    "knowledge/trips.md": "# 出張\n出張の申請は1週間前までに出す。宿泊費の上限は1泊1万2千円。",
}


def _index(tmp_path: Path) -> SqliteMemoryIndex:
    index = SqliteMemoryIndex(tmp_path, len(_VECTOR), "keyword-only")
    for path, text in _NOTES.items():
        chunks = chunk_file("tomoko", path, text)
        index.upsert_file("tomoko", path, f"sha256:{path}", chunks, [_VECTOR] * len(chunks))
    return index


def test_a_question_finds_the_note_with_its_words_and_not_the_ones_sharing_its_particles(
    tmp_path: Path,
) -> None:
    index = _index(tmp_path)
    try:
        for query, path in (
            ("経理の担当者の内線番号は?", "knowledge/accounting.md"),  # 内線番号 is written 内線
            ("弁当を注文する締め切り", "knowledge/lunch.md"),
            ("出張のホテル代の上限はいくら?", "knowledge/trips.md"),
        ):
            hits = index.search("tomoko", query, [], limit=3)
            # Every note holds の; only the answer holds the question's words.
            assert [hit.chunk.path for hit in hits] == [path], query
    finally:
        index.close()
