"""What runs and what failed: the services' health, the streams, the dead letters.

All read by direct gets of stored messages and stream info (the gateway makes no consumer):
services report their health into the ``SERVICES`` bucket every few seconds (a record expires
when a service stops reporting), and a message a service gave up on is kept on ``DEADLETTER``.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncGenerator, Callable
from datetime import UTC, datetime
from typing import Any, cast

import msgspec
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from animas_contracts import DeadLetter
from animas_contracts.subjects import ACTIVITY_STREAM, DEADLETTER_STREAM, SCHEDULES_BUCKET, SERVICES_BUCKET
from animas_core.streams import read_stored
from animas_gateway.operations import Operation, Param
from animas_gateway.problems import Problem

STREAMS = (ACTIVITY_STREAM, DEADLETTER_STREAM, f"KV_{SERVICES_BUCKET}", f"KV_{SCHEDULES_BUCKET}")
"""The streams the gateway may look at (tools/src/animas_tools/authority.py grants their info)."""
PREVIEW_CHARS = 200
"""How much of a dead letter's payload its list item shows."""
MAX_LIMIT = 500
_KV_OPERATION = "KV-Operation"


class Health(msgspec.Struct, frozen=True, kw_only=True):
    """``GET /api/health``: whether the gateway is connected to the broker (503 when not)."""

    ok: bool
    service: str


class ServiceItem(msgspec.Struct, frozen=True, kw_only=True):
    """One running service instance, as it last reported itself."""

    name: str
    replica: str
    status: str
    since: str | None
    """When the instance started (ISO 8601, UTC)."""
    reported: str | None
    """When it last reported (ISO 8601, UTC)."""
    pid: int | None = None
    partitions: list[int] | None = None
    consumers: list[str] = []
    url: str | None = None


class ServiceList(msgspec.Struct, frozen=True, kw_only=True):
    """``GET /api/services``."""

    items: list[ServiceItem]


class StreamItem(msgspec.Struct, frozen=True, kw_only=True):
    """One stream's size and range."""

    name: str
    messages: int
    bytes: int
    first_seq: int
    last_seq: int
    consumers: int


class StreamList(msgspec.Struct, frozen=True, kw_only=True):
    """``GET /api/streams``."""

    items: list[StreamItem]


class DeadLetterItem(msgspec.Struct, frozen=True, kw_only=True):
    """A message a service gave up on."""

    seq: int
    service: str
    reason: str
    time: str
    subject: str
    payload_preview: str
    stream: str | None
    stream_seq: int | None
    deliveries: int


class DeadLetterPage(msgspec.Struct, frozen=True, kw_only=True):
    """``GET /api/deadletters``: oldest first from the cursor."""

    items: list[DeadLetterItem]
    next_cursor: str | None


def service_item(value: bytes) -> ServiceItem | None:
    """A health record as a list item (``None`` for one that is not a JSON object)."""
    try:
        record = json.loads(value)
    except ValueError:
        return None
    if not isinstance(record, dict):
        return None
    partitions = record.get("partitions")
    return ServiceItem(
        name=str(record.get("service", "")),
        replica=str(record.get("instance", "")),
        status=str(record.get("status", "unknown")),
        since=_iso(record.get("started_at")),
        reported=_iso(record.get("ts")),
        pid=record["pid"] if isinstance(record.get("pid"), int) else None,
        partitions=[p for p in partitions if isinstance(p, int)] if isinstance(partitions, list) else None,
        consumers=[str(c) for c in record.get("consumers") or [] if isinstance(c, str)],
        url=record["url"] if isinstance(record.get("url"), str) else None,
    )


def dead_letter_item(seq: int, data: bytes, stored_at: datetime) -> DeadLetterItem:
    """A stored dead letter as a list item; one that does not decode is shown as it is."""
    try:
        letter = msgspec.json.decode(data, type=DeadLetter)
    except msgspec.MsgspecError as exc:
        return DeadLetterItem(
            seq=seq,
            service="",
            reason=f"(not a dead letter record: {exc})",
            time=stored_at.astimezone(UTC).isoformat(),
            subject="",
            payload_preview=_preview(data),
            stream=None,
            stream_seq=None,
            deliveries=0,
        )
    return DeadLetterItem(
        seq=seq,
        service=letter.service,
        reason=letter.reason,
        time=letter.ts.astimezone(UTC).isoformat(),
        subject=letter.subject,
        payload_preview=_preview(letter.data),
        stream=letter.stream,
        stream_seq=letter.stream_seq,
        deliveries=letter.deliveries,
    )


def cursor_of(value: str | None) -> int:
    """The stream sequence a cursor stands for (1: from the start)."""
    if value is None or value == "":
        return 1
    if not value.isdigit() or int(value) < 1:
        raise Problem(422, f"'cursor' must be a positive stream sequence, not {value[:40]!r}")
    return int(value)


