"""Putting streamed pieces back in order, and framing them as server-sent events."""

from __future__ import annotations

import json

from animas_contracts import DeltaKind, MessageReceived, ModelDelta, ResponseSent
from animas_gateway.deltas import KEEP_ALIVE, DeltaOrder, delta_frame, sse_frame
from animas_gateway.domain import ChatRequest, message_event, reply_body


def _delta(seq: int, text: str = "", kind: DeltaKind = DeltaKind.TEXT, attempt: int = 1) -> ModelDelta:
    return ModelDelta(
        anima="sample",
        correlation_id="m1",
        producer="agent-runner",
        cycle_id="c1",
        in_reply_to="m1",
        seq=seq,
        kind=kind,
        text=text,
        attempt=attempt,
    )


def _seqs(deltas: list[ModelDelta]) -> list[int]:
    return [d.seq for d in deltas]


def test_pieces_in_order_pass_straight_through() -> None:
    order = DeltaOrder()
    assert [_seqs(order.accept(_delta(n))) for n in range(3)] == [[0], [1], [2]]


def test_a_piece_already_passed_on_is_dropped() -> None:
    order = DeltaOrder()
    order.accept(_delta(0, "a"))
    assert order.accept(_delta(0, "a")) == []


def test_an_early_piece_waits_for_the_gap_then_both_go() -> None:
    order = DeltaOrder()
    assert _seqs(order.accept(_delta(0))) == [0]
    assert order.accept(_delta(2)) == []
    assert order.accept(_delta(2)) == []  # a duplicate of a held piece is held once
    assert order.held == 1
    assert _seqs(order.accept(_delta(1))) == [1, 2]
    assert order.held == 0


def test_rest_releases_what_waits_behind_a_gap_that_will_not_fill() -> None:
    order = DeltaOrder()
    order.accept(_delta(0))
    order.accept(_delta(3))
    order.accept(_delta(2))
    assert _seqs(order.rest()) == [2, 3]
    assert order.accept(_delta(1)) == []  # too late: the client has moved past it
    assert _seqs(order.accept(_delta(4))) == [4]


def test_a_delta_frame_is_one_event_with_one_data_line() -> None:
    frame = delta_frame(_delta(5, "line one\nline two", DeltaKind.TOOL_START))
    lines = frame.decode().split("\n")
    assert lines[0] == "event: delta"
    assert lines[1].startswith("data: ")
    assert lines[2:] == ["", ""]
    assert json.loads(lines[1].removeprefix("data: ")) == {
        "seq": 5,
        "kind": "tool_start",
        "text": "line one\nline two",
        "attempt": 1,
    }


def test_keep_alive_is_a_comment() -> None:
    assert KEEP_ALIVE.startswith(b":")
    assert KEEP_ALIVE.endswith(b"\n\n")


def test_the_reply_event_carries_what_the_chat_endpoint_answers() -> None:
    message: MessageReceived = message_event("sample", ChatRequest(message="hi"))
    answer = ResponseSent(
        anima="sample",
        correlation_id=message.id,
        producer="agent-runner",
        text="hello",
        in_reply_to=message.id,
        to="human",
        thread_id=message.thread_id,
        model="openai/scripted",
    )
    frame = sse_frame("reply", reply_body(message, answer)).decode()
    assert frame.startswith("event: reply\ndata: ")
    assert json.loads(frame.split("data: ", 1)[1]) == {
        "message_id": message.id,
        "correlation_id": message.correlation_id,
        "thread_id": message.thread_id,
        "reply": "hello",
        "outcome": "reply",
        "model": "openai/scripted",
        "reply_id": answer.id,
        "notice": None,
    }


def test_a_retried_cycle_streams_afresh_and_the_old_attempt_is_dropped() -> None:
    order = DeltaOrder()
    assert _seqs(order.accept(_delta(0, "Hel"))) == [0]
    assert _seqs(order.accept(_delta(1, "lo"))) == [1]
    again = order.accept(_delta(0, "Hi", attempt=2))
    assert [(d.seq, d.attempt) for d in again] == [(0, 2)]
    assert order.accept(_delta(2, "late", attempt=1)) == []
    assert json.loads(delta_frame(again[0]).split(b"data: ")[1])["attempt"] == 2
