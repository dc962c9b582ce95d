"""The scripted LLM's Anthropic Messages wire, through the anthropic SDK and litellm.

One script queue serves both formats, so these tests also check that OpenAI and Anthropic
requests interleave on it and are told apart in the recorded requests.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anthropic
import httpx
import pytest

from animas_tools.scripted_llm import ScriptedLLM, ScriptedToolCall, Turn

# See test_scripted_llm_wire.py: a pydantic warning about litellm's own TypedDict on first use.

KEY = "ant-key"
WEATHER = ScriptedToolCall("get_weather", {"city": "Oslo"})
TOOL = {"name": "get_weather", "description": "Weather.", "input_schema": {"type": "object"}}


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


@pytest.fixture
async def client(llm: ScriptedLLM) -> AsyncIterator[anthropic.AsyncAnthropic]:
    sdk = anthropic.AsyncAnthropic(api_key=KEY, base_url=llm.anthropic_base, max_retries=0)
    yield sdk
    await sdk.close()


async def test_create_returns_text_and_tool_use(llm: ScriptedLLM, client: anthropic.AsyncAnthropic) -> None:
    llm.load([Turn(text="let me look", tool_calls=[WEATHER])])
    message = await client.messages.create(
        model="claude-x",
        max_tokens=100,
        system="be brief today",
        messages=[{"role": "user", "content": "weather in Oslo?"}],
        tools=[TOOL],  # type: ignore[list-item]
    )
    assert message.id == "msg_scripted_1"
    assert message.model == "claude-x"
    assert message.stop_reason == "tool_use"
    text, tool = message.content
    assert text.type == "text" and text.text == "let me look"
    assert tool.type == "tool_use"
    assert (tool.id, tool.name, tool.input) == ("call_1", "get_weather", {"city": "Oslo"})
    # Words: three of system plus three of the message in; three of text plus one of arguments out.
    assert (message.usage.input_tokens, message.usage.output_tokens) == (6, 4)
    recorded = llm.requests[0]
    assert (recorded["format"], recorded["path"]) == ("anthropic", "/v1/messages")
    # The SDK sends its key as a bearer token; the recorded copy is redacted.
    assert recorded["headers"]["authorization"] == "***"
    assert KEY not in json.dumps(recorded)


async def test_stream_delivers_text_in_pieces(llm: ScriptedLLM, client: anthropic.AsyncAnthropic) -> None:
    llm.load([Turn(text="streamed in five small pieces", tool_calls=[WEATHER])])
    pieces: list[str] = []
    async with client.messages.stream(
        model="claude-x", max_tokens=100, messages=[{"role": "user", "content": "go"}]
    ) as stream:
        async for text in stream.text_stream:
            pieces.append(text)
        final = await stream.get_final_message()
    assert len(pieces) == 5
    assert "".join(pieces) == "streamed in five small pieces"
    assert final.stop_reason == "tool_use"
    assert final.content[1].type == "tool_use" and final.content[1].input == {"city": "Oslo"}
    assert final.usage.output_tokens == 6


async def test_raw_events_carry_event_names_and_verbatim_partial_json(llm: ScriptedLLM) -> None:
    llm.load([Turn(tool_calls=[ScriptedToolCall("get_weather", '{"city": "Os', id="toolu_9")])])
    body = {"model": "c", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}], "stream": True}
    async with httpx.AsyncClient() as http:
        response = await http.post(llm.anthropic_base + "/v1/messages", json=body, headers={"x-api-key": KEY})
    lines = response.text.splitlines()
    names = [line.removeprefix("event: ") for line in lines if line.startswith("event: ")]
    datas = [json.loads(line.removeprefix("data: ")) for line in lines if line.startswith("data: ")]
    assert [d["type"] for d in datas] == names
    assert names[:3] == ["message_start", "ping", "content_block_start"]
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert datas[2]["content_block"] == {
        "type": "tool_use",
        "id": "toolu_9",
        "name": "get_weather",
        "input": {},
    }
    partial = "".join(d["delta"]["partial_json"] for d in datas if d["type"] == "content_block_delta")
    assert partial == '{"city": "Os'
    assert datas[-2]["delta"]["stop_reason"] == "tool_use"


async def test_errors_have_the_anthropic_shape(llm: ScriptedLLM, client: anthropic.AsyncAnthropic) -> None:
    llm.load([Turn(status=529, error="overloaded"), Turn(status=400, error="bad input")])
    messages: list[anthropic.types.MessageParam] = [{"role": "user", "content": "x"}]
    with pytest.raises(anthropic.InternalServerError) as overloaded:
        await client.messages.create(model="c", max_tokens=5, messages=messages)
    assert overloaded.value.status_code == 529
    assert overloaded.value.body == {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "overloaded"},
    }
    with pytest.raises(anthropic.BadRequestError, match="bad input"):
        async with client.messages.stream(model="c", max_tokens=5, messages=messages) as stream:
            await stream.get_final_message()
    wrong = anthropic.AsyncAnthropic(api_key="nope", base_url=llm.anthropic_base, max_retries=0)
    with pytest.raises(anthropic.AuthenticationError) as denied:
        await wrong.messages.create(model="c", max_tokens=5, messages=messages)
    await wrong.close()
    assert denied.value.body == {
        "type": "error",
        "error": {"type": "authentication_error", "message": "scripted LLM: wrong or missing API key"},
    }


async def test_failure_mid_stream(llm: ScriptedLLM, client: anthropic.AsyncAnthropic) -> None:
    llm.load([Turn(text="a b c d", fail_after_events=4, error="went away")])
    pieces: list[str] = []
    with pytest.raises(anthropic.APIStatusError, match="went away"):
        async with client.messages.stream(
            model="c", max_tokens=5, messages=[{"role": "user", "content": "x"}]
        ) as stream:
            async for text in stream.text_stream:
                pieces.append(text)
    assert pieces == ["a "]  # message_start, ping, content_block_start, one delta


async def test_litellm_anthropic_route(llm: ScriptedLLM, litellm: Any) -> None:
    llm.load([Turn(text="via litellm", tool_calls=[WEATHER]), Turn(text="streamed via litellm")])
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
    messages = [{"role": "system", "content": "sys"}, {"role": "user", "content": "hi"}]
    common = {"api_base": llm.anthropic_base, "api_key": KEY, "messages": messages, "num_retries": 0}
    whole = await litellm.acompletion(model="anthropic/claude-x", tools=tools, **common)
    assert whole.choices[0].message.content == "via litellm"
    assert whole.choices[0].finish_reason == "tool_calls"
    call = whole.choices[0].message.tool_calls[0]
    assert (call.id, call.function.name, json.loads(call.function.arguments)) == (
        "call_1",
        "get_weather",
        {"city": "Oslo"},
    )
    stream = await litellm.acompletion(model="anthropic/claude-x", stream=True, **common)
    pieces = [c.choices[0].delta.content async for c in stream if c.choices and c.choices[0].delta.content]
    assert len(pieces) == 3 and "".join(pieces) == "streamed via litellm"
    first, second = llm.requests
    assert first["format"] == second["format"] == "anthropic"
    # litellm's anthropic route sends x-api-key and moves the system message to `system`.
    assert first["headers"]["x-api-key"] == "***"
    assert first["body"]["model"] == "claude-x"
    assert "sys" in json.dumps(first["body"]["system"])
    assert first["body"]["tools"][0]["name"] == "get_weather"


async def test_one_queue_serves_both_formats(llm: ScriptedLLM, client: anthropic.AsyncAnthropic) -> None:
    llm.load([Turn(text="first"), Turn(text="second"), Turn(text="third")])
    user: list[anthropic.types.MessageParam] = [{"role": "user", "content": "x"}]
    a = await client.messages.create(model="c", max_tokens=5, messages=user)
    async with httpx.AsyncClient() as http:
        o = await http.post(
            llm.openai_base + "/chat/completions",
            json={"model": "m", "messages": [{"role": "user", "content": "x"}]},
            headers={"authorization": f"Bearer {KEY}"},
        )
    b = await client.messages.create(model="c", max_tokens=5, messages=user)
    assert [a.content[0].text, o.json()["choices"][0]["message"]["content"], b.content[0].text] == [  # type: ignore[union-attr]
        "first",
        "second",
        "third",
    ]
    assert [r["format"] for r in llm.requests] == ["anthropic", "openai", "anthropic"]
    assert [r["path"] for r in llm.requests] == ["/v1/messages", "/v1/chat/completions", "/v1/messages"]
