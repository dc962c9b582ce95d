"""Recall: priming before a cycle, deliberate search, and rebuilding the index (request/reply)."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta


class PrimeRequest(msgspec.Struct, frozen=True, kw_only=True):
    """``rpc.priming.prime.<anima>``: what is about to wake the anima."""

    trigger: Annotated[str, Meta(description="message, heartbeat, cron…")] = "message"
    text: Annotated[str, Meta(description="The incoming message (or the heartbeat checklist).")] = ""
    sender: Annotated[str | None, Meta(description="Who is talking, for the sender profile.")] = None
    context_window: Annotated[int, Meta(description="The model's context window in tokens.")] = 128_000
    thread_id: Annotated[str | None, Meta(description="The thread the message belongs to.")] = None
    share_across_people: Annotated[
        bool,
        Meta(
            description="Recent activity may show conversations with other people (an anima that "
            "serves one team); false keeps each person's conversations to that person."
        ),
    ] = False
    cycle_id: Annotated[
        str | None,
        Meta(
            description="The cycle being primed: a background result is shown to one cycle only "
            "(the same cycle again when it is redelivered). None: no background results."
        ),
    ] = None


class PrimeReply(msgspec.Struct, frozen=True, kw_only=True):
    """Memories that surfaced on their own, by channel, within the message type's budget."""

    message_type: str
    budget: int
    sections: dict[str, str] = {}
    """Channel letter (A–F) to Markdown text; empty channels are absent."""
    errors: dict[str, str] = {}
    """Channels that failed or timed out, with the reason (never silently empty)."""
    paths: list[str] = []
    """Memory files that reached the prompt (their access is counted)."""
    tokens: int = 0

    def text(self) -> str:
        """All sections, in channel order, as one Markdown block."""
        return "\n\n".join(self.sections[k] for k in sorted(self.sections) if self.sections[k])


class SearchRequest(msgspec.Struct, frozen=True, kw_only=True):
    """``rpc.priming.search.<anima>``: the search_memory tool."""

    query: str
    scope: str = "all"
    """knowledge, episodes, procedures, skills, activity or all."""
    limit: int = 10


class SearchHit(msgspec.Struct, frozen=True, kw_only=True):
    """One search result: where it is, when it is from, and a snippet."""

    path: str
    heading: str
    date: str | None
    snippet: str
    score: float


class SearchReply(msgspec.Struct, frozen=True, kw_only=True):
    """Search results, best first; ``error`` says why a search failed."""

    hits: list[SearchHit] = []
    error: str | None = None


class ReindexRequest(msgspec.Struct, frozen=True, kw_only=True):
    """``rpc.priming.reindex``: rebuild the index of one anima, or all, from the files."""

    anima: str | None = None


class ReindexReply(msgspec.Struct, frozen=True, kw_only=True):
    """What a reindex did."""

    ok: bool
    animas: list[str] = []
    files: int = 0
    chunks: int = 0
    error: str | None = None
