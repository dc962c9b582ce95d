"""Chat clients that retry safely: every chat under its own ``Idempotency-Key``, asked again until answered.

A 503 (which must carry ``Retry-After``), a 202 (the reply was not ready in time) and a
connection error (the gateway itself is restarting) are all answered the same way: the same
request again, under the same key, which the gateway stores at most once. What the clients saw
is collected in :class:`Traffic` for the tests to judge.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections import Counter

import httpx

GIVE_UP_S = 90.0
"""A chat not answered in this long is reported as a failure (generous: kills are seconds apart)."""
RETRY_PAUSE_S = 0.5


@dataclasses.dataclass(frozen=True)
class Chat:
    """One message a client wants answered."""

    anima: str
    key: str
    text: str
    sender: str = "human"
    """Who the anima hears it from (one conversation per sender)."""


@dataclasses.dataclass(frozen=True)
class Answered:
    chat: Chat
    started: float
    finished: float
    message_id: str
    replayed: bool
    """Answered with the reply of a message an earlier try stored (``Idempotent-Replayed``)."""


@dataclasses.dataclass(frozen=True)
class TransportFailure:
    """A request that got no HTTP answer at all (refused, reset): when it was tried, and why."""

    key: str
    sent: float
    failed: float
    error: str


@dataclasses.dataclass
class Traffic:
    """Everything the clients saw (``time.monotonic()`` times)."""

    answered: list[Answered] = dataclasses.field(default_factory=list)
    statuses: Counter[int] = dataclasses.field(default_factory=Counter)
    without_retry_after: list[str] = dataclasses.field(default_factory=list)
    server_errors: list[str] = dataclasses.field(default_factory=list)
    """Statuses no client should see (any 5xx but 503, any 4xx), and chats never answered."""
    transport_errors: list[TransportFailure] = dataclasses.field(default_factory=list)
    retried: set[str] = dataclasses.field(default_factory=set)
    """Keys sent again after a 503, a 202 or a connection error."""
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)

    def failures(self) -> list[str]:
        """What no client may see: a 500, a 503 without ``Retry-After``, a refusal, a chat given up on."""
        with self.lock:
            return [
                *self.server_errors,
                *(f"{n} x HTTP 500" for n in [self.statuses[500]] if n),
                *(f"503 without Retry-After: {body}" for body in self.without_retry_after),
            ]

    def answered_since(self, since: float, anima: str | None = None) -> int:
        """How many chats started after ``since`` were answered (of ``anima``, or of all)."""
        with self.lock:
            return sum(1 for a in self.answered if a.started > since and anima in (None, a.chat.anima))


def chat_until_answered(url: str, traffic: Traffic, chat: Chat) -> None:
    """Send ``chat`` to the gateway at ``url`` under its key until it is answered (or a bug shows)."""
    started = time.monotonic()
    endpoint = f"{url}/api/animas/{chat.anima}/chat"
    while time.monotonic() - started < GIVE_UP_S:
        sent = time.monotonic()
        try:
            response = httpx.post(
                endpoint,
                json={"message": chat.text, "sender": chat.sender},
                headers={"Idempotency-Key": chat.key},
                timeout=30,
            )
        except httpx.TransportError as exc:
            with traffic.lock:
                traffic.transport_errors.append(TransportFailure(chat.key, sent, time.monotonic(), repr(exc)))
                traffic.retried.add(chat.key)
            time.sleep(RETRY_PAUSE_S)
            continue
        status = response.status_code
        with traffic.lock:
            traffic.statuses[status] += 1
            if status in (202, 503):
                traffic.retried.add(chat.key)
        if status == 200:
            with traffic.lock:
                replayed = response.headers.get("idempotent-replayed") == "true"
                message_id = response.json()["message_id"]
                traffic.answered.append(Answered(chat, started, time.monotonic(), message_id, replayed))
            return
        if status == 503:
            retry_after = response.headers.get("retry-after")
            if retry_after is None:
                with traffic.lock:
                    traffic.without_retry_after.append(f"{chat.key}: {response.text[:200]}")
            time.sleep(min(float(retry_after or 1), 1.0))
            continue
        if status == 202:
            time.sleep(RETRY_PAUSE_S)
            continue
        with traffic.lock:
            traffic.server_errors.append(f"{chat.key}: {status} {response.text[:300]}")
        if status < 500:
            return  # a refusal: asking again cannot change it
        time.sleep(RETRY_PAUSE_S)
    with traffic.lock:
        traffic.server_errors.append(f"{chat.key}: not answered in {GIVE_UP_S:g}s")
