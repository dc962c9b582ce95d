"""The activity-log projection: entries are pure functions of events, files are appended once."""

from __future__ import annotations

import importlib.util
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from animas_contracts import (
    Body,
    CycleFinished,
    CycleStarted,
    CycleStatus,
    LlmCalled,
    MessageOrigin,
    MessageReceived,
    ResponseSent,
    TokenUsage,
    Trigger,
)
from animas_core.home import Home
from animas_memory_writer.adapters.activity_log import ActivityLogFiles
from animas_memory_writer.domain import day_of, entry_for

TS = datetime(2026, 2, 12, 23, 30, tzinfo=UTC)
ENVELOPE: dict[str, Any] = {"anima": "tanaka", "correlation_id": "c1", "producer": "test", "ts": TS}


def test_message_received_maps_to_the_seed_entry() -> None:
    event = MessageReceived(
        id="m1", text="Please reply to Suzuki", sender="alice", thread_id="t1", **ENVELOPE
    )
    entry = entry_for(event)
    assert entry == {
        "ts": "2026-02-12T23:30:00+00:00",
        "type": "message_received",
        "content": "Please reply to Suzuki",
        "summary": "Please reply to Suzuki",
        "from": "alice",
        "via": "human",
        "meta": {
            "event_id": "m1",
            "event_type": "message.received",
            "correlation_id": "c1",
            "thread_id": "t1",
        },
    }
    from_anima = MessageReceived(
        text="hi", sender="bob", thread_id="t", origin=MessageOrigin.ANIMA, **ENVELOPE
    )
    assert entry_for(from_anima)["type"] == "dm_received"  # type: ignore[index]


def test_cycle_events_map_by_trigger_and_status() -> None:
    heartbeat = CycleStarted(trigger=Trigger.HEARTBEAT, trigger_event_id="h", model=None, **ENVELOPE)
    message = CycleStarted(trigger=Trigger.MESSAGE, trigger_event_id="m", model="m", **ENVELOPE)
    failed = CycleFinished(cycle_id="c", status=CycleStatus.FAILED, error="boom", **ENVELOPE)
    assert entry_for(heartbeat)["type"] == "heartbeat_start"  # type: ignore[index]
    assert entry_for(message)["type"] == "cycle_start"  # type: ignore[index]
    assert entry_for(failed)["type"] == "error"  # type: ignore[index]
    assert entry_for(failed)["summary"] == "cycle failed: boom"  # type: ignore[index]


def test_llm_calls_reference_bodies_never_copy_them() -> None:
    body = Body(size=10, digest="sha256:aa", inline={"messages": ["a very private prompt"]})
    event = LlmCalled(
        cycle_id="c",
        ordinal=0,
        model="m",
        request=body,
        response=None,
        usage=TokenUsage(prompt_tokens=3, completion_tokens=4, total_tokens=7),
        **ENVELOPE,
    )
    entry = entry_for(event)
    assert entry is not None and "a very private prompt" not in json.dumps(entry)
    assert entry["meta"]["request"] == "sha256:aa"


def test_long_text_is_summarised() -> None:
    event = ResponseSent(text="word " * 100, in_reply_to="m", to="alice", thread_id="t", **ENVELOPE)
    entry = entry_for(event)
    assert entry is not None and len(entry["summary"]) == 200 and entry["summary"].endswith("…")


def test_the_day_follows_the_time_zone() -> None:
    event = MessageReceived(text="late", sender="a", thread_id="t", **ENVELOPE)
    assert day_of(event, "UTC").isoformat() == "2026-02-12"
    assert day_of(event, "Asia/Tokyo").isoformat() == "2026-02-13"


def _entry(event_id: str) -> dict[str, object]:
    return {"ts": "x", "type": "message_received", "meta": {"event_id": event_id}}


