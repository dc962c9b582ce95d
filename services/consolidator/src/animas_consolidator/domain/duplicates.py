"""Knowledge duplicates merged (weekly consolidation): one file keeps both texts and both sources.

Two knowledge files whose texts (their Sources sections aside) are alike at the duplicate
threshold become one: the first by path keeps its text, gains what only the other says, and
lists the sources of both; the other is archived through memory-writer (restorable, never deleted).
A file marked ``[IMPORTANT]`` is never the one archived: it keeps its text whatever its path, and
two important files are left apart (neither may be folded into the other).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from animas_consolidator.domain.candidates import split_frontmatter
from animas_consolidator.domain.episodes import alike
from animas_consolidator.domain.forgetting import IMPORTANT
from animas_consolidator.domain.plan import SOURCES_HEADING
from animas_consolidator.domain.similarity import normalized


@dataclasses.dataclass(frozen=True)
class KnowledgeMerge:
    """A duplicate merged into the file that keeps both."""

    keep: str
    drop: str
    content: str
    frontmatter: dict[str, str]


def _text_and_sources(body: str) -> tuple[str, list[str]]:
    text, _, sources = body.partition(SOURCES_HEADING)
    return text.strip(), [line for line in sources.splitlines() if line.strip()]


def merged(keep_text: str, drop_text: str, drop: str) -> tuple[str, dict[str, str]]:
    """The kept file's new body and the frontmatter fields that change."""
    keep_fields, keep_body = split_frontmatter(keep_text)
    drop_fields, drop_body = split_frontmatter(drop_text)
    text, sources = _text_and_sources(keep_body)
    other, other_sources = _text_and_sources(drop_body)
    for unit in [p for p in other.split("\n\n") if p.strip() and not p.lstrip().startswith("# ")]:
        # Said already when its words are there, whatever the punctuation and spacing.
        if normalized(unit) not in normalized(text):
            text += f"\n\n{unit.strip()}"
    sources += [line for line in other_sources if line not in sources]
    body = text + (f"\n\n{SOURCES_HEADING}\n" + "\n".join(sources) if sources else "")
    refs = [r for field in (keep_fields, drop_fields) for r in field.get("sources", "").split("; ") if r]
    # The dropped file's own merges are kept too, so the chain of merged files stays whole.
    merged_from = [p for f in (keep_fields, drop_fields) for p in f.get("merged_from", "").split("; ") if p]
    fields = {"merged_from": "; ".join(dict.fromkeys([*merged_from, drop]))}
    if refs:
        fields["sources"] = "; ".join(dict.fromkeys(refs))
    return body, fields


def duplicate_merges(files: Mapping[str, str], threshold: float) -> list[KnowledgeMerge]:
    """The merges that leave no two unprotected knowledge files alike at ``threshold``.

    Keepers in order of path, those marked ``[IMPORTANT]`` first.
    """
    current = dict(files)
    merges: list[KnowledgeMerge] = []
    gone: set[str] = set()
    # Important files first, so that one is always the keeper of any pair it is in.
    paths = sorted(files, key=lambda path: (IMPORTANT not in files[path], path))
    for index, keep in enumerate(paths):
        if keep in gone:
            continue
        for drop in paths[index + 1 :]:
            if drop in gone:
                continue
            mine, _ = _text_and_sources(split_frontmatter(current[keep])[1])
            theirs, _ = _text_and_sources(split_frontmatter(current[drop])[1])
            if not mine or not theirs or not alike(mine, theirs, threshold):
                continue
            if IMPORTANT in current[drop]:
                continue  # an important file is never archived into another
            body, fields = merged(current[keep], current[drop], drop)
            merges.append(KnowledgeMerge(keep=keep, drop=drop, content=body, frontmatter=fields))
            current[keep] = rendered_file(current[keep], body, fields)
            gone.add(drop)
    return merges


def rendered_file(before: str, body: str, fields: Mapping[str, str]) -> str:
    """The kept file as memory-writer will write it (frontmatter fields merged), for the next comparison."""
    old, _ = split_frontmatter(before)
    merged_fields = {**old, **fields}
    return "---\n" + "".join(f"{k}: {v}\n" for k, v in sorted(merged_fields.items())) + "---\n\n" + body
