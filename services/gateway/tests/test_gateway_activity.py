"""The timeline's pure side, no server: filters, items and summaries, the state each event leaves."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest

from animas_contracts import (
    AnimaStatusChanged,
    CycleFinished,
    CycleStarted,
    CycleStatus,
    Event,
    LlmCalled,
    MessageReceived,
    RecordedToolCall,
    RecordedTurn,
    ResponseSent,
    ToolStatus,
    ToolUsed,
    Trigger,
    encode_event,
)
from animas_contracts.agent import Body
from animas_gateway.api.activity import (
    BadQuery,
    Filters,
    make_item,
    parse_filters,
    public,
    state_after,
    summary,
)
from animas_gateway.api.activity_reads import _uuid7_time
from animas_gateway.api.feed import same_origin
from animas_gateway.api.tailer import _offer, _Subscriber

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
ENV: dict[str, Any] = {"anima": "alice", "correlation_id": "c1", "producer": "test"}


def item(seq: int, event: Event, *, minutes: int = 0, partition: int = 3) -> dict[str, Any]:
    raw = msgspec.json.decode(encode_event(event))
    return make_item(
        seq, f"activity.{partition}.{event.anima}.{event.event_type}", T0 + timedelta(minutes=minutes), raw
    )


def started(**kw: Any) -> CycleStarted:
    return CycleStarted(
        **ENV, id="cyc", trigger=Trigger.MESSAGE, trigger_event_id="m1", model="openai/x", **kw
    )


def called(tool_calls: list[RecordedToolCall]) -> LlmCalled:
    return LlmCalled(
        **ENV,
        cycle_id="cyc",
        ordinal=0,
        model="openai/x",
        request=Body(size=1, digest="sha256:0"),
        response=None,
        turn=RecordedTurn(text="ok", tool_calls=tool_calls),
        latency_ms=1500,
    )


def test_an_item_carries_the_sequence_the_anima_and_type_from_the_stored_subject() -> None:
    message = MessageReceived(**ENV, id="m1", text="hello   there", sender="tanaka", thread_id="t")
    got = public(item(7, message))
    assert {k: got[k] for k in ("seq", "anima", "type", "correlation_id", "id")} == {
        "seq": 7,
        "anima": "alice",
        "type": "message.received",
        "correlation_id": "c1",
        "id": "m1",
    }
    assert got["summary"] == "tanaka → alice: hello there"
    assert got["event"]["text"] == "hello   there" and "_stored" not in got
    assert "anima_state" not in got and public(item(7, message), with_state=True)["anima_state"] is None


@pytest.mark.parametrize(
    ("event", "state"),
    [
        (started(), "thinking"),
        (called([]), "thinking"),
        (called([RecordedToolCall(id="1", name="search_memory", arguments={})]), "in_tool"),
        (
            ToolUsed(
                **ENV,
                cycle_id="cyc",
                ordinal=0,
                tool="search_memory",
                arguments={},
                status=ToolStatus.OK,
                result="x",
            ),
            "in_tool",
        ),
        (CycleFinished(**ENV, cycle_id="cyc", status=CycleStatus.OK), "idle"),
        (AnimaStatusChanged(**ENV, changes={"enabled": False}), "disabled"),
        (AnimaStatusChanged(**ENV, changes={"enabled": True}), "idle"),
        (AnimaStatusChanged(**ENV, changes={"model": "openai/y"}), None),
        (ResponseSent(**ENV, text="hi", in_reply_to="m1", to="tanaka", thread_id="t"), None),
    ],
)
def test_each_event_leaves_its_anima_in_a_state(event: Event, state: str | None) -> None:
    raw = msgspec.json.decode(encode_event(event))
    assert state_after(event.event_type, raw) == state


def test_consolidation_is_resting_and_its_end_idle() -> None:
    assert state_after("consolidation.started", {}) == "resting"
    assert state_after("consolidation.finished", {}) == "idle"
    assert state_after("some.future.type", {}) is None


def test_summaries_are_one_line() -> None:
    assert summary(
        "llm.called",
        msgspec.json.decode(encode_event(called([RecordedToolCall(id="1", name="remember", arguments={})]))),
    ) == ("alice called openai/x (0 tokens, 1.5 s), asked for remember")
    finished = CycleFinished(
        **ENV, cycle_id="cyc", status=CycleStatus.FAILED, duration_ms=250, error="boom\nat x"
    )
    assert summary("cycle.finished", msgspec.json.decode(encode_event(finished))) == (
        "alice finished a cycle: failed in 250 ms: boom at x"
    )
    assert summary("cycle.started", msgspec.json.decode(encode_event(started()))) == (
        "alice started a cycle (message, model openai/x)"
    )
    assert summary("response.sent", {"anima": "bob", "to": "tanaka", "text": "x" * 200}).endswith("x…")
    assert summary("unknown.kind", {"anima": "bob"}) == "bob: unknown.kind"


def test_a_type_ending_in_a_dot_is_a_prefix_and_narrows_the_stored_subject() -> None:
    assert Filters(event_type="cycle.").stored_subject() == "activity.*.*.cycle.>"
    assert Filters(event_type="cycle.>").type_prefix == "cycle."
    assert (
        Filters(anima="alice", event_type="cycle.started").stored_subject()
        == "activity.*.alice.cycle.started"
    )
    assert Filters().stored_subject() == "activity.*.*.>"
    cycle_item = item(1, started())
    message_item = item(2, MessageReceived(**ENV, text="x", sender="s", thread_id="t"))
    assert Filters(event_type="cycle.").matches(cycle_item)
    assert not Filters(event_type="cycle.").matches(message_item)
    assert not Filters(event_type="cycle").matches(cycle_item)  # an exact type, not a prefix
    assert not Filters(anima="bob").matches(cycle_item)
    assert Filters(correlation_id="c1").matches(cycle_item) and not Filters(correlation_id="c2").matches(
        cycle_item
    )


def test_time_bounds_are_on_the_stored_time() -> None:
    at_five = item(1, started(), minutes=5)
    assert Filters(since=T0 + timedelta(minutes=5)).matches(at_five)
    assert not Filters(since=T0 + timedelta(minutes=6)).matches(at_five)
    assert not Filters(until=T0 + timedelta(minutes=4)).matches(at_five)


def test_query_parameters_are_checked() -> None:
    got = parse_filters({"anima": "alice", "type": "cycle.", "since": "2026-03-01T09:00:00Z"})
    assert got == Filters(anima="alice", event_type="cycle.", since=T0)
    for bad in (
        {"anima": "Not A Name!"},
        {"type": "a..b"},
        {"type": ">"},
        {"since": "yesterday"},
        {"until": "2026-03-01T09:00:00"},
    ):
        with pytest.raises(BadQuery):
            parse_filters(bad)


def test_the_trigger_time_comes_from_a_uuid7() -> None:
    from animas_contracts import uuid7

    made = _uuid7_time(uuid7())
    assert made is not None and abs((made - datetime.now(UTC)).total_seconds()) < 60
    assert _uuid7_time("not-a-uuid") is None
    assert _uuid7_time("0b9e8a52-49b4-5d2c-8f1e-6c1d2b3a4f5e") is None  # a derived (v5) id


async def test_a_full_queue_drops_its_subscriber_with_a_final_end() -> None:
    subscriber = _Subscriber(asyncio.Queue(3))
    for seq in range(1, 10):
        _offer(subscriber, {"seq": seq})
    assert subscriber.dropped
    got = [subscriber.queue.get_nowait() for _ in range(subscriber.queue.qsize())]
    assert got == [{"seq": 1}, {"seq": 2}, None]


def test_a_websocket_from_another_origin_is_refused() -> None:
    assert same_origin(None, "127.0.0.1:18500")  # not a browser
    assert same_origin("http://127.0.0.1:18500", "127.0.0.1:18500")
    assert same_origin("https://Gateway.example", "gateway.example")
    assert not same_origin("http://evil.example", "127.0.0.1:18500")
    assert not same_origin("http://127.0.0.1:9999", "127.0.0.1:18500")
    assert not same_origin("null", "127.0.0.1:18500")
    assert not same_origin("http://127.0.0.1:18500", None)
