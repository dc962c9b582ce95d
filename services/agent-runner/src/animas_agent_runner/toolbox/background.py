"""Long tool calls in the background (seed 003 ``background_task``).

A call of a tool listed in ``config.json`` ``background_task.eligible_tools`` that is still running
when its threshold passes is handed over: the model gets a handle at once (the task id) and the
cycle goes on and finishes. The call keeps running here, on this replica, and when it ends its
result is recorded as ``tool.background.finished`` under the anima's subject with the cycle's
correlation id; priming shows it in the anima's next cycle, once. If agent-runner is stopped while
a call runs, the call is recorded as ``interrupted`` when it shuts down; if it is killed, a
running agent-runner records it so (:func:`recover_orphans`): the handover's ``tool.used`` names
the process (``background_runner``), and a process whose health record is gone runs nothing.

Only tools that wait on something outside (external tools, workspace commands) may go to the
background: an anima's own tools act on its memory and must settle inside their cycle.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import logging
import uuid
from collections.abc import Awaitable, Iterable
from datetime import datetime, timedelta
from typing import Any, Protocol

from animas_agent_runner.domain import PRODUCER
from animas_agent_runner.toolbox.errors import ToolDenied, ToolFailed
from animas_contracts import BackgroundStatus, ToolBackgroundFinished, ToolUsed, derive_id
from animas_core.broker import EventSink
from animas_core.config_model import BackgroundTaskConfig

_log = logging.getLogger(__name__)

RESULT_CHARS = 4_000
"""How much of a background result its event keeps (and priming can show)."""


def background_threshold(config: BackgroundTaskConfig, tool: str, *, own: bool) -> float | None:
    """Seconds after which a call of ``tool`` goes to the background; None: it never does."""
    if not config.enabled or own:
        return None
    eligible = config.eligible_tools.get(tool)
    return eligible.threshold_s if eligible is not None else None


def task_id_for(cycle_id: str, ordinal: int) -> str:
    """The handle of the call at ``ordinal``: the same on a redelivered cycle."""
    return derive_id(cycle_id, "tool.background", ordinal)


def handle_text(task_id: str, tool: str, threshold_s: float) -> str:
    """What the model reads instead of the result."""
    return (
        f"{tool} is still running after {threshold_s:g}s, so it goes on in the background as task "
        f"{task_id}. Its result will come to you in a later cycle (in Pending tasks); do not call "
        "it again for the same thing."
    )


@dataclasses.dataclass(frozen=True)
class BackgroundCall:
    """Who made a call that went to the background, for its result's event."""

    task_id: str
    anima: str
    cycle_id: str
    correlation_id: str
    tool: str
    arguments: dict[str, Any]
    call_id: str | None


