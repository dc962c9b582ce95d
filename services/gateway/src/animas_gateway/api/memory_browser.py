"""An anima's memory for people: its files, search, a person's knowledge edit, an answer's priming.

Files are read through memory-writer (``rpc.memory.read.<anima>``) and searched through priming
(``rpc.priming.search.<anima>``): the gateway has no anima files on its disk. A person's
knowledge edit is an ``anima.file.written`` event whose author is the caller (the API token's
name), answered with memory-writer's verdict; priming indexes it like any applied change.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta
from nats.aio.client import Client
from starlette.requests import Request
from starlette.responses import Response

from animas_contracts import (
    AnimaFileWritten,
    ContractError,
    CycleStarted,
    MemoryReadRequest,
    SearchReply,
    SearchRequest,
    decode_event,
    uuid7,
)
from animas_contracts.subjects import rpc_subject, stored_activity_filter
from animas_core.broker import EventSink
from animas_core.broker_errors import BROKER_UNREACHABLE
from animas_core.config import AnimaWorksConfig
from animas_core.errors import RetryableError
from animas_core.memory_client import MemoryClient
from animas_core.rpc_tracing import traced_request
from animas_core.streams import read_stored
from animas_gateway.api.memory_common import (
    NAME,
    Changes,
    MemoryChange,
    existing,
    handled,
    int_param,
)
from animas_gateway.auth import principal_of
from animas_gateway.directory import AnimaDirectory
from animas_gateway.domain import PRODUCER
from animas_gateway.operations import Operation, Param, decode_body, json_response
from animas_gateway.problems import Problem
from animas_gateway.replies import EventWaiter

TAG = "memory"
SEARCH_SCOPES = ("all", "knowledge", "episodes", "procedures", "skills", "activity")
_KNOWLEDGE_PATH = re.compile(
    r"^knowledge/(?:[A-Za-z0-9_\-][A-Za-z0-9_.\- ]*/)*[A-Za-z0-9_\-][A-Za-z0-9_.\- ]*\.md$"
)


class MemoryEntry(msgspec.Struct, frozen=True, kw_only=True):
    """A file or folder of the anima's directory."""

    path: Annotated[str, Meta(description="Relative to the anima's directory.")]
    kind: Literal["file", "dir"]


class MemoryListing(msgspec.Struct, frozen=True, kw_only=True):
    """A folder's entries, folders and files by name."""

    items: list[MemoryEntry]


class MemoryFile(msgspec.Struct, frozen=True, kw_only=True):
    """A file's text (the first 256 KiB; ``truncated`` says there is more)."""

    path: str
    text: str
    truncated: bool = False


