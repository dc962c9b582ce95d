"""The scripted LLM's OpenAI wire: streaming and tool calls, through the real clients.

The point of the fake is that litellm and the openai SDK take their real code paths against it,
so these tests talk to it only through those clients (and raw httpx where the bytes matter).
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from animas_tools.scripted_llm import ScriptedLLM, ScriptedToolCall, Turn

# litellm imports a GitHub Copilot module on its first call, and pydantic warns (singular "Item",
# which the root filter for "Items" misses) about a TypedDict in it: not ours to fix.

KEY = "wire-key"
MESSAGES = [{"role": "user", "content": "what is the weather"}]
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "The weather in a city.",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
]


@pytest.fixture
def litellm() -> Any:
    """litellm, imported with its local price list (its import would fetch one from the internet)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        import litellm

        return litellm


@pytest.fixture
def llm() -> Iterator[ScriptedLLM]:
    with ScriptedLLM(api_key=KEY) as server:
        yield server


def sse_data(text: str) -> list[str]:
    return [line.removeprefix("data: ") for line in text.splitlines() if line.startswith("data: ")]


def test_raw_stream_has_the_openai_shape(llm: ScriptedLLM) -> None:
    llm.load([Turn(text="one two three", tool_calls=[ScriptedToolCall("get_weather", {"city": "Oslo"})])])
    body = {"model": "m", "messages": MESSAGES, "stream": True, "stream_options": {"include_usage": True}}
    response = httpx.post(llm.openai_base + "/chat/completions", json=body, headers={"x-api-key": KEY})
    assert response.headers["content-type"].startswith("text/event-stream")
    *chunks, done = sse_data(response.text)
    assert done == "[DONE]"
    decoded = [json.loads(c) for c in chunks]
    assert all(c["object"] == "chat.completion.chunk" for c in decoded)
    assert decoded[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    pieces = [c["choices"][0]["delta"].get("content") for c in decoded[1:4]]
    assert pieces == ["one ", "two ", "three"]
    head = decoded[4]["choices"][0]["delta"]["tool_calls"][0]
    assert head == {
        "index": 0,
        "id": "call_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": ""},
    }
    finish = [c for c in decoded if c["choices"] and c["choices"][0]["finish_reason"]]
    assert [f["choices"][0]["finish_reason"] for f in finish] == ["tool_calls"]
    assert decoded[-1]["choices"] == []
    # Usage counts words: four in the prompt, three of text plus one of arguments.
    assert decoded[-1]["usage"] == {"prompt_tokens": 4, "completion_tokens": 4, "total_tokens": 8}