class BackgroundTasks:
    """The calls running in the background on this replica, for as long as it runs."""

    def __init__(self, publisher: EventSink, runner: str | None = None) -> None:
        self._publisher = publisher
        self.runner = runner or str(uuid.uuid4())
        """This process, as the handover's ``tool.used`` and the health record name it."""
        self._running: dict[str, tuple[BackgroundCall, asyncio.Task[str]]] = {}
        self._watchers: set[asyncio.Task[None]] = set()

    @property
    def running(self) -> tuple[str, ...]:
        """The task ids still running."""
        return tuple(self._running)

    async def run(
        self, work: Awaitable[str], threshold_s: float | None, describe: BackgroundCall
    ) -> str | None:
        """Await ``work`` for up to ``threshold_s``: its text, or None once it went to the background.

        Without a threshold it is simply awaited. Exceptions of a call that finishes in time pass
        through, as if it had been awaited directly. A task id this process already runs (the
        same call of a redelivered cycle) is not started again.
        """
        if threshold_s is None:
            return await work
        if describe.task_id in self._running:
            # A redelivered cycle calling again what this process still runs: one call, one result.
            if inspect.iscoroutine(work):
                work.close()
            return None
        task: asyncio.Task[str] = asyncio.ensure_future(work)
        done, _ = await asyncio.wait({task}, timeout=threshold_s)
        if done:
            return task.result()
        self._running[describe.task_id] = (describe, task)
        watcher = asyncio.create_task(self._finish(describe, task))
        self._watchers.add(watcher)
        watcher.add_done_callback(self._watchers.discard)
        return None

    async def wait(self) -> None:
        """Until every call running now has ended and its result is recorded (tests, shutdown)."""
        while self._watchers:
            await asyncio.gather(*self._watchers, return_exceptions=True)

    async def close(self) -> None:
        """Stop every running call and record it as interrupted (agent-runner is stopping)."""
        for _, task in list(self._running.values()):
            task.cancel()
        await self.wait()

    async def _finish(self, describe: BackgroundCall, task: asyncio.Task[str]) -> None:
        status, result, error = BackgroundStatus.OK, "", None
        try:
            result = await task
        except asyncio.CancelledError:
            status, error = BackgroundStatus.INTERRUPTED, "agent-runner stopped while it ran"
        except (ToolDenied, ToolFailed) as exc:
            status, error = BackgroundStatus.ERROR, str(exc)
        except Exception as exc:
            _log.exception("background tool %s failed", describe.tool)
            status, error = BackgroundStatus.ERROR, f"{type(exc).__name__}: {exc}"
        finally:
            self._running.pop(describe.task_id, None)
        try:
            await self._publisher.publish(finished_event(describe, status, result, error))
        except Exception:
            # The broker is gone (shutdown): the next start records it as interrupted.
            _log.exception("could not record the end of background task %s", describe.task_id)


def finished_event(
    describe: BackgroundCall, status: BackgroundStatus, result: str, error: str | None
) -> ToolBackgroundFinished:
    """The event that records how a background call ended; its id is derived from the task."""
    shown = result if len(result) <= RESULT_CHARS else result[:RESULT_CHARS] + "\n… (cut)"
    return ToolBackgroundFinished(
        id=derive_id(describe.task_id, "finished"),
        anima=describe.anima,
        correlation_id=describe.correlation_id,
        causation_id=describe.cycle_id,
        producer=PRODUCER,
        task_id=describe.task_id,
        cycle_id=describe.cycle_id,
        tool=describe.tool,
        arguments=describe.arguments,
        status=status,
        result=shown,
        error=error,
        call_id=describe.call_id,
    )


INTERRUPTED_GONE = "agent-runner stopped while it ran (its process is gone)"


class BackgroundLedger(Protocol):
    """What the stream and the health records say about background calls."""

    async def handed_over(self, since: datetime) -> list[ToolUsed]:
        """``tool.used`` events of calls handed to the background since ``since``."""
        ...

    async def finished(self, since: datetime) -> set[str]:
        """Task ids with a ``tool.background.finished`` since ``since``."""
        ...

    async def live_runners(self) -> set[str]:
        """The ``background_runner`` of every agent-runner process whose health record is current."""
        ...


def orphans(handed: Iterable[ToolUsed], finished: set[str], live: set[str]) -> list[ToolUsed]:
    """Handovers whose call did not end and whose process is gone: it never will end."""
    return [
        used
        for used in handed
        if used.background_task is not None
        and used.background_task not in finished
        and used.background_runner not in live
    ]


async def recover_orphans(
    ledger: BackgroundLedger, publisher: EventSink, own: str, now: datetime, retention: timedelta
) -> list[str]:
    """Record every orphaned call of the retention window as interrupted; their task ids.

    The event's id is the one its own process would have given the end, so it is recorded once.
    """
    since = now - retention
    handed = await ledger.handed_over(since)
    if not handed:
        return []
    finished = await ledger.finished(since)
    live = await ledger.live_runners() | {own}
    recovered: list[str] = []
    for used in orphans(handed, finished, live):
        assert used.background_task is not None
        describe = BackgroundCall(
            task_id=used.background_task,
            anima=used.anima,
            cycle_id=used.cycle_id,
            correlation_id=used.correlation_id,
            tool=used.tool,
            arguments=used.arguments,
            call_id=used.call_id,
        )
        await publisher.publish(finished_event(describe, BackgroundStatus.INTERRUPTED, "", INTERRUPTED_GONE))
        recovered.append(describe.task_id)
    return recovered
