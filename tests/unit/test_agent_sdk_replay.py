"""A cycle of mode agent_sdk (A1) is not replayed offline: replay says why instead of mis-replaying."""

from __future__ import annotations

from pathlib import Path

import msgspec
from tests.recorded_cycle import record_cycle

from animas_agent_runner.replay import replay_request
from animas_contracts import CycleStarted, encode_event
from animas_contracts.operations import ReplayRequest


async def test_replay_refuses_an_agent_sdk_cycle_with_the_reason(tmp_path: Path) -> None:
    events = list((await record_cycle(tmp_path)).events)
    started = next(e for e in events if isinstance(e, CycleStarted))
    a1 = msgspec.structs.replace(started, mode="agent_sdk")
    wire = [msgspec.json.decode(encode_event(a1 if e is started else e)) for e in events]

    reply = await replay_request(ReplayRequest(cycle_id=started.id, events=wire))

    assert not reply.ok and reply.error is not None
    assert "mode agent_sdk (A1)" in reply.error and "cannot be replayed offline" in reply.error
    # The same recording in its own mode still replays.
    plain = [msgspec.json.decode(encode_event(e)) for e in events]
    assert (await replay_request(ReplayRequest(cycle_id=started.id, events=plain))).matches
