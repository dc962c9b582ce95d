"""Keyword tokenizers compared on Japanese text, each as its own in-memory FTS5 index.

Every variant turns a memory into the text of one FTS5 column and a query into a MATCH
expression of quoted terms ORed together (as the product's keyword side does), so the variants
differ only in how they cut Japanese into terms:

- ``bigram``: overlapping character pairs of each CJK run (the product's ``cjk`` column before);
- ``trigram``: FTS5's built-in ``trigram`` tokenizer, queried with the query's character trigrams;
- ``janome`` / ``sudachi`` / ``unidic-lite``: words from a morphological analyser whose dictionary
  ships in its wheel; the query keeps content words only (particles, auxiliaries and symbols out).
"""

from __future__ import annotations

import dataclasses
import importlib
import re
from collections.abc import Callable, Sequence
from typing import Any

import sqlean

_CJK = r"[\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f\uac00-\ud7af]"
_CJK_RUN = re.compile(f"{_CJK}+")
_RUN = re.compile(rf"{_CJK}+|(?:(?!{_CJK})[^\W_])+")
_FUNCTION_POS = ("助詞", "助動詞", "補助記号", "記号", "空白")
"""Parts of speech (IPADIC and UniDic names alike) that carry no topic: left out of queries."""


@dataclasses.dataclass(frozen=True)
class Tokenizer:
    """How one variant indexes a text and queries it."""

    name: str
    note: str
    fts_tokenize: str
    document: Callable[[str], str]
    query_terms: Callable[[str], list[str]]


class KeywordIndex:
    """One variant's FTS5 table over a fixed set of documents, searched by BM25."""

    def __init__(self, tokenizer: Tokenizer, documents: dict[str, str]) -> None:
        """Index ``documents`` (id → text)."""
        self._tokenizer = tokenizer
        self._db: Any = sqlean.connect(":memory:")
        self._db.execute(
            f"CREATE VIRTUAL TABLE docs USING fts5(id UNINDEXED, body, tokenize={tokenizer.fts_tokenize!r})"
        )
        self._db.executemany(
            "INSERT INTO docs (id, body) VALUES (?, ?)",
            [(doc_id, tokenizer.document(text)) for doc_id, text in documents.items()],
        )

    def search(self, query: str, limit: int) -> dict[str, float]:
        """Document id → BM25 relevance (positive), best first."""
        terms = list(dict.fromkeys(self._tokenizer.query_terms(query)))
        if not terms:
            return {}
        match = " OR ".join('"{}"'.format(term.replace('"', '""')) for term in terms)
        rows = self._db.execute(
            "SELECT id, -bm25(docs) FROM docs WHERE docs MATCH ? ORDER BY bm25(docs) LIMIT ?", (match, limit)
        ).fetchall()
        return {str(doc_id): float(score) for doc_id, score in rows}


def _bigram_terms(text: str) -> list[str]:
    terms: list[str] = []
    for run in _RUN.findall(text):
        if _CJK_RUN.fullmatch(run) and len(run) > 1:
            terms.extend(run[i : i + 2] for i in range(len(run) - 1))
        else:
            terms.append(run)
    return terms


def _trigram_terms(text: str) -> list[str]:
    # FTS5's trigram tokenizer cannot match a term shorter than three characters.
    return [run[i : i + 3] for run in _RUN.findall(text) for i in range(len(run) - 2)]


def _morphological(name: str, note: str, words: Callable[[str], list[tuple[str, str]]]) -> Tokenizer:
    """A variant over ``words(text)`` = ``(surface, coarse part of speech)`` pairs."""

    def document(text: str) -> str:
        return " ".join(surface for surface, _ in words(text))

    def query_terms(text: str) -> list[str]:
        kept = [surface for surface, pos in words(text) if pos not in _FUNCTION_POS]
        return [term for term in kept if _RUN.search(term)]

    return Tokenizer(name, note, "unicode61", document, query_terms)


def _janome() -> Tokenizer:
    analyser: Any = importlib.import_module("janome.tokenizer").Tokenizer()

    def words(text: str) -> list[tuple[str, str]]:
        return [(t.surface, t.part_of_speech.split(",")[0]) for t in analyser.tokenize(text)]

    return _morphological("janome", "janome 0.5 (pure Python, IPADIC in the wheel)", words)


def _sudachi() -> Tokenizer:
    sudachipy: Any = importlib.import_module("sudachipy")
    # Mode A (shortest units): mode C keeps compounds such as 内線番号 whole, which then miss 内線.
    analyser = sudachipy.Dictionary(dict="core").tokenizer(mode=sudachipy.SplitMode.A)

    def words(text: str) -> list[tuple[str, str]]:
        return [(m.surface(), m.part_of_speech()[0]) for m in analyser.tokenize(text)]

    return _morphological("sudachi", "SudachiPy 0.7 + sudachidict-core (Rust, split mode A)", words)


def _unidic_lite() -> Tokenizer:
    fugashi: Any = importlib.import_module("fugashi")
    tagger = fugashi.Tagger()  # finds unidic-lite's dictionary inside its package

    def words(text: str) -> list[tuple[str, str]]:
        return [(w.surface, w.feature.pos1) for w in tagger(text)]

    return _morphological(
        "unidic-lite", "fugashi 1.5 (MeCab) + unidic-lite (the shipped `cjk` column now)", words
    )


def tokenizers() -> list[Tokenizer]:
    """Every variant that loads here (a morphological analyser that is not installed is skipped)."""
    found = [
        Tokenizer(
            "bigram",
            "CJK runs as overlapping character pairs, `unicode61` (the `cjk` column before)",
            "porter unicode61",
            lambda text: " ".join(_bigram_terms(text)),
            _bigram_terms,
        ),
        Tokenizer(
            "trigram",
            "FTS5 `trigram` tokenizer; the query as its character trigrams",
            "trigram",
            str,
            _trigram_terms,
        ),
    ]
    loaders: Sequence[Callable[[], Tokenizer]] = (_janome, _sudachi, _unidic_lite)
    for load in loaders:
        try:
            found.append(load())
        except ImportError as error:
            print(f"skipping a morphological analyser: {error}", flush=True)
    return found
