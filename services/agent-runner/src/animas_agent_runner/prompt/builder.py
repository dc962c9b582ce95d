"""``build_system_prompt``: the sections, chosen by tier and trigger, joined and measured.

The prompt must leave room for the conversation, the tools' schemas and the answer, so it may use
at most :data:`MAX_PROMPT_SHARE` of the context window. When it would use more, the budget guard
cuts, in this order, until it fits:

1. the unmatched-skill tables (the skills remain findable by search);
2. the memory file listing (the guide stays; the files remain findable by search);
3. recent activity, from its end (oldest lines first), down to nothing;
4. priming, from its end (``[IMPORTANT]`` lessons, first, go last), down to nothing;
5. matched skills' full text, replaced by their names and descriptions.

Identity, role, permissions and the behaviour rules are never cut: a prompt that is still over
after step 5 is returned as it is (:attr:`SystemPrompt.over_budget`), and the caller decides.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from animas_agent_runner.prompt.inputs import PromptInputs
from animas_agent_runner.prompt.policy import (
    TIER_LIMITS,
    RenderContext,
    SectionName,
    Tier,
    Trim,
    selected,
    tier_for,
)
from animas_agent_runner.prompt.sections import RENDERERS
from animas_agent_runner.prompt.tokens import count_tokens

SEPARATOR = "\n\n---\n\n"
"""Between sections (seed 003 §10)."""

MAX_PROMPT_SHARE = 0.6
"""The largest share of the context window the system prompt may take before the guard cuts."""

_MAX_SHRINK_ROUNDS = 8


@dataclasses.dataclass(frozen=True)
class SectionInfo:
    """One section of a built prompt: its name, its size in tokens, and its text."""

    name: SectionName
    tokens: int
    text: str = dataclasses.field(repr=False)


@dataclasses.dataclass(frozen=True)
class SystemPrompt:
    """A built system prompt, with what it is made of (for the cycle's records and for diffs)."""

    text: str
    tier: Tier
    sections: tuple[SectionInfo, ...]
    tokens: int
    """Tokens of the whole text (separators included)."""
    limit: int
    """The most tokens it may use: :data:`MAX_PROMPT_SHARE` of the context window."""
    trim: Trim = dataclasses.field(default_factory=Trim)
    """What the budget guard cut (nothing, by default)."""

    @property
    def over_budget(self) -> bool:
        """Still over the limit after every cut the guard may make."""
        return self.tokens > self.limit

    def section(self, name: SectionName) -> SectionInfo | None:
        """The section called ``name``, when the prompt has it."""
        return next((info for info in self.sections if info.name is name), None)


def prompt_limit(context_window: int) -> int:
    """The token budget of a system prompt for a model with ``context_window`` tokens."""
    return int(context_window * MAX_PROMPT_SHARE)


def build_system_prompt(inputs: PromptInputs, context_window: int) -> SystemPrompt:
    """The system prompt for ``inputs`` on a model with ``context_window`` tokens.

    Pure: the same inputs and window always give the same prompt, so a recorded cycle's prompt
    can be rebuilt and compared (DESIGN §5, invariant 7).

    Raises:
        ValueError: ``context_window`` is not positive.
    """
    tier = tier_for(context_window)
    prompt = _assemble(inputs, tier, Trim(), prompt_limit(context_window))
    for cut in _CUTS:
        if not prompt.over_budget:
            break
        prompt = cut(inputs, prompt)
    return prompt


def _assemble(inputs: PromptInputs, tier: Tier, trim: Trim, limit: int) -> SystemPrompt:
    ctx = RenderContext(tier=tier, limits=TIER_LIMITS[tier], trim=trim)
    sections: list[SectionInfo] = []
    for name in selected(tier, inputs.trigger):
        text = RENDERERS[name](inputs, ctx)
        if text:
            sections.append(SectionInfo(name=name, tokens=count_tokens(text), text=text))
    text = SEPARATOR.join(info.text for info in sections)
    return SystemPrompt(
        text=text, tier=tier, sections=tuple(sections), tokens=count_tokens(text), limit=limit, trim=trim
    )


_Cut = Callable[[PromptInputs, SystemPrompt], SystemPrompt]
"""One step of the budget guard: the prompt rebuilt with one more thing cut."""


def _retrim(inputs: PromptInputs, prompt: SystemPrompt, trim: Trim) -> SystemPrompt:
    return _assemble(inputs, prompt.tier, trim, prompt.limit)


def _cut_skill_tables(inputs: PromptInputs, prompt: SystemPrompt) -> SystemPrompt:
    return _retrim(inputs, prompt, dataclasses.replace(prompt.trim, skill_tables=True))


def _cut_memory_listing(inputs: PromptInputs, prompt: SystemPrompt) -> SystemPrompt:
    return _retrim(inputs, prompt, dataclasses.replace(prompt.trim, memory_listing=True))


def _shrinker(
    name: SectionName, source: Callable[[PromptInputs], str], allow: Callable[[Trim, int], Trim]
) -> _Cut:
    """A cut that shortens one text section just enough, or removes it when nothing fits."""

    def cut(inputs: PromptInputs, prompt: SystemPrompt) -> SystemPrompt:
        if prompt.section(name) is None:
            return prompt
        # Start from the excess, then correct for the heading and the note the cut adds, and
        # for token boundaries that move when text is joined: a few rounds at most.
        allowance = count_tokens(source(inputs)) - (prompt.tokens - prompt.limit)
        for _ in range(_MAX_SHRINK_ROUNDS):
            allowance = max(allowance, 0)
            shrunk = _retrim(inputs, prompt, allow(prompt.trim, allowance))
            if not shrunk.over_budget or allowance == 0:
                return shrunk
            allowance -= max(shrunk.tokens - shrunk.limit, 1)
        return _retrim(inputs, prompt, allow(prompt.trim, 0))

    return cut


def _cut_skill_bodies(inputs: PromptInputs, prompt: SystemPrompt) -> SystemPrompt:
    return _retrim(inputs, prompt, dataclasses.replace(prompt.trim, skill_bodies=True))


_CUTS: tuple[_Cut, ...] = (
    _cut_skill_tables,
    _cut_memory_listing,
    _shrinker(
        SectionName.RECENT_ACTIVITY,
        lambda inputs: inputs.recent_activity,
        lambda trim, tokens: dataclasses.replace(trim, recent_activity_tokens=tokens),
    ),
    _shrinker(
        SectionName.PRIMING,
        lambda inputs: inputs.priming,
        lambda trim, tokens: dataclasses.replace(trim, priming_tokens=tokens),
    ),
    _cut_skill_bodies,
)
"""The budget guard's cuts, in the order they are made (module docstring)."""
