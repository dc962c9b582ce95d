"""The message handler with fakes for every port: given a delivery, which events come out."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import msgspec
import pytest
from pydantic import SecretStr

from animas_agent_runner import domain
from animas_agent_runner.handlers import MessageHandler
from animas_agent_runner.ports import Completion, ModelCallFailed, ModelTarget
from animas_contracts import (
    ContractError,
    CycleFinished,
    CycleStatus,
    Event,
    LlmCalled,
    MessageReceived,
    PrimeReply,
    PrimeRequest,
    ResponseOutcome,
    ResponseSent,
    encode_event,
)
from animas_core.config import AnimaModelConfig, AnimaWorksConfig, Credential, write_config
from animas_core.errors import PoisonMessage, RetryableError
from animas_core.faults import FaultPoints


class FakeSink:
    def __init__(self) -> None:
        self.events: list[Event] = []

    async def publish(self, event: Event) -> None:
        self.events.append(event)

    def types(self) -> list[str]:
        return [e.event_type for e in self.events]


class FakeModel:
    def __init__(self, *outcomes: Completion | ModelCallFailed) -> None:
        self.outcomes = list(outcomes)
        self.calls: list[tuple[ModelTarget, list[dict[str, Any]]]] = []

    async def complete(self, target: ModelTarget, messages: list[dict[str, Any]]) -> Completion:
        self.calls.append((target, messages))
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, ModelCallFailed):
            raise outcome
        return outcome


class FakeBodies:
    def __init__(self) -> None:
        self.stored: dict[str, bytes] = {}

    async def put(self, digest: str, data: bytes) -> None:
        self.stored[digest] = data


class FakeMemory:
    def __init__(self, files: dict[str, str] | None = None) -> None:
        self.files = files if files is not None else {"status.json": '{"enabled": true}'}

    async def read(self, anima: str, path: str) -> str | None:
        return self.files.get(path)


class FakePriming:
    def __init__(self, sections: dict[str, str] | None = None) -> None:
        self.sections = sections or {}
        self.requests: list[PrimeRequest] = []

    async def prime(self, anima: str, request: PrimeRequest) -> PrimeReply:
        self.requests.append(request)
        return PrimeReply(message_type="request", budget=3000, sections=self.sections)


class FakeLedger:
    def __init__(self, answered: set[str] | None = None) -> None:
        self.answered = answered or set()

    async def reply_exists(self, anima: str, reply_id: str, after_seq: int) -> bool:
        return reply_id in self.answered


@dataclasses.dataclass
class FakeDelivery:
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


def _completion(text: str = "Hello.", raw: dict[str, Any] | None = None) -> Completion:
    return Completion(
        text=text, model="scripted", prompt_tokens=10, completion_tokens=2, raw=raw or {"choices": []}
    )


def _message(anima: str = "sample") -> MessageReceived:
    return MessageReceived(
        anima=anima, correlation_id="corr", producer="gateway", text="hi", sender="tanaka", thread_id="t"
    )


def _configured(tmp_path: Path, model: str | None = "openai/scripted") -> Path:
    path = tmp_path / "config.json"
    write_config(
        path,
        AnimaWorksConfig(
            credentials={
                "scripted": Credential(api_key=SecretStr("secret-key-123"), base_url="http://127.0.0.1:1/v1")
            },
            anima_defaults=AnimaModelConfig(model=model, credential="scripted"),
        ),
    )
    return path


def _handler(config: Path, model: FakeModel, **kw: Any) -> tuple[MessageHandler, FakeSink, FakeBodies]:
    sink, bodies = FakeSink(), FakeBodies()
    handler = MessageHandler(
        publisher=sink,
        model=model,
        bodies=bodies,
        ledger=kw.pop("ledger", FakeLedger()),
        config_path=config,
        memory=kw.pop("memory", FakeMemory()),
        priming=kw.pop("priming", FakePriming()),
        faults=FaultPoints(""),
        max_deliveries=kw.pop("max_deliveries", 3),
        body_inline_limit=kw.pop("body_inline_limit", 16_384),
    )
    return handler, sink, bodies


async def test_a_message_becomes_a_recorded_cycle_with_one_reply(tmp_path: Path) -> None:
    model = FakeModel(_completion("Dear Tanaka-san"))
    handler, sink, _ = _handler(_configured(tmp_path), model)
    message = _message()

    await handler(encode_event(message), FakeDelivery())

    assert sink.types() == ["cycle.started", "llm.called", "response.sent", "cycle.finished"]
    reply = sink.events[2]
    assert isinstance(reply, ResponseSent)
    assert (reply.text, reply.outcome, reply.in_reply_to, reply.to) == (
        "Dear Tanaka-san",
        ResponseOutcome.REPLY,
        message.id,
        "tanaka",
    )
    assert reply.id == domain.reply_id_for(message.id)
    assert {e.correlation_id for e in sink.events} == {"corr"}
    called = sink.events[1]
    assert isinstance(called, LlmCalled) and called.usage.total_tokens == 12
    assert model.calls[0][0].api_key == "secret-key-123"
    assert b"secret-key-123" not in b"".join(encode_event(e) for e in sink.events)


async def test_recalled_memories_reach_the_prompt(tmp_path: Path) -> None:
    model = FakeModel(_completion())
    priming = FakePriming({"C": "## Related knowledge\n- Use formal language with Tanaka-san"})
    handler, _, _ = _handler(_configured(tmp_path), model, priming=priming)
    await handler(encode_event(_message()), FakeDelivery())
    assert priming.requests[0].text == "hi" and priming.requests[0].sender == "tanaka"
    assert "Use formal language with Tanaka-san" in model.calls[0][1][0]["content"]


async def test_without_a_model_the_sender_gets_configuration_guidance(tmp_path: Path) -> None:
    model = FakeModel()
    handler, sink, _ = _handler(_configured(tmp_path, model=None), model)

    await handler(encode_event(_message()), FakeDelivery())

    assert sink.types() == ["cycle.started", "response.sent", "cycle.finished"]
    reply = sink.events[1]
    assert isinstance(reply, ResponseSent) and reply.outcome == ResponseOutcome.CONFIGURATION_NEEDED
    assert "No model is configured for anima 'sample'" in reply.text and not model.calls


async def test_an_invalid_config_is_answered_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text('{"anima_defaults": {"max_tokens": -1}}')
    handler, sink, _ = _handler(path, FakeModel())

    await handler(encode_event(_message()), FakeDelivery())

    finished, reply = sink.events[-1], sink.events[-2]
    assert isinstance(finished, CycleFinished) and "anima_defaults.max_tokens" in (finished.error or "")
    assert isinstance(reply, ResponseSent) and "anima_defaults.max_tokens" in reply.text


async def test_large_bodies_go_to_the_object_store_by_digest(tmp_path: Path) -> None:
    model = FakeModel(_completion(raw={"choices": [], "padding": "x" * 5000}))
    handler, sink, bodies = _handler(_configured(tmp_path), model, body_inline_limit=1000)

    await handler(encode_event(_message()), FakeDelivery())

    called = sink.events[1]
    assert isinstance(called, LlmCalled) and called.response is not None
    assert called.response.stored and called.response.inline is None
    assert msgspec.json.decode(bodies.stored[called.response.digest])["padding"] == "x" * 5000


async def test_a_disabled_or_missing_anima_does_not_call_the_model(tmp_path: Path) -> None:
    for files, reason in (({"status.json": '{"enabled": false}'}, "it is disabled"), ({}, "no anima named")):
        model = FakeModel()
        handler, sink, _ = _handler(_configured(tmp_path), model, memory=FakeMemory(files))
        await handler(encode_event(_message()), FakeDelivery())
        reply = sink.events[1]
        assert isinstance(reply, ResponseSent) and reason in reply.text and not model.calls


async def test_status_json_settings_are_used(tmp_path: Path) -> None:
    model = FakeModel(_completion())
    status = '{"enabled": true, "model": "openai/from-status", "max_tokens": 99}'
    handler, _, _ = _handler(_configured(tmp_path), model, memory=FakeMemory({"status.json": status}))
    await handler(encode_event(_message()), FakeDelivery())
    assert (model.calls[0][0].model, model.calls[0][0].max_tokens) == ("openai/from-status", 99)


async def test_a_transient_failure_is_retried_and_recorded(tmp_path: Path) -> None:
    handler, sink, _ = _handler(_configured(tmp_path), FakeModel(ModelCallFailed("timeout", transient=True)))

    with pytest.raises(RetryableError):
        await handler(encode_event(_message()), FakeDelivery(deliveries=1))

    assert sink.types() == ["cycle.started", "llm.called"]
    called = sink.events[1]
    assert isinstance(called, LlmCalled) and called.error == "timeout" and called.response is None


async def test_on_the_last_attempt_the_sender_is_told_the_model_failed(tmp_path: Path) -> None:
    handler, sink, _ = _handler(_configured(tmp_path), FakeModel(ModelCallFailed("timeout", transient=True)))

    await handler(encode_event(_message()), FakeDelivery(deliveries=3))

    reply = sink.events[2]
    assert isinstance(reply, ResponseSent) and reply.outcome == ResponseOutcome.ERROR
    assert "after 3 attempt(s): timeout" in reply.text


async def test_a_permanent_failure_is_answered_at_once(tmp_path: Path) -> None:
    failure = ModelCallFailed("AuthenticationError: bad key", transient=False)
    handler, sink, _ = _handler(_configured(tmp_path), FakeModel(failure))

    await handler(encode_event(_message()), FakeDelivery(deliveries=1))

    assert sink.types() == ["cycle.started", "llm.called", "response.sent", "cycle.finished"]


async def test_a_redelivered_message_that_was_answered_only_closes_the_cycle(tmp_path: Path) -> None:
    message = _message()
    model = FakeModel()
    ledger = FakeLedger({domain.reply_id_for(message.id)})
    handler, sink, _ = _handler(_configured(tmp_path), model, ledger=ledger)

    await handler(encode_event(message), FakeDelivery(deliveries=2))

    assert sink.types() == ["cycle.finished"] and not model.calls
    assert sink.events[0].id == domain.cycle_finished(message, CycleStatus.OK, 0).id


async def test_a_redelivery_reuses_the_derived_ids(tmp_path: Path) -> None:
    message = _message()
    first, second = FakeSink(), FakeSink()
    for sink, attempt in ((first, 1), (second, 2)):
        handler, out, _ = _handler(_configured(tmp_path), FakeModel(_completion()))
        await handler(encode_event(message), FakeDelivery(deliveries=attempt))
        sink.events = out.events

    def ids(sink: FakeSink, event_type: str) -> list[str]:
        return [e.id for e in sink.events if e.event_type == event_type]

    for event_type in ("cycle.started", "response.sent", "cycle.finished"):
        assert ids(first, event_type) == ids(second, event_type)
    assert ids(first, "llm.called") != ids(second, "llm.called")  # each attempt's call is its own record


async def test_bad_input_is_poison(tmp_path: Path) -> None:
    handler, _, _ = _handler(_configured(tmp_path), FakeModel())
    with pytest.raises(ContractError):
        await handler(b"\x00garbage", FakeDelivery())
    bad_name = msgspec.json.decode(encode_event(_message()))
    bad_name["anima"] = "a.b"
    with pytest.raises(PoisonMessage, match="invalid anima name"):
        await handler(msgspec.json.encode(bad_name), FakeDelivery())
    not_a_message = domain.cycle_finished(_message(), CycleStatus.OK, 0)
    with pytest.raises(ContractError, match=r"expected message\.received"):
        await handler(encode_event(not_a_message), FakeDelivery())
