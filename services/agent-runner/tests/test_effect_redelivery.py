"""A cycle whose send could not be confirmed fails, is redelivered, and sends exactly once.

The whole cycle runs through the message handler under the real error policy, with fakes for the
ports: memory-writer stops answering before the model's ``send_message`` (a restart) and stays
away through every in-cycle retry, then is back for the redelivery.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path

from pydantic import SecretStr

from animas_agent_runner.cycle.runner import CycleRunner
from animas_agent_runner.cycle.wiring import CyclePorts, CycleSettings
from animas_agent_runner.handlers import MessageHandler
from animas_agent_runner.ports import (
    BoardChange,
    JournalAttempt,
    ModelTarget,
    OpOutcome,
    TextSink,
    ToolCall,
    TurnModel,
    TurnRequest,
    TurnResult,
)
from animas_agent_runner.toolbox.effects import EffectRetry
from animas_contracts import (
    AnimaSummary,
    BoardReply,
    BoardRequest,
    CycleFinished,
    CycleStatus,
    DeadLetter,
    Event,
    MemoryOpRequested,
    MessageReceived,
    ModelDelta,
    OutboundRequested,
    PrimeReply,
    PrimeRequest,
    ResponseSent,
    SearchReply,
    SearchRequest,
    TaskRecord,
    ToolUsed,
    derive_id,
    encode_event,
)
from animas_core.config import AnimaModelConfig, AnimaWorksConfig, Credential, write_config
from animas_core.errors import RetryableError
from animas_core.faults import FaultPoints
from animas_core.policy import RetryPolicy, run_under_policy


class Stream:
    """The activity stream: stores an id once, as JetStream's duplicate window does."""

    def __init__(self) -> None:
        self.stored: dict[str, Event] = {}

    async def publish(self, event: Event) -> None:
        if not isinstance(event, ModelDelta):
            self.stored.setdefault(event.id, event)

    def of(self, cls: type[Event]) -> list[Event]:
        return [e for e in self.stored.values() if isinstance(e, cls)]


class MemoryWriter:
    """Answers while it is up; ``crash_during_turn`` takes it down while the model thinks."""

    def __init__(self) -> None:
        self.down = False
        self.crash_during_turn = False

    async def read(self, anima: str, path: str) -> str | None:
        self._answering()
        return '{"enabled": true}' if path == "status.json" else None

    def _answering(self) -> None:
        if self.down:
            raise RetryableError("memory-writer did not answer: nats: no responders available")

    async def listing(self, anima: str, path: str) -> list[str]:
        return []

    async def tasks(self, anima: str) -> list[TaskRecord]:
        return []

    async def tree(self, anima: str) -> dict[str, str]:
        return {}

    async def shared(self, path: str) -> str | None:
        return None

    async def animas(self) -> list[AnimaSummary]:
        self._answering()
        return [AnimaSummary(name="sample", enabled=True), AnimaSummary(name="suzuki", enabled=True)]


class Model:
    """Asks to send to suzuki until a tool result comes back, then answers."""

    def __init__(self, writer: MemoryWriter) -> None:
        self._writer = writer

    async def turn(self, target: ModelTarget, request: TurnRequest, on_text: TextSink) -> TurnResult:
        if self._writer.crash_during_turn:
            self._writer.down = True
        last = request.conversation[-1]
        calls: tuple[ToolCall, ...] = ()
        text = "I told suzuki."
        if not hasattr(last, "call_id"):
            calls = (
                ToolCall(id="c1", name="send_message", arguments={"to": "suzuki", "text": "Report ready."}),
            )
            text = ""
        return TurnResult(
            text=text,
            tool_calls=calls,
            model="scripted",
            prompt_tokens=1,
            completion_tokens=1,
            stop_reason="tool_calls" if calls else "stop",
            raw_request={},
            raw_response={},
        )


class Unused:
    """Ports this cycle has no use for."""

    async def prime(self, anima: str, request: PrimeRequest) -> PrimeReply:
        return PrimeReply(message_type="request", budget=1000)

    async def search(self, anima: str, request: SearchRequest) -> SearchReply:
        return SearchReply()

    async def board(self, request: BoardRequest) -> BoardReply:
        return BoardReply(ok=True, board=request.board)

    async def change(self, event: BoardChange, timeout_s: float) -> OpOutcome:
        return OpOutcome(applied=None)

    async def put(self, digest: str, data: bytes) -> None:
        return None

    async def attempts(self, anima: str, cycle_id: str, since: datetime) -> list[JournalAttempt]:
        return []

    async def reply_exists(self, anima: str, reply_id: str, after_seq: int) -> bool:
        return False

    async def apply(self, request: MemoryOpRequested, timeout_s: float) -> OpOutcome:
        return OpOutcome(applied=True)


