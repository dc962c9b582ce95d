"""What is timed: chats over HTTP (one at a time, then many at once) and the raw round trips.

Every chat's reply is checked: a request counts as done only when it answered HTTP 200 with
outcome ``reply`` and exactly the scripted text; anything else is a failure with its reason, kept
and reported (never dropped from the counts). Latencies are ``time.perf_counter`` differences;
each sample also keeps the wall clock of its send, to line it up with the events' timestamps.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import json
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx
import nats
import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg

ECHO_SUBJECT = "bench.overhead.echo"


def message(phase: str, n: object) -> str:
    """A chat message: the same words in every phase, so priming recalls alike (earlier ones)."""
    return f"Please note that the weekly planning meeting moves to Thursday ({phase} {n})."


RESPONDER = Path(__file__).with_name("responder.py")
PING = b'{"message": "ping"}'
"""The raw round trips' payload (a chat request's body is about this small)."""


@dataclasses.dataclass(frozen=True)
class ChatSample:
    """One chat request: how long it took and, when it failed, why."""

    anima: str
    sent_at: float
    """Wall clock (``time.time``) when the request left."""
    seconds: float
    problem: str | None = None
    correlation_id: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the reply was the scripted text."""
        return self.problem is None


@dataclasses.dataclass(frozen=True)
class ChatPhase:
    """The chats of one phase: ``clients`` at once for ``wall_s`` seconds in all."""

    clients: int
    wall_s: float
    samples: tuple[ChatSample, ...]

    @property
    def ok_seconds(self) -> list[float]:
        """Latencies of the chats that got the scripted reply."""
        return [s.seconds for s in self.samples if s.ok]

    @property
    def failures(self) -> int:
        """Chats that did not get the scripted reply."""
        return sum(not s.ok for s in self.samples)

    @property
    def per_second(self) -> float:
        """Correct replies per second of the phase's wall time."""
        return len(self.ok_seconds) / self.wall_s if self.wall_s > 0 else 0.0

    def problems(self) -> collections.Counter[str]:
        """Failures by reason."""
        return collections.Counter(s.problem for s in self.samples if s.problem is not None)


def check_reply(status: int, body: Any, expected: str) -> str | None:
    """Why a chat response is not the scripted reply; ``None`` when it is."""
    if status != 200:
        detail = (body.get("detail") or body.get("error")) if isinstance(body, dict) else None
        return f"HTTP {status}" + (f": {str(detail)[:80]}" if detail else "")
    if not isinstance(body, dict):
        return "the body is not a JSON object"
    if body.get("outcome") != "reply":
        return f"outcome {body.get('outcome')!r}"
    if body.get("reply") != expected:
        return f"reply {str(body.get('reply'))[:40]!r} is not the scripted text"
    return None


async def chat(
    client: httpx.AsyncClient, gateway: str, anima: str, message: str, expected: str
) -> ChatSample:
    """``POST /api/animas/{anima}/chat`` once, timed and checked."""
    sent_at, began = time.time(), time.perf_counter()
    try:
        response = await client.post(f"{gateway}/api/animas/{anima}/chat", json={"message": message})
    except httpx.HTTPError as exc:
        return ChatSample(anima, sent_at, time.perf_counter() - began, f"{type(exc).__name__}: {exc}"[:120])
    seconds = time.perf_counter() - began
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    correlation = body.get("correlation_id") if isinstance(body, dict) else None
    problem = check_reply(response.status_code, body, expected)
    return ChatSample(anima, sent_at, seconds, problem, correlation if isinstance(correlation, str) else None)


async def sequential(
    client: httpx.AsyncClient, gateway: str, animas: Sequence[str], count: int, expected: str
) -> ChatPhase:
    """``count`` chats one after another, taking the animas in turn."""
    began = time.perf_counter()
    samples = [
        await chat(client, gateway, animas[i % len(animas)], message("one at a time", i), expected)
        for i in range(count)
    ]
    return ChatPhase(1, time.perf_counter() - began, tuple(samples))