class KnowledgeEdit(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``PUT .../memory/file``: a whole knowledge file, written by the caller."""

    path: Annotated[str, Meta(description="knowledge/<name>.md (folders allowed).")]
    text: str


class MemoryHit(msgspec.Struct, frozen=True, kw_only=True):
    """One search hit."""

    path: str
    heading: str
    text: Annotated[str, Meta(description="A snippet of the matching chunk.")]
    score: float
    memory_type: Annotated[str, Meta(description="knowledge, episodes, procedures, skills or activity.")]
    date: str | None = None


class MemoryHits(msgspec.Struct, frozen=True, kw_only=True):
    """Search hits, best first."""

    items: list[MemoryHit]


class CyclePriming(msgspec.Struct, frozen=True, kw_only=True):
    """What priming gave one cycle of the answer (from its ``cycle.started`` inputs)."""

    cycle_id: str
    time: datetime
    trigger: str
    priming: Annotated[str | None, Meta(description="The priming channels' Markdown, as prompted.")] = None
    recent_activity: str | None = None
    recalled: Annotated[str | None, Meta(description="A tiny model's recalled memories.")] = None
    stored: Annotated[
        bool, Meta(description="The inputs were large and kept in the object store by digest (not shown).")
    ] = False
    digest: str | None = None


class PrimingAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """The cycles that made an answer, each with what priming gave it."""

    correlation_id: str
    items: list[CyclePriming]


def memory_type(path: str) -> str:
    """The kind of memory a path holds (its top folder; activity for the activity log)."""
    top = path.split("/", 1)[0]
    return "activity" if top == "activity_log" else top


def knowledge_path(path: str) -> str:
    """A file under ``knowledge/`` ending in ``.md``, with no ``..`` (422 otherwise)."""
    if not _KNOWLEDGE_PATH.fullmatch(path) or "/../" in f"/{path}/" or "/./" in f"/{path}/":
        raise Problem(422, f"'path' must be a Markdown file under knowledge/, not {path[:80]!r}")
    return path


def cycle_priming(event: CycleStarted) -> CyclePriming:
    """The priming a cycle's recorded inputs carry."""
    base: dict[str, Any] = {"cycle_id": event.id, "time": event.ts, "trigger": str(event.trigger)}
    body = event.inputs
    if body is None:
        return CyclePriming(**base)
    if body.stored or not isinstance(body.inline, dict):
        return CyclePriming(**base, stored=body.stored, digest=body.digest)
    prompt = body.inline.get("prompt_inputs")
    tiny = body.inline.get("tiny_inputs")
    return CyclePriming(
        **base,
        priming=_text(prompt, "priming"),
        recent_activity=_text(prompt, "recent_activity"),
        recalled=_text(tiny, "recalled"),
    )


def _text(section: object, key: str) -> str | None:
    value = section.get(key) if isinstance(section, dict) else None
    return value if isinstance(value, str) else None


class MemoryBrowser:
    """The handlers."""

    def __init__(
        self,
        nc: Client,
        directory: AnimaDirectory,
        changes: Changes,
        config: Callable[[], AnimaWorksConfig],
        *,
        timeout_s: float = 10.0,
    ) -> None:
        self._nc = nc
        self._memory = MemoryClient(nc, timeout_s)
        self._directory = directory
        self._changes = changes
        self._config = config
        self._timeout_s = timeout_s

    async def listing(self, request: Request) -> Response:
        name = await existing(self._directory, request.path_params["name"])
        folder = request.query_params.get("dir", "").strip("/")
        reply = await self._memory.request(name, _read("list", folder))
        if not reply.ok:
            raise Problem(404, reply.error or f"{folder or '.'} is not a folder", title="Not found")
        prefix = f"{folder}/" if folder else ""
        items = [
            MemoryEntry(path=prefix + e.rstrip("/"), kind="dir" if e.endswith("/") else "file")
            for e in reply.entries
        ]
        return json_response(MemoryListing(items=items))

    async def read(self, request: Request) -> Response:
        name = await existing(self._directory, request.path_params["name"])
        path = request.query_params.get("path", "")
        if not path:
            raise Problem(422, "'path' is required")
        reply = await self._memory.request(name, _read("read", path))
        if not reply.ok:
            raise Problem(404, reply.error or f"{path} is not a file", title="Not found")
        return json_response(MemoryFile(path=path, text=reply.content or "", truncated=reply.truncated))

    async def write(self, request: Request) -> Response:
        """A person's knowledge edit: the author is the caller, never the body."""
        name = await existing(self._directory, request.path_params["name"])
        body = decode_body(await request.body(), KnowledgeEdit)
        path = knowledge_path(body.path)
        limit = self._config().api.max_document_bytes
        if len(body.text.encode()) > limit:
            raise Problem(413, f"'text' is over {limit} bytes", title="Content too large")
        event_id = uuid7()
        event = AnimaFileWritten(
            id=event_id,
            anima=name,
            correlation_id=event_id,
            producer=PRODUCER,
            path=path,
            content=body.text,
            author=principal_of(request).name,
        )
        status, answer = await self._changes.submit(event)
        return json_response(answer, status)

    async def search(self, request: Request) -> Response:
        name = await existing(self._directory, request.path_params["name"])
        query = request.query_params.get("q", "").strip()
        if not query:
            raise Problem(422, "'q' is required")
        scope = request.query_params.get("scope", "all")
        if scope not in SEARCH_SCOPES:
            raise Problem(422, f"'scope' must be one of {', '.join(SEARCH_SCOPES)}")
        limit = int_param(request, "limit", 10, 1, 50)
        reply = await search(
            self._nc, name, SearchRequest(query=query, scope=scope, limit=limit), self._timeout_s
        )
        items = [
            MemoryHit(
                path=h.path,
                heading=h.heading,
                text=h.snippet,
                score=h.score,
                memory_type=memory_type(h.path),
                date=h.date,
            )
            for h in reply.hits
        ]
        return json_response(MemoryHits(items=items))

    async def priming(self, request: Request) -> Response:
        name = await existing(self._directory, request.path_params["name"])
        correlation_id = request.query_params.get("correlation_id", "")
        if not correlation_id:
            raise Problem(422, "'correlation_id' is required")
        found: list[CyclePriming] = []
        subject = stored_activity_filter(anima=name, event_type="cycle.started")
        async for msg in read_stored(self._nc.jetstream(), subject):
            try:
                event = decode_event(msg.data)
            except ContractError:
                continue
            if isinstance(event, CycleStarted) and event.correlation_id == correlation_id:
                found.append(cycle_priming(event))
        if not found:
            raise Problem(404, f"no cycle of {name!r} answered {correlation_id!r}", title="Not found")
        return json_response(PrimingAnswer(correlation_id=correlation_id, items=found))

    def operations(self) -> list[Operation]:
        base = "/api/animas/{name}"
        return [
            Operation(
                "GET",
                f"{base}/memory",
                handled(self.listing),
                "List a folder of the anima's directory",
                TAG,
                "admin",
                response=MemoryListing,
                params=(NAME, Param("dir", "query", "The folder ('' for the directory itself).")),
                errors=(404, 503),
            ),
            Operation(
                "GET",
                f"{base}/memory/file",
                handled(self.read),
                "Read one of the anima's files",
                TAG,
                "admin",
                response=MemoryFile,
                params=(NAME, Param("path", "query", "The file, relative to the directory.", required=True)),
                errors=(404, 503),
            ),
            Operation(
                "PUT",
                f"{base}/memory/file",
                handled(self.write),
                "Write a knowledge file (a person's edit; the author is the caller)",
                TAG,
                "admin",
                body=KnowledgeEdit,
                response=MemoryChange,
                params=(NAME,),
                errors=(404, 409, 503),
            ),
            Operation(
                "GET",
                f"{base}/memory/search",
                handled(self.search),
                "Search the anima's memory",
                TAG,
                "admin",
                response=MemoryHits,
                params=(
                    NAME,
                    Param("q", "query", "What to look for.", required=True),
                    Param("scope", "query", f"One of {', '.join(SEARCH_SCOPES)} (default all)."),
                    Param("limit", "query", "Most hits (1..50, default 10).", {"type": "integer"}),
                ),
                errors=(404, 503),
            ),
            Operation(
                "GET",
                f"{base}/priming",
                handled(self.priming),
                "The priming an answer used (from the cycle's recorded inputs)",
                TAG,
                "admin",
                response=PrimingAnswer,
                params=(
                    NAME,
                    Param("correlation_id", "query", "The answer's correlation id.", required=True),
                ),
                errors=(404, 503),
            ),
        ]


async def search(nc: Client, anima: str, request: SearchRequest, timeout_s: float) -> SearchReply:
    """Ask priming to search an anima's memory; an error it reports is a :class:`Problem`."""
    try:
        msg = await traced_request(
            nc, rpc_subject("priming", "search", anima), msgspec.json.encode(request), timeout_s=timeout_s
        )
    except BROKER_UNREACHABLE as exc:
        raise RetryableError(f"priming did not answer a search of {anima}: {exc!r}") from exc
    reply = msgspec.json.decode(msg.data, type=SearchReply)
    if reply.error is not None and not reply.hits:
        refused = reply.error.startswith(("unknown scope", "empty query"))
        raise Problem(422 if refused else 503, f"priming: {reply.error}")
    return reply


def _read(op: str, path: str) -> MemoryReadRequest:
    return MemoryReadRequest(op=op, path=path)


def operations(
    nc: Client,
    publisher: EventSink,
    outcomes: EventWaiter,
    directory: AnimaDirectory,
    config: Callable[[], AnimaWorksConfig],
) -> list[Operation]:
    """The memory browser's routes."""
    return MemoryBrowser(nc, directory, Changes(publisher, outcomes), config).operations()
