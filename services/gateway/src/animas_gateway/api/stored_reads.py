"""What the organization-work routes share: stored events read by subject, paging, JSON answers.

The gateway keeps no projection of its own: conversations, delegations and consolidation runs
are derived, per request, from the events the activity stream holds, read with direct gets
(:func:`animas_core.streams.read_stored`: no consumer, nothing changed) on the narrowest stored
subject filter that covers the question.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from typing import TypeVar

from nats.aio.client import Client
from starlette.requests import Request

from animas_contracts import ContractError, Event, decode_event
from animas_contracts.names import InvalidAnimaName, validate_anima_name
from animas_core.streams import read_stored
from animas_gateway.operations import Param
from animas_gateway.problems import Problem

_log = logging.getLogger(__name__)
_T = TypeVar("_T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 500

CURSOR_PARAM = Param("cursor", "query", "Where the next page starts: a previous answer's next_cursor.")
LIMIT_PARAM = Param(
    "limit",
    "query",
    f"Most items in one page (1..{MAX_LIMIT}, default {DEFAULT_LIMIT}).",
    {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
)


@dataclasses.dataclass(frozen=True)
class Stored:
    """An event as the stream keeps it: its stream sequence and the decoded event."""

    seq: int
    event: Event


async def stored_events(nc: Client, *filters: str) -> list[Stored]:
    """Every event stored on any of ``filters`` (stored activity subjects), in stream order.

    Each filter is read with direct gets up to the stream's end at the time of the call; a
    message matched by two filters comes once. A message this build cannot decode (an event
    type it does not know, a newer version) is left out and logged, so one odd event does not
    hide the rest.
    """
    js = nc.jetstream()
    found: dict[int, Event] = {}
    for subject in filters:
        async for msg in read_stored(js, subject):
            seq = msg.metadata.sequence.stream
            if seq in found:
                continue
            try:
                found[seq] = decode_event(msg.data)
            except ContractError as exc:
                _log.warning("left out stored event %d on %s: %s", seq, msg.subject, exc)
    return [Stored(seq, found[seq]) for seq in sorted(found)]


def anima_param(request: Request, name: str = "name", *, where: str = "path") -> str | None:
    """A valid anima name from the path (or the query, where it may be absent); 400 when invalid."""
    source = request.path_params if where == "path" else request.query_params
    value = source.get(name)
    if value is None or value == "":
        return None
    try:
        return validate_anima_name(value)
    except InvalidAnimaName as exc:
        raise Problem(400, f"{name!r}: {exc}", title="Bad request") from None


def query_limit(request: Request) -> int:
    """The ``limit`` query parameter, 1..MAX_LIMIT; 400 when it is not a number in range."""
    raw = request.query_params.get("limit")
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise Problem(400, f"'limit' must be a whole number from 1 to {MAX_LIMIT}", title="Bad request")
    return int(raw)


def seq_cursor(request: Request) -> int | None:
    """The ``cursor`` query parameter as a stream sequence; 400 when it is not one."""
    raw = request.query_params.get("cursor")
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise Problem(400, "'cursor' must be a next_cursor from an earlier page", title="Bad request")
    return int(raw)


def page_before(
    items: Sequence[_T], key: Callable[[_T], int], cursor: int | None, limit: int
) -> tuple[list[_T], str | None]:
    """Newest first: the ``limit`` items whose key is below ``cursor`` (all when None), and the next cursor.

    ``items`` may come in any order; the key (a stream sequence) orders them. The cursor is the
    key of the page's last item, so a page is the same however many items were added after it.
    """
    ordered = sorted((i for i in items if cursor is None or key(i) < cursor), key=key, reverse=True)
    page = ordered[:limit]
    more = len(ordered) > limit
    return page, (str(key(page[-1])) if more and page else None)
