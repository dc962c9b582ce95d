"""The consolidation prompt: the day's source lines, the candidates computed for them, and the schema.

The model gets a decision to make, not an open-ended task: the explicit lessons and the existing
knowledge they duplicate are computed first and listed, the source lines are numbered by the
references a citation must use, and the answer must be JSON of the decision schema.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from animas_consolidator.domain.candidates import MergeCandidate, split_frontmatter
from animas_consolidator.domain.contradictions import ContradictionCandidate
from animas_consolidator.domain.decisions import answer_schema
from animas_consolidator.domain.lessons import Lesson
from animas_consolidator.domain.sources import SourceLine

MAX_SOURCE_CHARS = 40_000
"""The source lines shown at most; a day with more is cut, and the prompt says so."""
MAX_FILE_CHARS = 2_000

SYSTEM = """You consolidate the memory of {anima}, an AI agent, after its day {day}.
Turn what it experienced into lasting knowledge: lessons, rules people gave it, facts about the
people and work it deals with. Leave out small talk and what is only true for one moment.

Decide, for what is worth keeping:
- "create": a new knowledge file (title, content);
- "merge": add to an existing knowledge file (path) that covers the same subject;
- "supersede": replace what an existing knowledge file says when the day contradicts it;
- "skip": nothing to keep (reason).
Prefer merging into a listed candidate over creating a near-duplicate.
Every decision cites the source lines it rests on: "ref" exactly as listed, "quote" copied
verbatim from that line. A decision whose citation is not in the sources is rejected.

Answer with one JSON object, nothing else, matching this JSON Schema:
{schema}"""


def messages(
    anima: str,
    day: str,
    sources: Sequence[SourceLine],
    lessons: Sequence[Lesson],
    candidates: Mapping[int, MergeCandidate],
    files: Mapping[str, str],
    known_paths: Sequence[str] = (),
    *,
    contradictions: Sequence[ContradictionCandidate] = (),
) -> list[dict[str, str]]:
    """The chat messages asking for the day's decisions."""
    system = SYSTEM.format(anima=anima, day=day, schema=json.dumps(answer_schema(), sort_keys=True))
    parts = ["## Source lines (ref: text)"]
    used = 0
    for line in sources:
        entry = f"[{line.ref}] {line.text}"
        if used + len(entry) > MAX_SOURCE_CHARS:
            parts.append(f"(… {len(sources) - len(parts) + 1} more lines not shown)")
            break
        parts.append(entry)
        used += len(entry)
    if lessons:
        parts.append("\n## Explicit lessons found in the sources")
        for index, lesson in enumerate(lessons):
            refs = ", ".join(c.ref for c in lesson.citations)
            match = candidates.get(index)
            known = f" — duplicates {match.path} (similarity {match.score})" if match else ""
            parts.append(f"- {lesson.text} [{refs}]{known}")
    if contradictions:
        parts.append(
            "\n## Contradiction candidates: existing knowledge the day may correct (supersede candidates)"
        )
        for found in contradictions:
            cue = " — an explicit correction by a person" if found.explicit else ""
            parts.append(
                f'- {found.path} says "{found.statement}"; [{found.line.ref}] says "{found.line.text}"{cue}'
            )
    shown = sorted({c.path for c in candidates.values()} | {c.path for c in contradictions})
    if shown:
        parts.append("\n## Existing knowledge files that are merge or supersede candidates")
        for path in shown:
            _, body = split_frontmatter(files[path])
            parts.append(f"### {path}\n{body[:MAX_FILE_CHARS]}")
    if known_paths:
        parts.append(
            "\n## Every existing knowledge file\n" + "\n".join(f"- {p}" for p in sorted(known_paths))
        )
    return [{"role": "system", "content": system}, {"role": "user", "content": "\n".join(parts)}]
