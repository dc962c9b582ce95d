"""How memory files become searchable pieces: Markdown sections as chunks, and search terms.

Pure functions, no I/O: the caller reads the file and hands over its text.
"""

from __future__ import annotations

import functools
import importlib
import posixpath
import re
from collections.abc import Callable, Iterator
from typing import Any

from animas_priming.domain.query_terms import STOP_WORDS
from animas_priming.ports import MEMORY_TYPES, Chunk

MAX_SECTION_CHARS = 1500
"""Sections longer than this are split on paragraph boundaries (small chunks embed better)."""

CONTEXT_WEIGHT = 0.5
"""BM25 weight of a word found in a chunk's ``context`` (its own words weigh 1). Chosen on
LoCoMo's development half with the ranking's context share at 0.3: weights 0.2/0.3/0.4/0.5/0.6/0.8
gave recall@5 64.8/65.4/65.8/66.0/65.8/65.9 and recall@10 73.5/73.2/73.4/73.7/73.7/73.5."""
_HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_ISO_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})")
_FRONTMATTER_DATE_KEYS = ("updated", "date", "created")
_MD_LINK = re.compile(r"""\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+(?:"[^"]*"|'[^']*'))?\s*\)""")
_WIKI_LINK = re.compile(r"\[\[([^\]|#]+)(?:#[^\]|]*)?(?:\|[^\]]*)?\]\]")
_IMPORTANT = "[IMPORTANT]"

# Scripts written without spaces between words: FTS tokenizers see a whole run as one token.
# Japanese runs are cut into words by a morphological analyser (MeCab with the UniDic-lite
# dictionary, both in their wheels); Hangul runs, which it has no dictionary for, into
# overlapping character bigrams.
_CJK = r"[\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f\uac00-\ud7af]"
_CJK_RUN = re.compile(f"{_CJK}+")
_HANGUL_RUN = re.compile(r"[\uac00-\ud7af]+")
_TERM = re.compile(rf"{_CJK}+|(?:(?!{_CJK})[^\W_])+")
_FUNCTION_POS = frozenset({"助詞", "助動詞", "補助記号", "記号", "空白"})
"""UniDic parts of speech that carry no subject (particles, auxiliaries, symbols): not queried."""
_RAW_TOKEN = re.compile(r"[^\W_]+")


def chunk_file(anima: str, path: str, text: str) -> list[Chunk]:
    """Cut one memory file into chunks, one per Markdown section.

    Args:
        anima: The anima the file belongs to.
        path: The file's path relative to the anima directory, e.g. ``episodes/2026-02-12.md``.
        text: The file's content.

    Returns:
        The chunks in file order; empty when the file is not in an indexed folder or holds no text.
        An episode entry carries the entry before it as its keyword ``context``
        (:func:`episode_context`).
    """
    memory_type = path.split("/", 1)[0]
    if memory_type not in MEMORY_TYPES or "/" not in path:
        return []
    body, front = _split_frontmatter(text)
    date = _path_date(path) if memory_type == "episodes" else None
    date = date or _frontmatter_date(front)
    chunks: list[Chunk] = []
    for heading, heading_line, section in _sections(body):
        important = _IMPORTANT in section
        links = _links(path, section)
        for piece in _split_long(heading_line, section):
            previous = episode_context(memory_type, chunks[-1].text if chunks else "")
            chunks.append(
                Chunk(
                    chunk_id=f"{path}#{len(chunks)}",
                    anima=anima,
                    path=path,
                    memory_type=memory_type,
                    heading=heading,
                    text=piece,
                    date=date,
                    importance="important" if important else "normal",
                    links=links,
                    context=previous,
                )
            )
    return chunks


def episode_context(memory_type: str, previous_text: str) -> str:
    """What a chunk is keyword-indexed with besides its own text: the entry before an episode entry.

    An entry of a conversation seldom names its subject ("that's great, what breed?"); the entry
    before it usually does. Indexed with the entry at a lower BM25 weight, the entry is found by
    the words of the exchange it answers: on LoCoMo's development half (conversations 0–4) this
    raised recall@5/@10 of the default ranking from 62.2/70.8 to 66.0/73.7; embedding the previous
    entry with the entry instead gave 62.5/71.5, the next entry as context 62.9/71.5, both 65.9/73.9
    (``docs/benchmarks.md``). Knowledge sections are topics of their own and get none.
    """
    return previous_text if memory_type == "episodes" else ""


