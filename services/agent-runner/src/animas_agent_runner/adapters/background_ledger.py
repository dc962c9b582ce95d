"""Background calls as the stream and the health records tell them (toolbox/background.py).

Handovers are ``tool.used`` events with a ``background_task``; ends are
``tool.background.finished``; the processes alive are the agent-runner health records in the
``SERVICES`` bucket (each expires :data:`~animas_core.streams.SERVICES_TTL_S` after its process
stops reporting), whose ``background_runner`` names the process as its handovers do.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncGenerator, Callable
from datetime import datetime, timedelta
from typing import cast

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from animas_agent_runner.toolbox.background import recover_orphans
from animas_contracts import ContractError, ToolBackgroundFinished, ToolUsed
from animas_contracts.subjects import SERVICES_BUCKET, stored_activity_filter
from animas_core.broker import EventSink
from animas_core.provenance import decode_delivered
from animas_core.streams import read_stored

_log = logging.getLogger(__name__)

HEALTH_KEY = "background_runner"
"""The health record's field naming the process, as the handovers do."""
RUNNERS = f"$KV.{SERVICES_BUCKET}.agent-runner.>"
"""The agent-runner processes' health records."""


class StreamBackgroundLedger:
    """Implements :class:`~animas_agent_runner.toolbox.background.BackgroundLedger` over JetStream."""

    def __init__(self, js: JetStreamContext) -> None:
        self._js = js

    async def handed_over(self, since: datetime) -> list[ToolUsed]:
        return [
            event
            async for event in self._events("tool.used", since)
            if isinstance(event, ToolUsed) and event.background_task is not None
        ]

    async def finished(self, since: datetime) -> set[str]:
        return {
            event.task_id
            async for event in self._events("tool.background.finished", since)
            if isinstance(event, ToolBackgroundFinished)
        }

    async def live_runners(self) -> set[str]:
        runners: set[str] = set()
        seq = 1
        while True:
            try:
                msg = await self._js.get_msg(
                    f"KV_{SERVICES_BUCKET}",
                    seq=seq,
                    subject=RUNNERS,
                    next=True,
                )
            except NotFoundError:
                return runners
            assert msg.seq is not None
            seq = msg.seq + 1
            with contextlib.suppress(ValueError, AttributeError):
                runner = json.loads(msg.data or b"{}").get(HEALTH_KEY)
                if isinstance(runner, str):
                    runners.add(runner)

    async def _events(self, event_type: str, since: datetime) -> AsyncGenerator[object, None]:
        scan = read_stored(self._js, stored_activity_filter(event_type=event_type), start_time=since)
        async with contextlib.aclosing(cast(AsyncGenerator[Msg, None], scan)) as messages:
            async for msg in messages:
                try:
                    yield decode_delivered(msg.subject, msg.data)
                except ContractError:
                    continue


async def sweep_forever(
    ledger: StreamBackgroundLedger,
    publisher: EventSink,
    own: str,
    clock: Callable[[], datetime],
    retention: Callable[[], timedelta],
    *,
    first_after_s: float,
    every_s: float,
) -> None:
    """Record orphaned background calls as interrupted: soon after start, then every so often.

    ``first_after_s`` must exceed :data:`~animas_core.streams.SERVICES_TTL_S`: a killed process's
    health record outlives it by that long.
    """
    await asyncio.sleep(first_after_s)
    while True:
        try:
            recovered = await recover_orphans(ledger, publisher, own, clock(), retention())
            if recovered:
                _log.warning(
                    "background calls of a stopped agent-runner recorded as interrupted: %s", recovered
                )
        except Exception:  # the next sweep may get through
            _log.exception("background sweep failed")
        await asyncio.sleep(every_s)
