"""People's changes through the API: create an anima, enable or disable it, revise its identity.

The gateway publishes them as events (its NATS user may publish ``anima.*`` and
``identity.*``) and answers with memory-writer's verdict.
"""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import JSONResponse

from animas_contracts import (
    AnimaCreated,
    AnimaStatusChanged,
    Event,
    IdentityRevised,
    InvalidAnimaName,
    MemoryOpApplied,
    MemoryOpRejected,
    uuid7,
    validate_anima_name,
)
from animas_core.anima_files import AnimaSpec, blank_files, parse_character_sheet, template_files
from animas_core.broker import EventSink
from animas_core.character_sheet import CharacterSheetError
from animas_gateway.domain import PRODUCER, error_body
from animas_gateway.replies import EventWaiter


class CreateRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /api/animas``: a name and a template role, or a character sheet's Markdown."""

    name: str
    template: str | None = None
    character_sheet: str | None = None
    supervisor: str | None = None


class IdentityRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``PUT /api/animas/{name}/identity``."""

    content: str
    author: str = "human"
    reason: str = "edited by a person"


class StatusRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``PATCH /api/animas/{name}/status``: the fields people may change here."""

    enabled: bool | None = None
    supervisor: str | None = None
    model: str | None = None
    credential: str | None = None


class AdminApi:
    """The handlers; each publishes one event and waits for memory-writer's answer."""

    def __init__(self, publisher: EventSink, outcomes: EventWaiter, timeout_s: float = 30.0) -> None:
        self._publisher = publisher
        self._outcomes = outcomes
        self._timeout_s = timeout_s

    async def create(self, request: Request) -> JSONResponse:
        """Create an anima from a template, a character sheet, or blank."""
        try:
            body = msgspec.json.decode(await request.body(), type=CreateRequest)
            name = validate_anima_name(body.name)
            if body.character_sheet is not None:
                _, files = parse_character_sheet(body.character_sheet, name=name)
                source = "character-sheet"
            else:
                spec = AnimaSpec(name=name, role=body.template, supervisor=body.supervisor)
                files = template_files(spec, body.template) if body.template else blank_files(spec)
                source = f"template:{body.template}" if body.template else "blank"
        except (msgspec.DecodeError, InvalidAnimaName, CharacterSheetError, ValueError) as exc:
            return JSONResponse(error_body(str(exc)), status_code=422)
        event_id = uuid7()
        event = AnimaCreated(
            id=event_id, anima=name, correlation_id=event_id, producer=PRODUCER, source=source, files=files
        )
        return await self._change(event, success=201)

    async def identity(self, request: Request) -> JSONResponse:
        """Replace identity.md (a person's edit)."""
        try:
            name = validate_anima_name(request.path_params["name"])
            body = msgspec.json.decode(await request.body(), type=IdentityRequest)
        except (msgspec.DecodeError, InvalidAnimaName) as exc:
            return JSONResponse(error_body(str(exc)), status_code=422)
        event_id = uuid7()
        event = IdentityRevised(
            id=event_id,
            anima=name,
            correlation_id=event_id,
            producer=PRODUCER,
            content=body.content,
            author=body.author,
            reason=body.reason,
        )
        return await self._change(event)

    async def status(self, request: Request) -> JSONResponse:
        """Change status.json fields (enable, disable, supervisor, model, credential)."""
        try:
            name = validate_anima_name(request.path_params["name"])
            body = msgspec.json.decode(await request.body(), type=StatusRequest)
        except (msgspec.DecodeError, InvalidAnimaName) as exc:
            return JSONResponse(error_body(str(exc)), status_code=422)
        changes: dict[str, Any] = {k: v for k, v in msgspec.structs.asdict(body).items() if v is not None}
        if not changes:
            return JSONResponse(error_body("nothing to change"), status_code=422)
        event_id = uuid7()
        event = AnimaStatusChanged(
            id=event_id, anima=name, correlation_id=event_id, producer=PRODUCER, changes=changes
        )
        return await self._change(event)

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
            return JSONResponse(error_body(f"the change could not be stored: {exc}"), status_code=503)
        if isinstance(outcome, MemoryOpRejected):
            return JSONResponse(error_body(outcome.reason, op_id=event.id), status_code=409)
        paths = outcome.paths if isinstance(outcome, MemoryOpApplied) else []
        return JSONResponse({"status": "applied", "op_id": event.id, "paths": paths}, status_code=success)