def _split_frontmatter(text: str) -> tuple[str, dict[str, str]]:
    """The text without a leading ``---`` fenced YAML block, and that block's top-level scalars."""
    lines = text.lstrip("\ufeff").splitlines()
    if not lines or lines[0].strip() != "---":
        return text, {}
    for end in range(1, len(lines)):
        if lines[end].strip() in ("---", "..."):
            front: dict[str, str] = {}
            for line in lines[1:end]:
                # Only flat ``key: value`` lines matter here (dates); no YAML parser needed.
                key, sep, value = line.partition(":")
                if sep and key and not key[0].isspace():
                    front[key.strip()] = value.strip().strip("'\"")
            return "\n".join(lines[end + 1 :]), front
    return text, {}  # an unclosed fence is content, not frontmatter


def _frontmatter_date(front: dict[str, str]) -> str | None:
    for key in _FRONTMATTER_DATE_KEYS:
        found = _ISO_DATE.match(front.get(key, ""))
        if found:
            return found.group(1)
    return None


def _path_date(path: str) -> str | None:
    found = _ISO_DATE.match(posixpath.basename(path))
    return found.group(1) if found else None


def _sections(body: str) -> Iterator[tuple[str, str, str]]:
    """``(heading, heading line, section text)`` per section with content, in order."""
    heading, heading_line = "", ""
    lines: list[str] = []
    in_fence = False
    for line in body.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
        found = None if in_fence else _HEADING.match(line)
        if found:
            yield from _section(heading, heading_line, lines)
            heading, heading_line, lines = found.group(2), line.strip(), []
        else:
            lines.append(line)
    yield from _section(heading, heading_line, lines)


def _section(heading: str, heading_line: str, lines: list[str]) -> Iterator[tuple[str, str, str]]:
    content = "\n".join(lines).strip()
    # A heading with nothing under it (an episode file's day title) is not worth a chunk.
    if content:
        yield heading, heading_line, f"{heading_line}\n{content}" if heading_line else content


def _split_long(heading_line: str, section: str) -> list[str]:
    """The section as one piece, or as several under ``MAX_SECTION_CHARS`` each.

    Every continuation piece starts with the heading line again, so it still says what it is about.
    """
    if len(section) <= MAX_SECTION_CHARS:
        return [section]
    content = section[len(heading_line) :].strip() if heading_line else section
    prefix = f"{heading_line}\n" if heading_line else ""
    budget = max(MAX_SECTION_CHARS - len(prefix), 200)
    pieces: list[str] = []
    current = ""
    for block in _blocks(content, budget):
        if current and len(current) + 2 + len(block) > budget:
            pieces.append(current)
            current = ""
        current = f"{current}\n\n{block}" if current else block
    if current:
        pieces.append(current)
    return [prefix + piece for piece in pieces]


def _blocks(content: str, budget: int) -> Iterator[str]:
    """Paragraphs; ones over budget by line, and lines over budget by characters."""
    for paragraph in re.split(r"\n\s*\n", content):
        paragraph = paragraph.strip()
        if not paragraph:
            continue
        if len(paragraph) <= budget:
            yield paragraph
            continue
        for line in paragraph.splitlines():
            for start in range(0, len(line), budget):
                yield line[start : start + budget]


