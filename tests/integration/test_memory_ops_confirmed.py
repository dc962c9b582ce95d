"""agent-runner's memory writes are confirmed across a memory-writer restart and a repeated request.

A real nats-server with the services' own users, provisioned by the operator (tests/conftest.py),
memory-writer through its composition root, and agent-runner's BusMemoryOps as agent-runner wires
it. A request published again under its derived id (a retried tool call, a redelivered cycle) is
dropped by JetStream and never answered again; the answer memory-writer gave the first copy must
still be found, or the cycle could never finish.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import nats
import pytest
from pydantic import SecretStr

from animas_agent_runner.adapters.memory_ops import BusMemoryOps
from animas_agent_runner.adapters.op_answers import StreamAnswers
from animas_agent_runner.settings import AgentRunnerSettings
from animas_contracts import MemoryOpApplied, MemoryOpRequested, WriteKnowledge, derive_id
from animas_core.anima_files import AnimaSpec, template_files
from animas_core.runtime import ServiceRuntime
from animas_core.settings import NatsSettings
from animas_core.waiter import OUTCOME_SUBJECT, EventWaiter, outcome_key
from animas_memory_writer.app import setup as setup_writer
from animas_memory_writer.settings import MemoryWriterSettings
from animas_tools.animas_cli import creation_event
from animas_tools.nats_server import NatsUser
from animas_tools.publish import publish_change

pytestmark = [pytest.mark.nats]


def _nats(url: str, user: NatsUser) -> NatsSettings:
    return NatsSettings(url=url, user=user.name, password=SecretStr(user.password))


async def _start_writer(tmp_path: Path, url: str, users: dict[str, NatsUser]) -> ServiceRuntime:
    settings = MemoryWriterSettings(home=tmp_path / "home", watch_interval_s=0)
    runtime = ServiceRuntime("memory-writer", settings, _nats(url, users["memory-writer"]))
    await runtime.connect()
    await setup_writer(runtime, settings)
    await runtime.start()
    return runtime


@pytest.fixture
async def runner(
    secured_nats: tuple[str, dict[str, NatsUser]], tmp_path: Path
) -> AsyncIterator[BusMemoryOps]:
    url, users = secured_nats
    runtime = ServiceRuntime(
        "agent-runner", AgentRunnerSettings(home=tmp_path / "runner"), _nats(url, users["agent-runner"])
    )
    await runtime.connect()
    waiter = EventWaiter(OUTCOME_SUBJECT, outcome_key)
    await waiter.start(runtime.broker.connection)
    try:
        yield BusMemoryOps(runtime.publisher, waiter, StreamAnswers(runtime.js))
    finally:
        await waiter.stop()
        await runtime.broker.stop()


def _write(n: int, content: str) -> MemoryOpRequested:
    return MemoryOpRequested(
        id=derive_id("cycle-1", "tool", n, "memory.op"),
        anima="tanaka",
        correlation_id="corr",
        causation_id="cycle-1",
        producer="agent-runner",
        cycle_id="cycle-1",
        op=WriteKnowledge(path=f"knowledge/note-{n}.md", content=content),
    )


async def test_a_repeated_request_is_confirmed_from_the_stream_even_across_a_restart(
    secured_nats: tuple[str, dict[str, NatsUser]], runner: BusMemoryOps, tmp_path: Path
) -> None:
    url, users = secured_nats
    writer = await _start_writer(tmp_path, url, users)
    admin = await nats.connect(url, user="admin", password=users["admin"].password)
    try:
        files = template_files(AnimaSpec(name="tanaka", role="engineer"), "engineer")
        assert isinstance(
            await publish_change(admin, creation_event("tanaka", files, "test")), MemoryOpApplied
        )

        first = _write(0, "# Tea\n\n- Tanaka likes green tea\n")
        answered = await runner.apply(first, timeout_s=30)
        assert answered.applied is True and answered.paths

        # The same request again, as a redelivered cycle sends it: JetStream drops it and
        # memory-writer says nothing, yet the first answer is found in the stream.
        again = await runner.apply(first, timeout_s=5)
        assert (again.applied, again.paths) == (True, answered.paths)

        # memory-writer restarts while a write waits for it: not confirmed, never "failed".
        await writer.stop()
        second = _write(1, "# Coffee\n\n- Tanaka dislikes coffee\n")
        unconfirmed = await runner.apply(second, timeout_s=0.5)
        assert unconfirmed.applied is None

        # Back again, memory-writer applies the stored request; asking again confirms it.
        writer = await _start_writer(tmp_path, url, users)
        confirmed = await runner.apply(second, timeout_s=30)
        assert confirmed.applied is True
        note = tmp_path / "home" / "animas" / "tanaka" / "knowledge" / "note-1.md"
        assert note.read_text().count("Tanaka dislikes coffee") == 1
    finally:
        await admin.close()
        await writer.stop()
