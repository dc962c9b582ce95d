"""The API's pure parts: secret masking and restoring, schedule views, list items, the reference page."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import msgspec
import pytest

from animas_contracts import DeadLetter
from animas_core.config import parse_config
from animas_core.schedules import anima_schedules
from animas_gateway.api.config_routes import masked, restore_secrets
from animas_gateway.api.operational import cursor_of, dead_letter_item, limit_of, service_item
from animas_gateway.api.reference import render_reference
from animas_gateway.api.schedules import plan_of
from animas_gateway.operations import Operation, openapi_document
from animas_gateway.problems import Problem

STORED = parse_config(
    {
        "credentials": {"openai": {"api_key": "sk-1"}, "local": {"base_url": "http://x"}},
        "api": {"tokens": {"ci": {"scope": "chat", "sha256": "b" * 64}}},
    }
)


def test_every_secret_is_masked_and_unset_ones_stay_null() -> None:
    view = masked(STORED)
    assert view["credentials"]["openai"]["api_key"] == "***"
    assert view["credentials"]["local"]["api_key"] is None
    assert view["api"]["tokens"]["ci"]["sha256"] == "***"
    assert "sk-1" not in json.dumps(view) and "b" * 64 not in json.dumps(view)


def test_a_mask_sent_back_keeps_the_stored_secret_and_a_new_value_replaces_it() -> None:
    sent = masked(STORED)
    restored = restore_secrets(sent, STORED)
    assert restored["credentials"]["openai"]["api_key"] == "sk-1"
    assert restored["api"]["tokens"]["ci"]["sha256"] == "b" * 64
    assert sent["credentials"]["openai"]["api_key"] == "***"  # the caller's data is not changed
    sent["credentials"]["openai"]["api_key"] = "sk-2"
    assert parse_config(restore_secrets(sent, STORED)).credentials["openai"].api_key is not None
    assert restore_secrets(sent, STORED)["credentials"]["openai"]["api_key"] == "sk-2"


@pytest.mark.parametrize(
    "sent",
    [
        {"credentials": {"new": {"api_key": "***"}}},
        {"api": {"tokens": {"other": {"scope": "admin", "sha256": "***"}}}},
    ],
)
def test_a_mask_for_a_secret_that_is_not_stored_is_refused(sent: dict[str, object]) -> None:
    with pytest.raises(Problem) as refused:
        restore_secrets(sent, STORED)
    assert refused.value.status == 422
    with pytest.raises(Problem):
        restore_secrets(sent, None)


def test_the_schedule_view_gives_the_next_fire_times_on_the_animas_clock() -> None:
    plan = anima_schedules(
        "## Execution Interval\nevery 2 hours\n\n## Active Hours\n9:00 - 18:00\n",
        "## Report (every Friday 17:00)\nx\n\n## Off (daily 9:00)\nenabled: false\nx\n\n"
        "## Bad (whenever)\nx\n",
        consolidation=None,
    )
    view = plan_of(plan, datetime(2026, 3, 6, 7, 0, tzinfo=UTC), "Asia/Tokyo", 2)  # 16:00 in Tokyo, Friday
    assert view.timezone == "Asia/Tokyo"
    # 18:00 is outside the active hours (their end is exclusive): the next are Saturday's.
    assert view.heartbeat.next == ["2026-03-07T10:00:00+09:00", "2026-03-07T12:00:00+09:00"]
    assert view.heartbeat.schedule == "every 2 hours"
    report, off, bad = view.cron
    assert report.task == "Report" and report.next == [
        "2026-03-06T17:00:00+09:00",
        "2026-03-13T17:00:00+09:00",
    ]
    assert off.enabled is False and off.next == []
    assert bad.error and bad.schedule is None and bad.next == []


def test_no_heartbeat_is_an_empty_one() -> None:
    view = plan_of(
        anima_schedules(None, None, consolidation=None), datetime(2026, 1, 1, tzinfo=UTC), "UTC", 3
    )
    assert view.heartbeat.schedule is None and view.heartbeat.next == [] and view.cron == []


def test_health_records_become_service_items() -> None:
    record = {
        "service": "agent-runner",
        "instance": "host-1",
        "pid": 42,
        "status": "ready",
        "started_at": 0,
        "ts": 60.5,
        "partitions": [0, 1],
        "consumers": ["agent-runner-p0"],
    }
    item = service_item(json.dumps(record).encode())
    assert item is not None
    assert (item.name, item.replica, item.status, item.pid) == ("agent-runner", "host-1", "ready", 42)
    assert item.since == "1970-01-01T00:00:00+00:00" and item.reported == "1970-01-01T00:01:00.500000+00:00"
    assert service_item(b"not json") is None and service_item(b"[1]") is None


def test_dead_letters_become_items_and_a_broken_one_is_shown_as_it_is() -> None:
    letter = DeadLetter(
        service="outbound",
        reason="bad",
        subject="activity.a.x",
        headers={},
        data="é".encode() * 300,
        ts=datetime(2026, 1, 1, tzinfo=UTC),
    )
    stored_at = datetime(2026, 1, 2, tzinfo=UTC)
    item = dead_letter_item(7, msgspec.json.encode(letter), stored_at)
    assert (item.seq, item.service, item.reason, item.time) == (
        7,
        "outbound",
        "bad",
        "2026-01-01T00:00:00+00:00",
    )
    assert item.payload_preview == "é" * 200 + "…"
    broken = dead_letter_item(8, b"\xff\xfe", stored_at)
    assert (
        broken.reason.startswith("(not a dead letter record") and broken.time == "2026-01-02T00:00:00+00:00"
    )


@pytest.mark.parametrize("value", ["0", "-1", "x", "1.5"])
def test_a_bad_cursor_or_limit_is_a_422(value: str) -> None:
    with pytest.raises(Problem) as bad:
        cursor_of(value)
    assert bad.value.status == 422
    with pytest.raises(Problem):
        limit_of(value if value != "1.5" else "501")


def test_cursor_and_limit_defaults() -> None:
    assert cursor_of(None) == 1 and cursor_of("12") == 12
    assert limit_of(None) == 50 and limit_of("500") == 500


class _Body(msgspec.Struct):
    text: str


class _Answer(msgspec.Struct):
    ok: bool


async def _nothing(_: object) -> object:
    raise AssertionError


def test_the_reference_page_shows_every_operation_escaped() -> None:
    ops = [
        Operation("POST", "/api/x/{name}", _nothing, "Do <b>it</b>", "things", "admin", body=_Body,  # type: ignore[arg-type]
                  response=_Answer, also=((202, None),)),
        Operation("GET", "/api/health", _nothing, "Health", "ops", None),  # type: ignore[arg-type]
    ]  # fmt: skip
    document = openapi_document(ops, title="T", version="1")
    responses = document["paths"]["/api/x/{name}"]["post"]["responses"]
    assert set(responses) == {"200", "202", "400", "401", "403", "413", "415", "422"}
    assert responses["422"]["content"]["application/problem+json"]["schema"] == {
        "$ref": "#/components/schemas/Problem"
    }
    page = render_reference(document)
    assert "<code>/api/x/{name}</code>" in page and "<code>/api/health</code>" in page
    assert "Do &lt;b&gt;it&lt;/b&gt;" in page and "<b>it</b>" not in page
    assert 'id="schema-_Body"' in page and 'href="#schema-_Body"' in page
    assert "Public: no token needed." in page and "<script" not in page
