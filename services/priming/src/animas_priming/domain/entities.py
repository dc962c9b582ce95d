"""Who a text is about: people named with an honorific, in English and Japanese.

Priming uses this to keep a memory about one person out of a message about another: "casual is
fine with Sato-san" is close in meaning to "Reply to Tanaka-san", and exactly wrong for it.
"""

from __future__ import annotations

import re

_LATIN = re.compile(r"\b([A-Z][A-Za-z]+)[- ](san|sama|kun|chan|sensei|senpai)\b")
_JAPANESE = re.compile(r"([\u4e00-\u9fff\u30a0-\u30ff]{1,6}?)(さん|様|さま|くん|ちゃん|先生)")


def people(text: str) -> frozenset[str]:
    """Names marked by an honorific (``Tanaka-san``, ``田中さん``), case-folded."""
    found = {m.group(1).casefold() for m in _LATIN.finditer(text)}
    found |= {m.group(1) for m in _JAPANESE.finditer(text)}
    return frozenset(found)


def about_someone_else(query: str, memory: str) -> bool:
    """True when the query names people, the memory names people, and none of them are shared."""
    asked = people(query)
    if not asked:
        return False
    named = people(memory)
    return bool(named) and not (asked & named)
