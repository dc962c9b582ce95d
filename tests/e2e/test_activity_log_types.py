"""Every activity-log type of #14 (seed 003 §4.10) lands in activity_log/ and survives a rebuild.

One event of each type is stored as its service would store it; memory-writer projects each into
the anima's day file; the files are deleted and rebuilt from the stream alone, byte for byte. The
flows that produce these events for real are tested in their own e2e tests (messaging limits,
delegation, boards, notifications).
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from nats.aio.client import Client
from tests.conftest import RunningSystem, settled, start_system

from animas_contracts import Event, encode_event
from animas_contracts.subjects import HEADER_MSG_ID, activity_subject

pytestmark = [pytest.mark.e2e, pytest.mark.nats]

AT = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
"""A fixed day: the entries land in that day's file whatever today is."""
SAMPLES = Path(__file__).parents[2] / "services" / "memory-writer" / "tests" / "organization_events.py"


def _samples() -> Callable[..., list[tuple[str, Event]]]:
    spec = importlib.util.spec_from_file_location("organization_events", SAMPLES)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    samples: Callable[..., list[tuple[str, Event]]] = module.organization_events
    return samples


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    running = start_system(tmp_path_factory.mktemp("activity-types") / "home")
    try:
        yield running
    finally:
        running.stop()


def _wait_for(check: Callable[[], bool], what: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _entries(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_every_new_type_is_logged_and_rebuilt_byte_for_byte(system: RunningSystem) -> None:
    samples = _samples()("sample", AT, prefix="it")

    async def publish(nc: Client) -> None:
        js = nc.jetstream()
        for _, event in samples:
            await js.publish(
                activity_subject(event.anima, event.event_type),
                encode_event(event),
                headers={HEADER_MSG_ID: event.id},
            )

    system.admin(publish)
    day_file = system.home / "animas" / "sample" / "activity_log" / f"{AT.date().isoformat()}.jsonl"
    ids = {event.id for _, event in samples}
    _wait_for(lambda: ids <= {e["meta"]["event_id"] for e in _entries(day_file)}, "the projection")
    _wait_for(lambda: settled(system), "memory-writer to apply everything stored")

    logged = {e["meta"]["event_id"]: e["type"] for e in _entries(day_file)}
    assert {event.id: expected for expected, event in samples} == {i: logged[i] for i in ids}
    before = day_file.read_bytes()

    shutil.rmtree(day_file.parent)
    assert "rebuilt" in system.anima("replay", "rebuild").stdout
    assert day_file.read_bytes() == before
