"""The anima's own clock (seed 003 §8.2, §8.3): heartbeat and cron cycles, and deferred messages.

A heartbeat looks around before it wakes the model: deferred messages in the inbox, blocked or
stale tasks, new files in the workspace. With nothing there it records HEARTBEAT_OK and sends
nothing. Each deferred message is answered as the message it was (its reply has the message's
derived id, so it is sent once) and marked done in the task store; anything else is handed to
the model in one heartbeat cycle that keeps the heartbeat's own conversation (its main context).
What a heartbeat acted on is not acted on again within 24 hours.

A cron task is a fresh session that always produces output; a command task runs under the
anima's permissions first, and output matching its ``skip_pattern`` means nothing to do.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from datetime import datetime, timedelta
from pathlib import Path

from animas_agent_runner import domain
from animas_agent_runner.cycle.delegations import delegation_finding
from animas_agent_runner.cycle.runner import CycleRunner
from animas_agent_runner.ports import ActivityReader, MemoryStore, ReplyLedger
from animas_agent_runner.prompt import PromptTrigger
from animas_agent_runner.toolbox.errors import ToolDenied, ToolFailed
from animas_contracts import (
    CreateTask,
    CronDue,
    CronExecuted,
    CronOutcome,
    HeartbeatDue,
    HeartbeatFinished,
    HeartbeatOutcome,
    MemoryOpRequested,
    MessageOrigin,
    MessageReceived,
    TaskRecord,
    TaskRelation,
    TaskState,
    TransitionTask,
    WriteFile,
    derive_id,
)
from animas_core.broker import EventSink
from animas_core.policy import Delivery
from animas_core.schedules import parse_cron, parse_heartbeat

_log = logging.getLogger(__name__)

REPEAT_WINDOW = timedelta(hours=24)
"""What a heartbeat acted on is not acted on again within this (heartbeat.md's notification rule)."""
STALE_AFTER = timedelta(hours=24)
"""A task in progress that has not changed for this long is stale."""
COMMAND_TIMEOUT_S = 120.0
OUTPUT_CHARS = 2000
DEFAULT_INTERVAL = timedelta(minutes=30)


@dataclasses.dataclass(frozen=True)
class AutonomyPorts:
    """What the heartbeat and cron cycles read and write besides the message cycle."""

    memory: MemoryStore
    publisher: EventSink
    activity: ActivityReader
    ledger: ReplyLedger


@dataclasses.dataclass(frozen=True)
class Finding:
    """Something that needs the anima, with a key that says whether it was seen before."""

    key: str
    line: str
    task: TaskRecord | None = None


class Autonomy:
    """Runs heartbeat and cron cycles, and defers messages that arrive outside active hours."""

    def __init__(self, runner: CycleRunner, ports: AutonomyPorts, workspace_root: Path | None) -> None:
        self._runner = runner
        self._ports = ports
        self._workspace_root = workspace_root

    async def resting(self, anima: str, at: datetime) -> bool:
        """Whether ``at`` falls outside the anima's active hours (never, when it has none)."""
        spec = parse_heartbeat(await self._ports.memory.read(anima, "heartbeat.md") or "")
        if spec.active_hours is None:
            return False
        return not spec.active_hours.contains(at, await self._runner.zone_of(anima))

    async def defer(self, message: MessageReceived) -> None:
        """Keep a message for the next heartbeat: a deferred message in the task store."""
        await self._ports.publisher.publish(
            MemoryOpRequested(
                id=derive_id(message.id, "defer"),
                anima=message.anima,
                correlation_id=message.correlation_id,
                causation_id=message.id,
                producer=domain.PRODUCER,
                op=CreateTask(
                    task_id=message.id,
                    title=f"Message from {message.sender}",
                    detail=message.text,
                    relation=TaskRelation.DEFERRED_MESSAGE,
                    counterpart=message.sender,
                ),
            )
        )
        _log.info("message deferred to the next heartbeat", extra={"message_id": message.id})

    async def heartbeat(self, due: HeartbeatDue, delivery: Delivery) -> None:
        """Look around; act only on what needs the anima."""
        anima = due.anima
        cycle_id = domain.cycle_id_for(derive_id(due.id, "heartbeat"))
        spec = parse_heartbeat(await self._ports.memory.read(anima, "heartbeat.md") or "")
        zone = await self._runner.zone_of(anima)
        if spec.active_hours is not None and not spec.active_hours.contains(due.fire_at, zone):
            await self._finished(due, cycle_id, HeartbeatOutcome.OUTSIDE_ACTIVE_HOURS, [])
            return
        interval = (
            spec.interval.next_after(due.fire_at, zone) - due.fire_at if spec.interval else DEFAULT_INTERVAL
        )
        findings = await self._look_around(due, interval * due.coalesced)
        if not findings:
            await self._finished(due, cycle_id, HeartbeatOutcome.OK, [])
            return
        for finding in findings:
            if finding.task is not None and finding.task.relation is TaskRelation.DEFERRED_MESSAGE:
                await self._answer_deferred(anima, finding.task, delivery)
        others = [f for f in findings if f.task is None]
        if others:
            message = _own_message(
                due, derive_id(due.id, "heartbeat"), "heartbeat", _heartbeat_text(spec.checklist, others)
            )
            await self._runner.answer(message, delivery, trigger=PromptTrigger.HEARTBEAT)
        await self._finished(due, cycle_id, HeartbeatOutcome.ACTED, [f.key for f in findings])

    async def cron(self, due: CronDue, delivery: Delivery) -> None:
        """Run one cron task: its command first if it has one, then the model unless told to skip."""
        message_id = derive_id(due.id, "cron")
        cycle_id = domain.cycle_id_for(message_id)
        spec = parse_cron(await self._ports.memory.read(due.anima, "cron.md") or "")
        task = spec.task(due.task)
        if task is None or (task.schedule is None and task.error):
            reason = f"cron.md has no task named {due.task!r}" if task is None else str(task.error)
            await self._executed(due, cycle_id, CronOutcome.FAILED, error=reason)
            return
        output = ""
        if task.command:
            workspace = await self._runner.workspace_for(due.anima)
            if workspace is None:
                await self._executed(due, cycle_id, CronOutcome.FAILED, error="no workspace is configured")
                return
            try:
                output = await workspace.run_command(task.command, timeout_s=COMMAND_TIMEOUT_S)
            except (ToolDenied, ToolFailed) as exc:
                await self._executed(due, cycle_id, CronOutcome.FAILED, error=str(exc))
                return
            if task.skip_pattern and re.search(task.skip_pattern, output):
                await self._executed(due, cycle_id, CronOutcome.SKIPPED, command_output=output)
                return
        text = task.instruction.strip()
        if task.command:
            text = f"{text}\n\nOutput of `{task.command}`:\n{output}".strip()
        if not task.instruction.strip():
            await self._executed(due, cycle_id, CronOutcome.RAN, command_output=output, produced=output)
            return
        message = _own_message(due, message_id, "cron", f'Cron task "{task.title}":\n{text}')
        reply = await self._runner.answer(message, delivery, trigger=PromptTrigger.CRON, history=False)
        await self._write_output(due, task.title, reply or "")
        await self._executed(due, cycle_id, CronOutcome.RAN, command_output=output, produced=reply or "")

    async def _look_around(self, due: HeartbeatDue, interval: timedelta) -> list[Finding]:
        anima = due.anima
        acted = {
            key
            for finished in await self._ports.activity.heartbeats(anima, due.fire_at - REPEAT_WINDOW)
            if finished.outcome is HeartbeatOutcome.ACTED and _within_repeat_window(finished, due.fire_at)
            for key in finished.found
        }
        findings: list[Finding] = []
        now = due.fire_at
        for task in await self._ports.memory.tasks(anima):
            if task.relation is TaskRelation.DEFERRED_MESSAGE and task.state is TaskState.PENDING:
                findings.append(Finding(f"deferred:{task.task_id}", f"{task.title}: {task.detail}", task))
            elif (delegation := delegation_finding(task, now)) is not None:
                findings.append(Finding(*delegation))
            elif task.state is TaskState.BLOCKED:
                findings.append(Finding(f"blocked:{task.task_id}", f'Task "{task.title}" is blocked.'))
            elif task.state is TaskState.IN_PROGRESS and _older(task.updated_at, now, STALE_AFTER):
                line = f'Task "{task.title}" has not moved since {task.updated_at}.'
                findings.append(Finding(f"stale:{task.task_id}", line))
        findings += self._new_files(anima, since=now - interval)
        # A deferred message is handled (and leaves the inbox) the first time: never held back.
        return [f for f in findings if f.key not in acted or f.task is not None]

    def _new_files(self, anima: str, since: datetime) -> list[Finding]:
        if self._workspace_root is None:
            return []
        home = self._workspace_root / anima
        if not home.is_dir():
            return []
        found = []
        for path in sorted(home.rglob("*")):
            if path.is_file() and not path.is_symlink():
                changed = datetime.fromtimestamp(path.stat().st_mtime, tz=since.tzinfo)
                if changed > since:
                    relative = path.relative_to(home)
                    found.append(
                        Finding(f"file:{relative}:{int(changed.timestamp())}", f"New file: {relative}")
                    )
        return found[:20]

    async def _answer_deferred(self, anima: str, task: TaskRecord, delivery: Delivery) -> None:
        since = datetime.fromisoformat(task.created_at) - timedelta(minutes=5)
        original = await self._ports.activity.message(anima, task.task_id, since)
        if original is not None and not await self._ports.ledger.reply_exists(
            anima, domain.reply_id_for(original.id), after_seq=0
        ):
            # The answer goes back to the sender like any answer to an anima (the prompt says so).
            await self._runner.answer(original, delivery, trigger=PromptTrigger.HEARTBEAT)
        await self._ports.publisher.publish(
            MemoryOpRequested(
                id=derive_id(task.task_id, "deferred", "done"),
                anima=anima,
                correlation_id=original.correlation_id if original else task.task_id,
                causation_id=task.task_id,
                producer=domain.PRODUCER,
                op=TransitionTask(task_id=task.task_id, to=TaskState.DONE, note="answered at a heartbeat"),
            )
        )

    async def _finished(
        self, due: HeartbeatDue, cycle_id: str, outcome: HeartbeatOutcome, found: list[str]
    ) -> None:
        await self._ports.publisher.publish(
            HeartbeatFinished(
                id=derive_id(due.id, "finished"),
                anima=due.anima,
                correlation_id=due.correlation_id,
                causation_id=due.id,
                producer=domain.PRODUCER,
                cycle_id=cycle_id,
                outcome=outcome,
                found=found,
                fire_at=due.fire_at,
            )
        )

    async def _executed(
        self,
        due: CronDue,
        cycle_id: str,
        outcome: CronOutcome,
        *,
        command_output: str = "",
        produced: str = "",
        error: str | None = None,
    ) -> None:
        await self._ports.publisher.publish(
            CronExecuted(
                id=derive_id(due.id, "executed"),
                anima=due.anima,
                correlation_id=due.correlation_id,
                causation_id=due.id,
                producer=domain.PRODUCER,
                cycle_id=cycle_id,
                task=due.task,
                outcome=outcome,
                command_output=command_output[-OUTPUT_CHARS:],
                output=produced[:OUTPUT_CHARS],
                error=error,
            )
        )

    async def _write_output(self, due: CronDue, title: str, reply: str) -> None:
        """Keep what the task produced, where the anima and its people find it: state/cron/."""
        local = due.fire_at.astimezone(await self._runner.zone_of(due.anima))
        await self._ports.publisher.publish(
            MemoryOpRequested(
                id=derive_id(due.id, "cron-output"),
                anima=due.anima,
                correlation_id=due.correlation_id,
                causation_id=due.id,
                producer=domain.PRODUCER,
                op=WriteFile(
                    path=f"state/cron/{_slug(title)}.md",
                    content=f"# {title}\n\n_{local.isoformat(timespec='minutes')}_\n\n{reply.strip()}\n",
                ),
            )
        )


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "task"


def _within_repeat_window(finished: HeartbeatFinished, fire_at: datetime) -> bool:
    """Whether an earlier heartbeat ran for an occurrence within 24 h before this one.

    Both ends are occurrence times, never the wall clock: a heartbeat that fires late, a replay,
    or a test clock far from today must see the same window.
    """
    ran_for = finished.fire_at or finished.ts
    return fire_at - REPEAT_WINDOW <= ran_for < fire_at


def _older(stamp: str, now: datetime, age: timedelta) -> bool:
    try:
        return now - datetime.fromisoformat(stamp) > age
    except (TypeError, ValueError):
        return False


def _own_message(due: HeartbeatDue | CronDue, message_id: str, sender: str, text: str) -> MessageReceived:
    """A message from the anima's own clock: the heartbeat or cron cycle runs as its answer."""
    return MessageReceived(
        id=message_id,
        anima=due.anima,
        correlation_id=due.correlation_id,
        causation_id=due.id,
        producer=domain.PRODUCER,
        text=text,
        sender=sender,
        thread_id=f"{sender}:{due.anima}",
        origin=MessageOrigin.HUMAN,
    )


def _heartbeat_text(checklist: tuple[str, ...], findings: list[Finding]) -> str:
    lines = ["Heartbeat. Your checklist:", *(f"- {item}" for item in checklist)]
    lines += ["", "What needs you now:", *(f"- {f.line}" for f in findings)]
    lines += ["", "Handle what needs you with your tools, then say in a sentence or two what you did."]
    return "\n".join(lines)
