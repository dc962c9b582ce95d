"""Pending notifications (seed 004): the anima's human_notify entries of the last 24 hours, for
chats, messages and heartbeats only."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from animas_priming.notifications import TITLE, pending_notifications

NOW = datetime(2026, 2, 12, 9, 0, tzinfo=UTC)


class Words:
    def count(self, text: str) -> int:
        return len(text.split())

    def truncate(self, text: str, tokens: int) -> str:
        return " ".join(text.split()[:tokens])


def _entry(ts: str, event_type: str, summary: str, **extra: object) -> str:
    meta = {"event_id": "e", "event_type": event_type}
    return json.dumps({"ts": ts, "type": "human_notify", "summary": summary, "meta": meta, **extra})


LOGS = {
    "activity_log/2026-02-11.jsonl": "\n".join(
        [
            _entry("2026-02-11T08:00:00+00:00", "human.notify.requested", "too old"),
            _entry("2026-02-11T10:00:00+00:00", "human.notify.requested", "Deploy blocked"),
            json.dumps({"ts": "2026-02-11T11:00:00+00:00", "type": "response_sent", "summary": "hi"}),
            "not json",
        ]
    ),
    "activity_log/2026-02-12.jsonl": "\n".join(
        [
            _entry("2026-02-12T08:00:00+00:00", "human.notify.failed", "Deploy blocked", channel="pager"),
            _entry("2026-02-12T10:00:00+00:00", "human.notify.requested", "from the future"),
        ]
    ),
}


async def _read(anima: str, path: str) -> str | None:
    assert anima == "sample"
    return LOGS.get(path)


async def test_the_last_24_hours_newest_first_with_their_outcome() -> None:
    text = await pending_notifications(_read, "sample", "message", NOW, Words())
    lines = text.splitlines()
    assert TITLE in lines[0]
    assert [line for line in lines if line.startswith("- ")] == [
        "- 2026-02-12 08:00 FAILED via pager: Deploy blocked",
        "- 2026-02-11 10:00 asked: Deploy blocked",
    ]


async def test_heartbeats_get_it_and_cron_does_not() -> None:
    assert await pending_notifications(_read, "sample", "heartbeat", NOW, Words())
    assert await pending_notifications(_read, "sample", "cron", NOW, Words()) == ""


async def test_nothing_to_say_is_an_empty_section() -> None:
    async def empty(anima: str, path: str) -> str | None:
        return None

    assert await pending_notifications(empty, "sample", "message", NOW, Words()) == ""
