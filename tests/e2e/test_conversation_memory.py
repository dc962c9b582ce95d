"""Conversation memory end to end (issue #6): rolling history, compression, and no lost words.

A small context window (`context_window` 2000, so the 30% threshold is about 600 tokens) makes a
few long messages cross the threshold. Each peer talks in one thread (history is kept per
thread). memory-writer keeps the files; the scripted LLM answers.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import RunningSystem, scripted_config, start_system

from animas_contracts import conversation_archive_path, conversation_path
from animas_tools.scripted_llm import ScriptedLLM

pytestmark = [pytest.mark.e2e, pytest.mark.nats, pytest.mark.slow]

LONG = " ".join(f"detail{n}" for n in range(50))
"""About 100 tokens: three exchanges stay under the threshold, a fourth message crosses it."""


@pytest.fixture(scope="module")
def llm() -> Iterator[ScriptedLLM]:
    with ScriptedLLM() as server:
        yield server


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory, llm: ScriptedLLM) -> Iterator[RunningSystem]:
    running = start_system(tmp_path_factory.mktemp("conversation") / "home")
    try:
        config = scripted_config(llm)
        config["anima_defaults"]["context_window"] = 2000
        running.configure(config)
        yield running
    finally:
        running.stop()


def _conversation(system: RunningSystem, peer: str) -> dict[str, Any]:
    path = system.home / "animas" / "sample" / conversation_path(peer)
    return json.loads(path.read_text()) if path.exists() else {"turns": []}


def _archive(system: RunningSystem, peer: str) -> list[dict[str, Any]]:
    path: Path = system.home / "animas" / "sample" / conversation_archive_path(peer)
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _wait(condition: Any, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.1)


def _talk(system: RunningSystem, llm: ScriptedLLM, peer: str, count: int) -> None:
    for n in range(count):
        llm.load([{"text": f"Answer {n}: {LONG}"}])
        body = system.chat("sample", f"Question {n}: {LONG}", sender=peer, thread_id=peer).json()
        assert body["outcome"] == "reply"
    _wait(lambda: len(_conversation(system, peer)["turns"]) == 2 * count)


def test_a_conversation_over_the_threshold_is_summarized_and_the_last_turns_stay(
    system: RunningSystem, llm: ScriptedLLM
) -> None:
    _talk(system, llm, "tanaka", 3)
    llm.load(
        [
            {
                "text": '{"summary": "Tanaka asked three long questions; I answered each."}',
                "match": "running summary",
            },
            {"text": "Here is the fourth answer."},
        ]
    )
    before = len(llm.requests)
    body = system.chat("sample", "Question 3: and one more?", sender="tanaka", thread_id="tanaka").json()

    assert body["reply"] == "Here is the fourth answer."
    summary_request, answer_request = llm.requests[before:]
    assert "running summary" in summary_request["body"]["messages"][0]["content"]
    messages = answer_request["body"]["messages"]
    assert "Tanaka asked three long questions" in messages[1]["content"]
    assert messages[-2]["content"].startswith("Answer 2:")  # the last turns, verbatim
    assert messages[-1]["content"] == "[tanaka] Question 3: and one more?"
    _wait(lambda: len(_archive(system, "tanaka")) + len(_conversation(system, "tanaka")["turns"]) == 8)
    stored = _conversation(system, "tanaka")
    assert stored["summary"] == "Tanaka asked three long questions; I answered each."
    archived = [t["text"] for t in _archive(system, "tanaka")]
    assert archived and archived[0].startswith("Question 0:")  # folded turns are kept whole
    kept = [t["text"] for t in stored["turns"]]
    assert kept[-1] == "Here is the fourth answer."


def test_with_the_summarizer_failing_the_fallback_is_used_and_nothing_is_lost(
    system: RunningSystem, llm: ScriptedLLM
) -> None:
    _talk(system, llm, "suzuki", 3)
    llm.load(
        [
            {"status": 500, "error": "summarizer down", "match": "running summary"},
            {"status": 500, "error": "summarizer down", "match": "running summary"},
            {"text": "Still here."},
        ]
    )
    body = system.chat("sample", "Question 3: are you there?", sender="suzuki", thread_id="suzuki").json()

    assert body["reply"] == "Still here."
    _wait(lambda: len(_archive(system, "suzuki")) + len(_conversation(system, "suzuki")["turns"]) == 8)
    stored = _conversation(system, "suzuki")
    assert "condensed without a model" in stored["summary"]
    texts = [t["text"] for t in _archive(system, "suzuki")] + [t["text"] for t in stored["turns"]]
    for n in range(3):
        assert any(t.startswith(f"Question {n}:") for t in texts)
        assert any(t.startswith(f"Answer {n}:") for t in texts)
    assert texts[-2:] == ["Question 3: are you there?", "Still here."]


def test_a_message_whose_cycle_fails_is_still_in_the_conversation(
    system: RunningSystem, llm: ScriptedLLM
) -> None:
    llm.load([{"status": 400, "error": "bad request"}])
    body = system.chat("sample", "Please remember I asked this.", sender="kato", thread_id="kato").json()

    assert body["outcome"] == "error"
    _wait(lambda: len(_conversation(system, "kato")["turns"]) == 1)
    turn = _conversation(system, "kato")["turns"][0]
    assert (turn["role"], turn["text"]) == ("user", "Please remember I asked this.")
