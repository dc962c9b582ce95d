"""The section renderers, one per :class:`~animas_agent_runner.prompt.policy.SectionName`."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from animas_agent_runner.prompt.inputs import PromptInputs
from animas_agent_runner.prompt.policy import RenderContext, SectionName
from animas_agent_runner.prompt.sections import conduct, context, memory

Renderer = Callable[[PromptInputs, RenderContext], "str | None"]

S = SectionName

RENDERERS: Mapping[SectionName, Renderer] = {
    S.ENVIRONMENT: context.environment,
    S.BOOTSTRAP: context.bootstrap,
    S.VISION: context.vision,
    S.IDENTITY: context.identity,
    S.INJECTION: context.injection,
    S.SPECIALTY: context.specialty,
    S.PERMISSIONS: context.permissions,
    S.STATE: context.state,
    S.TASK: context.task,
    S.RECENT_ACTIVITY: context.recent_activity,
    S.PRIMING: context.priming,
    S.MEMORY_GUIDE: memory.memory_guide,
    S.COMMON_KNOWLEDGE: memory.common_knowledge,
    S.MATCHED_SKILLS: memory.matched_skills,
    S.PERSONAL_SKILLS: memory.personal_skills,
    S.COMMON_SKILLS: memory.common_skills,
    S.HIRING_RULES: memory.hiring_rules,
    S.TOOLS: memory.tools,
    S.TOOL_LOOP_REFLECTION: conduct.tool_loop_reflection,
    S.ASSISTED_MODE: conduct.assisted_mode,
    S.EMOTION: conduct.emotion,
    S.HIRING_CONTEXT: conduct.hiring_context,
    S.BEHAVIOUR_RULES: conduct.behaviour_rules,
    S.ORG_CONTEXT: conduct.org_context,
    S.MESSAGING: conduct.messaging,
    S.HUMAN_NOTIFICATION: conduct.human_notification,
}
"""Every section's renderer; a test checks that no section lacks one."""

__all__ = ["RENDERERS", "Renderer"]
