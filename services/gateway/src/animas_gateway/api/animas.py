"""The animas and talking to them: list, create, read one, edit it, chat (whole or streamed).

The handlers are :class:`~animas_gateway.admin.AdminApi` and :class:`~animas_gateway.chat.ChatApi`;
this module says what each route takes and answers, so ``/openapi.json`` describes them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import msgspec
from nats.aio.client import Client
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from animas_contracts.names import ANIMA_NAME_MAX_LENGTH, ANIMA_NAME_PATTERN
from animas_core.config import AnimaWorksConfig, ConfigError
from animas_core.errors import RetryableError
from animas_core.memory_client import MemoryClient
from animas_gateway.admin import AdminApi
from animas_gateway.admin_checks import CreateRequest, IdentityRequest, InjectionRequest, StatusRequest
from animas_gateway.chat import ChatApi
from animas_gateway.directory import AnimaDirectory, DirectoryUnavailable
from animas_gateway.domain import ChatRequest
from animas_gateway.operations import Handler, Operation, Param
from animas_gateway.problems import Problem

NAME = Param(
    "name",
    "path",
    "The anima's name.",
    schema={"type": "string", "pattern": ANIMA_NAME_PATTERN, "maxLength": ANIMA_NAME_MAX_LENGTH},
)
"""The ``{name}`` of every per-anima route."""


class AnimaItem(msgspec.Struct, frozen=True, kw_only=True):
    """An anima in the list."""

    name: str
    enabled: bool
    role: str | None


class AnimaList(msgspec.Struct, frozen=True, kw_only=True):
    """``GET /api/animas``."""

    animas: list[AnimaItem]


class AnimaDetail(msgspec.Struct, frozen=True, kw_only=True):
    """``GET /api/animas/{name}``: its settings and the two files that make up who it is."""

    name: str
    role: str | None
    enabled: bool
    supervisor: str | None
    model: str | None
    identity: str | None
    injection: str | None


class ChangeApplied(msgspec.Struct, frozen=True, kw_only=True):
    """memory-writer applied the change: the files it wrote."""

    status: Literal["applied"]
    op_id: str
    paths: list[str]


class ChangeAccepted(msgspec.Struct, frozen=True, kw_only=True):
    """The change is stored but memory-writer did not answer in time; it will be applied."""

    status: Literal["accepted"]
    op_id: str


class ChatReply(msgspec.Struct, frozen=True, kw_only=True):
    """The anima's reply to a chat message."""

    message_id: str
    correlation_id: str
    thread_id: str
    reply: str
    outcome: str
    model: str | None
    reply_id: str
    notice: str | None


class ChatAccepted(msgspec.Struct, frozen=True, kw_only=True):
    """The message is stored; the reply was not ready in time (follow ``correlation_id``)."""

    message_id: str
    correlation_id: str
    thread_id: str
    status: Literal["accepted"]
    detail: str


def operations(
    admin: AdminApi,
    chat: ChatApi,
    directory: AnimaDirectory,
    nc: Client,
    config: Callable[[], AnimaWorksConfig],
    *,
    traced: Callable[[str, Handler], Handler] = lambda _, handler: handler,
) -> list[Operation]:
    """The routes over animas; ``traced`` wraps the chat handlers in a server span."""
    files = MemoryClient(nc)

    async def list_animas(_: Request) -> Response:
        try:
            animas = await directory.animas()
        except DirectoryUnavailable as exc:
            raise Problem(503, str(exc)) from None
        items = [AnimaItem(name=a.name, enabled=a.enabled, role=a.role) for a in animas.values()]
        return JSONResponse(msgspec.to_builtins(AnimaList(animas=items)))

    async def get_anima(request: Request) -> Response:
        name = request.path_params["name"]
        try:
            animas = await directory.including(name)
        except DirectoryUnavailable as exc:
            raise Problem(503, str(exc)) from None
        if name not in animas:
            raise Problem(404, f"no anima named {name!r}")
        summary = animas[name]
        try:
            identity = await files.read(name, "identity.md")
            injection = await files.read(name, "injection.md")
        except RetryableError as exc:
            raise Problem(503, str(exc)) from None
        detail = AnimaDetail(
            name=name,
            role=summary.role,
            enabled=summary.enabled,
            supervisor=_text(summary.status.get("supervisor")),
            model=_model(config, name, summary.status),
            identity=identity,
            injection=injection,
        )
        return JSONResponse(msgspec.to_builtins(detail))

    changed = ((202, ChangeAccepted),)
    chat_route, stream_route = "/api/animas/{name}/chat", "/api/animas/{name}/chat/stream"
    return [
        Operation("GET", "/api/animas", list_animas, "List the animas", "animas", "admin",
                  response=AnimaList, errors=(503,)),
        Operation("POST", "/api/animas", admin.create, "Create an anima (template, character sheet or blank)",
                  "animas", "admin", body=CreateRequest, response=ChangeApplied, status=201, also=changed,
                  errors=(409, 503)),
        Operation("GET", "/api/animas/{name}", get_anima, "An anima: settings, identity and injection",
                  "animas", "admin", response=AnimaDetail, params=(NAME,), errors=(404, 503)),
        Operation("PUT", "/api/animas/{name}/identity", admin.identity,
                  "Replace identity.md (a person's edit; the author is the caller)", "animas", "admin",
                  body=IdentityRequest, response=ChangeApplied, also=changed, params=(NAME,),
                  errors=(404, 409, 503)),
        Operation("PUT", "/api/animas/{name}/injection", admin.injection,
                  "Replace injection.md (a person's edit; the author is the caller)", "animas", "admin",
                  body=InjectionRequest, response=ChangeApplied, also=changed, params=(NAME,),
                  errors=(404, 409, 503)),
        Operation("PATCH", "/api/animas/{name}/status", admin.status,
                  "Enable or disable an anima, or change its supervisor, model or credential", "animas",
                  "admin", body=StatusRequest, response=ChangeApplied, also=changed, params=(NAME,),
                  errors=(404, 409, 503)),
        Operation("POST", chat_route, traced(chat_route, chat.chat), "Send a message and wait for the reply",
                  "chat", "chat", body=ChatRequest, response=ChatReply, also=((202, ChatAccepted),),
                  params=(NAME, _IDEMPOTENCY_KEY), errors=(404, 409, 503)),
        Operation("POST", stream_route, traced(stream_route, chat.stream),
                  "Send a message and stream the anima's output (server-sent events), then the reply",
                  "chat", "chat", body=ChatRequest, media_type="text/event-stream",
                  params=(NAME, _IDEMPOTENCY_KEY), errors=(404, 409, 503)),
    ]  # fmt: skip


_IDEMPOTENCY_KEY = Param(
    "Idempotency-Key",
    "header",
    "Makes retries of this request one message: stored once, answered once.",
)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _model(config: Callable[[], AnimaWorksConfig], name: str, status: dict[str, Any]) -> str | None:
    """The model the anima runs on (config defaults < status.json < config's ``animas``)."""
    try:
        return config().anima(name, status).model
    except ConfigError:
        return _text(status.get("model"))
