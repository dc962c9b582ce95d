"""Reading the activity stream for the timeline, the org chart and cycles: direct gets only.

No consumer is made (the gateway may not make one): pages are read with batched direct gets on
the narrowest stored subject (:func:`animas_core.streams.read_stored`), an anima's current state
with one last-by-subject direct get per state-changing event type, and newest-first pages by
reading windows backwards from the cursor.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import AsyncGenerator, AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, cast
from uuid import UUID

import msgspec
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from animas_contracts.subjects import ACTIVITY_STREAM, stored_activity_filter
from animas_core.streams import read_stored
from animas_gateway.api.activity import STATE_TYPES, AnimaState, Filters, make_item, state_after

_log = logging.getLogger(__name__)

MAX_SCAN = 20_000
"""Most stored messages one page reads; a page that found fewer items says where to go on."""


def item_of(msg: Msg) -> dict[str, Any] | None:
    """The item of a stored message; None (logged) for one that is not an event's JSON."""
    try:
        event = msgspec.json.decode(msg.data)
        if not isinstance(event, dict):
            raise ValueError("not a JSON object")
        return make_item(msg.metadata.sequence.stream, msg.subject, msg.metadata.timestamp, event)
    except (msgspec.DecodeError, ValueError) as exc:
        _log.warning("unreadable stored event", extra={"subject": msg.subject, "error": str(exc)})
        return None


async def stored_items(
    js: JetStreamContext,
    subject: str,
    *,
    start_seq: int = 1,
    start_time: datetime | None = None,
    batch: int = 500,
) -> AsyncIterator[dict[str, Any]]:
    """Items stored on ``subject`` from ``start_seq`` (or ``start_time``) to the end now, in order."""
    scan = read_stored(js, subject, start_seq=max(1, start_seq), start_time=start_time, batch=batch)
    async with contextlib.aclosing(cast(AsyncGenerator[Msg, None], scan)) as messages:
        async for msg in messages:
            item = item_of(msg)
            if item is not None:
                yield item


@dataclasses.dataclass(frozen=True)
class Page:
    """Items of one page, and where the next starts (None: nothing more now)."""

    items: list[dict[str, Any]]
    next_cursor: int | None


async def page(
    js: JetStreamContext,
    filters: Filters,
    *,
    cursor: int | None,
    limit: int,
    order: Literal["asc", "desc"] = "asc",
    max_scan: int = MAX_SCAN,
) -> Page:
    """One page of the timeline.

    ``asc``: items with ``seq >= cursor``, oldest first; ``next_cursor`` is where the next page
    starts (None once the stream's end, or ``until``, is reached). ``desc``: items with
    ``seq < cursor`` (all when None), newest first; ``next_cursor`` is the smallest ``seq`` given.
    """
    if order == "desc":
        return await _page_backwards(js, filters, cursor, limit, max_scan)
    items: list[dict[str, Any]] = []
    scanned = 0
    start_time = filters.since if cursor is None else None
    async for item in stored_items(
        js, filters.stored_subject(), start_seq=cursor or 1, start_time=start_time, batch=min(500, limit + 1)
    ):
        scanned += 1
        if filters.until is not None and item["_stored"] > filters.until:
            return Page(items, None)
        if filters.matches(item):
            items.append(item)
            if len(items) == limit:
                return Page(items, item["seq"] + 1)
        if scanned >= max_scan:
            return Page(items, item["seq"] + 1)
    return Page(items, None)


async def _page_backwards(
    js: JetStreamContext, filters: Filters, cursor: int | None, limit: int, max_scan: int
) -> Page:
    end = (await js.stream_info(ACTIVITY_STREAM)).state.last_seq if cursor is None else cursor - 1
    found: list[dict[str, Any]] = []
    window, scanned = max(200, 4 * limit), 0
    while end >= 1 and len(found) < limit and scanned < max_scan:
        low = max(1, end - window + 1)
        chunk: list[dict[str, Any]] = []
        older_than_since = False
        async for item in stored_items(js, filters.stored_subject(), start_seq=low, batch=500):
            if item["seq"] > end:
                break
            scanned += 1
            if filters.since is not None and item["_stored"] < filters.since:
                older_than_since = True
            if filters.matches(item):
                chunk.append(item)
        found = chunk + found
        if older_than_since:
            end = 0
            break
        end, window = low - 1, window * 4
    taken = list(reversed(found[-limit:]))
    more = len(found) > limit or end >= 1
    return Page(taken, taken[-1]["seq"] if taken and more else (end + 1 if more else None))