@dataclasses.dataclass
class Delivery:
    data: bytes
    deliveries: int
    subject: str = "activity.0.sample.message.received"
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    stream: str | None = "ACTIVITY"
    stream_seq: int | None = 7
    settled: str = ""

    async def ack(self) -> None:
        self.settled = "ack"

    async def nak(self, delay_s: float) -> None:
        self.settled = f"nak {delay_s:g}"

    async def term(self) -> None:
        self.settled = "term"

    async def in_progress(self) -> None: ...


class DeadLetters:
    def __init__(self) -> None:
        self.letters: list[DeadLetter] = []

    async def send(self, letter: DeadLetter) -> None:
        self.letters.append(letter)


async def test_a_send_lost_to_a_restart_fails_the_cycle_and_the_redelivery_sends_it_once(
    tmp_path: Path,
) -> None:
    config = tmp_path / "config.json"
    write_config(
        config,
        AnimaWorksConfig(
            credentials={"scripted": Credential(api_key=SecretStr("k"), base_url="http://127.0.0.1:1/v1")},
            anima_defaults=AnimaModelConfig(model="openai/scripted", credential="scripted"),
        ),
    )
    stream, writer, unused, sleeps = Stream(), MemoryWriter(), Unused(), []

    async def sleep(delay: float) -> None:
        sleeps.append(delay)

    model: TurnModel = Model(writer)
    runner = CycleRunner(
        CyclePorts(
            publisher=stream,
            bodies=unused,
            memory=writer,
            priming=unused,
            search=unused,
            ops=unused,
            channels=unused,
            models={"litellm": model, "anthropic": model},
            context_window=lambda model: 128_000,
            faults=FaultPoints(""),
            journal=unused,
        ),
        CycleSettings(
            config_path=config,
            max_deliveries=5,
            body_inline_limit=16_384,
            workspace=None,
            effect_retry=EffectRetry(backoff_s=(0.5, 1.0), sleep=sleep),
        ),
    )
    handler = MessageHandler(publisher=stream, ledger=unused, runner=runner)
    message = MessageReceived(
        anima="sample",
        correlation_id="corr",
        producer="gateway",
        text="Tell suzuki",
        sender="tanaka",
        thread_id="t",
    )
    dead = DeadLetters()
    policy = RetryPolicy(max_deliveries=5, backoff_s=(1.0, 2.0))

    async def deliver(delivery: Delivery) -> None:
        async def work(data: bytes) -> None:
            await handler(data, delivery)

        await run_under_policy(delivery, work, service="agent-runner", sink=dead, retry=policy)

    writer.crash_during_turn = True
    first = Delivery(encode_event(message), deliveries=1)
    await deliver(first)

    assert first.settled == "nak 1"  # redelivered with the policy's backoff, not dead-lettered
    assert sleeps == [0.5, 1.0]  # the in-cycle retries came first
    assert stream.of(OutboundRequested) == [] and stream.of(ResponseSent) == []
    assert stream.of(CycleFinished) == [] and stream.of(ToolUsed) == []

    writer.down = writer.crash_during_turn = False
    second = Delivery(encode_event(message), deliveries=2)
    await deliver(second)

    assert second.settled == "ack" and not dead.letters
    sent = stream.of(OutboundRequested)
    cycle_id = derive_id(message.id, "cycle")
    assert [e.id for e in sent] == [derive_id(cycle_id, "tool", 0, "outbound")]
    replies = stream.of(ResponseSent)
    assert len(replies) == 1 and isinstance(replies[0], ResponseSent) and replies[0].text == "I told suzuki."
    finished = stream.of(CycleFinished)
    assert len(finished) == 1 and isinstance(finished[0], CycleFinished)
    assert finished[0].status is CycleStatus.OK

    # A third delivery (the ack of the second was lost) derives the same ids: still one send.
    third = Delivery(encode_event(message), deliveries=3)
    await deliver(third)
    assert third.settled == "ack" and [e.id for e in stream.of(OutboundRequested)] == [sent[0].id]
