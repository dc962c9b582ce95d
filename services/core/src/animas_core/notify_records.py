"""Notification outcomes in the ``NOTIFICATIONS`` KV bucket: outbound writes them, ``anima status`` reads.

Two kinds of key:

- ``out.<request>.<channel>``: a channel's outcome for one request (delivered or failed);
- ``first.<anima>.<dedup key>``: the first request of a notification and its event time, for
  outbound's 24-hour rule.
"""

from __future__ import annotations

import dataclasses
import json
import re

from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError, NoKeysError, NotFoundError

from animas_contracts.subjects import NOTIFICATIONS_BUCKET


@dataclasses.dataclass(frozen=True)
class ChannelOutcome:
    """How one channel of one request ended."""

    status: str
    """``delivered`` or ``failed``."""
    anima: str
    request_id: str
    channel: str
    subject: str
    attempts: int
    ts: str
    """The request's time (ISO 8601)."""
    reason: str | None = None

    def encode(self) -> bytes:
        """The KV value."""
        return json.dumps(dataclasses.asdict(self), ensure_ascii=False).encode()

    @classmethod
    def decode(cls, data: bytes) -> ChannelOutcome:
        """A KV value read back."""
        fields = json.loads(data)
        return cls(**{f.name: fields.get(f.name) for f in dataclasses.fields(cls)})


_SAFE = re.compile(r"^[A-Za-z0-9_-]+$")


def _token(value: str) -> str:
    return value if _SAFE.fullmatch(value) else "x" + value.encode().hex()


def outcome_key(request_id: str, channel: str) -> str:
    """Key of a channel's outcome for a request."""
    return f"out.{_token(request_id)}.{_token(channel)}"


def first_key(anima: str, dedup_key: str) -> str:
    """Key of the first request of a notification."""
    return f"first.{_token(anima)}.{_token(dedup_key)}"


async def failed_outcomes(js: JetStreamContext) -> list[ChannelOutcome]:
    """Every failed channel outcome still in the bucket, oldest request first."""
    try:
        kv = await js.key_value(NOTIFICATIONS_BUCKET)
        keys = await kv.keys()
    except (NotFoundError, NoKeysError):  # an older system, or nothing recorded yet
        return []
    failed = []
    for key in keys:
        if not key.startswith("out."):
            continue
        try:
            entry = await kv.get(key)
        except KeyNotFoundError:
            continue
        outcome = ChannelOutcome.decode(entry.value or b"{}")
        if outcome.status == "failed":
            failed.append(outcome)
    return sorted(failed, key=lambda o: o.ts)
