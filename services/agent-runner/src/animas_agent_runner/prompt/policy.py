"""Which sections a prompt carries: by context-window tier and by trigger (seed 004).

Tiers (by the model's context window, in tokens):

- **T1** (≥ :data:`T1_MIN_WINDOW`): every section, at full size.
- **T2** (≥ :data:`T2_MIN_WINDOW`): every section, reduced: the memory listing shows at most
  ``TIER_LIMITS[T2].memory_listing`` files and each unmatched-skill table at most
  ``TIER_LIMITS[T2].skill_rows`` rows with descriptions cut to ``skill_description_chars``.
  Priming, recent activity and matched skills are kept whole: they are what this message needs.
- **T3** (≥ :data:`T3_MIN_WINDOW`): as T2, without bootstrap, vision, specialty, common knowledge
  and the memory guide (the anima can still search its memory).
- **T4** (below): as T3, also without permissions, org context, messaging and emotion.

Triggers: heartbeat and cron leave out specialty, emotion and the tool-loop reflection (nobody
is talking to the anima, and the loop is routine); a task gets a minimal prompt (the first
:data:`TASK_IDENTITY_LINES` lines of identity, the task, the tools or assisted-mode note and the
behaviour rules); chat and inbox get everything. Each section may still be absent when it has
nothing to say (no bootstrap file, no other animas, …). The numbers here are quoted by the docs
through these names, and the tests check the boundaries.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping

from animas_agent_runner.prompt.inputs import PromptTrigger

T1_MIN_WINDOW = 128_000
T2_MIN_WINDOW = 32_000
T3_MIN_WINDOW = 16_000
"""Tier boundaries. Round thousands so that a "128k" model (128,000 or 131,072) is T1 either way."""

TASK_IDENTITY_LINES = 3


class Tier(enum.StrEnum):
    """How much of the prompt a context window can hold."""

    T1 = "t1"
    T2 = "t2"
    T3 = "t3"
    T4 = "t4"


def tier_for(context_window: int) -> Tier:
    """The tier of a model with ``context_window`` tokens.

    Raises:
        ValueError: The window is not a positive number of tokens.
    """
    if context_window <= 0:
        raise ValueError(f"a context window has a positive size, not {context_window}")
    if context_window >= T1_MIN_WINDOW:
        return Tier.T1
    if context_window >= T2_MIN_WINDOW:
        return Tier.T2
    if context_window >= T3_MIN_WINDOW:
        return Tier.T3
    return Tier.T4


class SectionName(enum.StrEnum):
    """The prompt's sections, in prompt order (seed 003 §10; ``task`` only for the task trigger)."""

    ENVIRONMENT = "environment"
    BOOTSTRAP = "bootstrap"
    VISION = "vision"
    IDENTITY = "identity"
    INJECTION = "injection"
    SPECIALTY = "specialty"
    PERMISSIONS = "permissions"
    STATE = "state"
    TASK = "task"
    RECENT_ACTIVITY = "recent_activity"
    PRIMING = "priming"
    MEMORY_GUIDE = "memory_guide"
    COMMON_KNOWLEDGE = "common_knowledge"
    MATCHED_SKILLS = "matched_skills"
    PERSONAL_SKILLS = "personal_skills"
    COMMON_SKILLS = "common_skills"
    HIRING_RULES = "hiring_rules"
    TOOLS = "tools"
    TOOL_LOOP_REFLECTION = "tool_loop_reflection"
    ASSISTED_MODE = "assisted_mode"
    EMOTION = "emotion"
    HIRING_CONTEXT = "hiring_context"
    BEHAVIOUR_RULES = "behaviour_rules"
    ORG_CONTEXT = "org_context"
    MESSAGING = "messaging"
    HUMAN_NOTIFICATION = "human_notification"


S = SectionName

_T3_OMITS = frozenset({S.BOOTSTRAP, S.VISION, S.SPECIALTY, S.COMMON_KNOWLEDGE, S.MEMORY_GUIDE})
TIER_OMITS: Mapping[Tier, frozenset[SectionName]] = {
    Tier.T1: frozenset(),
    Tier.T2: frozenset(),
    Tier.T3: _T3_OMITS,
    Tier.T4: _T3_OMITS | {S.PERMISSIONS, S.ORG_CONTEXT, S.MESSAGING, S.EMOTION},
}
"""Sections a tier leaves out whatever the trigger."""

_BACKGROUND_OMITS = frozenset({S.SPECIALTY, S.EMOTION, S.TOOL_LOOP_REFLECTION})
TRIGGER_OMITS: Mapping[PromptTrigger, frozenset[SectionName]] = {
    PromptTrigger.CHAT: frozenset({S.TASK}),
    PromptTrigger.INBOX: frozenset({S.TASK}),
    PromptTrigger.HEARTBEAT: _BACKGROUND_OMITS | {S.TASK},
    PromptTrigger.CRON: _BACKGROUND_OMITS | {S.TASK},
    PromptTrigger.TASK: frozenset(SectionName)
    - {S.IDENTITY, S.TASK, S.TOOLS, S.ASSISTED_MODE, S.BEHAVIOUR_RULES},
}
"""Sections a trigger leaves out whatever the tier (``task`` exists only for the task trigger)."""


@dataclasses.dataclass(frozen=True)
class Limits:
    """How big the size-bounded sections may be in a tier (``None``: no bound)."""

    memory_listing: int | None
    skill_rows: int | None
    skill_description_chars: int | None


_REDUCED = Limits(memory_listing=30, skill_rows=10, skill_description_chars=80)
TIER_LIMITS: Mapping[Tier, Limits] = {
    # Even T1 bounds the listing: an anima with thousands of files finds them by searching.
    Tier.T1: Limits(memory_listing=200, skill_rows=None, skill_description_chars=None),
    Tier.T2: _REDUCED,
    Tier.T3: _REDUCED,
    Tier.T4: _REDUCED,
}


def selected(tier: Tier, trigger: PromptTrigger) -> tuple[SectionName, ...]:
    """The sections a prompt of ``tier`` for ``trigger`` may carry, in prompt order."""
    left_out = TIER_OMITS[tier] | TRIGGER_OMITS[trigger]
    return tuple(name for name in SectionName if name not in left_out)


@dataclasses.dataclass(frozen=True)
class Trim:
    """What the budget guard has cut so far (see :mod:`animas_agent_runner.prompt.builder`)."""

    skill_tables: bool = False
    """The unmatched-skill tables are left out."""
    memory_listing: bool = False
    """The memory guide keeps its text but not the file listing."""
    recent_activity_tokens: int | None = None
    """Recent activity is cut to this many tokens (0: left out); ``None``: whole."""
    priming_tokens: int | None = None
    """Priming is cut to this many tokens (0: left out); ``None``: whole."""
    skill_bodies: bool = False
    """Matched skills are named, not quoted."""


@dataclasses.dataclass(frozen=True)
class RenderContext:
    """What a section renderer needs besides the inputs: the tier's limits and the trims."""

    tier: Tier
    limits: Limits
    trim: Trim = dataclasses.field(default_factory=Trim)
