"""A real recorded cycle for replay tests: agent-runner's own cycle code, every port faked.

:func:`record_cycle` runs one message through :class:`MessageHandler` and :class:`CycleRunner`
(the model asks for ``remember``, then answers), and returns the trigger and every event the
cycle recorded, as the activity stream would hold them. Bodies stay inline unless a low
``inline_limit`` sends them to the object store (returned by digest).
"""

from __future__ import annotations

import dataclasses
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
    TurnRequest,
    TurnResult,
)
from animas_contracts import (
    AnimaSummary,
    BoardReply,
    BoardRequest,
    Event,
    MemoryOpRequested,
    MessageReceived,
    ModelDelta,
    PrimeReply,
    PrimeRequest,
    SearchReply,
    SearchRequest,
    TaskRecord,
    encode_event,
)
from animas_core.config import AnimaModelConfig, AnimaWorksConfig, Credential, write_config
from animas_core.faults import FaultPoints


class _Sink:
    def __init__(self) -> None:
        self.events: list[Event] = []

    async def publish(self, event: Event) -> None:
        if not isinstance(event, ModelDelta):
            self.events.append(event)


class _Model:
    def __init__(self, *results: TurnResult) -> None:
        self.results = list(results)

    async def turn(self, target: ModelTarget, request: TurnRequest, on_text: TextSink) -> TurnResult:
        result = self.results.pop(0)
        await on_text(result.text)
        return result


class _Bodies:
    def __init__(self) -> None:
        self.stored: dict[str, bytes] = {}

    async def put(self, digest: str, data: bytes) -> None:
        self.stored[digest] = data


class _Memory:
    async def read(self, anima: str, path: str) -> str | None:
        return '{"enabled": true}' if path == "status.json" else None

    async def listing(self, anima: str, path: str) -> list[str]:
        return []

    async def tasks(self, anima: str) -> list[TaskRecord]:
        return []

    async def tree(self, anima: str) -> dict[str, str]:
        return {}

    async def animas(self) -> list[AnimaSummary]:
        return [AnimaSummary(name="sample", enabled=True)]

    async def shared(self, path: str) -> str | None:
        return None


class _Priming:
    async def prime(self, anima: str, request: PrimeRequest) -> PrimeReply:
        return PrimeReply(message_type="request", budget=3000)


class _Search:
    async def search(self, anima: str, request: SearchRequest) -> SearchReply:
        return SearchReply()


class _Ops:
    def __init__(self, sink: _Sink) -> None:
        self.sink = sink

    async def apply(self, request: MemoryOpRequested, timeout_s: float) -> OpOutcome:
        await self.sink.publish(request)
        return OpOutcome(applied=True, paths=("knowledge/tanaka.md",))


class _Channels:
    async def board(self, request: BoardRequest) -> BoardReply:
        return BoardReply(ok=True, board=request.board)

    async def change(self, event: BoardChange, timeout_s: float) -> OpOutcome:
        return OpOutcome(applied=None)


class _Ledger:
    async def reply_exists(self, anima: str, reply_id: str, after_seq: int) -> bool:
        return False


class _Journal:
    async def attempts(self, anima: str, cycle_id: str, since: object) -> list[JournalAttempt]:
        return []


@dataclasses.dataclass
class _Delivery:
    data: bytes = b""
    subject: str = "activity.0.sample.message.received"
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    deliveries: int = 1
    stream: str | None = "ACTIVITY"
    stream_seq: int | None = 7

    async def ack(self) -> None: ...
    async def nak(self, delay_s: float) -> None: ...
    async def term(self) -> None: ...
    async def in_progress(self) -> None: ...


def _turn(text: str, calls: tuple[ToolCall, ...] = ()) -> TurnResult:
    return TurnResult(
        text=text,
        tool_calls=calls,
        model="scripted",
        prompt_tokens=10,
        completion_tokens=2,
        stop_reason="tool_calls" if calls else "stop",
        raw_request={"model": "scripted"},
        raw_response={"text": text},
    )


@dataclasses.dataclass(frozen=True)
class Recorded:
    """The trigger and the events of one cycle, and the bodies it kept by reference (by digest)."""

    events: list[Event]
    bodies: dict[str, bytes]


async def record_cycle(tmp_path: Path, *, inline_limit: int = 10_000_000) -> Recorded:
    """One recorded cycle of anima ``sample`` (correlation ``corr``); bodies over ``inline_limit`` stored."""
    config = tmp_path / "config.json"
    write_config(
        config,
        AnimaWorksConfig(
            credentials={"scripted": Credential(api_key=SecretStr("k"), base_url="http://127.0.0.1:1/v1")},
            anima_defaults=AnimaModelConfig(model="openai/scripted", credential="scripted"),
        ),
    )
    sink, bodies = _Sink(), _Bodies()
    model = _Model(
        _turn(
            "Let me note that.", (ToolCall("call-1", "remember", {"topic": "Tanaka", "fact": "Likes tea"}),)
        ),
        _turn("Noted: Tanaka likes tea."),
    )
    runner = CycleRunner(
        CyclePorts(
            publisher=sink,
            bodies=bodies,
            memory=_Memory(),
            priming=_Priming(),
            search=_Search(),
            ops=_Ops(sink),
            channels=_Channels(),
            models={"litellm": model, "anthropic": model},
            context_window=lambda model: 128_000,
            faults=FaultPoints(""),
            journal=_Journal(),
        ),
        CycleSettings(config_path=config, max_deliveries=3, body_inline_limit=inline_limit, workspace=None),
    )
    handler = MessageHandler(publisher=sink, ledger=_Ledger(), runner=runner)
    trigger = MessageReceived(
        anima="sample",
        correlation_id="corr",
        producer="gateway",
        text="remember that Tanaka likes tea",
        sender="tanaka",
        thread_id="t",
    )
    await handler(encode_event(trigger), _Delivery())
    return Recorded([trigger, *sink.events], bodies.stored)
