"""Gathering what the system prompt is built from: the anima's files, its org, what priming found."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime

from animas_agent_runner.domain import answer_goes_back
from animas_agent_runner.ports import MemoryStore, ToolSpec
from animas_agent_runner.prompt.inputs import OrgMember, PromptInputs, PromptTrigger, SkillInfo
from animas_agent_runner.prompt.resolutions import resolution_log
from animas_agent_runner.toolbox.skill_tools import skill_description
from animas_contracts import AnimaSummary, MessageOrigin, MessageReceived, PrimeReply
from animas_core.config import ModeName

RECENT_ACTIVITY_CHANNEL = "B"
"""Priming's recent-activity channel has its own section in the prompt (seed 003 §10, 9)."""
SKILL_CHANNEL = "D"
COMPANY_VISION = "company/vision.md"
"""The organization's vision, in the shared folder every anima's prompt quotes (seed 003 §10, 3)."""
MAX_SKILLS = 30
MAX_RESOLUTION_SOURCES = 100
"""Task stores read for the resolution log per prompt (one request each, in parallel)."""

_FILES = (
    "identity.md",
    "injection.md",
    "permissions.md",
    "bootstrap.md",
    "specialty_prompt.md",
    "state/current_task.md",
    "state/pending.md",
)


def trigger_of(message: MessageReceived) -> PromptTrigger:
    """A human's message is a chat; another anima's lands in the inbox."""
    return PromptTrigger.INBOX if message.origin is MessageOrigin.ANIMA else PromptTrigger.CHAT


def org_of(
    anima: str, animas: Sequence[AnimaSummary]
) -> tuple[str | None, tuple[OrgMember, ...], tuple[OrgMember, ...]]:
    """Supervisor, subordinates and peers (same supervisor) from every anima's status."""
    supervisors = {a.name: a.status.get("supervisor") for a in animas}
    mine = supervisors.get(anima)
    supervisor = mine if isinstance(mine, str) else None
    others = [a for a in animas if a.name != anima and a.enabled]
    subordinates = tuple(OrgMember(a.name, a.role) for a in others if supervisors.get(a.name) == anima)
    peers = tuple(
        OrgMember(a.name, a.role)
        for a in others
        if supervisors.get(a.name) == supervisor and a.name != supervisor
    )
    return supervisor, subordinates, peers


async def _skills(memory: MemoryStore, anima: str, primed: PrimeReply) -> tuple[SkillInfo, ...]:
    names = [e[:-3] for e in await memory.listing(anima, "skills") if e.endswith(".md")][:MAX_SKILLS]
    texts = await asyncio.gather(*(memory.read(anima, f"skills/{name}.md") for name in names))
    matched_text = primed.sections.get(SKILL_CHANNEL, "")
    return tuple(
        SkillInfo(
            name=name,
            description=skill_description(text or ""),
            body=(text if name in matched_text else None),
        )
        for name, text in zip(names, texts, strict=True)
    )


async def _resolutions(memory: MemoryStore, animas: Sequence[AnimaSummary], now: datetime) -> str:
    """The organization's resolution log; an anima whose tasks cannot be read is left out of it."""
    names = [a.name for a in animas][:MAX_RESOLUTION_SOURCES]
    answers = await asyncio.gather(*(memory.tasks(name) for name in names), return_exceptions=True)
    readable = [(n, a) for n, a in zip(names, answers, strict=True) if not isinstance(a, BaseException)]
    return resolution_log(readable, now)


async def gather_inputs(
    memory: MemoryStore,
    message: MessageReceived,
    primed: PrimeReply,
    *,
    now: datetime,
    mode: ModeName,
    tools: Sequence[ToolSpec],
    workspace: str | None,
    tool_guides: Sequence[str] = (),
    human_notifications: bool = False,
    trigger: PromptTrigger | None = None,
) -> PromptInputs:
    """Read everything the prompt needs, in parallel, through memory-writer."""
    anima = message.anima
    files, tree, skills, animas, vision = await asyncio.gather(
        asyncio.gather(*(memory.read(anima, path) for path in _FILES)),
        memory.tree(anima),
        _skills(memory, anima, primed),
        memory.animas(),
        memory.shared(COMPANY_VISION),
    )
    identity, injection, permissions, bootstrap, specialty, current_task, pending = files
    resolutions = await _resolutions(memory, animas, now)
    supervisor, subordinates, peers = org_of(anima, animas)
    priming = "\n\n".join(
        text
        for channel, text in sorted(primed.sections.items())
        if channel != RECENT_ACTIVITY_CHANNEL and text
    )
    return PromptInputs(
        anima=anima,
        now=now,
        trigger=trigger or trigger_of(message),
        mode=mode,
        workspace=workspace or "(no workspace is configured)",
        identity=identity or "",
        injection=injection or "",
        permissions=permissions or "",
        bootstrap=bootstrap,
        vision=vision,
        specialty=specialty,
        current_task=current_task or "",
        pending=pending or "",
        resolutions=resolutions,
        recent_activity=primed.sections.get(RECENT_ACTIVITY_CHANNEL, ""),
        priming=priming,
        memory_listing=tuple(sorted(tree)),
        skills=skills,
        tool_names=tuple(spec.name for spec in tools),
        tool_guides=tuple(tool_guides),
        supervisor=supervisor,
        subordinates=subordinates,
        peers=peers,
        human_notifications=human_notifications,
        message_kind=message.kind.value,
        task_description=message.text if trigger is PromptTrigger.TASK else None,
        answers_to=message.sender if answer_goes_back(message) else None,
    )