async def sustained(
    client: httpx.AsyncClient,
    gateway: str,
    animas: Sequence[str],
    clients: int,
    duration_s: float,
    expected: str,
) -> ChatPhase:
    """``clients`` chat loops at once, client k with anima k (mod the count), until ``duration_s``.

    A loop starts no request after the deadline; the phase's wall time runs until the last reply,
    so messages per second are correct replies over the whole time they took.
    """
    began = time.perf_counter()
    deadline = began + duration_s

    async def loop(k: int) -> list[ChatSample]:
        done: list[ChatSample] = []
        while time.perf_counter() < deadline:
            anima = animas[k % len(animas)]
            done.append(await chat(client, gateway, anima, message("load", f"{k}.{len(done)}"), expected))
        return done

    per_client = await asyncio.gather(*(loop(k) for k in range(clients)))
    samples = sorted((s for done in per_client for s in done), key=lambda s: s.sent_at)
    return ChatPhase(clients, time.perf_counter() - began, tuple(samples))


async def http_round_trips(client: httpx.AsyncClient, gateway: str, count: int) -> list[float]:
    """``GET /api/health`` on the gateway ``count`` times (it answers without touching NATS)."""
    seconds: list[float] = []
    for _ in range(count):
        began = time.perf_counter()
        response = await client.get(f"{gateway}/api/health")
        seconds.append(time.perf_counter() - began)
        response.raise_for_status()
    return seconds


def _echoed(payload: bytes) -> Callable[[bytes], str | None]:
    return lambda data: None if data == payload else f"the echo responder answered {data[:60]!r}"


async def rpc_round_trips(
    nc: Client,
    requests: Sequence[tuple[str, bytes]],
    check: Callable[[bytes], str | None],
    *,
    warmup: int = 0,
    timeout_s: float = 30.0,
) -> list[float]:
    """Time each ``(subject, payload)`` request/reply in turn, after ``warmup`` untimed ones.

    Raises:
        RuntimeError: ``check`` found a reply wrong (it returns why).
    """
    for subject, payload in requests[:1]:
        # A subscription made just before, on another connection, can still answer "no responders"
        # to the very first request now and then: wait until it answers (untimed).
        for _ in range(100):
            try:
                await nc.request(subject, payload, timeout=timeout_s)
                break
            except nats.errors.NoRespondersError:
                await asyncio.sleep(0.05)
    for subject, payload in requests[:warmup]:
        await nc.request(subject, payload, timeout=timeout_s)
    seconds: list[float] = []
    for subject, payload in requests:
        began = time.perf_counter()
        msg = await nc.request(subject, payload, timeout=timeout_s)
        seconds.append(time.perf_counter() - began)
        if (problem := check(msg.data)) is not None:
            raise RuntimeError(f"{subject}: {problem}")
    return seconds


async def nats_in_process(nc: Client, url: str, user: str, password: str, count: int) -> list[float]:
    """Request/reply round trips to an echo responder on a second connection of this process."""
    responder = await nats.connect(url, user=user, password=password, connect_timeout=5)

    async def echo(msg: Msg) -> None:
        await msg.respond(msg.data)

    try:
        await responder.subscribe(ECHO_SUBJECT + ".local", cb=echo)
        await responder.flush()
        return await rpc_round_trips(nc, [(ECHO_SUBJECT + ".local", PING)] * count, _echoed(PING), warmup=100)
    finally:
        await responder.close()


async def nats_other_process(nc: Client, url: str, user: str, password: str, count: int) -> list[float]:
    """Request/reply round trips to an echo responder in its own process, as the services are."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(RESPONDER),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert process.stdin is not None and process.stdout is not None
    try:
        setup = {"url": url, "user": user, "password": password, "subject": ECHO_SUBJECT + ".remote"}
        process.stdin.write((json.dumps(setup) + "\n").encode())
        await process.stdin.drain()
        line = await asyncio.wait_for(process.stdout.readline(), 30)
        if line.strip() != b"ready":
            raise RuntimeError(f"the echo responder did not start: {line!r}")
        echo = [(ECHO_SUBJECT + ".remote", PING)] * count
        return await rpc_round_trips(nc, echo, _echoed(PING), warmup=100)
    finally:
        process.stdin.close()  # the responder stops when its stdin closes
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            process.kill()
            await process.wait()
