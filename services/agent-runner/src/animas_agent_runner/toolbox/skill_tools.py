"""Tools over the anima's personal skills (``skills/*.md``, YAML frontmatter + Markdown)."""

from __future__ import annotations

from animas_agent_runner.toolbox.context import ToolContext
from animas_agent_runner.toolbox.errors import ToolFailed
from animas_agent_runner.toolbox.registry import Args, Tool
from animas_contracts import is_valid_anima_name

MAX_LISTED = 50


class ListSkillsArgs(Args, frozen=True, kw_only=True):
    """Arguments of list_skills."""

    pass


class ReadSkillArgs(Args, frozen=True, kw_only=True):
    """Arguments of read_skill."""

    name: str


def skill_description(text: str) -> str:
    """The ``description:`` of a skill's frontmatter, else its first non-heading line."""
    lines = text.splitlines()
    if lines and lines[0].strip() == "---":
        for line in lines[1:]:
            if line.strip() == "---":
                break
            key, _, value = line.partition(":")
            if key.strip() == "description":
                return value.strip().strip("\"'")
    for line in lines:
        if line.strip() and not line.startswith(("#", "---")):
            return line.strip()[:200]
    return ""


async def list_skills(ctx: ToolContext, args: ListSkillsArgs, ordinal: int) -> str:
    """The list_skills tool (see its description below)."""
    names = [e[:-3] for e in await ctx.memory.listing(ctx.anima, "skills") if e.endswith(".md")]
    if not names:
        return "You have no skills yet."
    lines = []
    for name in names[:MAX_LISTED]:
        text = await ctx.memory.read(ctx.anima, f"skills/{name}.md") or ""
        lines.append(f"- {name}: {skill_description(text)}")
    if len(names) > MAX_LISTED:
        lines.append(f"… and {len(names) - MAX_LISTED} more")
    return "\n".join(lines)


async def read_skill(ctx: ToolContext, args: ReadSkillArgs, ordinal: int) -> str:
    """The read_skill tool (see its description below)."""
    name = args.name.strip().removesuffix(".md")
    # Skill names are file names in one folder: the anima-name rule keeps them inside it.
    if not is_valid_anima_name(name):
        raise ToolFailed(f"invalid skill name {args.name!r}")
    text = await ctx.memory.read(ctx.anima, f"skills/{name}.md")
    if text is None:
        raise ToolFailed(f"there is no skill named {name!r}; list_skills shows what you have")
    return text


SKILL_TOOLS = (
    Tool("list_skills", "List your skills with their descriptions.", ListSkillsArgs, list_skills),
    Tool("read_skill", "Read the full text of one of your skills.", ReadSkillArgs, read_skill),
)
