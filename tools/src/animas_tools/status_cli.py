"""``anima status``: the broker, every service instance (replicas included), streams and consumers.

It answers within seconds whatever state the system is in: a broker that is down or frozen is
reported as down after one bounded connect attempt, with what the supervisor knows of its
processes, and the command exits 1.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Annotated

import httpx
import nats.errors
import typer
from nats.aio.client import Client
from nats.js.api import ConsumerInfo

from animas_contracts.subjects import ACTIVITY_STREAM
from animas_core.home import Home
from animas_core.logging import redact
from animas_tools.cli_support import fail, home_of
from animas_tools.index_lag import is_index_durable, lag_of
from animas_tools.notify_status import notification_lines
from animas_tools.supervisor import LOCAL_MODEL, NATS_SERVER, read_health_records
from animas_tools.system import NotRunning, SystemInfo, connect_admin

CONNECT_TIMEOUT_S = 2
"""How long ``anima status`` waits for the broker before it says the broker is down."""
JETSTREAM_TIMEOUT_S = 3.0
"""Each JetStream call's limit: a server that accepts connections but whose JetStream is still
recovering its store is reported, not waited for."""

HomeOption = Annotated[
    Path | None, typer.Option("--home", help="AnimaWorks home (default: $ANIMAWORKS_HOME or ~/.animaworks)")
]
NatsUrlOption = Annotated[
    str | None, typer.Option("--nats-url", help="Use this NATS instead of the one `anima up` started")
]


def register(app: typer.Typer) -> None:
    """Add ``anima status`` to the command."""
    app.command()(status)


def status(home: HomeOption = None, nats_url: NatsUrlOption = None) -> None:
    """Show the broker, every service instance (replicas too), streams and consumers."""
    the_home = home_of(home)
    try:
        lines, up = asyncio.run(_report(the_home, nats_url))
    except NotRunning as exc:
        raise fail(str(exc)) from None
    for line in lines:
        typer.echo(line)
    if not up:
        raise typer.Exit(1)


async def _report(home: Home, nats_url: str | None) -> tuple[list[str], bool]:
    """The lines to print, and whether the broker answered."""
    info = SystemInfo.read(home)
    url = nats_url or (info.nats_url if info else None)
    try:
        nc = await connect_admin(home, nats_url, connect_timeout_s=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError, nats.errors.Error) as exc:
        return broker_down_lines(home, url, exc, embedded=bool(info and info.embedded_nats)), False
    try:
        embedded = supervised_pids(home).get(NATS_SERVER)
        lines = [
            f"broker: {redact(url or '')} up"
            + (f" (embedded nats-server, pid {embedded})" if embedded else "")
        ]
        try:
            lines += await _system_lines(nc, home)
        except (TimeoutError, nats.errors.Error) as exc:
            lines.append(
                f"JetStream not answering ({type(exc).__name__}): it may still be recovering its store"
            )
        return lines, True
    finally:
        await nc.close()


def broker_down_lines(home: Home, url: str | None, exc: BaseException, *, embedded: bool) -> list[str]:
    """What status says when the broker does not answer: that, and the supervisor's processes."""
    reason = str(exc) or type(exc).__name__
    waited = f"did not answer within {CONNECT_TIMEOUT_S}s ({type(exc).__name__}: {reason})"
    lines = [f"broker: DOWN: {redact(url or '')} {waited}"]
    if embedded:
        log = home.nats_dir / "nats-server.log"
        lines.append(f"  `anima up` restarts its nats-server on the same port; its log: {log}")
    processes = supervised_pids(home)
    if processes:
        lines.append(
            "processes (as the supervisor last started them; health unknown while the broker is down):"
        )
        for name, pid in sorted(processes.items()):
            state = "running" if pid is not None and _alive(pid) else "not running"
            lines.append(f"  {name:<16} pid={pid or '-':<7} {state}")
    return lines


