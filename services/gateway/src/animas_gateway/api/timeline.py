"""``GET /api/events``: the activity timeline, filtered and paged by stream sequence."""

from __future__ import annotations

from typing import Literal

from nats.js import JetStreamContext
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from animas_gateway.api.activity import BadQuery, EventPage, parse_filters, public
from animas_gateway.api.activity_reads import page
from animas_gateway.operations import Operation, Param
from animas_gateway.problems import Problem

DEFAULT_LIMIT = 100
MAX_LIMIT = 500


def _int(raw: str | None, name: str, low: int, high: int | None = None) -> int | None:
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or int(raw) < low or (high is not None and int(raw) > high):
        bound = f"{low}..{high}" if high is not None else f"at least {low}"
        raise Problem(422, f"{name}: {raw!r} is not a whole number {bound}")
    return int(raw)


def operations(js: JetStreamContext) -> list[Operation]:
    """The timeline route."""

    async def events(request: Request) -> Response:
        query = request.query_params
        try:
            filters = parse_filters(dict(query))
        except BadQuery as exc:
            raise Problem(422, str(exc)) from None
        order = query.get("order", "asc")
        if order not in ("asc", "desc"):
            raise Problem(422, f"order: {order!r} is neither 'asc' nor 'desc'")
        direction: Literal["asc", "desc"] = "desc" if order == "desc" else "asc"
        limit = _int(query.get("limit"), "limit", 1, MAX_LIMIT) or DEFAULT_LIMIT
        cursor = _int(query.get("cursor"), "cursor", 1)
        found = await page(js, filters, cursor=cursor, limit=limit, order=direction)
        return JSONResponse(
            {
                "items": [public(i) for i in found.items],
                "next_cursor": None if found.next_cursor is None else str(found.next_cursor),
            }
        )

    return [
        Operation(
            "GET",
            "/api/events",
            events,
            "The activity timeline: stored events, filtered, oldest first from the cursor (or newest first)",
            "activity",
            "admin",
            response=EventPage,
            params=(
                Param("anima", "query", "Only this anima's events."),
                Param("type", "query", "Only this event type, or a prefix ending in '.' such as `cycle.`."),
                Param("correlation_id", "query", "Only events of this conversation or cycle."),
                Param(
                    "since",
                    "query",
                    "Only events stored at or after this ISO 8601 time (with zone).",
                    {"type": "string", "format": "date-time"},
                ),
                Param(
                    "until",
                    "query",
                    "Only events stored at or before this ISO 8601 time (with zone).",
                    {"type": "string", "format": "date-time"},
                ),
                Param("cursor", "query", "A previous page's next_cursor (a stream sequence)."),
                Param(
                    "limit",
                    "query",
                    f"Most items (1..{MAX_LIMIT}, default {DEFAULT_LIMIT}).",
                    {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
                ),
                Param(
                    "order",
                    "query",
                    "asc (oldest first, the default) or desc (newest first).",
                    {"type": "string", "enum": ["asc", "desc"]},
                ),
            ),
            errors=(422, 503),
        )
    ]
