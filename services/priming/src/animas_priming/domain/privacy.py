"""Privacy between people: which of an anima's memories a cycle with one peer may see.

An anima talks with many people. What it said with one person is that person's: a cycle
answering someone else must not see it (issue #14). The rule, for activity-log entries:

- An entry with no other party (``from``/``to``) is the anima's own doing: a tool call, an
  error, a board post (a shared place, it names a ``channel``, not a person). Always shown.
- An entry with the anima's own clock (``heartbeat``, ``cron``, ``system``) as the party is what
  it did on its own: shown.
- An entry with another anima as the party is work between colleagues of one organization:
  shown. A party counts as an anima when an entry says so (``via: anima``, a ``dm_received``).
- An entry with the peer of this cycle as the party is this conversation: shown.
- Any other party is a person (or an outside system) in a private conversation: shown only when
  the anima is set to share across people (``share_across_people``, for an anima that serves
  one team). An unknown party counts as a person, so a mistake hides rather than leaks.


Episodes the framework writes for a person's message say so in a fixed form: the heading
``Reply to <sender>`` and the line ``- Trigger: Message received (from <sender>)``. Those about
another person are left out of similar past episodes by the same rule. Only that exact form
counts: an episode the anima or a person wrote ("Reply to Tanaka-san was rejected") names no
party the code could trust, and hiding it would drop lessons for the very person they are
about. Consolidated knowledge is the anima's own distillation and is not filtered.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping

OWN_CLOCK = frozenset({"heartbeat", "cron", "system"})
"""Senders that are the anima's own schedule, not a peer."""
ANIMA_ENTRY_TYPES = frozenset({"dm_received", "dm_sent"})
"""Entry types whose party is always another anima."""

Entry = Mapping[str, object]
_TRIGGER_FROM = re.compile(r"^- Trigger: Message received \(from (?P<who>[^)\n]+)\)$", re.MULTILINE)


@dataclasses.dataclass(frozen=True)
class Viewer:
    """Who a cycle is with: the peer (None: nobody, the anima's own clock) and the anima's setting."""

    peer: str | None
    share_across_people: bool = False


def party(entry: Entry) -> str | None:
    """The other side of an entry (who sent it or whom it went to), or None when there is none."""
    for key in ("from", "to"):
        value = entry.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def known_animas(entries: Iterable[Entry]) -> frozenset[str]:
    """The parties that the entries themselves show to be animas."""
    found: set[str] = set()
    for entry in entries:
        who = party(entry)
        if who is not None and (entry.get("via") == "anima" or entry.get("type") in ANIMA_ENTRY_TYPES):
            found.add(who)
    return frozenset(found)


def visible(entry: Entry, viewer: Viewer, animas: frozenset[str]) -> bool:
    """Whether a cycle with ``viewer`` may see ``entry`` (see the module's rule)."""
    who = party(entry)
    if who is None or who in OWN_CLOCK or who in animas:
        return True
    if viewer.peer is not None and who == viewer.peer:
        return True
    return viewer.share_across_people


def shared_entries(entries: list[dict[str, object]], viewer: Viewer) -> list[dict[str, object]]:
    """The entries a cycle with ``viewer`` may see, in their order."""
    animas = known_animas(entries)
    return [e for e in entries if visible(e, viewer, animas)]


def episode_party(heading: str, text: str) -> str | None:
    """The person a framework-written episode answered, else None (see the module's rule).

    Its heading ends ``Reply to <who>`` and its trigger line reads ``Message received (from
    <who>)``, with the same name: a message from another anima is titled ``Message from``.
    """
    found = _TRIGGER_FROM.search(text)
    if found is None:
        return None
    who = found.group("who")
    return who if heading.endswith(f"Reply to {who}") else None


def episode_visible(heading: str, text: str, viewer: Viewer) -> bool:
    """Whether a cycle with ``viewer`` may see an episode section with this heading and text."""
    who = episode_party(heading, text)
    return who is None or who in OWN_CLOCK or who == viewer.peer or viewer.share_across_people