async def test_openai_sdk_streams_text_in_pieces_with_usage(llm: ScriptedLLM) -> None:
    llm.load([Turn(text="the quick brown fox jumps", completion_tokens=9)])
    client = openai.AsyncOpenAI(api_key=KEY, base_url=llm.openai_base, max_retries=0)
    stream = await client.chat.completions.create(
        model="gpt-x",
        messages=[{"role": "user", "content": "go"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    pieces: list[str] = []
    usage: Any = None
    async for chunk in stream:
        pieces += [c.delta.content for c in chunk.choices if c.delta.content]
        usage = chunk.usage or usage
    await client.close()
    assert len(pieces) == 5
    assert "".join(pieces) == "the quick brown fox jumps"
    assert (usage.prompt_tokens, usage.completion_tokens) == (1, 9)
    assert llm.requests[0]["format"] == "openai"
    assert llm.requests[0]["path"] == "/v1/chat/completions"


async def test_no_usage_chunk_unless_asked(llm: ScriptedLLM) -> None:
    llm.load([Turn(text="a b")])
    body = {"model": "m", "messages": MESSAGES, "stream": True}
    async with httpx.AsyncClient() as client:
        response = await client.post(
            llm.openai_base + "/chat/completions", json=body, headers={"authorization": f"Bearer {KEY}"}
        )
    chunks = [json.loads(c) for c in sse_data(response.text)[:-1]]
    assert all("usage" not in c for c in chunks)
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


async def test_litellm_assembles_streamed_tool_calls(llm: ScriptedLLM, litellm: Any) -> None:
    calls = [
        ScriptedToolCall("get_weather", {"city": "Kyoto"}),
        ScriptedToolCall("get_weather", {}, id="mine"),
    ]
    llm.load([Turn(text="checking", tool_calls=calls)])
    response = await litellm.acompletion(
        model="openai/x",
        api_base=llm.openai_base,
        api_key=KEY,
        messages=MESSAGES,
        tools=TOOLS,
        stream=True,
        num_retries=0,
    )
    text, finish = "", None
    heads: dict[int, tuple[str, str]] = {}
    arguments: dict[int, str] = {}
    async for chunk in response:
        for choice in chunk.choices:
            text += choice.delta.content or ""
            finish = choice.finish_reason or finish
            for call in choice.delta.tool_calls or ():
                if call.id:
                    heads[call.index] = (call.id, call.function.name)
                arguments[call.index] = arguments.get(call.index, "") + (call.function.arguments or "")
    assert text == "checking"
    assert finish == "tool_calls"
    got = [(*heads[i], json.loads(arguments[i])) for i in sorted(heads)]
    assert got == [("call_1", "get_weather", {"city": "Kyoto"}), ("mine", "get_weather", {})]
    assert llm.requests[0]["body"]["tools"] == TOOLS


def test_non_streamed_tool_calls_and_verbatim_arguments(llm: ScriptedLLM) -> None:
    llm.load(
        [
            {"tool_calls": [{"name": "get_weather", "arguments": '{"city": "Lima"'}]},
            {"tool_calls": [{"name": "get_weather"}]},
        ]
    )
    headers = {"authorization": f"Bearer {KEY}"}
    body = {"model": "m", "messages": MESSAGES}
    first = httpx.post(llm.openai_base + "/chat/completions", json=body, headers=headers).json()
    second = httpx.post(llm.openai_base + "/chat/completions", json=body, headers=headers).json()
    choice = first["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    # The malformed JSON arrives exactly as scripted; call ids keep counting across requests.
    assert choice["message"]["tool_calls"] == [
        {
            "id": "call_1",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Lima"'},
        }
    ]
    assert second["choices"][0]["message"]["tool_calls"][0]["id"] == "call_2"


def test_chunk_delay_spreads_the_pieces(llm: ScriptedLLM) -> None:
    llm.load([Turn(text="slow and steady words", chunk_delay_s=0.1)])
    body = {"model": "m", "messages": MESSAGES, "stream": True}
    arrivals: list[float] = []
    with httpx.stream(
        "POST", llm.openai_base + "/chat/completions", json=body, headers={"x-api-key": KEY}
    ) as response:
        for line in response.iter_lines():
            if line.startswith("data: "):
                arrivals.append(time.monotonic())
    assert len(arrivals) == 7  # role, four words, finish, [DONE]
    assert arrivals[-1] - arrivals[0] >= 0.5
    assert all(b - a >= 0.05 for a, b in itertools.pairwise(arrivals))


async def test_failure_mid_stream_reaches_the_client(llm: ScriptedLLM) -> None:
    llm.load([Turn(text="a b c d e", fail_after_events=3, error="overloaded now")])
    client = openai.AsyncOpenAI(api_key=KEY, base_url=llm.openai_base, max_retries=0)
    pieces: list[str] = []
    stream = await client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "x"}], stream=True
    )
    with pytest.raises(openai.APIError, match="overloaded now"):
        async for chunk in stream:
            pieces += [c.delta.content for c in chunk.choices if c.delta.content]
    await client.close()
    assert pieces == ["a ", "b "]


def test_error_turns_and_wrong_key_stay_openai_shaped(llm: ScriptedLLM) -> None:
    llm.load([Turn(status=503, error="busy")])
    body = {"model": "m", "messages": MESSAGES, "stream": True}
    url = llm.openai_base + "/chat/completions"
    denied = httpx.post(url, json=body, headers={"authorization": "Bearer nope"})
    busy = httpx.post(url, json=body, headers={"authorization": f"Bearer {KEY}"})
    assert denied.status_code == 401
    assert denied.json()["error"]["code"] == "invalid_api_key"
    # A streamed request that fails before the stream starts gets a plain JSON error.
    assert busy.status_code == 503
    assert busy.json() == {"error": {"message": "busy", "type": "server_error", "code": None}}
    # The refused request was not recorded; the failed one was.
    assert [r["body"]["stream"] for r in llm.requests] == [True]
