"""One benchmark run, in order: start, create, warm up, raw round trips, chats one at a time, load.

The raw round trips are measured on a settled system (no background work left), right before
the chats, against the same nats-server and the same gateway. Between phases the run waits until
every durable consumer of the activity stream has caught up, so one phase's leftovers (episodes
written and re-indexed) do not run into the next one's numbers.
"""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import msgspec
from nats.aio.client import Client

from animas_contracts import MemoryReadReply, MemoryReadRequest, PrimeReply, PrimeRequest
from animas_contracts.subjects import rpc_subject
from animas_tools.authority import ADMIN_USER
from animas_tools.system import admin_password

from .machine import busy_share, cpu_times, load_average
from .measure import (
    ChatPhase,
    ChatSample,
    chat,
    http_round_trips,
    message,
    nats_in_process,
    nats_other_process,
    rpc_round_trips,
    sequential,
    sustained,
)
from .stages import Breakdown, breakdown, read_events
from .system import (
    SCRIPTED_REPLY,
    BenchSystem,
    anima_names,
    create_animas,
    settle,
    stream_last_seq,
    wait_listed,
)


@dataclasses.dataclass(frozen=True)
class Params:
    """What a run does; the defaults are the published run's."""

    animas: int = 20
    requests: int = 100
    """Chats one at a time (phase a), taking the animas in turn."""
    clients: int = 20
    """Concurrent chat clients of phase b, client k talking to anima k."""
    duration_s: float = 30.0
    """How long phase b starts new requests."""
    nats_requests: int = 1000
    http_requests: int = 200
    rpc_requests: int = 50
    """Direct request/replies to priming (prime) and to memory-writer (read status.json), each."""
    warmup_rounds: int = 2
    """Rounds of one chat per anima (all at once) before anything is measured."""


@dataclasses.dataclass
class OverheadRun:
    """Everything measured, for the summary and the report."""

    params: Params
    started: datetime
    load_start: str
    warmup: ChatPhase
    sequential: ChatPhase
    sustained: ChatPhase
    nats_remote: list[float]
    """Seconds per raw request/reply, echo responder in another process."""
    nats_local: list[float]
    """Seconds per raw request/reply, echo responder on a second connection of this process."""
    http_health: list[float]
    prime_rpc: list[float]
    """Seconds per direct ``rpc.priming.prime.<anima>`` request/reply."""
    read_rpc: list[float]
    """Seconds per direct ``rpc.memory.read.<anima>`` request/reply (status.json)."""
    stages: Breakdown
    stages_load: Breakdown
    create_s: float
    """Creating the animas until the gateway lists them all."""
    settle_s: float
    load_busy: float | None
    """Percent of the machine's CPU time busy during the load phase (every process, not only ours)."""
    up_s: float = 0.0
    """``anima up`` (and the scripted LLM) until ready."""
    load_end: str = ""
    llm_served: int | None = None
    """Model requests the scripted LLM answered in the whole run (warm-up included)."""
    seconds: float = 0.0


async def _warm_up(client: httpx.AsyncClient, gateway: str, names: tuple[str, ...], rounds: int) -> ChatPhase:
    """One chat per anima, all at once, ``rounds`` times: first calls load what they load."""
    began = time.perf_counter()
    samples: list[ChatSample] = []
    for r in range(rounds):
        samples += await asyncio.gather(
            *(chat(client, gateway, name, message("warm-up", r), SCRIPTED_REPLY) for name in names)
        )
    return ChatPhase(len(names), time.perf_counter() - began, tuple(samples))


def _primed_ok(data: bytes) -> str | None:
    errors = msgspec.json.decode(data, type=PrimeReply).errors
    return f"priming reported errors: {errors}" if errors else None


def _read_ok(data: bytes) -> str | None:
    reply = msgspec.json.decode(data, type=MemoryReadReply)
    return None if reply.ok else f"the read failed: {reply.error}"


