"""Recall end to end: memories surface on their own, stay with their anima, and survive a reindex."""

from __future__ import annotations

import os
import random
import signal
import time
from collections.abc import Iterator
from datetime import date, timedelta
from typing import TypeVar

import msgspec
import pytest
from nats.aio.client import Client
from tests.conftest import RunningSystem, start_system

from animas_contracts import (
    MemoryOpApplied,
    MemoryOpRequested,
    PrimeReply,
    PrimeRequest,
    SearchReply,
    SearchRequest,
    WriteKnowledge,
    encode_event,
    uuid7,
)
from animas_contracts.subjects import activity_subject, rpc_subject
from animas_core.anima_files import AnimaSpec, template_files
from animas_tools.animas_cli import creation_event
from animas_tools.publish import publish_change

T = TypeVar("T")

pytestmark = [pytest.mark.e2e, pytest.mark.nats, pytest.mark.slow]

TANAKA_LESSON = "Tanaka-san rejected our casual reply; use formal business language with Tanaka-san"
SATO_RULE = "Casual is fine with Sato-san"
SUZUKI_RULE = "Suzuki-san prefers short notes"
TOPICS = [
    "deployment",
    "database backup",
    "quarterly report",
    "office move",
    "hiring plan",
    "budget review",
    "customer survey",
    "security audit",
    "release notes",
    "team lunch",
    "server upgrade",
    "invoice",
]


def _episode_files(today: date) -> dict[str, str]:
    """504 ordinary episode entries over 42 days, with the Tanaka lesson three weeks ago."""
    rng = random.Random(7)
    files: dict[str, str] = {}
    for back in range(42, 0, -1):
        day = today - timedelta(days=back)
        entries = [f"# {day.isoformat()} Action Log\n"]
        for n in range(12):
            topic = rng.choice(TOPICS)
            entries.append(
                f"\n## {9 + n % 9:02d}:{(n * 7) % 60:02d} Worked on the {topic}\n- Trigger: Heartbeat\n"
                f"- Decision: continued the {topic} as planned\n"
                f"- Result: progress on the {topic}\n- Lesson: None\n"
            )
        if back == 21:
            entries.append(
                "\n## 15:10 Reply to Tanaka-san was rejected\n- Trigger: Message received\n"
                f"- Decision: {TANAKA_LESSON}\n- Result: Rejected, rewritten formally\n"
                f"- Lesson: {TANAKA_LESSON}\n"
            )
        files[f"episodes/{day.isoformat()}.md"] = "".join(entries)
    return files


def _knowledge_files() -> dict[str, str]:
    return {
        "knowledge/clients/sato.md": f"# Sato-san\n\n## Tone\n- {SATO_RULE}\n",
        "knowledge/clients/suzuki.md": f"# Suzuki-san\n\n## Tone\n- {SUZUKI_RULE}\n",
        "knowledge/office.md": (
            "# Office\n\n## Rules\n- [IMPORTANT] Never share customer data outside the company\n"
        ),
        "knowledge/tools.md": "# Tools\n\n## Build\n- The build runs with make\n",
    }


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    running = start_system(tmp_path_factory.mktemp("recall") / "home")
    try:
        files = template_files(AnimaSpec(name="clerk", role="general"), "general")
        files.update(_episode_files(date.today()))
        files.update(_knowledge_files())
        running.admin(
            lambda nc: publish_change(nc, creation_event("clerk", files, "template:general"), timeout_s=60),
        )
        other = template_files(AnimaSpec(name="rival", role="general"), "general")
        other["knowledge/secret.md"] = "# Secret\n\n- The launch code word is PAPAYA-4412\n"
        running.admin(
            lambda nc: publish_change(nc, creation_event("rival", other, "template:general"), timeout_s=60),
        )
        _wait_indexed(running, "clerk", "Tanaka-san rejected", "episodes")
        _wait_indexed(running, "rival", "launch code word", "knowledge")
        yield running
    finally:
        running.stop()


def _create(system: RunningSystem, name: str, files: dict[str, str]) -> None:
    event = creation_event(name, files, "template:general")
    answer = system.admin(lambda nc: publish_change(nc, event, timeout_s=60))
    assert isinstance(answer, MemoryOpApplied), answer


def prime(system: RunningSystem, anima: str, text: str, sender: str = "human") -> PrimeReply:
    async def ask(nc: Client) -> PrimeReply:
        request = msgspec.json.encode(PrimeRequest(trigger="message", text=text, sender=sender))
        msg = await nc.request(rpc_subject("priming", "prime", anima), request, timeout=30)
        return msgspec.json.decode(msg.data, type=PrimeReply)

    return system.admin(ask)


def search(system: RunningSystem, anima: str, query: str, scope: str = "all") -> SearchReply:
    async def ask(nc: Client) -> SearchReply:
        msg = await nc.request(
            rpc_subject("priming", "search", anima),
            msgspec.json.encode(SearchRequest(query=query, scope=scope)),
            timeout=30,
        )
        return msgspec.json.decode(msg.data, type=SearchReply)

    return system.admin(ask)


