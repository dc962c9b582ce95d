"""An anima's next fire times, and firing its heartbeat or a cron task by hand.

The schedules come from the anima's heartbeat.md and cron.md (read through memory-writer) and are
read with :mod:`animas_core.schedules`, the scheduler's own source of truth, so these are the fire
times the scheduler will use. A trigger is the ``heartbeat.due`` or ``cron.due`` event
``anima trigger`` publishes (``scheduled_by=manual``), made by the same code
(:mod:`animas_core.schedules.manual`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

import msgspec
from nats.aio.client import Client
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from animas_contracts import InvalidAnimaName, validate_anima_name
from animas_core.broker import EventSink
from animas_core.config import AnimaWorksConfig, ConfigError
from animas_core.errors import RetryableError
from animas_core.memory_client import MemoryClient
from animas_core.schedules import HEARTBEAT, NamedSchedule, anima_schedules, next_fires
from animas_core.schedules.manual import TriggerKind, TriggerRefused, cron_task, due_event, status_zone
from animas_gateway.api.animas import NAME
from animas_gateway.domain import PRODUCER
from animas_gateway.operations import Operation, Param, decode_body
from animas_gateway.problems import Problem

MAX_COUNT = 100


class HeartbeatPlan(msgspec.Struct, frozen=True, kw_only=True):
    """The heartbeat: its schedule as written (null: none), why it cannot fire, its next fire times."""

    schedule: str | None
    error: str | None
    next: list[str]


class CronPlan(msgspec.Struct, frozen=True, kw_only=True):
    """One cron task."""

    task: str
    schedule: str | None
    enabled: bool
    error: str | None
    next: list[str]


class SchedulePlan(msgspec.Struct, frozen=True, kw_only=True):
    """``GET /api/animas/{name}/schedule``: fire times in ISO 8601 with the anima's UTC offset."""

    timezone: str
    heartbeat: HeartbeatPlan
    cron: list[CronPlan]


class TriggerRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /api/animas/{name}/trigger``: the heartbeat, or a cron task by its title."""

    kind: Literal["heartbeat", "cron"]
    task: str | None = None


class Triggered(msgspec.Struct, frozen=True, kw_only=True):
    """The stored ``heartbeat.due`` or ``cron.due``: its id is the cycle's correlation id."""

    event_id: str
    event_type: str
    task: str | None


def plan_of(plan: Sequence[NamedSchedule], now: datetime, tz_key: str, count: int) -> SchedulePlan:
    """The schedule view of an anima's plan (pure); fire times on the anima's wall clock."""
    tz = ZoneInfo(tz_key)

    def fires(named: NamedSchedule) -> list[str]:
        return [fire.astimezone(tz).isoformat() for fire in next_fires(named, now, tz, count)]

    heartbeat = HeartbeatPlan(schedule=None, error=None, next=[])
    cron: list[CronPlan] = []
    for named in plan:
        text = named.schedule.text if named.schedule is not None else None
        if named.key == HEARTBEAT:
            heartbeat = HeartbeatPlan(schedule=text, error=named.error, next=fires(named))
        elif named.file == "cron.md":
            title = named.key.removeprefix("cron:")
            fire_times = fires(named)
            cron.append(
                CronPlan(task=title, schedule=text, enabled=named.enabled, error=named.error, next=fire_times)
            )
    return SchedulePlan(timezone=tz_key, heartbeat=heartbeat, cron=cron)


def operations(
    nc: Client, publisher: EventSink, config: Callable[[], AnimaWorksConfig], clock: Callable[[], datetime]
) -> list[Operation]:
    """``GET /api/animas/{name}/schedule`` and ``POST /api/animas/{name}/trigger``."""
    files = MemoryClient(nc)

    async def status_of(name: str) -> str:
        try:
            validate_anima_name(name)
        except InvalidAnimaName as exc:
            raise Problem(422, str(exc)) from None
        try:
            status = await files.read(name, "status.json")
        except RetryableError as exc:
            raise Problem(503, str(exc)) from None
        if status is None:
            raise Problem(404, f"no anima named {name!r}")
        return status

    async def schedule(request: Request) -> Response:
        name = request.path_params["name"]
        raw = request.query_params.get("count") or "5"
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_COUNT:
            raise Problem(422, f"'count' must be a whole number from 1 to {MAX_COUNT}, not {raw[:40]!r}")
        status = await status_of(name)
        try:
            tz = status_zone(config(), name, status)
        except ConfigError as exc:
            raise Problem(409, str(exc)) from None
        heartbeat, cron = await files.read(name, "heartbeat.md"), await files.read(name, "cron.md")
        plan = anima_schedules(heartbeat, cron, consolidation=None)
        return JSONResponse(msgspec.to_builtins(plan_of(plan, clock(), tz.key, int(raw))))

    async def trigger(request: Request) -> Response:
        name = request.path_params["name"]
        body = decode_body(await request.body(), TriggerRequest)
        kind = TriggerKind(body.kind)
        if kind is TriggerKind.HEARTBEAT and body.task is not None:
            raise Problem(422, 'a heartbeat has no task: send {"kind": "heartbeat"}')
        if kind is TriggerKind.CRON and not body.task:
            raise Problem(422, 'name the cron task: {"kind": "cron", "task": "<its title>"}')
        await status_of(name)
        title = None
        if kind is TriggerKind.CRON:
            assert body.task is not None
            try:
                title = cron_task(name, await files.read(name, "cron.md"), body.task).title
            except TriggerRefused as exc:
                raise Problem(422, str(exc)) from None
        event = due_event(name, kind, title, clock(), producer=PRODUCER)
        await publisher.publish(event)
        return JSONResponse(
            msgspec.to_builtins(Triggered(event_id=event.id, event_type=event.event_type, task=title)),
            status_code=202,
        )

    count = Param(
        "count",
        "query",
        f"Fire times per schedule (1 to {MAX_COUNT}, 5 by default).",
        schema={"type": "integer", "minimum": 1, "maximum": MAX_COUNT},
    )
    return [
        Operation("GET", "/api/animas/{name}/schedule", schedule,
                  "The next fire times of an anima's heartbeat and cron tasks", "schedules", "admin",
                  response=SchedulePlan, params=(NAME, count), errors=(404, 409, 422, 503)),
        Operation("POST", "/api/animas/{name}/trigger", trigger,
                  "Fire the heartbeat or a cron task now (as `anima trigger` does)", "schedules", "admin",
                  body=TriggerRequest, response=Triggered, status=202, params=(NAME,), errors=(404, 503)),
    ]  # fmt: skip
