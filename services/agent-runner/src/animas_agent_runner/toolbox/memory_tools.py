"""Tools over the anima's own memory: recall, read, write, remember, and the episode log.

Reads go to memory-writer and priming by request/reply; every change is a ``memory.op.requested``
event that memory-writer applies or rejects, and the tool waits for that answer so the model
learns whether its write happened. No answer in time is not an answer: the call is retried and
then fails the cycle (toolbox/effects.py).
"""

from __future__ import annotations

import re

from animas_agent_runner.domain import PRODUCER
from animas_agent_runner.toolbox.context import ToolContext
from animas_agent_runner.toolbox.effects import EffectNotConfirmed
from animas_agent_runner.toolbox.errors import ToolDenied, ToolFailed
from animas_agent_runner.toolbox.registry import Args, Tool
from animas_contracts import (
    AppendEpisode,
    MemoryOp,
    MemoryOpRequested,
    SearchRequest,
    WriteFile,
    WriteKnowledge,
)
from animas_core.permissions import NEVER_SELF_MODIFIABLE, PROTECTED_FILES

SEARCH_SCOPES = ("all", "knowledge", "episodes", "procedures", "skills", "activity")


class SearchMemoryArgs(Args, frozen=True, kw_only=True):
    """Arguments of search_memory."""

    query: str
    scope: str = "all"
    limit: int = 5


class ReadMemoryFileArgs(Args, frozen=True, kw_only=True):
    """Arguments of read_memory_file."""

    path: str


class WriteMemoryFileArgs(Args, frozen=True, kw_only=True):
    """Arguments of write_memory_file."""

    path: str
    content: str


class RememberArgs(Args, frozen=True, kw_only=True):
    """Arguments of remember."""

    fact: str
    topic: str = "knowledge"
    important: bool = False


class AppendEpisodeArgs(Args, frozen=True, kw_only=True):
    """Arguments of append_episode."""

    title: str
    decision: str
    result: str
    lesson: str = "None"


async def search_memory(ctx: ToolContext, args: SearchMemoryArgs, ordinal: int) -> str:
    """Deliberate recall through priming's index."""
    if args.scope not in SEARCH_SCOPES:
        raise ToolFailed(f"scope must be one of {', '.join(SEARCH_SCOPES)}")
    limit = max(1, min(args.limit, 20))
    reply = await ctx.search.search(ctx.anima, SearchRequest(query=args.query, scope=args.scope, limit=limit))
    if reply.error:
        raise ToolFailed(f"search failed: {reply.error}")
    if not reply.hits:
        return f"No memories match {args.query!r}."
    lines = [f"{len(reply.hits)} result(s) for {args.query!r}:"]
    for hit in reply.hits:
        when = f" ({hit.date})" if hit.date else ""
        lines.append(f"- {hit.path}{when} — {hit.heading}: {hit.snippet}")
    return "\n".join(lines)


async def read_memory_file(ctx: ToolContext, args: ReadMemoryFileArgs, ordinal: int) -> str:
    """One file of the anima's own directory."""
    text = await ctx.memory.read(ctx.anima, args.path)
    if text is None:
        raise ToolFailed(f"{args.path} does not exist in your memory (or is not a readable file)")
    return text


def check_protected(ctx: ToolContext, path: str) -> None:
    """Refuse protected files before asking memory-writer (which refuses them too)."""
    clean = path.strip().lstrip("./")
    if clean in NEVER_SELF_MODIFIABLE:
        raise ToolDenied(f"{clean} changes only through consolidation or a person, never from a cycle")
    if clean in PROTECTED_FILES and clean not in ctx.permissions.self_modifiable:
        raise ToolDenied(f"{clean} is protected: permissions.md does not list it under Self-Modifiable Files")


