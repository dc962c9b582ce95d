"""The scripted LLM answering by rule (``respond_with``): the answer depends on the request, not its turn."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import httpx
import pytest

from animas_tools.scripted_llm import ScriptedLLM, ScriptedToolCall, Turn


@pytest.fixture
def llm() -> Iterator[ScriptedLLM]:
    with ScriptedLLM() as server:
        yield server


def _ask(llm: ScriptedLLM, text: str) -> dict[str, Any]:
    body = {"model": "m", "messages": [{"role": "user", "content": text}]}
    response = httpx.post(f"{llm.openai_base}/chat/completions", json=body, timeout=10)
    assert response.status_code == 200, response.text
    message: dict[str, Any] = response.json()["choices"][0]["message"]
    return message


def _echo_rule(body: Mapping[str, Any]) -> Turn | None:
    last = str(body["messages"][-1]["content"])
    if last.startswith("send "):
        return Turn(tool_calls=[ScriptedToolCall("send_message", {"to": last.split()[1], "text": "hi"})])
    return None


def test_a_rule_answers_every_matching_request_without_using_up_the_script(llm: ScriptedLLM) -> None:
    llm.load([Turn(text="from the script")])
    llm.respond_with(_echo_rule)

    for name in ("bob", "carol", "bob"):  # the same request twice gets the same answer
        calls = _ask(llm, f"send {name}")["tool_calls"]
        assert [c["function"]["name"] for c in calls] == ["send_message"]
        assert json.loads(calls[0]["function"]["arguments"]) == {"to": name, "text": "hi"}

    assert _ask(llm, "anything else")["content"] == "from the script"  # None: the script answers
    assert len(llm.requests) == 4


def test_without_a_rule_the_script_answers_again(llm: ScriptedLLM) -> None:
    llm.load([Turn(text="scripted")], repeat=True)
    llm.respond_with(_echo_rule)
    llm.respond_with(None)
    assert _ask(llm, "send bob")["content"] == "scripted"
