"""No send is dropped or doubled while memory-writer and outbound are SIGKILLed (issue #12, acceptance 5).

`anima up` in a temporary home with the scripted LLM answering by rule: a chat "CHAOS-SEND <n> to
<anima>" makes the anima call ``send_message`` with note <n>; a tool result is answered "Sent.";
anything else (the recipient's own cycle) "Noted." (:mod:`tests.chaos.sends`). Many clients chat
at once, each chat under its own ``Idempotency-Key`` and retried until answered, while
memory-writer and outbound are killed in turn and the supervisor restarts them. Then the activity stream is
counted: every chat stored once and answered once, every send requested once and delivered to its
recipient once, under the id derived from the request.

The number of chats is ``ANIMAWORKS_CHAOS_CHATS`` (300, as the issue asks, by default).
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from tests.chaos.harness import log_mentions, running_with_animas, sigkill
from tests.chaos.keyed_chats import Chat, Traffic, chat_until_answered
from tests.chaos.sends import scripted_senders, send_chat, wait_until_settled
from tests.conftest import RunningSystem

from animas_tools.scripted_llm import ScriptedLLM

pytestmark = [pytest.mark.e2e, pytest.mark.nats, pytest.mark.slow, pytest.mark.chaos]

CHATS = int(os.environ.get("ANIMAWORKS_CHAOS_CHATS", "300"))
CLIENTS = 12
ANIMAS = tuple(f"clerk{n:02d}" for n in range(12))
VICTIMS = ("memory-writer", "outbound")
FIRST_KILL_AFTER_S = 1.0
KILL_EVERY_S = 4.0
"""Pause between kills; each kill waits for the previous victim to be back first."""
MAX_KILLS_EACH = 3
"""The supervisor's backoff grows with crashes in a row (0.5, 1, 2 s, then 5): three stay short."""


def chat(n: int) -> Chat:
    return send_chat(n, ANIMAS, "sends")


@pytest.fixture(scope="module")
def llm() -> Iterator[ScriptedLLM]:
    with scripted_senders() as server:
        yield server


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory, llm: ScriptedLLM) -> Iterator[RunningSystem]:
    # A killed outbound's request comes back after ack_wait: 3 s instead of 30.
    env = {"ANIMAWORKS_ACK_WAIT_S": "3"}
    with running_with_animas(tmp_path_factory.mktemp("chaos") / "home", env, llm, ANIMAS) as running:
        yield running


class Chaos:
    """Kills memory-writer and outbound in turn until stopped, each only once it is back."""

    def __init__(self, system: RunningSystem) -> None:
        self._system = system
        self._stop = threading.Event()
        self.kills: Counter[str] = Counter()
        self._thread = threading.Thread(target=self._run, name="chaos", daemon=True)

    def __enter__(self) -> Chaos:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(120)

    def _run(self) -> None:
        turn = 0
        while not self._stop.wait(KILL_EVERY_S if turn else FIRST_KILL_AFTER_S):
            victim = VICTIMS[turn % len(VICTIMS)]
            turn += 1
            if self.kills[victim] >= MAX_KILLS_EACH:
                continue
            killed = sigkill(self._system, victim)
            self.kills[victim] += 1
            killed.recovered(self._system)  # back and healthy before the next kill


def test_every_send_is_delivered_once_while_memory_writer_and_outbound_are_killed(
    system: RunningSystem,
) -> None:
    traffic = Traffic()
    started = time.monotonic()
    with Chaos(system) as chaos, ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(lambda n: chat_until_answered(system.url, traffic, chat(n)), range(CHATS)))
    chatted_s = time.monotonic() - started

    assert not (failures := traffic.failures()), failures
    assert not traffic.transport_errors, traffic.transport_errors
    assert all(chaos.kills[victim] >= 1 for victim in VICTIMS), chaos.kills

    # Replies of chats answered late (202) and deliveries still in outbound's queue: wait for them.
    ledger = wait_until_settled(system, CHATS)
    print(
        f"{CHATS} chats in {chatted_s:.0f}s with {CLIENTS} clients; kills {dict(chaos.kills)}; "
        f"{len(ledger.sends)} sends, {len(ledger.deliveries)} deliveries, {len(ledger.replies)} replies; "
        f"HTTP statuses {dict(sorted(traffic.statuses.items()))}; in-cycle effect retries "
        f"{log_mentions(system, 'tool effect not confirmed')}, cycles redelivered "
        f"{log_mentions(system, 'will be redelivered')}"
    )

    # Every chat stored once and answered once; every chat asked for exactly one send, nothing
    # failed on the way, and every send was delivered to its recipient exactly once, under the id
    # derived from the request.
    assert not (problems := ledger.problems(range(CHATS))), problems
