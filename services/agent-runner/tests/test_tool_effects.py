"""A tool effect is stored and confirmed, or the cycle fails (toolbox/effects.py; issue #12 item 5).

The tools run on the real surface with fakes for the services behind them: memory-writer that does
not answer for a while (a restart), a stream that stores an event but loses the ack, memory-writer
that never confirms. Time is a recorded fake sleep, so no test waits on the wall clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from animas_agent_runner.ports import BoardChange, OpOutcome, ToolCall
from animas_agent_runner.toolbox.catalogue import ALL_TOOLS
from animas_agent_runner.toolbox.context import ToolContext
from animas_agent_runner.toolbox.effects import EffectNotConfirmed, EffectRetry, settle
from animas_agent_runner.toolbox.errors import ToolFailed
from animas_agent_runner.toolbox.surface import ToolSurface
from animas_contracts import (
    AnimaSummary,
    AppendEpisode,
    BoardReply,
    BoardRequest,
    Event,
    MemoryOpRequested,
    OutboundRequested,
    RecordOutcome,
    SearchReply,
    SearchRequest,
    TaskRecord,
    ToolStatus,
    ToolUsed,
    WriteKnowledge,
)
from animas_core.errors import RetryableError
from animas_core.permissions import parse_permissions

CYCLE = "cycle-1"


class Sleeps:
    """A fake ``asyncio.sleep``: records the delays, waits for nothing."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


class Stream:
    """JetStream as the tools see it: an event id is stored once; a lost ack is a RetryableError.

    ``lose_acks`` acks of ``outbound.requested`` are lost *after* the event was stored, the case
    where a blind retry with a new id would send twice.
    """

    def __init__(self, lose_acks: int = 0) -> None:
        self.stored: dict[str, Event] = {}
        self.attempts: list[str] = []
        self.lose_acks = lose_acks

    async def publish(self, event: Event) -> None:
        self.attempts.append(event.id)
        self.stored.setdefault(event.id, event)
        if isinstance(event, OutboundRequested) and self.lose_acks:
            self.lose_acks -= 1
            raise RetryableError("no ack from ACTIVITY")

    def of(self, cls: type[Event]) -> list[Event]:
        return [e for e in self.stored.values() if isinstance(e, cls)]


class Directory:
    """memory-writer's reads: silent for ``down`` requests (restarting), then answering."""

    def __init__(self, down: int = 0, names: Sequence[str] = ("sample", "suzuki")) -> None:
        self.down = down
        self.names = names
        self.requests = 0

    def _answering(self) -> None:
        self.requests += 1
        if self.down:
            self.down -= 1
            raise RetryableError("memory-writer did not answer: nats: no responders available")

    async def animas(self) -> list[AnimaSummary]:
        self._answering()
        return [AnimaSummary(name=n, enabled=True) for n in self.names]

    async def read(self, anima: str, path: str) -> str | None:
        self._answering()
        return None

    async def listing(self, anima: str, path: str) -> list[str]:
        return []

    async def tasks(self, anima: str) -> list[TaskRecord]:
        return []

    async def tree(self, anima: str) -> dict[str, str]:
        return {}

    async def shared(self, path: str) -> str | None:
        return None


class Ops:
    """memory-writer applying operations: ``answers`` are given in turn, the last one repeats."""

    def __init__(self, stream: Stream, *answers: OpOutcome) -> None:
        self.stream = stream
        self.answers = list(answers) or [OpOutcome(applied=True, paths=("knowledge/x.md",))]
        self.requests: list[str] = []

    async def apply(self, request: MemoryOpRequested, timeout_s: float) -> OpOutcome:
        self.requests.append(request.id)
        await self.stream.publish(request)
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


class NoSearch:
    async def search(self, anima: str, request: SearchRequest) -> SearchReply:
        return SearchReply()


class NoChannels:
    async def board(self, request: BoardRequest) -> BoardReply:
        return BoardReply(ok=True, board=request.board)

    async def change(self, event: BoardChange, timeout_s: float) -> OpOutcome:
        return OpOutcome(applied=None)


def _context(
    stream: Stream,
    directory: Directory,
    sleeps: Sleeps,
    ops: Ops | None = None,
    backoff: Sequence[float] = (0.5, 1.0, 2.0),
) -> ToolContext:
    return ToolContext(
        anima="sample",
        cycle_id=CYCLE,
        correlation_id="corr",
        thread_id="thread",
        trigger="Message received (from tanaka)",
        permissions=parse_permissions(None),
        memory=directory,
        search=NoSearch(),
        ops=ops or Ops(stream),
        channels=NoChannels(),
        publisher=stream,
        workspace=None,
        now=lambda: datetime(2026, 2, 12, 9, 0, tzinfo=UTC),
        effect_retry=EffectRetry(backoff_s=tuple(backoff), sleep=sleeps),
    )


