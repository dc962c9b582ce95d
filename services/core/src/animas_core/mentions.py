"""``@name`` and ``@all`` in a board post: who the post asks to read it.

agent-runner's post tool reads them to tell the poster who will not be reached; outbound reads
them to fan the post out to the members' inboxes. One parser, so both agree.
"""

from __future__ import annotations

import dataclasses
import re

ALL = "all"
"""``@all``: every member of the board except the poster."""

_MENTION = re.compile(r"(?<![\w@.])@([A-Za-z][A-Za-z0-9_-]{0,63})(?![\w@-])")
"""``@name`` not inside a word or an address (``bob@example.com`` is no mention)."""


@dataclasses.dataclass(frozen=True)
class Mentions:
    """The names a post mentions (lowercase, first-mention order) and whether it said ``@all``."""

    names: tuple[str, ...] = ()
    everyone: bool = False

    def __bool__(self) -> bool:
        return self.everyone or bool(self.names)

    def recipients(self, members: list[str], poster: str) -> list[str]:
        """Who the post reaches: members mentioned (all for ``@all``), never the poster, once each."""
        wanted = members if self.everyone else [name for name in self.names if name in members]
        return sorted({name for name in wanted if name != poster})

    def strangers(self, members: list[str]) -> list[str]:
        """Names mentioned that are not members (they are not reached)."""
        return [name for name in self.names if name not in members]


def mentions(text: str) -> Mentions:
    """The mentions in ``text``."""
    names: list[str] = []
    everyone = False
    for match in _MENTION.finditer(text):
        name = match.group(1).lower()
        if name == ALL:
            everyone = True
        elif name not in names:
            names.append(name)
    return Mentions(names=tuple(names), everyone=everyone)