def test_appends_are_idempotent_across_restarts(tmp_path: Path) -> None:
    home = Home(tmp_path)
    day = TS.date()
    assert ActivityLogFiles(home).append("tanaka", day, _entry("e1"))
    again = ActivityLogFiles(home)  # a restarted writer: nothing in memory
    assert not again.append("tanaka", day, _entry("e1"))
    assert again.append("tanaka", day, _entry("e2"))
    lines = again.path("tanaka", day).read_text().splitlines()
    assert [json.loads(line)["meta"]["event_id"] for line in lines] == ["e1", "e2"]


def test_a_torn_last_line_is_cut_before_appending(tmp_path: Path) -> None:
    files = ActivityLogFiles(Home(tmp_path))
    day = TS.date()
    files.append("tanaka", day, _entry("e1"))
    with open(files.path("tanaka", day), "ab") as handle:
        handle.write(b'{"ts": "x", "meta": {"event_id": "e2"')  # a crash mid-write
    restarted = ActivityLogFiles(Home(tmp_path))
    assert restarted.append("tanaka", day, _entry("e2"))
    lines = restarted.path("tanaka", day).read_text().splitlines()
    assert [json.loads(line)["meta"]["event_id"] for line in lines] == ["e1", "e2"]


def test_a_deleted_file_is_not_trusted_from_memory(tmp_path: Path) -> None:
    files = ActivityLogFiles(Home(tmp_path))
    day = TS.date()
    files.append("tanaka", day, _entry("e1"))
    files.path("tanaka", day).unlink()
    assert files.append("tanaka", day, _entry("e1"))
    files.forget()
    assert files.path("tanaka", day).exists()


def _organization_events() -> Any:
    """The sample events module next to this file (tests are not a package here; e2e loads it too)."""
    path = Path(__file__).with_name("organization_events.py")
    spec = importlib.util.spec_from_file_location("organization_events", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.organization_events


def test_every_organization_event_has_its_entry_type() -> None:
    organization_events = _organization_events()
    for expected, event in organization_events("tanaka", TS):
        entry = entry_for(event)
        assert entry is not None, event.event_type
        assert entry["type"] == expected, event.event_type
        assert entry["meta"]["event_id"] == event.id
        assert entry_for(event) == entry  # a pure function of the event: a rebuild writes the same


def test_a_channel_delivery_is_logged_once_from_its_post() -> None:
    from animas_contracts import OutboundDelivered, OutboundKind

    delivered = OutboundDelivered(
        request_id="r", kind=OutboundKind.CHANNEL, to="general", delivered_id="d", **ENVELOPE
    )
    assert entry_for(delivered) is None


def test_a_board_change_is_logged_once_by_its_own_entry() -> None:
    from animas_contracts import MemoryOpApplied

    applied = MemoryOpApplied(op_id="b1", kind="board.created", paths=[], **ENVELOPE)
    assert entry_for(applied) is None
    assert (
        entry_for(MemoryOpApplied(op_id="k1", kind="knowledge.write", paths=["k.md"], **ENVELOPE)) is not None
    )


def test_a_background_result_and_its_delivery_are_logged_for_priming() -> None:
    from animas_contracts import BackgroundResultDelivered, BackgroundStatus, ToolBackgroundFinished

    finished = ToolBackgroundFinished(
        id="bg-f",
        task_id="bg-1",
        cycle_id="cy1",
        tool="http_fetch",
        arguments={"url": "https://example.org"},
        status=BackgroundStatus.OK,
        result="The report is ready.",
        **ENVELOPE,
    )
    entry = entry_for(finished)
    assert entry is not None and entry["type"] == "background_result"
    assert entry["content"] == "The report is ready." and entry["tool"] == "http_fetch"
    assert entry["meta"]["task_id"] == "bg-1" and entry["meta"]["status"] == "ok"
    delivered = entry_for(BackgroundResultDelivered(id="bg-d", task_id="bg-1", cycle_id="cy2", **ENVELOPE))
    assert delivered is not None and delivered["type"] == "background_delivered"
    assert delivered["meta"]["task_id"] == "bg-1" and delivered["meta"]["cycle_id"] == "cy2"
