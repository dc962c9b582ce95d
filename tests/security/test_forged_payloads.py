"""The subject is the authority: forged payloads on subjects a service may publish change nothing.

Each case is published with agent-runner's own NATS credentials on a subject its user is allowed
to publish, so the broker stores it; what must stop it is the consumers' check of payload against
subject. Every case ends in a dead letter naming the reason, both animas' files stay as they were,
and a rebuild from the stream (which replays the forged events too) restores them unchanged.
"""

from __future__ import annotations

import asyncio
import functools
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import msgspec
import nats
import pytest
from nats.aio.client import Client
from tests.conftest import RunningSystem, settled, start_system

from animas_contracts import DeadLetter, Event, IdentityRevised, MessageReceived, encode_event, uuid7
from animas_contracts.subjects import DEADLETTER_STREAM, HEADER_MSG_ID, activity_subject
from animas_core.streams import read_stored

pytestmark = [pytest.mark.e2e, pytest.mark.nats, pytest.mark.slow]

FORGED_IDENTITY = "# Identity\n\n## Personality Traits\n- forged by a payload\n"
FORGED_TEXT = "forged human turn 31337"


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    running = start_system(tmp_path_factory.mktemp("forged") / "home")
    try:
        running.anima("create", "tanaka", "--template", "engineer")
        running.anima("create", "suzuki", "--template", "writer")
        yield running
    finally:
        running.stop()


def _wait_for(check: Callable[[], object], what: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _publish_raw(system: RunningSystem, user: str, subject: str, event: Event) -> None:
    """Publish bytes as ``user`` on ``subject``; the stream stores whatever the broker lets through."""
    password = str(json.loads((system.home / "nats" / "users.json").read_text())[user])

    async def run() -> None:
        nc = await nats.connect(system.info["nats_url"], user=user, password=password)
        try:
            await nc.publish(subject, encode_event(event), headers={HEADER_MSG_ID: event.id})
            await nc.flush()
        finally:
            await nc.close()

    asyncio.run(run())


def _dead_letters(system: RunningSystem) -> list[DeadLetter]:
    async def read(nc: Client) -> list[DeadLetter]:
        js = nc.jetstream()
        return [
            msgspec.json.decode(msg.data, type=DeadLetter)
            async for msg in read_stored(js, "deadletter.>", stream=DEADLETTER_STREAM)
        ]

    return system.admin(read)


def _letters_about(system: RunningSystem, event_id: str) -> list[DeadLetter]:
    return [d for d in _dead_letters(system) if d.headers.get(HEADER_MSG_ID) == event_id]


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _text_files(root: Path) -> dict[str, str]:
    skip = {".db", ".db-wal", ".db-shm"}
    return {k: v.decode(errors="replace") for k, v in _files(root).items() if Path(k).suffix not in skip}


def _revision(anima: str) -> IdentityRevised:
    event_id = uuid7()
    return IdentityRevised(
        id=event_id,
        anima=anima,
        correlation_id=event_id,
        producer="consolidator",
        content=FORGED_IDENTITY,
        author="consolidation",
    )


def test_forged_payloads_are_dead_lettered_and_change_no_anima(system: RunningSystem) -> None:
    homes = {name: system.home / "animas" / name for name in ("tanaka", "suzuki")}
    _wait_for(lambda: settled(system), "memory-writer to apply the creations")
    identities = {name: (root / "identity.md").read_text() for name, root in homes.items()}

    # 1. identity.revised smuggled onto a subject agent-runner may publish, for its own anima.
    own = _revision("tanaka")
    _publish_raw(system, "agent-runner", activity_subject("tanaka", "cycle.started"), own)
    # 2. the same, naming another anima than the subject's.
    other = _revision("suzuki")
    _publish_raw(system, "agent-runner", activity_subject("tanaka", "cycle.started"), other)
    # 3. a human's message (which only the gateway may publish) dressed as a model call record.
    message_id = uuid7()
    human = MessageReceived(
        id=message_id,
        anima="tanaka",
        correlation_id=message_id,
        producer="gateway",
        text=FORGED_TEXT,
        sender="human",
        thread_id="t-forged",
    )
    _publish_raw(system, "agent-runner", activity_subject("tanaka", "llm.called"), human)

    expectations = {
        own.id: "payload type 'identity.revised'",
        other.id: "payload type 'identity.revised'",
        message_id: "payload type 'message.received'",
    }
    for event_id, reason in expectations.items():
        _wait_for(functools.partial(_letters_about, system, event_id), f"a dead letter for {event_id}")
        letters = _letters_about(system, event_id)
        assert any(d.service == "memory-writer" and reason in d.reason for d in letters), letters
    _wait_for(lambda: settled(system), "memory-writer to move past the forged events")

    def unchanged() -> None:
        for name, root in homes.items():
            assert (root / "identity.md").read_text() == identities[name], name
            for path, text in _text_files(root).items():
                assert "forged" not in text, f"{name}/{path}"

    unchanged()

    # A rebuild replays the forged events as well: the same check keeps them out.
    before = {name: _files(root) for name, root in homes.items()}
    for name in homes:
        rebuilt = system.anima("replay", "rebuild", "--anima", name)
        assert "refused" in rebuilt.stdout, rebuilt.stdout
    unchanged()
    for name, root in homes.items():
        after = _files(root)
        text_paths = set(_text_files(root))
        assert {p: after[p] for p in text_paths} == {p: before[name][p] for p in text_paths}, name