def _send(to: str = "suzuki") -> ToolCall:
    return ToolCall(id="call-1", name="send_message", arguments={"to": to, "text": "The report is ready."})


# --- settle: the retry itself ------------------------------------------------------------------


async def test_settle_retries_a_retryable_failure_with_the_configured_backoff() -> None:
    sleeps = Sleeps()
    failures = [RetryableError("down"), RetryableError("still down")]

    async def attempt() -> str:
        if failures:
            raise failures.pop(0)
        return "done"

    assert await settle("t", attempt, EffectRetry(backoff_s=(0.5, 1.0, 2.0), sleep=sleeps)) == "done"
    assert sleeps.delays == [0.5, 1.0]


async def test_settle_gives_up_after_the_last_delay_with_the_cause() -> None:
    sleeps = Sleeps()
    calls = 0

    async def attempt() -> str:
        nonlocal calls
        calls += 1
        raise RetryableError(f"down {calls}")

    with pytest.raises(
        EffectNotConfirmed, match=r"t could not be confirmed after 3 attempt\(s\): down 3"
    ) as info:
        await settle("t", attempt, EffectRetry(backoff_s=(0.5, 1.0), sleep=sleeps))
    assert calls == 3 and sleeps.delays == [0.5, 1.0]
    assert isinstance(info.value, RetryableError)  # the error policy redelivers it
    assert isinstance(info.value.__cause__, RetryableError)


async def test_settle_does_not_retry_a_refusal_or_without_delays() -> None:
    sleeps = Sleeps()

    async def refused() -> str:
        raise ToolFailed("no such anima")

    with pytest.raises(ToolFailed):
        await settle("t", refused, EffectRetry(sleep=sleeps))
    assert sleeps.delays == []

    async def down() -> str:
        raise RetryableError("down")

    with pytest.raises(EffectNotConfirmed, match="after 1 attempt"):
        await settle("t", down, EffectRetry(backoff_s=(), sleep=sleeps))
    assert sleeps.delays == []


def test_a_negative_delay_is_refused_at_configuration() -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        EffectRetry(backoff_s=(1.0, -1.0))


# --- send_message on the surface ---------------------------------------------------------------


async def test_a_send_during_a_memory_writer_restart_is_retried_and_sent_once() -> None:
    stream, sleeps = Stream(), Sleeps()
    context = _context(stream, Directory(down=2), sleeps)

    result = await ToolSurface(context, ALL_TOOLS).run(_send())

    assert not result.is_error and result.content.startswith("Message to suzuki sent")
    sent = stream.of(OutboundRequested)
    assert [e.id for e in sent] == [context.effect_id(0, "outbound")]
    assert sleeps.delays == [0.5, 1.0]
    used = stream.of(ToolUsed)
    assert len(used) == 1 and isinstance(used[0], ToolUsed) and used[0].status is ToolStatus.OK
    assert context.effects.messages_sent == ["suzuki"]


async def test_a_publish_whose_ack_was_lost_is_retried_under_the_same_id() -> None:
    stream, sleeps = Stream(lose_acks=2), Sleeps()
    context = _context(stream, Directory(), sleeps)

    result = await ToolSurface(context, ALL_TOOLS).run(_send())

    assert not result.is_error
    outbound_id = context.effect_id(0, "outbound")
    assert stream.attempts.count(outbound_id) == 3  # three publishes, one id…
    assert [e.id for e in stream.of(OutboundRequested)] == [outbound_id]  # …one stored event
    assert context.effects.messages_sent == ["suzuki"]


async def test_a_send_never_confirmed_fails_the_cycle_and_tells_the_model_nothing() -> None:
    stream, sleeps = Stream(), Sleeps()
    context = _context(stream, Directory(down=100), sleeps)

    with pytest.raises(EffectNotConfirmed, match="send_message could not be confirmed after 4 attempt"):
        await ToolSurface(context, ALL_TOOLS).run(_send())

    assert stream.of(OutboundRequested) == [] and stream.of(ToolUsed) == []
    assert context.effects.messages_sent == []
    assert sleeps.delays == [0.5, 1.0, 2.0]


async def test_an_unknown_recipient_is_a_tool_error_at_once_not_a_retry() -> None:
    stream, sleeps = Stream(), Sleeps()
    directory = Directory()
    context = _context(stream, directory, sleeps)

    result = await ToolSurface(context, ALL_TOOLS).run(_send(to="nobody"))

    assert result.is_error and "there is no anima named 'nobody'" in result.content
    assert directory.requests == 1 and sleeps.delays == []
    assert stream.of(OutboundRequested) == []
    used = stream.of(ToolUsed)
    assert len(used) == 1 and isinstance(used[0], ToolUsed) and used[0].status is ToolStatus.ERROR