def _wait_indexed(system: RunningSystem, anima: str, needle: str, scope: str, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if any(needle in h.snippet for h in search(system, anima, needle, scope).hits):
            return
        time.sleep(0.5)
    raise AssertionError(f"{needle!r} was never indexed for {anima}")


def test_the_right_lesson_surfaces_for_the_right_client(system: RunningSystem) -> None:
    tanaka = prime(system, "clerk", "Reply to Tanaka-san about the schedule").text()
    assert TANAKA_LESSON in tanaka
    assert SATO_RULE not in tanaka and SUZUKI_RULE not in tanaka

    sato = prime(system, "clerk", "Reply to Sato-san").text()
    assert SATO_RULE in sato
    assert TANAKA_LESSON not in sato


def test_important_items_surface_even_for_a_greeting(system: RunningSystem) -> None:
    reply = prime(system, "clerk", "hello")
    assert reply.message_type == "greeting" and reply.budget == 500
    assert "Never share customer data outside the company" in reply.text()
    assert not reply.errors


def test_animas_never_see_each_others_memories(system: RunningSystem) -> None:
    for query in ("launch code word", "PAPAYA-4412"):
        assert not any("PAPAYA" in h.snippet for h in search(system, "clerk", query).hits)
        assert "PAPAYA" not in prime(system, "clerk", f"What is the {query}?").text()
    assert any("PAPAYA" in h.snippet for h in search(system, "rival", "launch code word").hits)


def test_a_reindex_gives_the_same_results_and_keeps_access_statistics(system: RunningSystem) -> None:
    # The generated episodes repeat themselves, so equal scores may tie in any order there: the
    # best hit of distinctive queries, and the knowledge files found, must come back the same
    # (searching counts as access, so close results may trade places between searches).
    queries = [
        "Tanaka-san rejected our casual reply",
        "build runs with make",
        "customer data",
        "Suzuki-san notes",
    ]

    def top(query: str) -> tuple[str, frozenset[str]]:
        hits = search(system, "clerk", query).hits
        knowledge = search(system, "clerk", query, scope="knowledge").hits
        return hits[0].path, frozenset(h.path for h in knowledge)

    before = [top(q) for q in queries]
    stats_before = _stats(system, "clerk")
    assert stats_before, "priming and search reported accesses to memory-writer"

    shutil_index = system.home / "index" / "clerk.db"
    assert shutil_index.exists()
    for path in (system.home / "index").glob("clerk.db*"):
        path.unlink()
    out = system.anima("reindex", "--anima", "clerk").stdout
    assert "reindexed clerk" in out

    assert [top(q) for q in queries] == before
    stats_after = _stats(system, "clerk")
    assert all(stats_after[p] >= count for p, count in stats_before.items())


def _stats(system: RunningSystem, anima: str) -> dict[str, int]:
    from animas_contracts import MemoryReadReply, MemoryReadRequest

    async def ask(nc: Client) -> dict[str, int]:
        request = msgspec.json.encode(MemoryReadRequest(op="stats"))
        msg = await nc.request(rpc_subject("memory", "read", anima), request, timeout=10)
        return {m.path: m.access_count for m in msgspec.json.decode(msg.data, type=MemoryReadReply).stats}

    return system.admin(ask)


def test_a_new_memory_is_found_right_after_it_is_written(system: RunningSystem) -> None:
    event_id = uuid7()
    write = MemoryOpRequested(
        id=event_id,
        anima="clerk",
        correlation_id=event_id,
        producer="agent-runner",
        op=WriteKnowledge(path="knowledge/parking.md", content="# Parking\n- Visitors park on level B2"),
    )
    answer = system.admin(lambda nc: publish_change(nc, write))
    assert isinstance(answer, MemoryOpApplied)
    _wait_indexed(system, "clerk", "level B2", "knowledge", timeout_s=30)
    # Indexed means acknowledged: `anima status` sums priming's partition durables to zero.
    deadline = time.monotonic() + 30
    while "index lag: 0 (caught up;" not in (status := system.anima("status").stdout):
        assert time.monotonic() < deadline, status
        time.sleep(0.5)


def test_a_pending_write_is_recalled_before_memory_writer_applies_it(system: RunningSystem) -> None:
    writer = system.pid("memory-writer")
    assert writer is not None
    os.kill(writer, signal.SIGSTOP)  # memory-writer holds every change back until SIGCONT
    try:
        event_id = uuid7()
        note = "# Lockers\n- The spare locker key hangs behind the reception desk"
        write = MemoryOpRequested(
            id=event_id,
            anima="clerk",
            correlation_id=event_id,
            producer="agent-runner",
            op=WriteKnowledge(path="knowledge/lockers.md", content=note),
        )

        async def publish(nc: Client) -> None:
            await nc.jetstream().publish(
                activity_subject("clerk", "memory.op.requested"), encode_event(write)
            )

        system.admin(publish)
        deadline = time.monotonic() + 20
        reply = prime(system, "clerk", "Where is the spare locker key?")
        while "behind the reception desk" not in reply.text() and time.monotonic() < deadline:
            time.sleep(0.3)
            reply = prime(system, "clerk", "Where is the spare locker key?")
        assert "behind the reception desk" in reply.text()
        assert not (system.home / "animas/clerk/knowledge/lockers.md").exists()
        # Channels that need memory-writer say that they could not be served.
        assert reply.errors and any("stats" in k or k in {"B", "E"} for k in reply.errors)
    finally:
        os.kill(writer, signal.SIGCONT)
    _wait_indexed(system, "clerk", "spare locker key", "knowledge", timeout_s=60)
