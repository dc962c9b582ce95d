"""Reading a stream's stored messages with batched direct gets: no consumer, nothing changed.

One request ``{"seq" | "start_time", "next_by_subj", "batch", "max_bytes"}`` on
``$JS.API.DIRECT.GET.<stream>`` (the stream needs ``allow_direct``) answers, on the reply inbox,
with up to ``batch`` matching messages in stream order, each with its stored subject and sequence
in headers, then a status message: ``204`` (end of batch) or ``404`` (nothing matches from
there). Verified against nats-server 2.15.1 with nats-py 2.16.

Why not an ephemeral consumer: creating one needs a consumer-create right, and such a right with
a wildcard name lets its holder rewrite other services' durables (authority.py).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from animas_core.errors import RetryableError

DIRECT_GET = "$JS.API.DIRECT.GET"
ADDED_HEADERS = frozenset(
    (
        "Nats-Stream",
        "Nats-Subject",
        "Nats-Sequence",
        "Nats-Time-Stamp",
        "Nats-Num-Pending",
        "Nats-Last-Sequence",
    )
)
"""What a direct get adds to the stored headers (left out of what callers see)."""
BATCH_BYTES = 4 * 1024 * 1024
"""A batch stops after this many bytes, so a batch of large messages never overruns the inbox."""
ANSWER_TIMEOUT_S = 5.0


async def read_direct(
    js: JetStreamContext,
    stream: str,
    subject: str,
    start_seq: int,
    start_time: datetime | None,
    last_seq: int,
    batch: int,
) -> AsyncIterator[Msg]:
    """Messages on ``subject`` from ``start_seq`` (or ``start_time``) up to ``last_seq``, in order."""
    nc: Client = js._nc
    start: dict[str, object] = (
        {"start_time": start_time.astimezone(UTC).isoformat()} if start_time else {"seq": start_seq}
    )
    while True:
        got = await _batch(
            nc, stream, {**start, "next_by_subj": subject, "batch": batch, "max_bytes": BATCH_BYTES}
        )
        for seq, msg in got:
            if seq > last_seq:
                return
            yield msg
        if not got or got[-1][0] >= last_seq:
            return
        start = {"seq": got[-1][0] + 1}


async def _batch(nc: Client, stream: str, request: dict[str, object]) -> list[tuple[int, Msg]]:
    """One batch, whole (at most ``batch`` messages and about ``BATCH_BYTES``)."""
    inbox = nc.new_inbox()
    sub = await nc.subscribe(inbox)
    try:
        await nc.publish(f"{DIRECT_GET}.{stream}", json.dumps(request).encode(), reply=inbox)
        found: list[tuple[int, Msg]] = []
        while True:
            try:
                reply = await sub.next_msg(timeout=ANSWER_TIMEOUT_S)
            except nats.errors.TimeoutError as exc:
                raise RetryableError(
                    f"no answer from stream {stream} to a direct get of {request['next_by_subj']} "
                    "(is the stream provisioned, and may this user read it?)"
                ) from exc
            headers = reply.headers or {}
            status = headers.get("Status")
            if status in ("204", "404"):  # end of the batch; nothing (more) matches
                return found
            if status:
                raise RetryableError(
                    f"direct get on {stream} failed: {status} {headers.get('Description', '')}"
                )
            found.append(_stored(nc, stream, headers, reply.data))
    finally:
        await sub.unsubscribe()


def _stored(nc: Client, stream: str, headers: dict[str, str], data: bytes) -> tuple[int, Msg]:
    """The message as it was stored, with the JetStream metadata a consumer would have given it."""
    seq = int(headers["Nats-Sequence"])
    metadata = Msg.Metadata(
        sequence=Msg.Metadata.SequencePair(consumer=seq, stream=seq),
        num_pending=int(headers.get("Nats-Num-Pending", "0")),
        num_delivered=1,
        timestamp=datetime.fromisoformat(headers["Nats-Time-Stamp"]),
        stream=stream,
        consumer="",
    )
    kept = {k: v for k, v in headers.items() if k not in ADDED_HEADERS}
    return seq, Msg(
        _client=nc, subject=headers["Nats-Subject"], data=data, headers=kept or None, _metadata=metadata
    )
