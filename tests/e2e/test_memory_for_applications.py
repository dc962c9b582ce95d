"""Memory for other applications (seed 002) end to end, through the Python client.

Two animas made for two external ids never see each other's memories, and a memory pack for a
question finds a 200-day-old fact among 500 extracted events spread over 300 days. Event times are
relative to a fixed base date (never today's), sent in batches; no cycle runs for them.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from animaworks_client import Client, Event
from tests.conftest import RunningSystem, scripted_config, start_system, wait_until

from animas_tools.scripted_llm import ScriptedLLM

pytestmark = [pytest.mark.e2e, pytest.mark.nats, pytest.mark.slow]

BASE = datetime(2025, 3, 1, 18, 0, tzinfo=UTC)
"""The applications' "now": every event time is relative to it."""
EVENTS = 500
DAYS = 300
FACT_AGE_DAYS = 200
SISTER = "My sister Marisol lives in Reykjavik and keeps bees on her roof."
CHESS = "My favourite chess opening is the Sicilian Najdorf."
TOPICS = [
    "the deployment",
    "a database backup",
    "the quarterly report",
    "the office move",
    "the hiring plan",
    "the budget review",
    "a customer survey",
    "the security audit",
    "the release notes",
    "the team lunch",
    "a server upgrade",
    "an invoice",
]


@pytest.fixture(scope="module")
def llm() -> Iterator[ScriptedLLM]:
    with ScriptedLLM(repeat=True, turns=[{"text": "no cycle should ask for this"}]) as server:
        yield server


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory, llm: ScriptedLLM) -> Iterator[RunningSystem]:
    home = tmp_path_factory.mktemp("memory-apps") / "home"
    home.mkdir(parents=True)
    running = start_system(home)
    try:
        running.configure(scripted_config(llm, animas=()))
        yield running
    finally:
        running.stop()


def _alice_events() -> list[Event]:
    """500 events over 300 days before BASE; the sister fact 200 days before; the last three a session."""
    rng = random.Random(16)
    events = []
    for n in range(EVENTS):
        age = timedelta(days=DAYS) * (EVENTS - 1 - n) / (EVENTS - 1)
        content = f"Worked on {rng.choice(TOPICS)} and noted progress on {rng.choice(TOPICS)}."
        events.append(Event("message_in", content, author="alice", time=BASE - age, id=f"alice-{n}"))
    fact_at = next(
        i for i, e in enumerate(events) if e.time and BASE - e.time <= timedelta(days=FACT_AGE_DAYS)
    )
    events[fact_at] = Event("fact", SISTER, author="alice", time=events[fact_at].time, id="alice-sister")
    for n in range(EVENTS - 3, EVENTS):
        old = events[n]
        events[n] = Event(old.type, f"Today: {old.content}", "s-today", "alice", old.time, old.id)
    return events


def _at(event: Event) -> datetime:
    assert event.time is not None
    return event.time


def _texts(items: list[object]) -> str:
    return "\n".join(str(getattr(i, "text", "")) for i in items)


def test_two_applications_animas_stay_apart_and_an_old_fact_is_found(
    system: RunningSystem, llm: ScriptedLLM
) -> None:
    with Client(system.url, timeout=60) as aw:
        alice = aw.get_or_create_anima("user:alice@example.com", name="Alice")
        bob = aw.get_or_create_anima("user:bob@example.com")
        assert alice.created and bob.created and alice.anima != bob.anima
        again = aw.get_or_create_anima("user:alice@example.com")
        assert (again.anima, again.created) == (alice.anima, False)

        events = _alice_events()
        assert BASE - next(_at(e) for e in events if e.content == SISTER) >= timedelta(days=FACT_AGE_DAYS - 1)
        assert aw.extract(alice.anima, events).accepted == EVENTS
        aw.extract(bob.anima, [Event("fact", CHESS, author="bob", time=BASE - timedelta(days=3), id="bob-1")])
        # A repeat of an application's event is stored once.
        aw.extract(alice.anima, [events[-1]])

        def found(anima: str, query: str, needle: str) -> bool:
            return needle in _texts(list(aw.search(anima, query, limit=10)))

        wait_until(
            lambda: found(alice.anima, "Where does my sister live?", "Reykjavik"), 45, "the sister fact"
        )
        wait_until(lambda: found(bob.anima, "chess opening", "Najdorf"), 30, "bob's fact")

        pack = aw.pack(alice.anima, query="Where does my sister live?", session_id="s-today", max_tokens=1500)
        assert "Reykjavik" in _texts(list(pack.long_term))
        assert pack.tokens <= 1500
        assert [i.text.count("Today:") for i in pack.session] == [1, 1, 1]
        assert pack.identity.startswith(f"# Identity: {alice.anima}") and "Alice" in pack.identity
        zone = ZoneInfo(pack.temporal.time_zone)

        # Neither sees the other's memories, by search or by pack.
        assert not found(bob.anima, "Where does my sister live? Marisol Reykjavik bees", "Reykjavik")
        assert not found(alice.anima, "favourite chess opening Sicilian Najdorf", "Najdorf")
        bob_pack = aw.pack(bob.anima, query="Where does my sister live? Marisol Reykjavik", max_tokens=4000)
        alice_pack = aw.pack(alice.anima, query="favourite chess opening Najdorf", max_tokens=4000)
        assert "Reykjavik" not in bob_pack.text() and "Najdorf" in bob_pack.text()
        assert "Najdorf" not in alice_pack.text()

        day = aw.read_file(
            alice.anima, f"episodes/{_at(events[-1]).astimezone(zone).date().isoformat()}.md"
        ).text
        assert day.count(events[-1].content) == 1
    assert llm.requests == []  # extracted events run no cycle
