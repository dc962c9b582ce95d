"""Forgetting rules (seed 004): which memories are protected, low-activity, or to be forgotten.

Pure functions of a memory's text, its access statistics and the day of the run: the clock is
the run's day, never the wall clock, so a replay or a test moved 100 days decides the same.

- A chunk's *activity* ends at its last recall or its last write (frontmatter ``updated`` or
  ``created``), whichever is later. A file that says neither counts as low since the day it was
  first found low, so it is forgotten only ``forgetting_low_activation_days`` after that.
- *Downscaling* (daily) marks a chunk low once it went ``downscale_idle_days`` without recall
  (procedures: ``procedure_inactivity_days``) with fewer than ``forgetting_max_access_count``
  accesses; the mark remembers the day its activity has been low since.
- *Complete forgetting* archives a chunk low for ``forgetting_low_activation_days`` or more.
- Protected, whatever their activity: ``[IMPORTANT]``, skills, shared user profiles (neither is
  ever a candidate), knowledge with ``success_count`` >= 2, procedures with ``version`` >= 3 or
  ``protected: true``.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime

from animas_consolidator.domain.candidates import split_frontmatter
from animas_contracts import LowActivityMark, MetaRecord
from animas_core.config_model import ConsolidationConfig

KNOWLEDGE = "knowledge/"
PROCEDURES = "procedures/"
FORGETTABLE = (KNOWLEDGE, PROCEDURES)
"""Only knowledge-like chunks are forgotten; episodes, skills and shared profiles never are."""
IMPORTANT = "[IMPORTANT]"
PROTECTED_KNOWLEDGE_SUCCESSES = 2
PROTECTED_PROCEDURE_VERSION = 3


@dataclasses.dataclass(frozen=True)
class ForgettingRules:
    """The thresholds, from config.json ``consolidation``."""

    downscale_idle_days: int = 30
    low_activation_days: int = 90
    max_access_count: int = 3
    procedure_inactivity_days: int = 180

    @classmethod
    def of(cls, config: ConsolidationConfig) -> ForgettingRules:
        """The rules a configuration sets."""
        return cls(
            downscale_idle_days=config.downscale_idle_days,
            low_activation_days=config.forgetting_low_activation_days,
            max_access_count=config.forgetting_max_access_count,
            procedure_inactivity_days=config.procedure_inactivity_days,
        )


@dataclasses.dataclass(frozen=True)
class Memory:
    """A forgettable file as the run sees it."""

    path: str
    text: str
    meta: MetaRecord

    @property
    def fields(self) -> dict[str, str]:
        """Its frontmatter."""
        return split_frontmatter(self.text)[0]


@dataclasses.dataclass(frozen=True)
class Forget:
    """A memory complete forgetting archives, and why."""

    path: str
    low_since: date
    access_count: int
    reason: str


def protection(memory: Memory) -> str | None:
    """Why a memory may never be forgotten, or None."""
    path, fields, meta = memory.path, memory.fields, memory.meta
    if not path.startswith(FORGETTABLE):
        return "only knowledge and procedures are forgotten"
    if IMPORTANT in memory.text or meta.importance == "important" or fields.get("importance") == "important":
        return "marked [IMPORTANT]"
    if path.startswith(KNOWLEDGE):
        successes = max(meta.success_count, _int(fields.get("success_count")))
        if successes >= PROTECTED_KNOWLEDGE_SUCCESSES:
            return f"knowledge that helped {successes} times"
        return None
    if fields.get("protected", "").strip().lower() == "true":
        return "a procedure marked protected: true"
    version = _int(fields.get("version"))
    if version >= PROTECTED_PROCEDURE_VERSION:
        return f"a procedure at version {version}"
    return None


def last_activity(memory: Memory) -> date | None:
    """The last day the memory was recalled or written, if anything says."""
    fields = memory.fields
    days = [_day(memory.meta.last_access), _day(fields.get("updated")), _day(fields.get("created"))]
    known = [d for d in days if d is not None]
    return max(known) if known else None


def low_since(memory: Memory, day: date, rules: ForgettingRules) -> date | None:
    """The day the memory's activity has been low since, as of ``day``; None when it is not low."""
    if protection(memory) is not None or memory.meta.access_count >= rules.max_access_count:
        return None
    idle_days = (
        rules.procedure_inactivity_days if memory.path.startswith(PROCEDURES) else rules.downscale_idle_days
    )
    last = last_activity(memory)
    if last is not None and (day - last).days < idle_days:
        return None
    marked = _day(memory.meta.low_since)
    if marked is not None and (last is None or marked >= last):
        return marked
    return last if last is not None else day


def low_activity(memories: list[Memory], day: date, rules: ForgettingRules) -> list[Memory]:
    """Every memory whose activity is low on ``day`` (what weekly reorganisation looks at)."""
    return [m for m in memories if low_since(m, day, rules) is not None]


def downscale(memories: list[Memory], day: date, rules: ForgettingRules) -> list[LowActivityMark]:
    """Marks for the low-activity memories not marked yet (or marked before a later recall)."""
    marks = []
    for memory in memories:
        since = low_since(memory, day, rules)
        if since is not None and _day(memory.meta.low_since) != since:
            marks.append(LowActivityMark(path=memory.path, since=since.isoformat()))
    return marks


def to_forget(memories: list[Memory], day: date, rules: ForgettingRules) -> list[Forget]:
    """The memories complete forgetting archives on ``day``, each with its reason."""
    out = []
    for memory in memories:
        since = low_since(memory, day, rules)
        if since is None or (day - since).days < rules.low_activation_days:
            continue
        count = memory.meta.access_count
        reason = (
            f"low activity for {(day - since).days} days (since {since.isoformat()}; "
            f"forgotten after {rules.low_activation_days}) with {count} "
            f"access{'' if count == 1 else 'es'} (fewer than {rules.max_access_count})"
        )
        out.append(Forget(path=memory.path, low_since=since, access_count=count, reason=reason))
    return out


def is_forgettable_path(path: str) -> bool:
    """Whether a path is of a kind forgetting looks at."""
    return path.startswith(FORGETTABLE) and path.endswith(".md")


def _int(value: str | None) -> int:
    try:
        return int((value or "0").strip() or 0)
    except ValueError:
        return 0


def _day(value: str | None) -> date | None:
    """The day of an ISO date or timestamp; None for nothing or garbage."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.strip()).date()
    except ValueError:
        try:
            return date.fromisoformat(value.strip()[:10])
        except ValueError:
            return None
