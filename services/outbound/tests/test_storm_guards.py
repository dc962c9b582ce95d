"""Storm guards: pure judgements over windows timed by the events, and the KV-backed check."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import nats
import pytest
from pydantic import ValidationError

from animas_contracts import AnimaSummary, GuardRule, MessageKind, OutboundKind, OutboundRequested, uuid7
from animas_core.messaging_config import CascadeLimit, MessagingConfig, RateWindow
from animas_core.streams import ensure_buckets
from animas_outbound import storm
from animas_outbound.guards import KvWindows, StormGuards, WindowConflict
from animas_tools.nats_server import NatsServer

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _request(
    anima: str = "alice",
    to: str = "bob",
    *,
    at: float = 0.0,
    intent: MessageKind = MessageKind.MESSAGE,
    cycle: str | None = None,
    conversation: str = "conv-1",
    request_id: str | None = None,
    kind: OutboundKind = OutboundKind.MESSAGE,
) -> OutboundRequested:
    return OutboundRequested(
        id=request_id or uuid7(),
        anima=anima,
        correlation_id=conversation,
        producer="agent-runner",
        ts=T0 + timedelta(seconds=at),
        kind=kind,
        to=to,
        text="hello",
        thread_id="t",
        cycle_id=cycle if cycle is not None else uuid7(),
        intent=intent,
    )


class Windows:
    """A store of windows as the check keeps them, judged in memory."""

    def __init__(self, limits: MessagingConfig | None = None, role: str | None = None) -> None:
        self.limits = limits or MessagingConfig()
        self.role = role
        self.stored: dict[str, storm.Window] = {}

    def send(self, request: OutboundRequested) -> storm.Verdict:
        verdict = storm.judge(request, self.stored, self.limits, self.role)
        self.stored.update(verdict.updates)
        return verdict


def _rule(verdict: storm.Verdict) -> GuardRule | None:
    return verdict.refusal.rule if verdict.refusal else None


def test_the_seventh_exchange_between_a_pair_within_ten_minutes_is_refused_both_ways_counted() -> None:
    windows = Windows()
    for n in range(6):
        sender, to = ("alice", "bob") if n % 2 == 0 else ("bob", "alice")
        intent = MessageKind.MESSAGE if n % 2 == 0 else MessageKind.REPLY  # answers count too
        assert windows.send(_request(sender, to, at=n * 60, intent=intent)).refusal is None
    seventh = windows.send(_request("alice", "bob", at=400))
    assert _rule(seventh) is GuardRule.BILATERAL
    reason = seventh.refusal.reason if seventh.refusal else ""
    assert "alice and bob exchanged 6 messages in the last 10 minutes" in reason
    # The first exchange (09:00:00) leaves the window at 09:10:00, 200 s after the refused one.
    assert "at 2026-03-02 09:10:00 UTC (in 200 seconds)" in reason
    # Another pair is not affected; this pair is free again once the oldest exchange left.
    assert windows.send(_request("alice", "carol", at=401)).refusal is None
    assert windows.send(_request("bob", "alice", at=601)).refusal is None


def test_acks_pass_every_guard_and_are_not_counted() -> None:
    windows = Windows(MessagingConfig(max_exchanges=1))
    assert windows.send(_request(at=0)).refusal is None
    ack = _request(at=1, intent=MessageKind.ACK)
    assert not storm.guarded(ack)
    assert not storm.guarded(_request(kind=OutboundKind.CHANNEL))
    assert _rule(windows.send(_request(at=2))) is GuardRule.BILATERAL


def test_rate_windows_follow_the_senders_role() -> None:
    limits = MessagingConfig(
        rates={
            "default": RateWindow(messages=30, window_s=600),
            "intern": RateWindow(messages=2, window_s=60),
        }
    )
    intern = Windows(limits, role="intern")
    assert intern.send(_request(to="bob", at=0)).refusal is None
    assert intern.send(_request(to="carol", at=10)).refusal is None
    third = intern.send(_request(to="dave", at=20))
    assert _rule(third) is GuardRule.RATE
    reason = third.refusal.reason if third.refusal else ""
    assert "its role (intern) may send 2 per 1 minute" in reason and "(in 40 seconds)" in reason
    assert intern.send(_request(to="dave", at=61)).refusal is None

    manager = Windows(limits, role="manager")  # a role not named takes the default
    for n in range(3):
        assert manager.send(_request(to=f"x{n}", at=n)).refusal is None


def test_a_cascade_across_the_organisation_is_stopped_in_its_conversation_only() -> None:
    windows = Windows(MessagingConfig(cascade=CascadeLimit(messages=4, window_s=600)))
    pairs = [("mgr", "alice"), ("mgr", "bob"), ("alice", "carol"), ("bob", "dave")]
    for n, (sender, to) in enumerate(pairs):
        assert windows.send(_request(sender, to, at=n)).refusal is None
    fifth = windows.send(_request("carol", "erin", at=5))
    assert _rule(fifth) is GuardRule.CASCADE
    assert "this conversation has set off 4 messages" in (fifth.refusal.reason if fifth.refusal else "")
    assert windows.send(_request("carol", "erin", at=6, conversation="conv-2")).refusal is None


def test_one_message_per_recipient_per_cycle_even_when_the_tool_is_bypassed() -> None:
    windows = Windows()
    first = _request(cycle="cycle-1")
    assert windows.send(first).refusal is None
    forged = windows.send(_request(cycle="cycle-1", at=1))
    assert _rule(forged) is GuardRule.ONE_PER_CYCLE
    assert windows.send(_request(to="carol", cycle="cycle-1", at=2)).refusal is None
    assert windows.send(_request(cycle="cycle-1", at=3, intent=MessageKind.ACK)).updates == {}


def test_a_redelivered_request_passes_again_and_is_counted_once() -> None:
    windows = Windows(MessagingConfig(max_exchanges=2))
    request = _request(cycle="c1")
    assert windows.send(request).refusal is None
    assert windows.send(request).refusal is None  # redelivered: same id, same ts
    assert all(len(window) == 1 for window in windows.stored.values())
    assert windows.send(_request("bob", "alice", at=1)).refusal is None
    assert _rule(windows.send(_request(at=2))) is GuardRule.BILATERAL


def test_an_attempt_cut_short_does_not_count_against_its_own_request() -> None:
    windows = Windows(MessagingConfig(max_exchanges=1))
    request = _request(cycle="c1")
    where = storm.keys(request)
    # Stored before the crash: the cycle and pair windows, not yet the sender's.
    windows.stored[where.cycle or ""] = (storm.Sent(request.id, request.ts),)
    windows.stored[where.pair] = (storm.Sent(request.id, request.ts),)
    assert windows.send(request).refusal is None
    assert len(windows.stored[where.pair]) == 1


def test_windows_are_timed_by_the_events_not_the_clock() -> None:
    windows = Windows(MessagingConfig(max_exchanges=1, exchange_window_s=60))
    assert windows.send(_request(at=0)).refusal is None
    assert _rule(windows.send(_request(at=59))) is GuardRule.BILATERAL
    assert windows.send(_request(at=61)).refusal is None  # a day later by the clock or not


def test_keys_are_valid_kv_tokens_whatever_the_ids() -> None:
    where = storm.keys(_request("zed", "amy", conversation="conv/with spaces", cycle="c:1"))
    assert where.pair == "pair.amy.zed" and where.sender == "rate.zed"
    assert all(part.replace("-", "").replace("_", "").isalnum() for part in where.conversation.split("."))
    window = (storm.Sent("r1", T0),)
    assert storm.decode(storm.encode(window)) == window


def test_config_keeps_a_default_rate_and_bounds_windows() -> None:
    limits = MessagingConfig(rates={"manager": RateWindow(messages=100, window_s=600)})
    assert limits.rate_for(None).messages == 30 and limits.rate_for("manager").messages == 100
    assert limits.rate_for("nobody") == limits.rates["default"]
    assert (limits.max_exchanges, limits.exchange_window_s) == (6, 600.0)
    with pytest.raises(ValidationError):
        MessagingConfig(exchange_window_s=3 * 24 * 3600)
    with pytest.raises(ValidationError):
        MessagingConfig(max_exchanges=0)


class FakeDirectory:
    async def animas(self) -> list[AnimaSummary]:
        return [AnimaSummary(name="alice", enabled=True, role="intern")]


@pytest.fixture
def nats_url(tmp_path: Path) -> Iterator[str]:
    server = NatsServer(tmp_path / "nats").start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.mark.nats
async def test_the_check_keeps_its_windows_in_kv_across_instances(nats_url: str) -> None:
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        await ensure_buckets(js)
        limits = MessagingConfig(rates={"intern": RateWindow(messages=2, window_s=60)})

        def guards() -> StormGuards:  # a fresh instance each time, as after a restart
            return StormGuards(lambda: limits, FakeDirectory(), KvWindows(js))

        first = _request(to="bob", at=0)
        assert await guards()(first) is None
        assert await guards()(first) is None  # redelivered after a restart: counted once
        second = _request(to="carol", at=1)
        assert await guards()(second) is None
        refusal = await guards()(_request(to="dave", at=2))
        assert refusal is not None and refusal.rule is GuardRule.RATE
        assert await guards()(_request(to="dave", at=2, intent=MessageKind.ACK)) is None

        windows = KvWindows(js)
        window, revision = await windows.read(storm.keys(first).sender)
        assert [s.request_id for s in window] == [first.id, second.id]  # the refused one is not counted
        assert revision is not None
        with pytest.raises(WindowConflict):
            await windows.write(storm.keys(first).sender, (), revision - 1)
        with pytest.raises(WindowConflict):
            await windows.write(storm.keys(first).sender, (), None)
    finally:
        await nc.close()
