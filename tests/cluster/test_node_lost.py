"""A 3-node NATS cluster loses the ACTIVITY stream leader's node mid-run (issue #18, item 1).

Three nats-server processes (:mod:`animas_tools.nats_cluster`: the Kubernetes cluster config on
loopback ports, the production users and permissions of infra/nats/accounts.conf), and
``anima up --nats-url <every member's URL> --stream-replicas 3``: streams and buckets at R3, every
service connected with the seed list. Clients chat across 20 animas with the scripted LLM, each
chat under its own ``Idempotency-Key`` (a 503 or a 202 asked again under it). Once every anima has
answered, the member leading the ACTIVITY stream is SIGKILLed; fresh probe chats go out every
quarter second, and chats go on until enough are answered on the two members left; the member is
started again and catches up; more chats are answered. The times are printed (recorded in
docs/benchmarks.md, "NATS cluster: a node lost"). Then the stream is counted: every chat stored
once and answered once, no event id stored twice, no dead letter, no 500 at any point.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.chaos.harness import (
    dead_letters,
    lagging_consumers,
    log_mentions,
    running_with_animas,
    stored_events,
    wait_for,
)
from tests.chaos.keyed_chats import GIVE_UP_S, Answered, Chat, Traffic, chat_until_answered
from tests.cluster.jetstream_view import (
    consumers_led_again,
    leaders,
    new_stream_leader,
    replicas_current,
    stored_ids,
)
from tests.conftest import RunningSystem

from animas_contracts import MessageReceived, ResponseSent
from animas_tools.nats_cluster import NatsCluster
from animas_tools.nats_server import load_or_create_users
from animas_tools.scripted_llm import ScriptedLLM
from animas_tools.service_env import nats_server_env

pytestmark = [pytest.mark.e2e, pytest.mark.nats, pytest.mark.slow, pytest.mark.cluster]

ANIMAS = tuple(f"member{n:02d}" for n in range(20))
CLIENTS = 4
PROBES = 40
PROBE_EVERY_S = 0.25
"""Fresh chats after the kill, round robin over the animas: the first answered says when chats
work again (a client's chat in flight at the kill may wait out a swallowed request first)."""
ANSWERED_BEFORE_KILL = 20
"""Answered once every anima has answered once: the steady gaps between answers, for comparison."""
ANSWERED_WHILE_DOWN = 20
ANSWERED_AFTER_RETURN = 20
REDELIVERED = "will be redelivered"
"""What the error policy logs when a handler failed and its message is to come back (animas_core.policy)."""
BOUND_S = 90.0
"""How long any phase may take before the test fails: a bound, not a measurement."""


def job(n: int) -> Chat:
    return Chat(ANIMAS[n % len(ANIMAS)], f"job-{n}", f"job {n}")


def probe(n: int) -> Chat:
    return Chat(ANIMAS[n % len(ANIMAS)], f"probe-{n}", f"probe {n}")


@pytest.fixture(scope="module")
def llm() -> Iterator[ScriptedLLM]:
    with ScriptedLLM() as server:
        server.load([{"text": "Done."}], repeat=True)
        yield server


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cluster") / "home"


@pytest.fixture(scope="module")
def cluster(home: Path) -> Iterator[NatsCluster]:
    # The services' users are the home's (nats/users.json), which `anima up --nats-url` uses.
    users = load_or_create_users(home / "nats" / "users.json")
    running = NatsCluster(home.parent / "cluster", users, env=nats_server_env(os.environ)).start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def system(home: Path, cluster: NatsCluster, llm: ScriptedLLM) -> Iterator[RunningSystem]:
    # A message held when its consumer's leader died comes back after 3 s; a reply not seen in
    # 10 s is a 202, and the client asks again under its key.
    env = {"ANIMAWORKS_ACK_WAIT_S": "3", "ANIMAWORKS_CHAT_TIMEOUT_S": "10"}
    args = ["--nats-url", cluster.url, "--stream-replicas", "3"]
    with running_with_animas(home, env, llm, ANIMAS, args) as running:
        yield running


class Clients:
    """``CLIENTS`` threads, each sending the next job until it is answered, until stopped."""

    def __init__(self, url: str, traffic: Traffic) -> None:
        self._numbers = itertools.count()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.sent: list[Chat] = []
        self._threads = [
            threading.Thread(target=self._run, args=(url, traffic), daemon=True) for _ in range(CLIENTS)
        ]

    def __enter__(self) -> Clients:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(GIVE_UP_S + 30)

    def _run(self, url: str, traffic: Traffic) -> None:
        while not self._stop.is_set():
            with self._lock:
                chat = job(next(self._numbers))
                self.sent.append(chat)
            chat_until_answered(url, traffic, chat)


def send_probes(url: str, traffic: Traffic) -> list[threading.Thread]:
    """One probe chat every PROBE_EVERY_S, each asked until answered in a thread of its own."""
    threads = []
    for n in range(PROBES):
        thread = threading.Thread(target=chat_until_answered, args=(url, traffic, probe(n)), daemon=True)
        thread.start()
        threads.append(thread)
        time.sleep(PROBE_EVERY_S)
    return threads


def longest_gap(answers: list[Answered], since: float, until: float) -> float:
    """The longest time between two consecutive answers (or the window's ends) in [since, until]."""
    times = [since, *sorted(a.finished for a in answers if since <= a.finished <= until), until]
    return max(b - a for a, b in itertools.pairwise(times))


def test_a_stream_leader_node_sigkilled_mid_run_loses_and_doubles_nothing(
    system: RunningSystem, cluster: NatsCluster
) -> None:
    traffic = Traffic()
    began = time.monotonic()
    with Clients(system.url, traffic) as clients:
        wait_for(
            lambda: all(traffic.answered_since(began, anima=a) >= 1 for a in ANIMAS),
            BOUND_S,
            "every anima answering before the kill",
        )
        steady_at = time.monotonic()
        wait_for(
            lambda: traffic.answered_since(steady_at) >= ANSWERED_BEFORE_KILL,
            BOUND_S,
            f"{ANSWERED_BEFORE_KILL} more chats answered before the kill",
        )
        before = system.admin(leaders)
        victim = before.stream
        was_meta_leader = cluster.meta_leader() == victim
        its_clients = [n.removeprefix("animaworks-") for n in cluster.client_names(victim)]
        killed_at = time.monotonic()
        cluster.kill(victim)
        probes: list[threading.Thread] = []
        prober = threading.Thread(target=lambda: probes.extend(send_probes(system.url, traffic)))
        prober.start()
        new_leader, elected_at = system.admin(lambda nc: new_stream_leader(nc, victim, BOUND_S))
        consumers_led_at = system.admin(lambda nc: consumers_led_again(nc, victim, BOUND_S))
        wait_for(
            lambda: traffic.answered_since(killed_at) >= ANSWERED_WHILE_DOWN,
            BOUND_S,
            f"{ANSWERED_WHILE_DOWN} chats answered with {victim} down",
        )
        prober.join()
        restarted_at = time.monotonic()
        cluster.restart(victim)
        caught_up_at = system.admin(lambda nc: replicas_current(nc, victim, BOUND_S))
        wait_for(
            lambda: traffic.answered_since(caught_up_at) >= ANSWERED_AFTER_RETURN,
            BOUND_S,
            f"{ANSWERED_AFTER_RETURN} chats answered after {victim} came back",
        )
        for thread in probes:
            thread.join(GIVE_UP_S + 30)
    ended = time.monotonic()

    answered = list(traffic.answered)
    first_after_kill = min(a.finished for a in answered if a.started > killed_at) - killed_at
    consumers = f"{len(before.consumers_led_by(victim))} of {len(before.consumers)} durable consumers"
    redelivered = log_mentions(system, REDELIVERED, service="")
    print(
        f"\n3-node cluster, streams at R3, {len(ANIMAS)} animas, {CLIENTS} clients + {PROBES} probe chats "
        f"after the kill; {len(answered)} chats answered"
        f"\nSIGKILLed {victim}: leader of ACTIVITY and of {consumers}, meta leader "
        f"{'too' if was_meta_leader else 'not'}; its clients: {', '.join(its_clients) or 'none'}"
        f"\nnew ACTIVITY leader ({new_leader}) {elected_at - killed_at:.1f}s after the kill; first answer "
        f"to a chat sent after the kill {first_after_kill:.1f}s after it; every durable led again "
        f"{consumers_led_at - killed_at:.1f}s after it"
        f"\nlongest gap between answers: {longest_gap(answered, steady_at, killed_at):.1f}s before the "
        f"kill, {longest_gap(answered, killed_at, restarted_at):.1f}s with {victim} down "
        f"({restarted_at - killed_at:.1f}s), {longest_gap(answered, caught_up_at, ended):.1f}s after its "
        "return"
        f"\n{victim} healthy and a current replica again {caught_up_at - restarted_at:.1f}s after its restart"
        f"\nHTTP statuses {dict(sorted(traffic.statuses.items()))}; {len(traffic.retried)} chats asked again "
        f"under their key; messages redelivered after a failed handler: {redelivered}"
    )

    # What the clients saw: no 500, every 503 with Retry-After, every chat answered, and the
    # gateway (never killed) never refused a connection.
    assert not (failures := traffic.failures()), failures
    assert not traffic.transport_errors, traffic.transport_errors
    sent = [*clients.sent, *(probe(n) for n in range(PROBES))]
    assert sorted(a.chat.key for a in answered) == sorted(c.key for c in sent)

    # What the stream holds, once every consumer has caught up: each chat stored once under the id
    # its client was given and answered once, nothing stored no client sent, and no event of any
    # type stored twice.
    wait_for(
        lambda: not lagging_consumers(system), BOUND_S, "every durable consumer to catch up", every_s=0.5
    )
    events = stored_events(system, "message.received", "response.sent")
    received = Counter(e.id for e in events if isinstance(e, MessageReceived))
    texts = Counter(e.text for e in events if isinstance(e, MessageReceived))
    replies = Counter(e.in_reply_to for e in events if isinstance(e, ResponseSent))
    for answer in answered:
        assert received[answer.message_id] == 1, (
            f"{answer.chat.key} stored {received[answer.message_id]} times"
        )
        assert texts[answer.chat.text] == 1, (
            f"{answer.chat.key}'s text stored {texts[answer.chat.text]} times"
        )
        assert replies[answer.message_id] == 1, (
            f"{answer.chat.key} answered {replies[answer.message_id]} times"
        )
    assert sum(received.values()) == len(answered)
    ids = system.admin(stored_ids)
    assert not (doubled := {i: n for i, n in ids.items() if n > 1}), doubled
    assert not (letters := dead_letters(system)), letters