def limit_of(value: str | None, default: int = 50) -> int:
    """A page size within 1..:data:`MAX_LIMIT`."""
    if value is None or value == "":
        return default
    if not value.isdigit() or not 1 <= int(value) <= MAX_LIMIT:
        raise Problem(422, f"'limit' must be a whole number from 1 to {MAX_LIMIT}, not {value[:40]!r}")
    return int(value)


def health_operation(service: str, connected: Callable[[], bool]) -> Operation:
    """``GET /api/health``, public: 200 while connected to the broker, 503 while not."""

    async def health(_: Request) -> Response:
        up = connected()
        return JSONResponse({"ok": up, "service": service}, status_code=200 if up else 503)

    return Operation("GET", "/api/health", health, "Whether the gateway is up and connected to the broker",
                     "operations", None, response=Health, also=((503, Health),))  # fmt: skip


def operations(nc: Client) -> list[Operation]:
    """``GET /api/services``, ``GET /api/streams`` and ``GET /api/deadletters``."""
    js = nc.jetstream()

    async def services(_: Request) -> Response:
        items: list[ServiceItem] = []
        for headers, data in await _bucket_values(js, SERVICES_BUCKET):
            if (headers or {}).get(_KV_OPERATION) in ("DEL", "PURGE"):
                continue
            item = service_item(data)
            if item is not None:
                items.append(item)
        items.sort(key=lambda i: (i.name, i.replica))
        return JSONResponse(msgspec.to_builtins(ServiceList(items=items)))

    async def streams(_: Request) -> Response:
        items = []
        for name in STREAMS:
            info = await js.stream_info(name)
            state = info.state
            items.append(
                StreamItem(
                    name=name,
                    messages=state.messages,
                    bytes=state.bytes,
                    first_seq=state.first_seq,
                    last_seq=state.last_seq,
                    consumers=state.consumer_count,
                )
            )
        return JSONResponse(msgspec.to_builtins(StreamList(items=items)))

    async def deadletters(request: Request) -> Response:
        start = cursor_of(request.query_params.get("cursor"))
        limit = limit_of(request.query_params.get("limit"))
        items: list[DeadLetterItem] = []
        more = False
        async with contextlib.aclosing(_scan(js, "deadletter.>", DEADLETTER_STREAM, start)) as messages:
            async for msg in messages:
                if len(items) == limit:
                    more = True
                    break
                meta = msg.metadata
                items.append(dead_letter_item(meta.sequence.stream, msg.data, meta.timestamp))
        next_cursor = str(items[-1].seq + 1) if more else None
        return JSONResponse(msgspec.to_builtins(DeadLetterPage(items=items, next_cursor=next_cursor)))

    page = (
        Param("cursor", "query", "Where to start: the next_cursor of the page before (a stream sequence)."),
        Param(
            "limit",
            "query",
            f"Items per page (1 to {MAX_LIMIT}, 50 by default).",
            schema={"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
        ),
    )
    return [
        Operation("GET", "/api/services", services, "Running service instances and their health",
                  "operations", "admin", response=ServiceList, errors=(503,)),
        Operation("GET", "/api/streams", streams, "The streams: messages, bytes, sequences, consumers",
                  "operations", "admin", response=StreamList, errors=(503,)),
        Operation("GET", "/api/deadletters", deadletters, "Messages services gave up on, oldest first",
                  "operations", "admin", response=DeadLetterPage, params=page, errors=(422, 503)),
    ]  # fmt: skip


async def _bucket_values(
    js: JetStreamContext, bucket: str, limit: int = 1000
) -> list[tuple[dict[str, str] | None, bytes]]:
    """Every stored value of a KV bucket (history 1: the latest per key), by message gets.

    A bucket's stream is made without direct gets, and the gateway may make no consumer, so each
    value is one ``STREAM.MSG.GET`` of the next message on the bucket's subjects.
    """
    found: list[tuple[dict[str, str] | None, bytes]] = []
    seq = 1
    while len(found) < limit:
        try:
            msg = await js.get_msg(f"KV_{bucket}", seq=seq, subject=f"$KV.{bucket}.>", next=True)
        except NotFoundError:
            break
        found.append((msg.headers, msg.data or b""))
        assert msg.seq is not None
        seq = msg.seq + 1
    return found


def _scan(js: JetStreamContext, subject: str, stream: str, start: int) -> AsyncGenerator[Msg, None]:
    """Stored messages; closed by the caller (``aclosing``), so stopping early ends its batch now."""
    return cast(AsyncGenerator[Msg, None], read_stored(js, subject, stream=stream, start_seq=start))


def _iso(value: Any) -> str | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC).isoformat()
    return value if isinstance(value, str) else None


def _preview(data: bytes) -> str:
    text = data.decode("utf-8", errors="replace")
    return text if len(text) <= PREVIEW_CHARS else text[:PREVIEW_CHARS] + "…"
