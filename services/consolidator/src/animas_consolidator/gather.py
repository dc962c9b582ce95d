"""Reading a day's experience and the knowledge it may duplicate, through memory-writer and priming."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date
from zoneinfo import ZoneInfo

from animas_consolidator.domain.lessons import Lesson
from animas_consolidator.domain.sources import (
    CONVERSATIONS,
    SHORTTERM_ARCHIVE,
    SourceKind,
    SourceLine,
    UnreadableConversation,
    conversation_lines,
    day_window,
    episode_path,
    file_lines,
    is_archive_of,
)
from animas_consolidator.ports import AnimaFiles, KnowledgeSearch

_log = logging.getLogger(__name__)
SEARCH_HITS = 5
"""Knowledge files looked at per lesson: the index's best; near-duplicates rank first."""
DIRECT_COMPARISON_FILES = 100
"""Up to this many knowledge files, every one is compared with the lessons (a file the index has
not caught up with yet is not missed); beyond it, the index's hits for each lesson are."""


async def day_sources(files: AnimaFiles, anima: str, day: date, zone: ZoneInfo) -> list[SourceLine]:
    """The day's episode lines, the chained sessions saved that day and that day's conversation turns."""
    lines: list[SourceLine] = []
    episodes = episode_path(day)
    text = await files.read(anima, episodes)
    if text:
        lines += file_lines(episodes, text, SourceKind.EPISODE)
    for name in await files.listing(anima, SHORTTERM_ARCHIVE):
        if is_archive_of(name, day):
            path = SHORTTERM_ARCHIVE + name
            lines += file_lines(path, await files.read(anima, path) or "", SourceKind.SHORTTERM)
    start, end = day_window(day, zone)
    for name in await files.listing(anima, CONVERSATIONS):
        if not name.endswith(".json"):
            continue
        path = CONVERSATIONS + name
        try:
            lines += conversation_lines(path, await files.read(anima, path) or "{}", start, end)
        except UnreadableConversation as exc:
            _log.warning("conversation file left out: %s", exc, extra={"anima": anima})
    return lines


async def knowledge_texts(
    files: AnimaFiles,
    search: KnowledgeSearch,
    anima: str,
    lessons: Sequence[Lesson],
    known: Sequence[str],
) -> dict[str, str]:
    """The existing knowledge files worth comparing with the lessons.

    A small memory is compared whole; a large one through priming's index (a search per lesson),
    and whole again, up to the limit, when priming does not answer.
    """
    wanted: list[str] = []
    if not lessons:
        return {}
    if len(known) <= DIRECT_COMPARISON_FILES:
        wanted = list(known)
    else:
        for lesson in lessons:
            hits = await search.knowledge_paths(anima, lesson.text, SEARCH_HITS)
            if hits is None:
                wanted = list(known[:DIRECT_COMPARISON_FILES])
                break
            wanted += [path for path in hits if path in known]
    texts = {}
    for path in dict.fromkeys(wanted):
        text = await files.read(anima, path)
        if text is not None:
            texts[path] = text
    return texts
