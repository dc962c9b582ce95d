"""Sections 11–17 (seed 003 §10): the memory guide, shared reference, skills and tools."""

from __future__ import annotations

from animas_agent_runner.prompt.inputs import PromptInputs, SkillInfo
from animas_agent_runner.prompt.markdown import cell, code_list, heading, present
from animas_agent_runner.prompt.policy import RenderContext
from animas_agent_runner.prompt.templates import render

HIRING_SKILL = "newstaff"
"""The skill whose presence brings in the hiring rules (section 16)."""


def memory_guide(inputs: PromptInputs, ctx: RenderContext) -> str | None:
    """11. How memory works, and which files the anima has (bounded by tier and budget)."""
    guide = render("memory_guide")
    paths = inputs.memory_listing
    if not paths:
        return f"{guide}\n\nYou have no memory files yet."
    if ctx.trim.memory_listing:
        return f"{guide}\n\n_(You have {len(paths)} memory files; search to find them.)_"
    limit = ctx.limits.memory_listing
    shown = paths if limit is None else paths[:limit]
    lines = [f"- `{path}`" for path in shown]
    if len(shown) < len(paths):
        lines.append(f"- … and {len(paths) - len(shown)} more (search to find them)")
    return f"{guide}\n\n## Your memory files\n\n" + "\n".join(lines)


def common_knowledge(inputs: PromptInputs, ctx: RenderContext) -> str | None:
    """12. Where the organization's shared reference lives."""
    hint = present(inputs.common_knowledge)
    return heading("Shared reference", hint) if hint else None


def matched_skills(inputs: PromptInputs, ctx: RenderContext) -> str | None:
    """13. The full text of the skills matched to this message (named only when trimmed)."""
    matched = [skill for skill in inputs.skills if skill.body is not None and skill.body.strip()]
    if not matched:
        return None
    if ctx.trim.skill_bodies:
        lines = [f"- **{skill.name}**: {cell(skill.description)}" for skill in matched]
        return heading(
            "Skills for this message",
            "These skills match this message; their text did not fit here, so look them up before acting.",
            "\n".join(lines),
        )
    parts = [f"## {skill.name}\n\n{(skill.body or '').strip()}" for skill in matched]
    return heading("Skills for this message", "Apply these skills; they match this message.", *parts)


def _table(title: str, skills: list[SkillInfo], ctx: RenderContext) -> str | None:
    if not skills or ctx.trim.skill_tables:
        return None
    limit = ctx.limits.skill_rows
    shown = skills if limit is None else skills[:limit]
    rows = ["| Skill | Use it for |", "|---|---|"]
    rows += [f"| {cell(s.name)} | {cell(s.description, ctx.limits.skill_description_chars)} |" for s in shown]
    hidden = len(skills) - len(shown)
    more = f"… and {hidden} more (`list_skills` shows them all)." if hidden else None
    return heading(title, "\n".join(rows), more)


def _unmatched(inputs: PromptInputs, *, common: bool) -> list[SkillInfo]:
    return [s for s in inputs.skills if s.common is common and not (s.body and s.body.strip())]


def personal_skills(inputs: PromptInputs, ctx: RenderContext) -> str | None:
    """14. The anima's own skills that did not match this message, as a table."""
    return _table("Your other skills", _unmatched(inputs, common=False), ctx)


def common_skills(inputs: PromptInputs, ctx: RenderContext) -> str | None:
    """15. Organization-wide skills that did not match this message, as a table."""
    return _table("Common skills", _unmatched(inputs, common=True), ctx)


def hiring_rules(inputs: PromptInputs, ctx: RenderContext) -> str | None:
    """16. How hiring is proposed, only when the anima has the hiring skill."""
    if not any(skill.name == HIRING_SKILL for skill in inputs.skills):
        return None
    return render("hiring_rules", skill=HIRING_SKILL)


def tools(inputs: PromptInputs, ctx: RenderContext) -> str | None:
    """17. The tools this cycle offers (tool-loop modes; assisted mode has none)."""
    if inputs.mode == "assisted" or not inputs.tool_names:
        return None
    listed = code_list(inputs.tool_names)
    if inputs.tool_guides:
        listed += "\n\n" + "\n".join(f"- {guide}" for guide in inputs.tool_guides)
    return render("tools", tools=listed)