async def request_op(
    ctx: ToolContext, op: MemoryOp, ordinal: int, kind: str = "memory.op"
) -> tuple[str, ...]:
    """Ask memory-writer for ``op`` and wait for its answer; a rejection is a tool error.

    ``kind`` tells apart the effects of one call that asks for more than one operation.
    """
    request = MemoryOpRequested(
        id=ctx.effect_id(ordinal, kind),
        anima=ctx.anima,
        correlation_id=ctx.correlation_id,
        causation_id=ctx.cycle_id,
        producer=PRODUCER,
        op=op,
        cycle_id=ctx.cycle_id,
    )
    outcome = await ctx.ops.apply(request, ctx.op_timeout_s)
    if outcome.applied is None:
        # Not "failed": the change may be stored and applied later. It is asked again under the
        # same id, then the cycle fails; the model is told neither "done" nor "failed" meanwhile.
        raise EffectNotConfirmed(f"memory-writer did not confirm operation {request.id} in time")
    if not outcome.applied:
        raise ToolFailed(f"memory-writer refused: {outcome.reason}")
    return outcome.paths


async def write_memory_file(ctx: ToolContext, args: WriteMemoryFileArgs, ordinal: int) -> str:
    """Write a whole file in the anima's memory folders."""
    check_protected(ctx, args.path)
    paths = await request_op(ctx, WriteFile(path=args.path, content=args.content), ordinal)
    return f"Wrote {', '.join(paths) or args.path}."


_SLUG = re.compile(r"[^a-z0-9]+")


def topic_path(topic: str) -> str:
    """``knowledge/<slug>.md`` for a topic, e.g. "Response guidelines" -> knowledge/response-guidelines.md."""
    slug = _SLUG.sub("-", topic.lower()).strip("-")[:60] or "knowledge"
    return f"knowledge/{slug}.md"


def _body(text: str | None) -> str:
    """A knowledge file without its frontmatter (memory-writer keeps the frontmatter itself)."""
    if not text:
        return ""
    if text.startswith("---\n"):
        end = text.find("\n---\n", 4)
        if end != -1:
            return text[end + 5 :]
    return text


async def remember(ctx: ToolContext, args: RememberArgs, ordinal: int) -> str:
    """Add one fact or lesson to a knowledge file (created on first use)."""
    fact = " ".join(args.fact.split())
    if not fact:
        raise ToolFailed("fact is empty")
    path = topic_path(args.topic)
    body = _body(await ctx.memory.read(ctx.anima, path)).rstrip()
    if not body:
        body = f"# {args.topic.strip() or 'Knowledge'}"
    line = f"- {'[IMPORTANT] ' if args.important else ''}{fact}"
    await request_op(ctx, WriteKnowledge(path=path, content=f"{body}\n{line}\n"), ordinal)
    ctx.effects.remembered.append(fact)
    return f"Remembered in {path}: {line}"


async def append_episode(ctx: ToolContext, args: AppendEpisodeArgs, ordinal: int) -> str:
    """The anima writes its own entry in today's episode log (seed 003 §4.5)."""
    op = AppendEpisode(
        title=args.title,
        at=ctx.now(),
        trigger=ctx.trigger,
        decision=args.decision,
        result=args.result,
        lesson=args.lesson or "None",
    )
    paths = await request_op(ctx, op, ordinal)
    ctx.effects.episode_written = True
    return f"Recorded in {', '.join(paths) or 'today’s episode'}."


MEMORY_TOOLS = (
    Tool(
        "search_memory",
        "Search your long-term memory (knowledge, episodes, procedures, skills, activity). "
        "Search before deciding anything that past experience could inform.",
        SearchMemoryArgs,
        search_memory,
    ),
    Tool(
        "read_memory_file",
        "Read one file of your memory by its path, e.g. knowledge/contacts.md or episodes/2026-02-12.md.",
        ReadMemoryFileArgs,
        read_memory_file,
    ),
    Tool(
        "write_memory_file",
        "Write a whole file under knowledge/, procedures/, skills/ or state/ of your memory.",
        WriteMemoryFileArgs,
        write_memory_file,
    ),
    Tool(
        "remember",
        "Keep a fact or lesson: appends one line to knowledge/<topic>.md. "
        "Set important for lessons that must never be forgotten ([IMPORTANT]).",
        RememberArgs,
        remember,
    ),
    Tool(
        "append_episode",
        "Record what you just did in today's episode log: a title, your decision, the result, a lesson.",
        AppendEpisodeArgs,
        append_episode,
    ),
)