async def test_a_second_run_of_the_cycle_derives_the_same_effect_ids() -> None:
    """A redelivered cycle builds a new surface; the call at the same ordinal has the same ids."""
    stream = Stream()
    ids = []
    for _ in range(2):
        context = _context(stream, Directory(), Sleeps())
        surface = ToolSurface(context, ALL_TOOLS)
        await surface.run(ToolCall(id="c0", name="list_tasks", arguments={}))
        await surface.run(_send())
        ids.append(context.effect_id(1, "outbound"))
    assert ids[0] == ids[1]
    assert [e.id for e in stream.of(OutboundRequested)] == ids[:1]
    assert len(stream.of(ToolUsed)) == 2  # ordinals 0 and 1, each recorded once


# --- memory operations -------------------------------------------------------------------------


def _remember() -> ToolCall:
    return ToolCall(id="call-r", name="remember", arguments={"topic": "Tanaka", "fact": "Prefers tea"})


async def test_an_unconfirmed_memory_write_is_asked_again_under_the_same_id() -> None:
    stream, sleeps = Stream(), Sleeps()
    ops = Ops(stream, OpOutcome(applied=None), OpOutcome(applied=True, paths=("knowledge/tanaka.md",)))
    context = _context(stream, Directory(), sleeps, ops)

    result = await ToolSurface(context, ALL_TOOLS).run(_remember())

    assert not result.is_error and result.content.startswith("Remembered in knowledge/tanaka.md")
    assert ops.requests == [context.effect_id(0, "memory.op")] * 2
    writes = stream.of(MemoryOpRequested)
    assert len(writes) == 1 and isinstance(writes[0], MemoryOpRequested)
    assert isinstance(writes[0].op, WriteKnowledge)
    assert context.effects.remembered == ["Prefers tea"]


async def test_a_memory_write_never_confirmed_fails_the_cycle() -> None:
    stream, sleeps = Stream(), Sleeps()
    context = _context(stream, Directory(), sleeps, Ops(stream, OpOutcome(applied=None)))

    with pytest.raises(EffectNotConfirmed, match="memory-writer did not confirm operation"):
        await ToolSurface(context, ALL_TOOLS).run(_remember())
    assert stream.of(ToolUsed) == [] and context.effects.remembered == []


async def test_a_rejected_memory_write_is_a_tool_error_at_once() -> None:
    stream, sleeps = Stream(), Sleeps()
    ops = Ops(stream, OpOutcome(applied=False, reason="knowledge/ is full"))
    context = _context(stream, Directory(), sleeps, ops)

    result = await ToolSurface(context, ALL_TOOLS).run(_remember())

    assert result.is_error and "memory-writer refused: knowledge/ is full" in result.content
    assert len(ops.requests) == 1 and sleeps.delays == []


# --- procedure outcomes ------------------------------------------------------------------------


def _report(success: bool, note: str = "", path: str = "procedures/deploy.md") -> ToolCall:
    arguments: dict[str, object] = {"path": path, "success": success, "note": note}
    return ToolCall(id="call-p", name="report_procedure_outcome", arguments=arguments)


async def test_a_failed_procedure_is_counted_and_its_note_logged_under_two_ids() -> None:
    stream, sleeps = Stream(), Sleeps()
    context = _context(stream, Directory(), sleeps)

    result = await ToolSurface(context, ALL_TOOLS).run(_report(False, "the   cache was stale"))

    assert not result.is_error and "procedures/deploy.md failed (the cache was stale)" in result.content
    ops = [e.op for e in stream.of(MemoryOpRequested) if isinstance(e, MemoryOpRequested)]
    assert ops[0] == RecordOutcome(path="procedures/deploy.md", success=False)
    assert isinstance(ops[1], AppendEpisode)
    assert ops[1].title == "Procedure failed: procedures/deploy.md — the cache was stale"
    assert [e.id for e in stream.of(MemoryOpRequested)] == [
        context.effect_id(0, "memory.op"),
        context.effect_id(0, "memory.op.note"),
    ]


async def test_a_success_without_a_note_is_only_counted() -> None:
    stream, sleeps = Stream(), Sleeps()
    context = _context(stream, Directory(), sleeps)

    result = await ToolSurface(context, ALL_TOOLS).run(_report(True, path="deploy.md"))

    assert not result.is_error and result.content == "Recorded: procedures/deploy.md succeeded."
    ops = [e.op for e in stream.of(MemoryOpRequested) if isinstance(e, MemoryOpRequested)]
    assert ops == [RecordOutcome(path="procedures/deploy.md", success=True)]


async def test_an_outcome_of_a_file_that_is_no_procedure_is_a_tool_error() -> None:
    stream, sleeps = Stream(), Sleeps()
    context = _context(stream, Directory(), sleeps)

    result = await ToolSurface(context, ALL_TOOLS).run(_report(True, path="knowledge/x.txt"))

    assert result.is_error and "is not a procedure file" in result.content
    assert stream.of(MemoryOpRequested) == []
