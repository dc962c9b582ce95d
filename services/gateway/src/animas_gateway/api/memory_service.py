"""Memory for other applications (seed 002): one anima per external id, its events, its memory pack.

- ``POST /api/memory/animas`` gets or creates the anima bound to an application's id: its name is
  derived from the id (:func:`~animas_gateway.api.memory_pack.external_anima_name`), it is created
  blank like ``POST /api/animas`` with the id recorded in status.json and identity.md and no
  heartbeat (the application calls its model itself), and the creating event's id is derived from
  the id too, so a repeated or concurrent call is one creation.
- ``POST /api/memory/{anima}/events`` stores each event as one ``memory.extracted`` event;
  memory-writer appends it to the episode file of the day it happened, no cycle runs, and priming
  indexes it. An event's own id makes a repeat a no-op.
- ``GET /api/memory/{anima}/pack`` gathers identity, the session's entries, knowledge and
  long-term memories for a query (priming's search) and the present in the anima's zone, trimmed
  to a token budget (:func:`~animas_gateway.api.memory_pack.build_pack`).

Each anima's memory is its own: every read and search names the anima, and nothing here reads
across animas.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import datetime

from nats.aio.client import Client
from starlette.requests import Request
from starlette.responses import Response

from animas_contracts import AnimaCreated, MemoryExtracted, MemoryReadRequest, SearchRequest, uuid7
from animas_core.anima_files import AnimaSpec, blank_files
from animas_core.broker import EventSink
from animas_core.config import AnimaWorksConfig
from animas_core.memory_client import MemoryClient
from animas_core.schedules.anima_zone import anima_zone
from animas_gateway.api import memory_pack as mp
from animas_gateway.api.memory_browser import search
from animas_gateway.api.memory_common import Changes, existing, handled, int_param
from animas_gateway.api.tokens import count_tokens, truncate_tokens
from animas_gateway.directory import AnimaDirectory
from animas_gateway.domain import PRODUCER
from animas_gateway.operations import Operation, Param, decode_body, json_response
from animas_gateway.problems import Problem
from animas_gateway.replies import EventWaiter

TAG = "memory for applications"
ANIMA = Param("anima", "path", "The anima (as POST /api/memory/animas named it).")
DEFAULT_MAX_TOKENS = 2000
SESSION_FILES = 10
"""Newest day files a session's entries are gathered from."""
SEARCH_LIMIT = 20

Clock = Callable[[], datetime]


