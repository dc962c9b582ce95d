"""What the memory routes share: JSON answers, problems, anima checks, and publishing a change.

A change (a person's knowledge edit, an anima made for another application) is one event the
gateway publishes; memory-writer answers it with ``memory.op.applied`` or ``memory.op.rejected``,
which :class:`Changes` waits for, as the admin routes do.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Annotated, Literal

import msgspec
from msgspec import Meta
from starlette.requests import Request
from starlette.responses import Response

from animas_contracts import Event, MemoryOpApplied, MemoryOpRejected
from animas_contracts.names import InvalidAnimaName, validate_anima_name
from animas_core.broker import EventSink
from animas_core.errors import RetryableError
from animas_gateway.directory import AnimaDirectory, DirectoryUnavailable
from animas_gateway.operations import Handler, Param
from animas_gateway.problems import Problem
from animas_gateway.replies import EventWaiter

NAME = Param("name", "path", "The anima.")


class MemoryChange(msgspec.Struct, frozen=True, kw_only=True):
    """memory-writer's verdict on a change: applied (with the files written) or still pending."""

    status: Annotated[
        Literal["applied", "accepted"],
        Meta(description="applied; or accepted when memory-writer did not answer in time (202)."),
    ]
    op_id: Annotated[str, Meta(description="The id of the event that asked for the change.")]
    paths: list[str] = []


def handled(handler: Handler) -> Handler:
    """``handler`` with a :class:`Problem` turned into its response and an absent service into 503."""

    @functools.wraps(handler)
    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except Problem as exc:
            return exc.response()
        except (DirectoryUnavailable, RetryableError) as exc:
            return Problem(503, str(exc), title="Service unavailable").response({"Retry-After": "1"})

    return endpoint


def anima_name(value: str) -> str:
    """A valid anima name (422 otherwise)."""
    try:
        return validate_anima_name(value)
    except InvalidAnimaName as exc:
        raise Problem(422, str(exc)) from None


async def existing(directory: AnimaDirectory, value: str) -> str:
    """The name of an anima that exists (404 otherwise, naming no other)."""
    name = anima_name(value)
    if name not in await directory.including(name):
        raise Problem(404, f"no anima named {name!r}", title="Not found")
    return name


def int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    """An integer query parameter within ``low..high`` (422 otherwise)."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise Problem(422, f"{name!r} must be an integer, not {raw[:40]!r}") from None
    if not low <= value <= high:
        raise Problem(422, f"{name!r} must be between {low} and {high}")
    return value


class Changes:
    """Publishes a change and waits for memory-writer's verdict (202 if it takes too long)."""

    def __init__(self, publisher: EventSink, outcomes: EventWaiter, timeout_s: float = 30.0) -> None:
        self._publisher = publisher
        self._outcomes = outcomes
        self._timeout_s = timeout_s

    async def submit(self, event: Event) -> tuple[int, MemoryChange]:
        """The HTTP status and answer; a refusal is a :class:`Problem` (409) with memory-writer's reason."""
        answer = self._outcomes.expect(event.id)
        try:
            await self._publisher.publish(event)
            outcome = await asyncio.wait_for(answer, self._timeout_s)
        except TimeoutError:
            self._outcomes.forget(event.id)
            return 202, MemoryChange(status="accepted", op_id=event.id)
        except Exception as exc:
            self._outcomes.forget(event.id)
            raise Problem(503, f"the change could not be stored: {exc}") from None
        if isinstance(outcome, MemoryOpRejected):
            raise Problem(409, outcome.reason, title="Conflict", op_id=event.id)
        paths = outcome.paths if isinstance(outcome, MemoryOpApplied) else []
        return 200, MemoryChange(status="applied", op_id=event.id, paths=list(paths))
