"""One run: start the system, warm up, send the burst, wait for the index, search the last fact.

Every anima gets chats in turn from ``clients`` concurrent HTTP clients; the burst's last chat
states a fact (a code no other chat contains). The burst ends with its last reply; from then on
the run waits until nothing is left to index and nothing is on its way (see :mod:`.lag`), then
asks ``anima search`` (the real CLI, its own process) for the fact. Last, the catch-up phase
(:mod:`.backlog`) measures how fast the index works off a backlog.
"""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
from overhead.machine import busy_share, cpu_times, load_average
from overhead.measure import ChatSample, chat
from overhead.system import (
    SCRIPTED_REPLY,
    BenchSystem,
    anima_names,
    create_animas,
    settle,
    wait_listed,
)

from .backlog import Backlog, run_backlog
from .lag import LagRecorder, LagSample

FACT_CODE = "QX-4471"
FACT = f"{FACT_CODE} is the code of my bike locker at the station, please remember it."
FACT_QUERY = "bike locker code"
TOPICS = ("planning meeting", "budget review", "printer order", "team lunch", "release notes")
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")


@dataclasses.dataclass(frozen=True)
class Params:
    """What a run does; the defaults are the published run's."""

    animas: int = 20
    chats: int = 450
    clients: int = 20
    drain_timeout_s: float = 300.0
    backlog: int = 450
    """Changes stored at once after the burst (the catch-up phase; 0: none)."""


@dataclasses.dataclass
class IndexingRun:
    """Everything measured."""

    params: Params
    started: datetime
    load_start: str
    chats: list[ChatSample]
    burst_began: LagSample
    burst_ended: LagSample
    """The first sample after the last reply of the burst."""
    peak_lag: int
    drained: LagSample | None
    """The first sample with nothing left to index; None when the drain timed out."""
    busy: float | None
    fact_anima: str
    search_output: str
    backlog: Backlog | None = None
    load_end: str = ""
    seconds: float = 0.0

    @property
    def burst_s(self) -> float:
        return self.burst_ended.at - self.burst_began.at

    @property
    def drain_s(self) -> float | None:
        """Seconds from the burst's last reply to an index with nothing left to do."""
        return None if self.drained is None else max(self.drained.at - self.burst_ended.at, 0.0)

    @property
    def fact_found(self) -> bool:
        return FACT_CODE in self.search_output


def _message(i: int) -> str:
    return f"Note {i}: the {TOPICS[i % len(TOPICS)]} moves to {DAYS[i // len(TOPICS) % len(DAYS)]}."


async def _burst(
    client: httpx.AsyncClient, gateway: str, names: tuple[str, ...], params: Params
) -> list[ChatSample]:
    """``params.chats`` chats from ``params.clients`` clients at once; the last one states the fact."""
    queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
    for i in range(params.chats):
        queue.put_nowait((names[i % len(names)], FACT if i == params.chats - 1 else _message(i)))
    samples: list[ChatSample] = []

    async def client_loop() -> None:
        while not queue.empty():
            anima, text = queue.get_nowait()
            samples.append(await chat(client, gateway, anima, text, SCRIPTED_REPLY))

    await asyncio.gather(*(client_loop() for _ in range(params.clients)))
    return samples


def search(system: BenchSystem, anima: str, query: str) -> str:
    """``anima search ANIMA QUERY`` as a person runs it; its output."""
    done = subprocess.run(
        [sys.executable, "-m", "animas_tools.cli", "search", anima, query, "--home", str(system.home.root)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return done.stdout + done.stderr


async def _measure(system: BenchSystem, params: Params, say: Callable[[str], None]) -> IndexingRun:
    started, load_start, t0 = datetime.now(UTC), load_average(), time.perf_counter()
    names = anima_names(params.animas)
    nc = await system.connect()
    limits = httpx.Limits(max_connections=params.clients + 4, max_keepalive_connections=None)
    client = httpx.AsyncClient(timeout=httpx.Timeout(300.0), limits=limits)
    recorder = LagRecorder(nc.jetstream())
    sampling: asyncio.Task[None] | None = None
    try:
        await create_animas(nc, names)
        await wait_listed(client, system.gateway_url, names, 30.0)
        say(f"{len(names)} animas created; warming up (one chat each), then settling")
        await asyncio.gather(*(chat(client, system.gateway_url, n, "Hello!", SCRIPTED_REPLY) for n in names))
        await settle(nc)
        sampling = asyncio.create_task(recorder.run())
        await asyncio.sleep(0.3)
        say(f"burst: {params.chats} chats from {params.clients} clients at once")
        began, cpu_before = time.perf_counter(), cpu_times()
        chats = await _burst(client, system.gateway_url, names, params)
        ended = time.perf_counter()
        busy = busy_share(cpu_before, cpu_times())
        say(f"burst done in {ended - began:.1f} s; waiting for the index to catch up")
        drained = await recorder.settled_after(ended, params.drain_timeout_s)
        fact_anima = names[(params.chats - 1) % len(names)]
        say(f"searching {fact_anima}'s memory for {FACT_QUERY!r} with `anima search`")
        output = await asyncio.to_thread(search, system, fact_anima, FACT_QUERY)
        backlog = None
        if params.backlog:
            say(f"catch-up: {params.backlog} episode changes stored at once")
            backlog = await run_backlog(nc, recorder, names, params.backlog, params.drain_timeout_s)
    finally:
        if sampling is not None:
            sampling.cancel()
        await client.aclose()
        await nc.close()
    burst = recorder.between(began, ended)
    return IndexingRun(
        params=params,
        started=started,
        load_start=load_start,
        chats=chats,
        burst_began=recorder.at(began),
        burst_ended=recorder.at(ended),
        peak_lag=max((s.lag for s in burst), default=0),
        drained=drained,
        busy=busy,
        fact_anima=fact_anima,
        search_output=output,
        backlog=backlog,
        load_end=load_average(),
        seconds=time.perf_counter() - t0,
    )


def run_indexing(params: Params, *, workdir: Path | None, say: Callable[[str], None]) -> IndexingRun:
    """Start a fresh system, measure, stop it; the home is removed unless ``workdir`` was given."""
    root = workdir or Path(tempfile.mkdtemp(prefix="animaworks-indexing-bench-"))
    try:
        say(f"starting the system in {root}")
        with BenchSystem(root) as system:
            return asyncio.run(_measure(system, params, say))
    finally:
        if workdir is None:
            shutil.rmtree(root, ignore_errors=True)