def supervised_pids(home: Home) -> dict[str, int | None]:
    """``run/services.json``: each supervised process's name (``agent-runner#2``…) and pid."""
    try:
        raw = json.loads((home.run_dir / "services.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(raw, dict):
        return {}
    return {str(name): pid if isinstance(pid, int) else None for name, pid in raw.items()}


def instance_lines(records: list[dict[str, object]], names_by_pid: dict[int, str], now: float) -> list[str]:
    """One line per reporting instance, replicas each on their own, named as the supervisor names them."""
    lines: list[str] = []

    def label(record: dict[str, object]) -> str:
        pid = record.get("pid")
        known = names_by_pid.get(pid) if isinstance(pid, int) else None
        return known or f"{record.get('service')} [{record.get('instance')}]"

    for record in sorted(records, key=lambda r: (str(r.get("service")), label(r))):
        age = now - float(str(record.get("ts", now)))
        extra = f"  url={record['url']}" if "url" in record else ""
        pending = f"  (not yet: {record['pending_work']})" if "pending_work" in record else ""
        state, pid = record.get("status"), record.get("pid")
        line = f"  {label(record):<16} {state!s:<6} pid={pid!s:<7} seen {age:4.1f}s ago"
        lines.append(line + extra + pending)
        lines += [f"    {rejected}" for rejected in rejected_schedule_lines(record)]
    return lines


def rejected_schedule_lines(record: dict[str, object]) -> list[str]:
    """The schedules a scheduler could not read (its health record's ``rejected_schedules``)."""
    rejected = record.get("rejected_schedules")
    if not isinstance(rejected, list):
        return []
    return [
        f"rejected schedule: {r.get('anima')} {r.get('file')} {r.get('schedule')}: {r.get('reason')}"
        for r in rejected
        if isinstance(r, dict)
    ]


def local_model_line(home: Home) -> str:
    """What ``anima status`` says about the bundled local model (and how to configure a stronger one)."""
    info = SystemInfo.read(home)
    if info is None or info.local_model_url is None:
        return "local model: not running (animas without a configured model get configuration guidance)"
    base = info.local_model_url.removesuffix("/v1")
    try:
        health = httpx.get(f"{base}/health", timeout=2.0).json()
    except (httpx.HTTPError, ValueError) as exc:
        return f"local model: {info.local_model_url} not answering ({type(exc).__name__})"
    facts = "  ".join(f"{k}={v}" for k, v in health.items() if not isinstance(v, dict | list))
    return (
        f"local model: {info.local_model_url}  {facts}\n"
        f"  used by animas without a configured model; for stronger answers set a model and credential in "
        f"{home.config_file} (see README, Configure a model)"
    )


async def _system_lines(nc: Client, home: Home) -> list[str]:
    js = nc.jetstream(timeout=JETSTREAM_TIMEOUT_S)
    supervised = supervised_pids(home)
    names_by_pid = {pid: name for name, pid in supervised.items() if pid is not None}
    records = await read_health_records(js)
    lines = ["services:", *instance_lines(records, names_by_pid, time.time())]
    reported = {r.get("pid") for r in records}
    for name, pid in sorted(supervised.items()):
        # The broker and the local model report elsewhere (above, and the local model line below).
        if pid not in reported and name not in (NATS_SERVER, LOCAL_MODEL):
            known = "starting (no health report yet)" if pid is not None and _alive(pid) else "not running"
            lines.append(f"  {name:<16} {known}  pid={pid or '-'}")
    lines.append(local_model_line(home))
    lines.append("streams:")
    index_lag = lag_of([])
    for stream in await js.streams_info():
        state = stream.state
        lines.append(
            f"  {stream.config.name:<11} messages={state.messages:<7} "
            f"bytes={state.bytes:<9} last_seq={state.last_seq}"
        )
        consumers = await js.consumers_info(stream.config.name or "")
        lines += consumer_lines(consumers)
        if stream.config.name == ACTIVITY_STREAM:
            index_lag = lag_of(consumers)
    lines.append(index_lag.line())
    lines += await notification_lines(js)
    return lines


def consumer_lines(consumers: list[ConsumerInfo]) -> list[str]:
    """One line per durable; priming's indexing durables only when behind (their sum has its own line)."""
    return [
        f"    {consumer.name:<32} pending={consumer.num_pending:<5} "
        f"unacked={consumer.num_ack_pending:<3} redelivered={consumer.num_redelivered}"
        for consumer in consumers
        if consumer.config.durable_name
        and not (
            is_index_durable(consumer.name) and not consumer.num_pending and not consumer.num_ack_pending
        )
    ]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
