"""The keyword side of a search over several scopes: one FTS5 query per text where it can be shared.

BM25 costs the same for every row a query matches, whatever a filter keeps afterwards, so scopes
that look for the same words share one query (ordered by BM25, deep enough for all of them) and
split its rows by memory type, read from the vectors held in memory. A scope of its own words, an
``[IMPORTANT]``-only scope, or one the shared rows run out for gets its own filtered query; the
scores are the same either way (the type filter adds nothing to BM25).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from animas_priming.adapters import sqlite_schema as schema

SHARED_DEPTH = 1_000
"""Rows a shared query returns: the top of every scope unless a memory type is rare."""


@dataclasses.dataclass(frozen=True)
class KeywordPart:
    """One scope's keyword side: its FTS5 words (None: nothing to look for) and what it keeps."""

    words: str | None
    memory_types: tuple[str, ...]
    important_only: bool
    wanted: int


class Kinds(Protocol):
    """What the split needs to know of the anima's rows (the vectors in memory know it)."""

    def kind_codes(self, rowids: npt.NDArray[np.int64]) -> npt.NDArray[np.int16]:
        """The memory-type code of each rowid (-1 when unknown)."""
        ...

    def codes(self, memory_types: Iterable[str]) -> list[int]:
        """The codes of these memory types."""
        ...

    def memory_types(self) -> frozenset[str]:
        """The memory types the anima has."""
        ...


def keyword_sides(db: Any, parts: Sequence[KeywordPart], kinds: Kinds) -> list[dict[int, float]]:
    """Each part's rowids by BM25 relevance, best first.

    Args:
        db: A connection inside a read transaction.
        parts: The scopes' keyword sides.
        kinds: The memory type of each row.
    """
    sides: list[dict[int, float]] = [{} for _ in parts]
    shared: dict[str, list[int]] = {}
    for i, part in enumerate(parts):
        if part.words is None or part.wanted <= 0 or not part.memory_types:
            continue
        if part.important_only:
            sides[i] = _own(db, part.words, part)
        else:
            shared.setdefault(part.words, []).append(i)
    for words, members in shared.items():
        if len(members) == 1:
            sides[members[0]] = _own(db, words, parts[members[0]])
            continue
        union = {t for i in members for t in parts[i].memory_types}
        every = kinds.memory_types()
        rows = schema.keyword_rows(db, words, None if union >= every else sorted(union), False, SHARED_DEPTH)
        codes = kinds.kind_codes(np.fromiter((rowid for rowid, _ in rows), dtype=np.int64, count=len(rows)))
        for i in members:
            part = parts[i]
            picked = np.flatnonzero(np.isin(codes, kinds.codes(part.memory_types)))[: part.wanted]
            if len(picked) < part.wanted and len(rows) == SHARED_DEPTH:
                sides[i] = _own(db, words, part)  # a rare type: its best rows lie deeper than the shared ones
            else:
                sides[i] = dict(rows[j] for j in picked.tolist())
    return sides


def _own(db: Any, words: str, part: KeywordPart) -> dict[int, float]:
    return dict(schema.keyword_rows(db, words, part.memory_types, part.important_only, part.wanted))
