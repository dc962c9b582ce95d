"""agent-runner's ``rpc.agent.replay``: a recorded cycle's events in, the comparison out (no broker)."""

from __future__ import annotations

from pathlib import Path

import msgspec
from tests.recorded_cycle import record_cycle

from animas_agent_runner.replay import replay_request
from animas_contracts import CycleStarted, LlmCalled, encode_event
from animas_contracts.operations import ReplayRequest


def _request(events: list[object], cycle_id: str) -> ReplayRequest:
    return ReplayRequest(cycle_id=cycle_id, events=[msgspec.json.decode(encode_event(e)) for e in events])  # type: ignore[arg-type]


async def test_a_recorded_cycle_replays_the_same(tmp_path: Path) -> None:
    events = (await record_cycle(tmp_path)).events
    cycle_id = next(e.id for e in events if isinstance(e, CycleStarted))
    reply = await replay_request(_request(list(events), cycle_id))
    assert reply.ok and reply.matches and reply.prompt_identical and reply.diff == ""
    assert (reply.calls_recorded, reply.calls_replayed) == (2, 2)
    assert reply.recorded_reply == reply.replayed_reply == "Noted: Tanaka likes tea."
    assert "reply: identical to the recorded reply" in reply.report


async def test_a_recording_missing_a_model_call_diverges(tmp_path: Path) -> None:
    events = (await record_cycle(tmp_path)).events
    cycle_id = next(e.id for e in events if isinstance(e, CycleStarted))
    last_call = [e for e in events if isinstance(e, LlmCalled)][-1]
    reply = await replay_request(_request([e for e in events if e is not last_call], cycle_id))
    assert reply.ok and not reply.matches
    assert reply.divergence is not None and "model call 2" in reply.divergence


async def test_an_unknown_cycle_is_an_error_not_a_crash(tmp_path: Path) -> None:
    events = (await record_cycle(tmp_path)).events
    reply = await replay_request(_request(list(events), "nope"))
    assert not reply.ok and reply.error is not None and "no cycle.started with id nope" in reply.error


async def test_bodies_kept_in_the_object_store_are_read_back(tmp_path: Path) -> None:
    recorded = await record_cycle(tmp_path, inline_limit=64)
    started = next(e for e in recorded.events if isinstance(e, CycleStarted))
    assert started.inputs is not None and started.inputs.stored and started.inputs.inline is None
    fetched: list[str] = []

    async def fetch(digest: str) -> bytes | None:
        fetched.append(digest)
        return recorded.bodies.get(digest)

    reply = await replay_request(_request(list(recorded.events), started.id), fetch)
    assert reply.ok and reply.matches, reply
    assert started.inputs.digest in fetched

    async def gone(digest: str) -> bytes | None:
        return None

    missing = await replay_request(_request(list(recorded.events), started.id), gone)
    assert not missing.ok and missing.error is not None and "not in the object store" in missing.error
