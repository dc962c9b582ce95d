"""The consolidation replay renders knowledge files exactly as memory-writer writes them.

The replay runs offline and may not import memory-writer, so it restates memory-writer's
rendering of ``knowledge.write``; these cases hold the two to the same bytes, frontmatter
quoting and kept ``created`` stamps included.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from animas_consolidator.domain.knowledge_file import knowledge_file
from animas_contracts import WriteKnowledge
from animas_memory_writer.memory.ops import write_knowledge

AT = datetime(2026, 11, 21, 3, 4, 5, tzinfo=UTC)
EXISTING = (
    '---\ncreated: 2026-10-01T00:00:00+00:00\norigin: person\ntitle: "Office: notes"\n---\n\n# Office\n'
)


@pytest.mark.parametrize(
    ("existing", "op"),
    [
        (None, WriteKnowledge(path="knowledge/a.md", content="# A\n\nText.", frontmatter={"origin": "x"})),
        (
            EXISTING,
            WriteKnowledge(
                path="knowledge/office.md",
                content="\n# Office\n\n- A3 jams\n\n",
                frontmatter={"sources": "episodes/d.md:3; x.json#t", "note": "#hash: colon", "q": 'say "hi"'},
            ),
        ),
        ("no frontmatter at all\n", WriteKnowledge(path="knowledge/b.md", content="B", frontmatter={})),
        (
            None,
            WriteKnowledge(path="knowledge/c.md", content="C", frontmatter={"empty": "", "end": "colon:"}),
        ),
    ],
)
def test_the_replayed_file_is_the_file_memory_writer_writes(existing: str | None, op: WriteKnowledge) -> None:
    assert knowledge_file(existing, op, AT) == write_knowledge(existing, op, AT)
