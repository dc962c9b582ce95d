"""The scheduler's tick: read the clock and the schedules, settle what is due, report what is not read.

Every tick looks at every schedule of every anima, but touches the ``SCHEDULES`` bucket only when
an occurrence is due by this replica's last view of the schedule's cursor: the next occurrence is
cached, so an idle tick costs no I/O. The animas and their files are re-read every
``scheduler.reload_s``, so an edited heartbeat.md or cron.md takes effect without a restart.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from animas_core.broker import EventSink
from animas_core.config import AnimaWorksConfig, ConfigError, SchedulerConfig
from animas_core.schedules import NamedSchedule, next_fires
from animas_scheduler.claims import Claims, Cursor, Cursors, Outcome
from animas_scheduler.domain import cursor_key, occurrences, plan
from animas_scheduler.planning import AnimaPlan, anima_plan
from animas_scheduler.ports import AnimaDirectory, ClaimStore, Clock

_log = logging.getLogger(__name__)

CURSOR_REFRESH = timedelta(days=1)
"""A cursor with nothing due is moved to now this often, so it never ages out of the bucket."""


class Scheduler:
    """Fires every enabled anima's heartbeat, cron tasks and consolidations, once per occurrence."""

    def __init__(
        self,
        *,
        clock: Clock,
        directory: AnimaDirectory,
        claims: Claims,
        cursors: Cursors,
        store: ClaimStore,
        publisher: EventSink,
        config: Callable[[], AnimaWorksConfig],
        health: dict[str, Any],
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self._directory = directory
        self._claims = claims
        self._cursors = cursors
        self._store = store
        self._publisher = publisher
        self._config = config
        self._health = health
        self._monotonic = monotonic
        self._last_config = AnimaWorksConfig()
        self._plans: list[AnimaPlan] | None = None
        self._loaded_at = 0.0
        self._views: dict[str, Cursor] = {}
        self._next: dict[str, tuple[tuple[object, ...], datetime | None]] = {}
        self._reported: set[str] = set()
        self._troubled: set[str] = set()
        health["rejected_schedules"] = []

    def settings(self) -> SchedulerConfig:
        """config.json ``scheduler``; the last valid one while the file is invalid."""
        try:
            self._last_config = self._config()
        except ConfigError as exc:
            _log.error("config.json is invalid; scheduling with the last valid one: %s", exc)
        return self._last_config.scheduler

    async def run(self) -> None:
        """Tick until cancelled; a failing tick is logged and the next one tries again."""
        while True:
            started = self._monotonic()
            try:
                await self.tick()
            except Exception:
                _log.exception("scheduler tick failed")
            elapsed = self._monotonic() - started
            await asyncio.sleep(max(self.settings().tick_s - elapsed, 0.0))

    async def tick(self) -> None:
        """One look at the clock: settle every due occurrence, report unread schedules."""
        now = self._clock.now()
        settings = self.settings()
        if self._plans is None or self._monotonic() - self._loaded_at >= settings.reload_s:
            await self._reload()
        clean = True
        for anima in self._plans or []:
            for named in anima.schedules:
                what = f"{anima.name} {named.key}"
                try:
                    await self._schedule(anima, named, now, settings)
                except Exception as exc:  # one schedule's trouble never stops the others
                    clean = False
                    self._trouble(what, "could not settle a schedule; it is retried every tick", exc)
                else:
                    self._recovered(what)
        await self._report_rejections(now)
        if clean:
            # Tests wait on this: every occurrence up to it is settled by this replica's view.
            self._health["clock"] = now.isoformat()

    async def _reload(self) -> None:
        config = self._last_config
        try:
            plans = []
            for summary in await self._directory.animas():
                heartbeat = await self._directory.read(summary.name, "heartbeat.md")
                cron = await self._directory.read(summary.name, "cron.md")
                plans.append(anima_plan(summary, heartbeat, cron, config))
        except Exception as exc:  # memory-writer away: keep scheduling from what was read before
            self._trouble("reload", "could not re-read the animas' schedules; using the last read", exc)
            return
        self._recovered("reload")
        self._plans = plans
        self._loaded_at = self._monotonic()
        present = {cursor_key(p.name, n.key) for p in plans for n in p.schedules}
        self._views = {k: v for k, v in self._views.items() if k in present}
        self._next = {k: v for k, v in self._next.items() if k in present}

    def _trouble(self, what: str, message: str, exc: Exception) -> None:
        """Log a failure once until it recovers: a tick repeats every second."""
        if what in self._troubled:
            _log.debug("%s: %r", message, exc, extra={"what": what})
            return
        self._troubled.add(what)
        _log.warning("%s: %r", message, exc, extra={"what": what})

    def _recovered(self, what: str) -> None:
        if what in self._troubled:
            self._troubled.discard(what)
            _log.info("recovered", extra={"what": what})

    async def _schedule(
        self, anima: AnimaPlan, named: NamedSchedule, now: datetime, settings: SchedulerConfig
    ) -> None:
        if named.schedule is None:
            return
        key = cursor_key(anima.name, named.key)
        view = self._views.get(key) or await self._cursors.start(key, now)
        upcoming = self._upcoming(key, named, view, anima.zone)
        if upcoming is None or upcoming > now:
            if now - view.at > CURSOR_REFRESH:
                view = await self._cursors.advance(key, now)
            self._views[key] = view
            return
        # Due by this replica's view: read the cursor as it is now, another replica may be ahead.
        view = await self._cursors.read(key) or await self._cursors.start(key, now)
        due = occurrences(named, view.at, now, anima.zone)
        if not (anima.enabled and named.enabled):
            # Passed over without a claim: nothing is published, so no replica can fire it twice.
            if due:
                view = await self._cursors.advance(key, due[-1])
            self._views[key] = view
            return
        try:
            for firing in plan(due, settings.missed_fires, cap=settings.max_catch_up):
                settled = await self._claims.settle(anima.name, named.key, firing, now)
                if settled.end is not None:
                    view = await self._cursors.advance(key, settled.end)
                if settled.outcome is not Outcome.SETTLED:
                    break  # another replica's range, or a claim still held: look again next tick
        finally:
            self._views[key] = view

    def _upcoming(self, key: str, named: NamedSchedule, view: Cursor, zone: ZoneInfo) -> datetime | None:
        """The first occurrence after the cursor (cached until the cursor or the schedule changes)."""
        signature: tuple[object, ...] = (view.at, named, zone)
        cached = self._next.get(key)
        if cached is not None and cached[0] == signature:
            return cached[1]
        # Disabled ones too: their occurrences pass over, so enabling them fires nothing old.
        fires = next_fires(dataclasses.replace(named, enabled=True), view.at, zone, 1)
        upcoming = fires[0] if fires else None
        self._next[key] = (signature, upcoming)
        return upcoming

    async def _report_rejections(self, now: datetime) -> None:
        """Tell each unread schedule once per version of its file (claimed, so once across replicas)."""
        rejections = [r for anima in self._plans or [] for r in anima.rejections]
        self._health["rejected_schedules"] = [r.health() for r in rejections]
        for rejection in rejections:
            if rejection.event_id in self._reported:
                continue
            if await self._store.create(f"rej.{rejection.event_id}", b"reported") is not None:
                await self._publisher.publish(rejection.event(now))
                _log.warning(
                    "schedule not understood: %s",
                    rejection.reason,
                    extra={"anima": rejection.anima, "file": rejection.file, "schedule": rejection.schedule},
                )
            self._reported.add(rejection.event_id)
