"""Telling a degenerate reply from a sensible one: the check the benchmarks count. Pure.

A reply is degenerate when it loops: the same run of words comes back again and again (a tiny
model's greedy decoding repeating "I'm designed to be helpful" until the token cap). Words are
compared case-insensitively and without punctuation, so a loop that varies only a comma or a
capital still counts.
"""

from __future__ import annotations

import re
from collections import Counter

_WORD = re.compile(r"\w+")

LOOP_SPAN_WORDS = 6
"""A loop is a run of at least this many words…"""
LOOP_REPEATS = 3
"""…said at least this many times in one reply."""
CUT_REPEATS = 2
"""A reply cut at the token cap is degenerate once a run comes back this often: it was still looping."""


def repeated_span(
    text: str, *, span: int = LOOP_SPAN_WORDS, repeats: int = LOOP_REPEATS, truncated: bool = False
) -> str | None:
    """The first run of ``span`` words that ``text`` says ``repeats`` times or more, if any.

    ``truncated``: the reply was cut at its token cap, so :data:`CUT_REPEATS` occurrences already
    show a loop that only the cap ended.
    """
    words = [w.casefold() for w in _WORD.findall(text)]
    needed = min(repeats, CUT_REPEATS) if truncated else repeats
    runs = Counter(tuple(words[i : i + span]) for i in range(len(words) - span + 1))
    for run, count in runs.items():
        if count >= needed:
            return " ".join(run)
    return None


def is_degenerate(text: str, *, truncated: bool = False) -> bool:
    """Whether ``text`` is a repetition loop rather than an answer (see :func:`repeated_span`)."""
    return repeated_span(text, truncated=truncated) is not None