def _links(path: str, section: str) -> tuple[str, ...]:
    """Memory files the section links to, as anima-relative paths (self excluded, no repeats)."""
    found: list[str] = []
    for target in _MD_LINK.findall(section):
        target = target.split("#", 1)[0]
        if not target.endswith(".md") or "://" in target or target.startswith(("/", "mailto:")):
            continue
        if target.split("/", 1)[0] in MEMORY_TYPES:
            found.append(posixpath.normpath(target))  # written anima-relative
        else:
            found.append(posixpath.normpath(posixpath.join(posixpath.dirname(path), target)))
    for name in _WIKI_LINK.findall(section):
        name = name.strip()
        target = name if name.split("/", 1)[0] in MEMORY_TYPES else f"knowledge/{name}"
        found.append(posixpath.normpath(target if target.endswith(".md") else f"{target}.md"))
    links = dict.fromkeys(
        link for link in found if link != path and link.split("/", 1)[0] in MEMORY_TYPES and "/" in link
    )
    return tuple(links)


def search_terms(text: str) -> list[str]:
    """The terms a keyword index matches the query ``text`` by: words, Japanese words, Hangul bigrams.

    Japanese keeps its content words: particles and auxiliaries (の, は, を, です) are left out
    unless nothing else is left. Terms keep their first-seen order, no repeats; case is left to
    the index's tokenizer.
    """
    terms: list[str] = []
    for token in _TERM.findall(text):
        if not _CJK_RUN.fullmatch(token):
            terms.append(token)
        elif _HANGUL_RUN.fullmatch(token):
            terms.extend(_bigrams(token))
        else:
            words = _japanese_words(token)
            content = [surface for surface, pos in words if pos not in _FUNCTION_POS]
            terms.extend(content or [surface for surface, _ in words])
    return list(dict.fromkeys(terms))


def cjk_terms(text: str) -> str:
    """Space-separated terms of every token of ``text`` that holds CJK characters.

    A word tokenizer sees ``Slackの設定を変更`` as one token; this yields ``Slack の 設定 を 変更``
    for a second index column, so the English word and the Japanese words can each match (every
    word is indexed; queries leave particles out).
    """
    terms: list[str] = []
    for token in _RAW_TOKEN.findall(text):
        if not _CJK_RUN.search(token):
            continue
        for piece in _TERM.findall(token):
            if not _CJK_RUN.fullmatch(piece):
                terms.append(piece)
            elif _HANGUL_RUN.fullmatch(piece):
                terms.extend(_bigrams(piece))
            else:
                terms.extend(surface for surface, _ in _japanese_words(piece))
    return " ".join(terms)


def _japanese_words(run: str) -> list[tuple[str, str]]:
    """``(surface, part of speech)`` of each word of a run of Japanese text."""
    return [(word.surface, word.feature.pos1) for word in _tagger()(run)]


@functools.cache
def _tagger() -> Any:
    """The MeCab tagger over UniDic-lite, loaded once (tens of milliseconds) on first use."""
    # Untyped package, so reached through importlib; loaded on first use, not at import.
    fugashi: Any = importlib.import_module("fugashi")
    return fugashi.Tagger()  # finds the unidic-lite dictionary inside its package


def _bigrams(run: str) -> list[str]:
    if len(run) == 1:
        return [run]
    return [run[i : i + 2] for i in range(len(run) - 1)]


_HONORIFICS = frozenset(
    {"san", "sama", "kun", "chan", "sensei", "senpai", "さん", "様", "さま", "くん", "ちゃん", "先生"}
)
"""Name suffixes: shared by every person, so they name nobody in particular."""


def heading_matcher(query: str) -> Callable[[str], bool]:
    """A test of whether a heading names something the query names (for :func:`~.domain.ranking.rank`).

    Words are compared case-folded, without English function words, numbers (an episode entry's
    time) or honorifics: "What did Caroline paint?" names the entry headed ``## 13:56 Caroline``,
    "Reply to Tanaka-san" the one headed ``## 14:30 Tanaka-san called``.
    """
    asked = _heading_terms(query)

    def names(heading: str) -> bool:
        return bool(asked) and not asked.isdisjoint(_heading_terms(heading))

    return names


@functools.lru_cache(maxsize=8192)
def _heading_terms(text: str) -> frozenset[str]:
    terms = (term.casefold() for term in search_terms(text))
    return frozenset(t for t in terms if t not in STOP_WORDS and t not in _HONORIFICS and not t.isdigit())
