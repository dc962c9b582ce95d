"""People's changes through the API: create an anima, enable or disable it, edit identity or injection.

The gateway publishes them as events (its NATS user may publish ``anima.*`` and
``identity.*``) and answers with memory-writer's verdict. Every value that would land in an
anima's files is checked first (:mod:`animas_gateway.admin_checks`): names and supervisors name
existing animas, models and credentials are what the system can use, text carries no control
characters; and the author of an identity edit is the caller (the API token's name), never what
the request says.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from animas_contracts import (
    AnimaCreated,
    AnimaFileWritten,
    AnimaStatusChanged,
    Event,
    IdentityRevised,
    MemoryOpApplied,
    MemoryOpRejected,
    uuid7,
)
from animas_core.anima_files import AnimaSpec, blank_files, parse_character_sheet, template_files
from animas_core.broker import EventSink
from animas_core.character_sheet import CharacterSheetError
from animas_core.config import AnimaWorksConfig
from animas_gateway import admin_checks as check
from animas_gateway import fields
from animas_gateway.admin_checks import (
    CreateRequest,
    IdentityRequest,
    InjectionRequest,
    Refused,
    StatusRequest,
)
from animas_gateway.auth import principal_of
from animas_gateway.directory import AnimaDirectory, DirectoryUnavailable
from animas_gateway.domain import PRODUCER
from animas_gateway.problems import problem
from animas_gateway.replies import EventWaiter


class AdminApi:
    """The handlers; each checks, publishes one event and waits for memory-writer's answer."""

    def __init__(
        self,
        publisher: EventSink,
        outcomes: EventWaiter,
        directory: AnimaDirectory,
        config: Callable[[], AnimaWorksConfig],
        timeout_s: float = 30.0,
    ) -> None:
        self._publisher = publisher
        self._outcomes = outcomes
        self._directory = directory
        self._config = config
        self._timeout_s = timeout_s

    async def create(self, request: Request) -> JSONResponse:
        """Create an anima from a template, a character sheet, or blank."""
        try:
            event = await self._created(await request.body())
        except Refused as exc:
            return problem(exc.status, str(exc))
        except DirectoryUnavailable as exc:
            return problem(503, str(exc))
        return await self._change(event, success=201)

    async def identity(self, request: Request) -> JSONResponse:
        """Replace identity.md (a person's edit; the author is the caller)."""
        try:
            name = check.anima_name(request.path_params["name"])
            body = check.decode(await request.body(), IdentityRequest)
            if body.author is not None:
                raise Refused(422, "'author' is not accepted: the author of an edit is the API token's name")
            limit = self._config().api.max_document_bytes
            check.field_value(lambda: fields.text("content", body.content, max_bytes=limit))
            check.field_value(lambda: fields.one_line("reason", body.reason, fields.MAX_REASON_CHARS))
            await self._existing(name)
        except Refused as exc:
            return problem(exc.status, str(exc))
        except DirectoryUnavailable as exc:
            return problem(503, str(exc))
        event_id = uuid7()
        event = IdentityRevised(
            id=event_id,
            anima=name,
            correlation_id=event_id,
            producer=PRODUCER,
            content=body.content,
            author=principal_of(request).name,
            reason=body.reason,
        )
        return await self._change(event)

    async def injection(self, request: Request) -> JSONResponse:
        """Replace injection.md (a person's edit, recorded as ``anima.file.written`` by the caller)."""
        try:
            name = check.anima_name(request.path_params["name"])
            body = check.decode(await request.body(), InjectionRequest)
            limit = self._config().api.max_document_bytes
            if body.content:  # an empty injection.md is allowed: it injects nothing
                check.field_value(lambda: fields.text("content", body.content, max_bytes=limit))
            await self._existing(name)
        except Refused as exc:
            return problem(exc.status, str(exc))
        except DirectoryUnavailable as exc:
            return problem(503, str(exc))
        event_id = uuid7()
        event = AnimaFileWritten(
            id=event_id,
            anima=name,
            correlation_id=event_id,
            producer=PRODUCER,
            path="injection.md",
            content=body.content,
            author=principal_of(request).name,
        )
        return await self._change(event)

    async def status(self, request: Request) -> JSONResponse:
        """Change status.json fields (enable, disable, supervisor, model, credential)."""
        try:
            name = check.anima_name(request.path_params["name"])
            body = check.decode(await request.body(), StatusRequest)
            changes: dict[str, Any] = {k: v for k, v in msgspec_fields(body).items() if v is not None}
            if not changes:
                raise Refused(422, "nothing to change")
            if body.model is not None:
                check.model(body.model)
            if body.credential is not None:
                check.credential(body.credential, self._config())
            animas = await self._existing(name, *([body.supervisor] if body.supervisor else []))
            if body.supervisor is not None:
                check.supervisor(body.supervisor, name, animas)
        except Refused as exc:
            return problem(exc.status, str(exc))
        except DirectoryUnavailable as exc:
            return problem(503, str(exc))
        event_id = uuid7()
        event = AnimaStatusChanged(
            id=event_id, anima=name, correlation_id=event_id, producer=PRODUCER, changes=changes
        )
        return await self._change(event)

    async def _created(self, body: bytes) -> AnimaCreated:
        request = check.decode(body, CreateRequest)
        name = check.anima_name(request.name)
        config = self._config()
        try:
            if request.character_sheet is not None:
                if request.template is not None or request.supervisor is not None:
                    raise Refused(422, "a character sheet names its own role and supervisor (## Settings)")
                limit = config.api.max_document_bytes
                check.field_value(
                    lambda: fields.text("character_sheet", request.character_sheet or "", max_bytes=limit)
                )
                spec, files = parse_character_sheet(request.character_sheet, name=name)
                source = "character-sheet"
            else:
                spec = AnimaSpec(name=name, role=request.template, supervisor=request.supervisor)
                files = template_files(spec, request.template) if request.template else blank_files(spec)
                source = f"template:{request.template}" if request.template else "blank"
        except (CharacterSheetError, ValueError) as exc:
            raise Refused(422, str(exc)) from None
        wanted = [n for n in (name, spec.supervisor) if n is not None]
        animas = await self._directory.including(*wanted)
        check.spec_settings(spec, animas, config)
        if name in animas:
            raise Refused(409, f"an anima named {name!r} already exists")
        event_id = uuid7()
        return AnimaCreated(
            id=event_id, anima=name, correlation_id=event_id, producer=PRODUCER, source=source, files=files
        )

    async def _existing(self, name: str, *others: str) -> set[str]:
        """The names of the animas, if ``name`` is one of them (404 without naming any other)."""
        animas = await self._directory.including(name, *others)
        if name not in animas:
            raise Refused(404, f"no anima named {name!r}")
        return set(animas)

    async def _change(self, event: Event, success: int = 200) -> JSONResponse:
        answer = self._outcomes.expect(event.id)
        try:
            await self._publisher.publish(event)
            outcome = await asyncio.wait_for(answer, self._timeout_s)
        except TimeoutError:
            self._outcomes.forget(event.id)
            return JSONResponse({"status": "accepted", "op_id": event.id}, status_code=202)
        except Exception as exc:
            self._outcomes.forget(event.id)
            return problem(503, f"the change could not be stored: {exc}")
        if isinstance(outcome, MemoryOpRejected):
            return problem(409, outcome.reason, op_id=event.id)
        paths = outcome.paths if isinstance(outcome, MemoryOpApplied) else []
        return JSONResponse({"status": "applied", "op_id": event.id, "paths": paths}, status_code=success)


def msgspec_fields(body: StatusRequest) -> dict[str, Any]:
    """The request's fields by name."""
    return {name: getattr(body, name) for name in body.__struct_fields__}
