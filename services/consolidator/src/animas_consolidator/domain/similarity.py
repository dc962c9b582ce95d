"""A deterministic text similarity for duplicates and merge candidates (no model, no randomness).

Words are compared as lower-case word counts (cosine); Japanese and Chinese, written without
spaces, are compared by character pairs, so the measure is locale-neutral. The priming index
finds which knowledge files to look at; this measure decides whether one is a near-duplicate
(the index's own score mixes recency and use into relevance, so it is no similarity).
"""

from __future__ import annotations

import math
import re
from collections import Counter

MERGE_THRESHOLD = 0.75
"""At or above this similarity a lesson is a merge candidate of existing knowledge (issue #13)."""

_CJK = r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f"
_WORD = re.compile(rf"[^\W{_CJK}]+|[{_CJK}]+")
_IS_CJK = re.compile(rf"[{_CJK}]")


def tokens(text: str) -> Counter[str]:
    """Lower-case words, and character pairs of CJK runs."""
    counts: Counter[str] = Counter()
    for piece in _WORD.findall(text.casefold()):
        if _IS_CJK.match(piece):
            counts.update(piece[i : i + 2] for i in range(max(1, len(piece) - 1)))
        else:
            counts[piece] += 1
    return counts


def similarity(a: str, b: str) -> float:
    """Cosine similarity of the token counts of ``a`` and ``b``, from 0 to 1."""
    left, right = tokens(a), tokens(b)
    if not left or not right:
        return 0.0
    dot = sum(count * right[token] for token, count in left.items())
    norm = math.sqrt(sum(c * c for c in left.values())) * math.sqrt(sum(c * c for c in right.values()))
    return dot / norm


def normalized(text: str) -> str:
    """The text as exact-duplicate checks see it: case, spacing and punctuation do not count."""
    return " ".join(_WORD.findall(text.casefold()))


def contains(haystack: str, needle: str) -> bool:
    """Whether ``needle`` occurs in ``haystack``, spacing and case aside (punctuation counts)."""
    flat = " ".join(needle.casefold().split())
    return bool(flat) and flat in " ".join(haystack.casefold().split())
