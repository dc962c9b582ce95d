"""The system prompt builder: pure functions from :class:`PromptInputs` to a :class:`SystemPrompt`.

The sections follow seed 003 §10, chosen by context-window tier and trigger (seed 004; see
:mod:`.policy`), measured with a real tokenizer (:mod:`.tokens`) and kept within a share of the
window by a budget guard (:mod:`.builder`). The fixed texts are Markdown files in ``templates/``.
"""

from animas_agent_runner.prompt.builder import (
    MAX_PROMPT_SHARE,
    SEPARATOR,
    SectionInfo,
    SystemPrompt,
    build_system_prompt,
    prompt_limit,
)
from animas_agent_runner.prompt.inputs import (
    INPUTS_VERSION,
    OrgMember,
    PromptInputs,
    PromptTrigger,
    SkillInfo,
)
from animas_agent_runner.prompt.policy import (
    T1_MIN_WINDOW,
    T2_MIN_WINDOW,
    T3_MIN_WINDOW,
    TIER_LIMITS,
    TIER_OMITS,
    TRIGGER_OMITS,
    SectionName,
    Tier,
    Trim,
    tier_for,
)
from animas_agent_runner.prompt.tokens import count_tokens

__all__ = [
    "INPUTS_VERSION",
    "MAX_PROMPT_SHARE",
    "SEPARATOR",
    "T1_MIN_WINDOW",
    "T2_MIN_WINDOW",
    "T3_MIN_WINDOW",
    "TIER_LIMITS",
    "TIER_OMITS",
    "TRIGGER_OMITS",
    "OrgMember",
    "PromptInputs",
    "PromptTrigger",
    "SectionInfo",
    "SectionName",
    "SkillInfo",
    "SystemPrompt",
    "Tier",
    "Trim",
    "build_system_prompt",
    "count_tokens",
    "prompt_limit",
    "tier_for",
]
