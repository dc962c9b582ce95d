"""Every process of `anima up` SIGKILLed in turn under chats that each send a message (issue #12, item 10).

`anima up` with two agent-runner replicas, 20 animas and the scripted LLM answering by rule
(:mod:`tests.chaos.sends`): each chat makes its anima ``send_message`` to another anima. A bounded
number of clients chat continuously, each chat under its own ``Idempotency-Key``, and retry a
503, a 202 or a connection error with that key. Meanwhile every service process is SIGKILLed in
turn, each once the one before is back and healthy and chats have been answered since, and then
nats-server. The time each took to be back is printed. Then the activity stream is counted: every
chat a client sent stored once and answered once, every send requested once and delivered once,
nothing failed, no dead letter; and no client saw a 500, or a connection error outside the
gateway's own restart.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator

import pytest
from tests.chaos.harness import (
    Kill,
    dead_letters,
    kill_and_recover,
    lagging_consumers,
    log_mentions,
    running_with_animas,
    wait_for,
)
from tests.chaos.keyed_chats import GIVE_UP_S, Chat, Traffic, chat_until_answered
from tests.chaos.sends import scripted_senders, send_chat, wait_until_settled
from tests.conftest import RunningSystem

from animas_tools.scripted_llm import ScriptedLLM
from animas_tools.supervisor import NATS_SERVER

pytestmark = [pytest.mark.e2e, pytest.mark.nats, pytest.mark.slow, pytest.mark.chaos]

ANIMAS = tuple(f"crew{n:02d}" for n in range(20))
CLIENTS = 6
VICTIMS = (
    "gateway",
    "agent-runner",
    "agent-runner#2",
    "priming",
    "memory-writer",
    "outbound",
    "scheduler",
    "consolidator",
)
ANSWERED_BEFORE_EACH_KILL = 4
"""Chats sent after the previous process was back that must be answered before the next kill:
the system works between kills, and every kill lands on chats in flight."""
ANSWERED_AFTER_BROKER = 2 * CLIENTS
WORKING_BOUND_S = 90.0


def chat(n: int) -> Chat:
    return send_chat(n, ANIMAS, "every-kill")


@pytest.fixture(scope="module")
def llm() -> Iterator[ScriptedLLM]:
    with scripted_senders() as server:
        yield server


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory, llm: ScriptedLLM) -> Iterator[RunningSystem]:
    # A message held by a killed runner or outbound comes back after 3 s (not 30); a reply not
    # seen within 10 s is a 202, and the client asks again under its key.
    env = {"ANIMAWORKS_AGENT_RUNNERS": "2", "ANIMAWORKS_ACK_WAIT_S": "3", "ANIMAWORKS_CHAT_TIMEOUT_S": "10"}
    with running_with_animas(tmp_path_factory.mktemp("every-kill") / "home", env, llm, ANIMAS) as running:
        yield running


class Clients:
    """``CLIENTS`` threads, each sending the next chat until it is answered, until stopped."""

    def __init__(self, system: RunningSystem, traffic: Traffic) -> None:
        self._url = system.url
        self._traffic = traffic
        self._numbers = itertools.count()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.sent: list[int] = []
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(CLIENTS)]

    def __enter__(self) -> Clients:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(GIVE_UP_S + 30)

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                n = next(self._numbers)
                self.sent.append(n)
            chat_until_answered(self._url, self._traffic, chat(n))


def _answered(traffic: Traffic, count: int, since: float, what: str) -> None:
    wait_for(lambda: traffic.answered_since(since) >= count, WORKING_BOUND_S, what)


def test_nothing_is_lost_doubled_or_dropped_while_every_process_is_killed(system: RunningSystem) -> None:
    began = time.monotonic()
    traffic = Traffic()
    kills: list[Kill] = []
    with Clients(system, traffic) as clients:
        since = began
        for victim in VICTIMS:
            _answered(traffic, ANSWERED_BEFORE_EACH_KILL, since, f"chats answered before killing {victim}")
            kills.append(kill_and_recover(system, victim))
            since = time.monotonic()
        _answered(traffic, ANSWERED_BEFORE_EACH_KILL, since, "chats answered before killing nats-server")
        broker = kill_and_recover(system, NATS_SERVER)
        kills.append(broker)
        _answered(traffic, ANSWERED_AFTER_BROKER, broker.at, "chats answered after nats-server was killed")
    chatted_s = time.monotonic() - began
    after_broker = [a.finished for a in traffic.answered if a.started > broker.at]
    working_again_s = min(after_broker) - broker.at

    # A bound, not a measurement: after the last chat is answered, up to two cycles per send are
    # still queued (the recipient's answer, then the sender reading it), behind the restarts.
    wait_for(lambda: not lagging_consumers(system), 180, "every durable consumer to catch up", every_s=0.5)
    ledger = wait_until_settled(system, len(clients.sent))
    gateway = next(k for k in kills if k.name == "gateway")
    print(
        f"\n{len(clients.sent)} chats by {CLIENTS} clients to {len(ANIMAS)} animas (2 agent-runners) in "
        f"{chatted_s:.0f}s; back and healthy after SIGKILL: "
        + ", ".join(f"{k.name} {k.recovered_s:.1f}s" for k in kills)
        + f"; chats answered again {working_again_s:.1f}s after nats-server's; "
        f"{len(ledger.sends)} sends, {len(ledger.deliveries)} deliveries, {len(ledger.replies)} replies; "
        f"HTTP statuses {dict(sorted(traffic.statuses.items()))}; {len(traffic.retried)} chats retried "
        f"under their key ({sum(a.replayed for a in traffic.answered)} answered with the reply to a try "
        f"that was stored), {len(traffic.transport_errors)} connection errors; "
        f"in-cycle effect retries {log_mentions(system, 'tool effect not confirmed')}, "
        f"cycles redelivered {log_mentions(system, 'will be redelivered')}"
    )

    # What the clients saw: no 500, every 503 says when to retry, every chat answered, and no
    # connection refused or dropped except while the gateway itself was down.
    assert not (failures := traffic.failures()), failures
    outside = [
        f
        for f in traffic.transport_errors
        if f.failed < gateway.at or f.sent > gateway.at + gateway.recovered_s
    ]
    assert not outside, outside
    assert sorted(a.chat.key for a in traffic.answered) == sorted(chat(n).key for n in clients.sent)

    # What the stream holds: each chat stored once under the id its client was given, answered
    # once; each send requested once and delivered once; nothing failed or dead-lettered.
    number = {chat(n).key: n for n in clients.sent}
    assert sorted(ledger.chats) == sorted((a.message_id, number[a.chat.key]) for a in traffic.answered)
    assert not (problems := ledger.problems(clients.sent)), problems
    assert not (letters := dead_letters(system)), letters
