"""Privacy between people, and conversation memory per thread (issue #14, item 6), end to end.

Alice tells the anima her favourite colour in one thread; Bob then chats: nothing Alice said
reaches the model in Bob's request. Alice opens a new thread: it starts with what the anima
remembers of her (the summary her first thread's compaction wrote), not with that thread's turns.
A conversation threshold of 1% of a 60,000-token window (600 tokens) makes the first thread
compact after a few long messages, with room in the prompt for everything priming recalls. The
scripted LLM records every request the model received.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from tests.conftest import RunningSystem, scripted_config, start_system

from animas_contracts import conversation_path
from animas_tools.scripted_llm import ScriptedLLM

pytestmark = [pytest.mark.e2e, pytest.mark.nats, pytest.mark.slow]

LONG = " ".join(f"detail{n}" for n in range(50))
"""About 100 tokens: three exchanges stay under the threshold, a fourth message crosses it."""
SECRET = "My favourite colour is teal."
SUMMARY = "Alice told me her favourite colour is teal."


@pytest.fixture(scope="module")
def llm() -> Iterator[ScriptedLLM]:
    with ScriptedLLM() as server:
        yield server


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory, llm: ScriptedLLM) -> Iterator[RunningSystem]:
    running = start_system(tmp_path_factory.mktemp("privacy") / "home")
    try:
        config = scripted_config(llm)
        # Room for every priming section, and a conversation budget of 600 tokens.
        config["anima_defaults"]["context_window"] = 60_000
        config["anima_defaults"]["conversation_history_threshold"] = 0.01
        running.configure(config)
        yield running
    finally:
        running.stop()


def _conversation(system: RunningSystem, peer: str) -> dict[str, Any]:
    path = system.home / "animas" / "sample" / conversation_path(peer)
    return json.loads(path.read_text()) if path.exists() else {"turns": []}


def _wait(condition: Any, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.1)


def _activity(system: RunningSystem) -> str:
    """The anima's activity log, all days."""
    files = sorted((system.home / "animas" / "sample" / "activity_log").glob("*.jsonl"))
    return "".join(f.read_text() for f in files)


def _said(request: dict[str, Any]) -> str:
    """Everything the model received in one request: system prompt and messages."""
    return json.dumps(request["body"], ensure_ascii=False)


def _chat(system: RunningSystem, llm: ScriptedLLM, sender: str, thread: str, text: str) -> dict[str, Any]:
    """Send one message and return the model request that answered it (the last one)."""
    before = len(llm.requests)
    body = system.chat("sample", text, sender=sender, thread_id=thread).json()
    assert body["outcome"] == "reply", body
    assert body["thread_id"] == thread
    assert len(llm.requests) > before
    return llm.requests[-1]


def test_bob_never_sees_alices_chat_and_alices_new_thread_starts_from_her_summary(
    system: RunningSystem, llm: ScriptedLLM
) -> None:
    # Alice, thread one: the secret, then long exchanges until the thread is compacted.
    llm.load([{"text": "Noted: teal."}])
    _chat(system, llm, "alice", "alice-1", SECRET)
    for n in range(3):
        llm.load([{"text": f"Answer {n}: {LONG}"}])
        _chat(system, llm, "alice", "alice-1", f"Question {n}: {LONG}")
    _wait(lambda: len(_conversation(system, "alice")["turns"]) == 8)
    llm.load(
        [
            {"text": json.dumps({"summary": SUMMARY}), "match": "running summary"},
            {"text": f"Answer 3: {LONG}"},
        ]
    )
    request = _chat(system, llm, "alice", "alice-1", f"Question 3: {LONG}")
    assert SUMMARY in _said(request)  # thread one was compacted into Alice's summary
    _wait(lambda: _conversation(system, "alice").get("summary") == SUMMARY)

    # Bob: nothing of Alice's chat, in the system prompt or the messages.
    llm.load([{"text": "Hello Bob."}])
    request = _chat(system, llm, "bob", "bob-1", "Hi! What colour do I like, do you remember?")
    said = _said(request)
    assert "teal" not in said.lower()
    assert "Question 0" not in said and "Answer 0" not in said
    assert "alice" not in said.lower()

    # Alice, a new thread: her summary, none of thread one's turns.
    llm.load([{"text": "Teal, as you told me."}])
    request = _chat(system, llm, "alice", "alice-2", "Which colour do I like?")
    messages = request["body"]["messages"]
    history = json.dumps(messages[1:], ensure_ascii=False)  # after the system prompt
    assert SUMMARY in history
    assert "Question" not in history and "Answer" not in history and "Noted: teal." not in history
    assert messages[-1]["content"].endswith("[alice] Which colour do I like?")

    # Thread one goes on where it was: its own last turns are still there.
    llm.load([{"text": "Still here."}])
    request = _chat(system, llm, "alice", "alice-1", "And in this thread?")
    history = json.dumps(request["body"]["messages"][1:], ensure_ascii=False)
    assert "Answer 3:" in history and "Which colour do I like?" not in history


def test_a_fact_said_in_one_thread_is_recalled_from_the_episodes_in_another(
    system: RunningSystem, llm: ScriptedLLM
) -> None:
    llm.load([{"text": "Noted."}])
    _chat(system, llm, "rin", "rin-1", SECRET)
    episodes = system.home / "animas" / "sample" / "episodes"
    _wait(lambda: any(f"- Said: {SECRET}" in f.read_text() for f in episodes.glob("*.md")))
    _wait(
        lambda: "teal" in system.anima("search", "sample", "favourite colour", "--scope", "episodes").stdout
    )

    llm.load([{"text": "Teal."}])
    request = _chat(system, llm, "rin", "rin-2", "What is my favourite colour?")
    messages = request["body"]["messages"]
    # A short thread leaves no summary and the new thread holds none of its turns: the fact can
    # only come from the episode of the first chat, which is Rin's own (Alice's stays hers).
    assert "teal" not in json.dumps(messages[1:]).lower()
    recalled = messages[0]["content"].split("What comes to mind", 1)[1]
    entry = next(item for item in recalled.split("\n- ") if f"Said: {SECRET}" in item)
    assert "Reply to rin" in entry


def test_an_anima_set_to_share_across_people_shows_one_persons_chat_to_another(
    system: RunningSystem, llm: ScriptedLLM
) -> None:
    llm.load([{"text": "Noted."}])
    _chat(system, llm, "carol", "carol-1", "Our project codename is Heron.")
    _wait(lambda: "codename is Heron" in _activity(system))
    llm.load([{"text": "Hi Dave."}])
    assert "heron" not in _said(_chat(system, llm, "dave", "dave-1", "Hi there")).lower()

    config = scripted_config(llm)
    config["anima_defaults"].update(
        context_window=60_000, conversation_history_threshold=0.01, share_across_people=True
    )
    system.configure(config)
    try:
        llm.load([{"text": "It is Heron."}])
        request = _chat(system, llm, "dave", "dave-1", "What is the project codename?")
        system_prompt = request["body"]["messages"][0]["content"]
        assert "Our project codename is Heron." in system_prompt  # in the recent activity
        # Conversation memory stays the peer's own, whatever the setting.
        assert "Heron" not in json.dumps(request["body"]["messages"][1:])
    finally:
        config["anima_defaults"]["share_across_people"] = False
        system.configure(config)
