"""The walking skeleton end to end: `anima up`, real processes, real NATS, real HTTP, scripted LLM."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import msgspec
import nats
import pytest
from tests.conftest import RunningSystem, scripted_config, settled, start_system

from animas_contracts import DeadLetter
from animas_contracts.subjects import DEADLETTER_STREAM
from animas_core.config_store import read_config
from animas_tools.config_sync import instances_behind
from animas_tools.scripted_llm import ScriptedLLM

pytestmark = [pytest.mark.e2e, pytest.mark.nats, pytest.mark.slow]

FAST_REDELIVERY = {"ANIMAWORKS_ACK_WAIT_S": "3", "ANIMAWORKS_RETRY_BACKOFF_S": "[0.2, 0.5, 1.0]"}


@pytest.fixture(scope="module")
def llm() -> Iterator[ScriptedLLM]:
    with ScriptedLLM() as server:
        yield server


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    running = start_system(tmp_path_factory.mktemp("e2e") / "home", FAST_REDELIVERY)
    try:
        yield running
    finally:
        running.stop()


def _events(system: RunningSystem, correlation_id: str) -> list[dict[str, object]]:
    out = system.anima("events", "--correlation-id", correlation_id, "--json").stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def _wait_for(predicate, timeout_s: float = 30.0, what: str = "condition") -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_without_a_model_the_reply_says_how_to_configure_one(system: RunningSystem) -> None:
    config = json.loads((system.home / "config.json").read_text())
    assert config["anima_defaults"]["model"] is None
    assert oct((system.home / "config.json").stat().st_mode & 0o777) == "0o600"

    response = system.chat("sample", "hello")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["outcome"] == "configuration_needed"
    assert "No model is configured for anima 'sample'" in body["reply"]
    assert str(system.home / "config.json") in body["reply"]


def test_with_the_scripted_llm_the_reply_is_the_scripted_text(
    system: RunningSystem, llm: ScriptedLLM
) -> None:
    system.configure(scripted_config(llm))
    llm.load([{"text": "Hello from the script."}])
    before = len(llm.requests)

    response = system.chat("sample", "hello there", sender="tanaka")

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["reply"], body["outcome"]) == ("Hello from the script.", "reply")
    request = llm.requests[before]
    assert request["headers"]["authorization"] == "***"
    assert request["body"]["messages"][-1]["content"] == "[tanaka] hello there"


def test_events_show_the_cycle_in_order_under_one_correlation_id(
    system: RunningSystem, llm: ScriptedLLM
) -> None:
    system.configure(scripted_config(llm))
    llm.load([{"text": "In order."}])
    body = system.chat("sample", "show me the timeline").json()

    def timeline() -> str:
        return system.anima("events", "--anima", "sample", "--correlation-id", body["correlation_id"]).stdout

    deadline = time.monotonic() + 30
    while "memory.op.applied" not in timeline() and time.monotonic() < deadline:
        time.sleep(0.2)
    types = [line.split()[3] for line in timeline().splitlines()]

    # The cycle, then its encoding: the episode entry is asked for and memory-writer applies it;
    # memory-writer may apply it before or after agent-runner closes the cycle.
    assert types[:5] == [
        "message.received",
        "cycle.started",
        "llm.called",
        "response.sent",
        "memory.op.requested",
    ]
    assert sorted(types[5:]) == ["cycle.finished", "memory.op.applied"]
    timeline_text = timeline()
    assert all(f"corr={body['correlation_id']}" in line for line in timeline_text.splitlines())
    llm_called = next(e for e in _events(system, body["correlation_id"]) if e["type"] == "llm.called")
    assert llm_called["usage"]["total_tokens"] > 0  # type: ignore[index]
    assert "scripted-key" not in json.dumps(llm_called)


def test_agent_runner_killed_while_the_llm_holds_the_request_answers_once(
    system: RunningSystem, llm: ScriptedLLM
) -> None:
    system.configure(scripted_config(llm))
    llm.load([{"text": "never delivered", "hold": True}, {"text": "answered after the crash"}])
    seen = len(llm.requests)
    result: dict[str, httpx.Response] = {}
    chat = threading.Thread(
        target=lambda: result.update(r=system.chat("sample", "survive a crash", timeout_s=90))
    )
    chat.start()
    assert llm.wait_for_requests(seen + 1, timeout_s=30)
    killed = system.pid("agent-runner")
    assert killed is not None

    os.kill(killed, signal.SIGKILL)
    llm.release()
    chat.join(90)

    body = result["r"].json()
    assert body["reply"] == "answered after the crash"
    assert system.pid("agent-runner") not in (None, killed)
    replies = [e for e in _events(system, body["correlation_id"]) if e["type"] == "response.sent"]
    assert len(replies) == 1
    assert "restarted agent-runner" in system.output.read_text()


def _admin_publish(system: RunningSystem, subject: str, payload: bytes) -> None:
    users = json.loads((system.home / "nats" / "users.json").read_text())

    async def publish() -> None:
        nc = await nats.connect(system.info["nats_url"], user="admin", password=users["admin"])
        await nc.jetstream().publish(subject, payload)
        await nc.close()

    asyncio.run(publish())


def _dead_letters(system: RunningSystem) -> list[DeadLetter]:
    users = json.loads((system.home / "nats" / "users.json").read_text())

    async def read() -> list[DeadLetter]:
        nc = await nats.connect(system.info["nats_url"], user="admin", password=users["admin"])
        js = nc.jetstream()
        info = await js.stream_info(DEADLETTER_STREAM)
        letters = [
            msgspec.json.decode((await js.get_msg(DEADLETTER_STREAM, seq)).data or b"", type=DeadLetter)
            for seq in range(info.state.first_seq, info.state.last_seq + 1)
            if info.state.messages
        ]
        await nc.close()
        return letters

    return asyncio.run(read())


def test_a_malformed_message_is_dead_lettered_and_the_next_one_is_served(
    system: RunningSystem, llm: ScriptedLLM
) -> None:
    system.configure(scripted_config(llm))
    garbage = b'{"type": "message.received", "text": 42, "oops": \xff'
    _admin_publish(system, "activity.sample.message.received", garbage)
    llm.load([{"text": "still serving"}])

    response = system.chat("sample", "are you still there?")

    assert response.json()["reply"] == "still serving"

    def parked() -> bool:
        return {"agent-runner", "memory-writer"} <= {
            d.service for d in _dead_letters(system) if d.data == garbage
        }

    _wait_for(parked, what="dead letters from agent-runner and memory-writer")
    letter = next(d for d in _dead_letters(system) if d.service == "agent-runner" and d.data == garbage)
    assert letter.reason.startswith("ContractError: not an event")
    assert letter.subject.endswith(".sample.message.received")
    assert letter.stream_seq is not None


def test_rebuild_restores_byte_identical_activity_logs(system: RunningSystem, llm: ScriptedLLM) -> None:
    system.configure(scripted_config(llm))
    llm.load([{"text": "something to log"}])
    system.chat("sample", "log this")
    log_dir = system.home / "animas" / "sample" / "activity_log"
    _wait_for(
        lambda: "log this" in "".join(p.read_text() for p in log_dir.glob("*.jsonl")), what="projection"
    )
    _wait_for(lambda: settled(system), what="memory-writer to apply everything stored")
    before = {p.name: p.read_bytes() for p in sorted(log_dir.glob("*.jsonl"))}

    shutil.rmtree(log_dir)
    out = system.anima("replay", "rebuild").stdout

    assert "rebuilt" in out
    after = {p.name: p.read_bytes() for p in sorted(log_dir.glob("*.jsonl"))}
    assert after == before
    assert sum(b.count(b"\n") for b in after.values()) >= 5


@pytest.mark.parametrize("name", ["a.b", "*", ">", "A B"])
def test_bad_anima_names_are_refused_at_the_api_and_the_cli(system: RunningSystem, name: str) -> None:
    response = httpx.post(f"{system.url}/api/animas/{quote(name, safe='')}/chat", json={"message": "hi"})
    assert response.status_code == 400
    assert "invalid anima name" in response.json()["error"]

    result = system.anima("events", "--anima", name, check=False)
    assert result.returncode == 2
    assert "invalid anima name" in result.stderr


def test_unknown_anima_and_bad_bodies_get_clear_errors(system: RunningSystem) -> None:
    missing = system.chat("nobody", "hi")
    assert missing.status_code == 404 and "no anima named 'nobody'" in missing.json()["error"]
    bad = httpx.post(f"{system.url}/api/animas/sample/chat", content=b"{not json")
    assert bad.status_code == 422 and "not valid JSON" in bad.json()["error"]
    empty = httpx.post(f"{system.url}/api/animas/sample/chat", json={"message": "  "})
    assert empty.status_code == 422


def test_status_shows_every_service_and_consumer(system: RunningSystem) -> None:
    out = system.anima("status").stdout
    for service in (
        "gateway",
        "agent-runner",
        "priming",
        "memory-writer",
        "consolidator",
        "scheduler",
        "outbound",
    ):
        assert f"  {service} " in out
    assert "agent-runner-p0" in out and "memory-writer-activity" in out
    assert "not yet:" not in out  # no service reports placeholder work any more (outbound was the last)


def test_logs_never_contain_the_api_key(system: RunningSystem) -> None:
    logs = "".join(p.read_text() for p in (system.home / "run" / "logs").glob("*.log"))
    assert "scripted-key" not in logs
    assert Path(system.output).read_text().count("scripted-key") == 0


def test_config_json_changed_by_hand_or_by_put_reaches_every_service(system: RunningSystem) -> None:
    # `anima up` publishes config.json to the CONFIG bucket whenever it changes; services read the bucket.
    path = system.home / "config.json"
    edited = json.loads(path.read_text())
    edited["anima_defaults"]["max_turns"] = 7
    path.write_text(json.dumps(edited))
    _wait_for(lambda: _bucket(system)["anima_defaults"]["max_turns"] == 7, what="the hand edit in the bucket")
    _wait_for(
        lambda: httpx.get(f"{system.url}/api/config", timeout=10).json()["anima_defaults"]["max_turns"] == 7,
        what="the gateway to follow the bucket",
    )
    sent = httpx.get(f"{system.url}/api/config", timeout=10).json()
    sent["anima_defaults"]["max_turns"] = 9
    assert httpx.put(f"{system.url}/api/config", json=sent, timeout=10).status_code == 200
    _wait_for(lambda: _bucket(system)["anima_defaults"]["max_turns"] == 9, what="the PUT in the bucket")
    revision = system.admin(lambda nc: read_config(nc.jetstream()))
    assert revision is not None
    _wait_for(
        lambda: system.admin(lambda nc: instances_behind(nc.jetstream(), revision.revision))[1] == [],
        what="every service instance to take the revision",
    )
    assert "scripted-key" not in json.dumps(_bucket(system))  # the key stays in config.json


def _bucket(system: RunningSystem) -> dict[str, Any]:
    stored = system.admin(lambda nc: read_config(nc.jetstream()))
    assert stored is not None and stored.document is not None
    return stored.document