async def _service_rpcs(nc: Client, names: tuple[str, ...], count: int) -> tuple[list[float], list[float]]:
    """The two request/replies every cycle makes, timed alone: priming's prime, a memory-writer read.

    The prime request is agent-runner's (a person's chat message, the default context window);
    the read is the status.json read that starts every cycle.
    """
    primes = [
        (
            rpc_subject("priming", "prime", names[i % len(names)]),
            msgspec.json.encode(PrimeRequest(trigger="message", text=message("direct", i), sender="human")),
        )
        for i in range(count)
    ]
    read = msgspec.json.encode(MemoryReadRequest(op="read", path="status.json"))
    reads = [(rpc_subject("memory", "read", names[i % len(names)]), read) for i in range(count)]
    warm = min(count, len(names))
    prime_s = await rpc_round_trips(nc, primes, _primed_ok, warmup=warm)
    return prime_s, await rpc_round_trips(nc, reads, _read_ok, warmup=warm)


async def _measure(system: BenchSystem, params: Params, say: Callable[[str], None]) -> OverheadRun:
    started, load_start, t0 = datetime.now(UTC), load_average(), time.perf_counter()
    names = anima_names(params.animas)
    gateway, info = system.gateway_url, system.info
    assert info is not None
    password = admin_password(system.home) or ""
    nc = await system.connect()
    limits = httpx.Limits(max_connections=max(params.clients, 1) + 4, max_keepalive_connections=None)
    client = httpx.AsyncClient(timeout=httpx.Timeout(180.0), limits=limits)
    try:
        await create_animas(nc, names)
        await wait_listed(client, gateway, names, 30.0)
        create_s = time.perf_counter() - t0
        say(f"{len(names)} animas created; warming up ({params.warmup_rounds} rounds)")
        warmup = await _warm_up(client, gateway, names, params.warmup_rounds)
        settle_s = await settle(nc)
        say(
            f"raw round trips: NATS ×{params.nats_requests} (two responders),"
            f" gateway /api/health ×{params.http_requests}"
        )
        nats_remote = await nats_other_process(nc, info.nats_url, ADMIN_USER, password, params.nats_requests)
        nats_local = await nats_in_process(nc, info.nats_url, ADMIN_USER, password, params.nats_requests)
        health = await http_round_trips(client, gateway, params.http_requests)
        say(f"service request/replies: priming prime and memory-writer read ×{params.rpc_requests} each")
        prime_rpc, read_rpc = await _service_rpcs(nc, names, params.rpc_requests)
        say(f"chats one at a time: {params.requests} over {len(names)} animas")
        first = await stream_last_seq(nc) + 1
        one = await sequential(client, gateway, names, params.requests, SCRIPTED_REPLY)
        settle_s += await settle(nc)
        say(f"sustained load: {params.clients} clients for {params.duration_s:g} s")
        cpu_before = cpu_times()
        load = await sustained(client, gateway, names, params.clients, params.duration_s, SCRIPTED_REPLY)
        load_busy = busy_share(cpu_before, cpu_times())
        settle_s += await settle(nc)
        events = await read_events(nc, first)
    finally:
        await client.aclose()
        await nc.close()
    return OverheadRun(
        params=params,
        started=started,
        load_start=load_start,
        warmup=warmup,
        sequential=one,
        sustained=load,
        nats_remote=nats_remote,
        nats_local=nats_local,
        http_health=health,
        prime_rpc=prime_rpc,
        read_rpc=read_rpc,
        stages=breakdown(one.samples, events),
        stages_load=breakdown(load.samples, events),
        create_s=create_s,
        load_busy=load_busy,
        settle_s=settle_s,
    )


def run_overhead(
    params: Params, *, workdir: Path | None = None, say: Callable[[str], None] = print
) -> OverheadRun:
    """Start a fresh system in ``workdir`` (default: a temporary directory), measure, stop it."""
    began = time.perf_counter()
    where = workdir or Path(tempfile.mkdtemp(prefix="overhead-bench-"))
    say(f"starting the scripted LLM and `anima up` in {where} (logs there)")
    with BenchSystem(where) as system:
        up_s = time.perf_counter() - began
        say(f"system up: gateway {system.gateway_url}; scripted LLM {system.llm_url}")
        run = asyncio.run(_measure(system, params, say))
        run.llm_served, run.up_s = system.llm_served(), up_s
    if workdir is None:  # kept when something failed, for its logs
        shutil.rmtree(where, ignore_errors=True)
    run.load_end = load_average()
    run.seconds = time.perf_counter() - began
    return run