def external_files(name: str, external_id: str, display: str | None) -> dict[str, str]:
    """A blank anima's files, with the external id (and display name) written into them."""
    files = blank_files(AnimaSpec(name=name))
    status = json.loads(files["status.json"])
    status["external_id"] = external_id
    if display:
        status["display_name"] = display
    files["status.json"] = json.dumps(status, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    heading, _, rest = files["identity.md"].partition("\n")
    about = f"\nMemory of {display!r}; external id `{external_id}`.\n" if display else ""
    about = about or f"\nMemory for the external id `{external_id}`.\n"
    files["identity.md"] = f"{heading}\n{about}{rest}"
    # No heartbeat: the application calls the model itself; the anima's memory still consolidates.
    files["heartbeat.md"] = (
        f"# Heartbeat: {name}\n\nNo heartbeat: this anima keeps the memory of another application "
        "and wakes only when asked. Add an `## Execution Interval` section to give it one.\n"
    )
    return files


class MemoryService:
    """The handlers."""

    def __init__(
        self,
        nc: Client,
        publisher: EventSink,
        directory: AnimaDirectory,
        changes: Changes,
        config: Callable[[], AnimaWorksConfig],
        clock: Clock,
        *,
        timeout_s: float = 10.0,
    ) -> None:
        self._nc = nc
        self._publisher = publisher
        self._memory = MemoryClient(nc, timeout_s)
        self._directory = directory
        self._changes = changes
        self._config = config
        self._clock = clock
        self._timeout_s = timeout_s

    async def anima(self, request: Request) -> Response:
        """Get or create the anima bound to an external id."""
        body = decode_body(await request.body(), mp.ExternalAnimaRequest)
        if any(ord(c) < 32 for c in body.external_id + (body.name or "")):
            raise Problem(422, "'external_id' and 'name' must not contain control characters")
        name = mp.external_anima_name(body.external_id)
        if await self._bound(name, body.external_id):
            return json_response(mp.ExternalAnima(anima=name, external_id=body.external_id, created=False))
        event_id = mp.creation_id(body.external_id)
        event = AnimaCreated(
            id=event_id,
            anima=name,
            correlation_id=event_id,
            producer=PRODUCER,
            source="blank",
            files=external_files(name, body.external_id, body.name),
        )
        try:
            status, _ = await self._changes.submit(event)
        except Problem as exc:
            # Another call created it a moment ago (its own event, or this one already applied).
            if exc.status == 409 and await self._bound(name, body.external_id, fresh=True):
                return json_response(
                    mp.ExternalAnima(anima=name, external_id=body.external_id, created=False)
                )
            raise
        answer = mp.ExternalAnima(anima=name, external_id=body.external_id, created=True)
        return json_response(answer, 201 if status == 200 else status)

    async def _bound(self, name: str, external_id: str, *, fresh: bool = False) -> bool:
        """Whether ``name`` exists for ``external_id`` (409 if it exists for another id)."""
        animas = await self._directory.animas(fresh=True) if fresh else await self._directory.including(name)
        found = animas.get(name)
        if found is None:
            return False
        if found.status.get("external_id") != external_id:
            raise Problem(409, f"the anima {name!r} belongs to another external id", title="Conflict")
        return True

    async def events(self, request: Request) -> Response:
        """Store each event as one ``memory.extracted`` event, in order."""
        name = await existing(self._directory, request.path_params["anima"])
        body = decode_body(await request.body(), mp.ExtractedEvents)
        now = self._clock()
        extracted: list[MemoryExtracted] = []
        for index, item in enumerate(body.events):
            at = item.time or now
            if at.tzinfo is None or at.utcoffset() is None:
                raise Problem(422, f"events[{index}].time needs a UTC offset (e.g. 2025-01-31T09:00:00Z)")
            event_id = mp.extracted_id(name, item.id, uuid7)
            extracted.append(
                MemoryExtracted(
                    id=event_id,
                    anima=name,
                    correlation_id=event_id,
                    producer=PRODUCER,
                    kind=item.type,
                    content=item.content,
                    at=at,
                    session_id=item.session_id,
                    author=item.author,
                )
            )
        for event in extracted:  # one at a time: the day files get them in this order
            await self._publisher.publish(event)
        answer = mp.ExtractedAccepted(accepted=len(extracted), event_ids=[e.id for e in extracted])
        return json_response(answer, 202)

    async def pack(self, request: Request) -> Response:
        """The memory pack for a prompt, within ``max_tokens``."""
        name = await existing(self._directory, request.path_params["anima"])
        query = request.query_params.get("query", "").strip()
        session_id = request.query_params.get("session_id", "").strip()
        max_tokens = int_param(request, "max_tokens", DEFAULT_MAX_TOKENS, 100, 100_000)
        identity, session, knowledge, long_term, now = await asyncio.gather(
            self._memory.read(name, "identity.md"),
            self._session(name, session_id),
            self._search(name, query, "knowledge"),
            self._search(name, query, "episodes"),
            self._now(name),
        )
        if not query:
            knowledge = await self._knowledge_files(name)
        seen = {(item.path, item.heading) for item in session}
        long_term = [item for item in long_term if (item.path, item.heading) not in seen]
        pack = mp.build_pack(
            identity=identity or "",
            session=session,
            knowledge=knowledge,
            long_term=long_term,
            now=mp.temporal(now),
            max_tokens=max_tokens,
            count=count_tokens,
            truncate=truncate_tokens,
        )
        return json_response(pack)

    async def _session(self, name: str, session_id: str) -> list[mp.PackedMemory]:
        if not session_id:
            return []
        reply = await self._memory.request(
            name, MemoryReadRequest(op="grep", path="episodes", pattern=mp.session_marker(session_id))
        )
        paths = sorted({m.path for m in reply.matches})[-SESSION_FILES:]
        texts = await asyncio.gather(*(self._memory.read(name, p) for p in paths))
        return mp.session_entries({p: t for p, t in zip(paths, texts, strict=True) if t}, session_id)

    async def _search(self, name: str, query: str, scope: str) -> list[mp.PackedMemory]:
        if not query:
            return []
        reply = await search(
            self._nc, name, SearchRequest(query=query, scope=scope, limit=SEARCH_LIMIT), self._timeout_s
        )
        return [
            mp.PackedMemory(path=h.path, heading=h.heading, text=h.snippet, date=h.date, score=h.score)
            for h in reply.hits
        ]

    async def _knowledge_files(self, name: str) -> list[mp.PackedMemory]:
        """Without a query: the knowledge files themselves, in name order."""
        names = [e for e in await self._memory.listing(name, "knowledge") if e.endswith(".md")][:SEARCH_LIMIT]
        texts = await asyncio.gather(*(self._memory.read(name, f"knowledge/{n}") for n in names))
        return [
            mp.PackedMemory(path=f"knowledge/{n}", heading=n.removesuffix(".md"), text=t.strip())
            for n, t in zip(names, texts, strict=True)
            if t and t.strip()
        ]

    async def _now(self, name: str) -> datetime:
        animas = await self._directory.including(name)
        summary = animas.get(name)
        zone, _ = anima_zone(name, summary.status if summary else {}, self._config())
        return self._clock().astimezone(zone)

    def operations(self) -> list[Operation]:
        return [
            Operation(
                "POST",
                "/api/memory/animas",
                handled(self.anima),
                "Get or create the anima bound to an application's id",
                TAG,
                "admin",
                body=mp.ExternalAnimaRequest,
                response=mp.ExternalAnima,
                status=201,
                # 200: it existed already (created false); 202: memory-writer had not answered yet.
                also=((200, mp.ExternalAnima), (202, mp.ExternalAnima)),
                errors=(409, 503),
            ),
            Operation(
                "POST",
                "/api/memory/{anima}/events",
                handled(self.events),
                "Store events as the anima's memories (one episode entry each; no cycle runs)",
                TAG,
                "admin",
                body=mp.ExtractedEvents,
                response=mp.ExtractedAccepted,
                status=202,
                params=(ANIMA,),
                errors=(404, 503),
            ),
            Operation(
                "GET",
                "/api/memory/{anima}/pack",
                handled(self.pack),
                "A memory pack for a prompt: identity, session, knowledge, long-term, the present",
                TAG,
                "admin",
                response=mp.MemoryPack,
                params=(
                    ANIMA,
                    Param("query", "query", "What the prompt is about (long-term memories and knowledge)."),
                    Param("session_id", "query", "The session whose recent memories to include."),
                    Param(
                        "max_tokens",
                        "query",
                        f"The pack's budget in cl100k_base tokens (100..100000, "
                        f"default {DEFAULT_MAX_TOKENS}).",
                        {"type": "integer"},
                    ),
                ),
                errors=(404, 503),
            ),
        ]


def operations(
    nc: Client,
    publisher: EventSink,
    outcomes: EventWaiter,
    directory: AnimaDirectory,
    config: Callable[[], AnimaWorksConfig],
    clock: Clock,
) -> list[Operation]:
    """Seed 002's routes."""
    return MemoryService(nc, publisher, directory, Changes(publisher, outcomes), config, clock).operations()
