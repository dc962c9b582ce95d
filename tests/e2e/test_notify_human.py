"""Notifying a person end to end (#14 item 5, acceptance 5), through `anima up` and a scripted model.

notify_human reaches a local fake ntfy and a fake Slack webhook once each, even though outbound is
SIGKILLed between the two (the fault point ``outbound-between-notify-channels``); a channel failing
three times is dead-lettered and shown by ``anima status``; the same notification twice within 24
hours is sent once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest
from nats.aio.client import Client
from tests.conftest import RunningSystem, scripted_config, start_system

from animas_contracts import Event, HumanNotified, HumanNotifyFailed, HumanNotifyRequested
from animas_tools.events import read_activity
from animas_tools.fake_receivers import FakeReceiver
from animas_tools.scripted_llm import ScriptedLLM, ScriptedToolCall, Turn

pytestmark = [pytest.mark.e2e, pytest.mark.nats, pytest.mark.slow]

T = TypeVar("T")
BODY = "It needs your decision before 17:00."


@pytest.fixture(scope="module")
def llm() -> Iterator[ScriptedLLM]:
    with ScriptedLLM() as server:
        yield server


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    env = {
        # outbound SIGKILLs itself after the first of two channels was sent and recorded.
        "ANIMAWORKS_FAULTS": "outbound-between-notify-channels",
        "ANIMAWORKS_ACK_WAIT_S": "3",
        "ANIMAWORKS_NOTIFY_BACKOFF_S": "0.05",
    }
    running = start_system(tmp_path_factory.mktemp("notify") / "home", env)
    try:
        yield running
    finally:
        running.stop()


def _configure(system: RunningSystem, llm: ScriptedLLM, channels: list[dict[str, Any]], **creds: Any) -> None:
    config = scripted_config(llm)
    config["credentials"].update(creds)
    config["human_notification"] = {"enabled": True, "channels": channels}
    system.configure(config)


def _notify_turns(subject: str, *asks: str) -> list[Turn]:
    turns = []
    for ask in asks:
        arguments = {"subject": subject, "body": BODY, "priority": "high"}
        call = ScriptedToolCall(name="notify_human", arguments=arguments)
        turns += [Turn(match=ask, tool_calls=[call]), Turn(match="on its way", text=f"Told them ({ask}).")]
    return turns


def _events(system: RunningSystem) -> list[Event]:
    async def read(nc: Client) -> list[Event]:
        found = []
        async for stored in read_activity(nc.jetstream(), anima="sample", event_type="human.>"):
            if stored.event is not None:
                found.append(stored.event)
        return found

    return system.admin(read)


def _wait(what: str, probe: Callable[[], T | None], timeout_s: float = 90.0) -> T:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def _outcomes(
    system: RunningSystem, request_id: str, count: int
) -> list[HumanNotified | HumanNotifyFailed] | None:
    mine = [
        e
        for e in _events(system)
        if isinstance(e, HumanNotified | HumanNotifyFailed) and e.request_id == request_id
    ]
    return mine if len(mine) >= count else None


def _request_of(system: RunningSystem, correlation_id: str) -> HumanNotifyRequested:
    requests = [
        e
        for e in _events(system)
        if isinstance(e, HumanNotifyRequested) and e.correlation_id == correlation_id
    ]
    assert len(requests) == 1, requests
    return requests[0]


def test_ntfy_and_slack_get_it_once_each_though_outbound_is_killed_between_them(
    system: RunningSystem, llm: ScriptedLLM
) -> None:
    with FakeReceiver() as ntfy, FakeReceiver() as slack:
        _configure(
            system,
            llm,
            [
                {"type": "ntfy", "url": ntfy.url, "target": "alerts"},
                {"type": "slack", "credential": "slack-hook"},
            ],
            **{"slack-hook": {"api_key": f"{slack.url}/services/T0/B0/secret"}},
        )
        llm.load(_notify_turns("Deploy blocked", "Tell the people about the blocked deploy"))
        first_outbound = system.pid("outbound")

        body = system.chat("sample", "Tell the people about the blocked deploy").json()

        assert body["reply"] == "Told them (Tell the people about the blocked deploy)."
        asked = next(
            r for r in llm.requests if "Tell the people about the blocked deploy" in json.dumps(r["body"])
        )
        assert "notify_human" in {t["function"]["name"] for t in asked["body"]["tools"]}
        assert "# Telling humans" in json.dumps(asked["body"]["messages"][0], ensure_ascii=False)
        request = _request_of(system, body["correlation_id"])
        outcomes = _wait("both channels' outcomes", lambda: _outcomes(system, request.id, 2))
        assert sorted((type(e).__name__, getattr(e, "channel", "")) for e in outcomes) == [
            ("HumanNotified", "ntfy"),
            ("HumanNotified", "slack"),
        ]
        assert system.pid("outbound") != first_outbound, "the fault point must have killed outbound"
        assert len(ntfy.received) == 1 and len(slack.received) == 1
        assert (
            b"Deploy blocked" in ntfy.received[0].body and slack.received[0].path == "/services/T0/B0/secret"
        )
        assert ntfy.keys()[0] != slack.keys()[0]
        assert "secret" not in system.anima("events", "--anima", "sample", check=False).stdout


def test_a_channel_failing_three_times_is_dead_lettered_and_shown_by_status(
    system: RunningSystem, llm: ScriptedLLM
) -> None:
    with FakeReceiver([500, 500, 500, 500]) as broken:
        _configure(
            system,
            llm,
            [{"type": "webhook", "name": "pager", "url": broken.url, "credential": "pager"}],
            pager={"api_key": "signing-secret"},
        )
        llm.load(_notify_turns("Outage", "Page the people about the outage"))

        body = system.chat("sample", "Page the people about the outage").json()

        request = _request_of(system, body["correlation_id"])
        (failed,) = _wait("the failure", lambda: _outcomes(system, request.id, 1))
        assert isinstance(failed, HumanNotifyFailed)
        assert (failed.channel, failed.attempts, failed.reason) == (
            "pager",
            3,
            'HTTP 500: {"error": "refused by the fake"}',
        )
        assert len(broken.received) == 3 and len(set(broken.keys())) == 1
    status = system.anima("status").stdout
    assert "notifications failed: 1" in status and "sample -> pager: 'Outage'" in status
    assert "signing-secret" not in status
    deadletter = next(line for line in status.splitlines() if line.strip().startswith("DEADLETTER"))
    assert "messages=0 " not in deadletter


def test_the_same_notification_twice_within_24_hours_is_sent_once(
    system: RunningSystem, llm: ScriptedLLM
) -> None:
    with FakeReceiver() as ntfy:
        _configure(system, llm, [{"type": "ntfy", "url": ntfy.url, "target": "alerts"}])
        llm.load(_notify_turns("Disk almost full", "First ask about the disk", "Second ask about the disk"))

        first = system.chat("sample", "First ask about the disk").json()
        second = system.chat("sample", "Second ask about the disk").json()

        one, two = _request_of(system, first["correlation_id"]), _request_of(system, second["correlation_id"])
        assert one.dedup_key == two.dedup_key
        (sent,) = _wait("the first's record", lambda: _outcomes(system, one.id, 1))
        (repeat,) = _wait("the repeat's record", lambda: _outcomes(system, two.id, 1))
        assert isinstance(sent, HumanNotified) and isinstance(repeat, HumanNotified)
        assert (sent.duplicate_of, sent.attempts) == (None, 1)
        assert (repeat.duplicate_of, repeat.attempts) == (one.id, 0)
        assert len(ntfy.received) == 1