async def last_state(js: JetStreamContext, anima: str) -> tuple[AnimaState | None, str | None]:
    """The state ``anima``'s latest state-changing event left it in, and that event's time.

    One last-by-subject direct get per type in :data:`STATE_TYPES` (each a few bytes of the
    stream, whatever its length); (None, None) when it has none.
    """

    async def last(event_type: str) -> tuple[int, AnimaState | None, str | None]:
        subject = stored_activity_filter(anima=anima, event_type=event_type)
        try:
            raw = await js.get_msg(ACTIVITY_STREAM, subject=subject, direct=True)
        except NotFoundError:
            return 0, None, None
        try:
            event = msgspec.json.decode(raw.data or b"{}")
        except msgspec.DecodeError:
            return 0, None, None
        when = event.get("ts") or (raw.time.isoformat() if raw.time else None)
        return raw.seq or 0, state_after(event_type, event), when

    found = await asyncio.gather(*(last(t) for t in STATE_TYPES))
    latest = max((f for f in found if f[1] is not None), default=(0, None, None), key=lambda f: f[0])
    return latest[1], latest[2]


async def find_cycle_start(
    js: JetStreamContext, cycle_id: str, anima: str | None, *, max_scan: int = 100_000
) -> dict[str, Any] | None:
    """The item of ``cycle.started`` with id ``cycle_id`` (its latest attempt, when it was retried).

    Only ``cycle.started`` events are read (one anima's when ``anima`` is given), newest first,
    since the cycles people open are mostly recent ones; at most ``max_scan`` of them.
    """
    filters = Filters(anima=anima, event_type="cycle.started")
    cursor: int | None = None
    scanned = 0
    while scanned < max_scan:
        found = await page(js, filters, cursor=cursor, limit=200, order="desc")
        scanned += len(found.items)
        for item in found.items:
            if item["id"] == cycle_id:
                return item
        if found.next_cursor is None:
            return None
        cursor = found.next_cursor
    return None


def _uuid7_time(value: str) -> datetime | None:
    """When a uuid7 was made (its first 48 bits, milliseconds since the epoch); None for other ids."""
    try:
        parsed = UUID(value)
    except ValueError:
        return None
    if parsed.version != 7:
        return None
    return datetime.fromtimestamp((parsed.int >> 80) / 1000, UTC)


async def cycle_items(
    js: JetStreamContext, started: dict[str, Any], *, max_scan: int = 50_000
) -> list[dict[str, Any]]:
    """Every event of the cycle's correlation, from its trigger up to the cycle's ``cycle.finished``.

    Reading starts at the trigger's time when its id is a uuid7 (less a second for clocks), else
    at ``cycle.started``; it stops at the cycle's ``cycle.finished``, the stream's end, or after
    ``max_scan`` stored messages.
    """
    event = started["event"]
    cycle_id, correlation = started["id"], started["correlation_id"]
    trigger_time = _uuid7_time(str(event.get("trigger_event_id", "")))
    start_time = trigger_time - timedelta(seconds=1) if trigger_time is not None else None
    found: list[dict[str, Any]] = []
    scanned = 0
    async for item in stored_items(
        js, stored_activity_filter(), start_seq=started["seq"], start_time=start_time
    ):
        scanned += 1
        if item["correlation_id"] == correlation:
            found.append(item)
            if item["type"] == "cycle.finished" and item["event"].get("cycle_id") == cycle_id:
                break
        if scanned >= max_scan:
            break
    return found
