"""The two TurnModel adapters against the scripted LLM over real HTTP.

Each test runs on every wire the cycle can use: litellm speaking OpenAI, litellm speaking
Anthropic (for Claude outside the anthropic mode), and the anthropic SDK. The scripted server
records what went out, so the tests check the provider's format as well as the neutral result.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, Literal

import pytest

from animas_agent_runner.adapters.anthropic_model import AnthropicTurnModel
from animas_agent_runner.adapters.litellm_model import LiteLLMTurnModel
from animas_agent_runner.ports import (
    AssistantTurn,
    ModelCallFailed,
    ModelTarget,
    ToolCall,
    ToolResult,
    ToolSpec,
    TurnModel,
    TurnRequest,
    TurnResult,
    UserTurn,
)
from animas_tools.scripted_llm import ScriptedLLM, ScriptedToolCall, Turn

# litellm imports a GitHub Copilot module on its first call and pydantic warns about a TypedDict
# in it (singular "Item", which the root filter for "Items" misses): not ours to fix.

KEY = "turn-key"
WEATHER = ToolSpec(
    "get_weather",
    "The weather in a city.",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


@dataclasses.dataclass(frozen=True)
class Wire:
    """One adapter, the model name it is configured with, and the format it speaks."""

    name: str
    make: Callable[[], TurnModel]
    model: str
    format: Literal["openai", "anthropic"]

    def target(self, llm: ScriptedLLM, key: str = KEY) -> ModelTarget:
        base = llm.openai_base if self.format == "openai" else llm.anthropic_base
        return ModelTarget(model=self.model, api_base=base, api_key=key, max_tokens=256)


WIRES = [
    Wire("litellm-openai", lambda: LiteLLMTurnModel(timeout_s=10), "openai/scripted", "openai"),
    Wire(
        "litellm-anthropic", lambda: LiteLLMTurnModel(timeout_s=10), "anthropic/claude-scripted", "anthropic"
    ),
    Wire("anthropic-sdk", lambda: AnthropicTurnModel(timeout_s=10), "anthropic/claude-scripted", "anthropic"),
]


@pytest.fixture(params=WIRES, ids=[w.name for w in WIRES])
def wire(request: pytest.FixtureRequest) -> Wire:
    chosen: Wire = request.param
    return chosen


@pytest.fixture
async def model(wire: Wire) -> AsyncIterator[TurnModel]:
    adapter = wire.make()
    yield adapter
    if isinstance(adapter, AnthropicTurnModel):
        await adapter.aclose()


@pytest.fixture
def llm() -> Iterator[ScriptedLLM]:
    with ScriptedLLM(api_key=KEY) as server:
        yield server


class Sink:
    """Collects streamed text with the time each piece arrived."""

    def __init__(self) -> None:
        self.pieces: list[str] = []
        self.times: list[float] = []

    async def __call__(self, text: str) -> None:
        self.pieces.append(text)
        self.times.append(time.monotonic())


def ask(text: str, *items: AssistantTurn | ToolResult | UserTurn, tools: bool = True) -> TurnRequest:
    return TurnRequest(
        system="You are a weather bot.",
        conversation=(UserTurn(text), *items),
        tools=(WEATHER,) if tools else (),
        max_tokens=256,
    )


async def test_text_streams_in_pieces_with_usage(wire: Wire, model: TurnModel, llm: ScriptedLLM) -> None:
    text = "It is a fine day for a walk by the fjord"
    llm.load([Turn(text=text, chunk_delay_s=0.03, prompt_tokens=17, completion_tokens=11)])
    sink = Sink()
    result = await model.turn(wire.target(llm), ask("Weather?", tools=False), sink)
    assert len(sink.pieces) > 1
    assert "".join(sink.pieces) == text == result.text
    # The pieces reached the sink while the model was still writing, not all at the end.
    assert sink.times[-1] - sink.times[0] >= 0.1
    assert (result.prompt_tokens, result.completion_tokens) == (17, 11)
    assert result.stop_reason in ("stop", "end_turn")
    assert result.tool_calls == ()
    sent = llm.requests[0]
    assert sent["format"] == wire.format
    assert sent["body"]["stream"] is True
    # Recorded as sent, minus credentials: no key and no endpoint in the raw request.
    assert KEY not in json.dumps(result.raw_request)
    assert "api_key" not in result.raw_request and "api_base" not in result.raw_request
    assert result.raw_request["max_tokens"] == 256
    if wire.format == "openai":
        assert sent["body"]["messages"][0] == {"role": "system", "content": "You are a weather bot."}
        assert "tools" not in sent["body"]
    else:
        assert sent["body"]["model"] == "claude-scripted"
        assert "weather bot" in json.dumps(sent["body"]["system"])


async def test_tool_call_round_trip(wire: Wire, model: TurnModel, llm: ScriptedLLM) -> None:
    llm.load(
        [
            Turn(text="Let me look.", tool_calls=[ScriptedToolCall("get_weather", {"city": "Oslo"})]),
            Turn(text="Sunny in Oslo."),
        ]
    )
    target = wire.target(llm)
    first = await model.turn(target, ask("Weather in Oslo?"), Sink())
    assert first.text == "Let me look."
    assert first.tool_calls == (ToolCall("call_1", "get_weather", {"city": "Oslo"}),)
    assert first.stop_reason in ("tool_calls", "tool_use")
    history = (
        AssistantTurn(first.text, first.tool_calls),
        ToolResult("call_1", "get_weather", "sunny, 21 C"),
    )
    second = await model.turn(target, ask("Weather in Oslo?", *history), Sink())
    assert second.text == "Sunny in Oslo."
    offered, answered = (r["body"] for r in llm.requests)
    if wire.format == "openai":
        assert offered["tools"][0]["function"]["name"] == "get_weather"
        assistant, tool = answered["messages"][-2:]
        assert assistant["tool_calls"][0]["id"] == "call_1"
        assert json.loads(assistant["tool_calls"][0]["function"]["arguments"]) == {"city": "Oslo"}
        assert tool == {"role": "tool", "tool_call_id": "call_1", "content": "sunny, 21 C"}
    else:
        assert offered["tools"][0]["name"] == "get_weather"
        assert offered["tools"][0]["input_schema"] == WEATHER.parameters
        assistant, user = answered["messages"][-2:]
        assert assistant["role"] == "assistant"
        use = [b for b in assistant["content"] if b["type"] == "tool_use"]
        assert [(b["id"], b["name"], b["input"]) for b in use] == [
            ("call_1", "get_weather", {"city": "Oslo"})
        ]
        assert user["role"] == "user"
        [result] = user["content"]
        assert (result["type"], result["tool_use_id"]) == ("tool_result", "call_1")
        assert "sunny, 21 C" in json.dumps(result["content"])


async def test_malformed_arguments_become_an_error(wire: Wire, model: TurnModel, llm: ScriptedLLM) -> None:
    calls = [
        ScriptedToolCall("get_weather", '{"city": "Os'),
        ScriptedToolCall("get_weather", "[1, 2]"),
        ScriptedToolCall("get_weather", {"city": "Bergen"}),
    ]
    llm.load([Turn(tool_calls=calls)])
    result = await model.turn(wire.target(llm), ask("Weather?"), Sink())
    truncated, listed, fine = result.tool_calls
    assert (truncated.id, truncated.arguments) == ("call_1", {})
    assert truncated.arguments_error is not None and "JSON" in truncated.arguments_error
    assert listed.arguments == {} and listed.arguments_error is not None
    assert fine == ToolCall("call_3", "get_weather", {"city": "Bergen"})


async def test_wrong_key_is_permanent(wire: Wire, model: TurnModel, llm: ScriptedLLM) -> None:
    llm.load([Turn(text="never")])
    with pytest.raises(ModelCallFailed) as failed:
        await model.turn(wire.target(llm, key="wrong-key"), ask("hi"), Sink())
    assert failed.value.transient is False
    assert "wrong-key" not in str(failed.value)
    assert llm.requests == []  # refused before it reached the script


@pytest.mark.parametrize(("status", "transient"), [(500, True), (529, True), (429, True), (400, False)])
async def test_error_status_classification(
    wire: Wire, model: TurnModel, llm: ScriptedLLM, status: int, transient: bool
) -> None:
    llm.load([Turn(status=status, error=f"scripted {status}")])
    with pytest.raises(ModelCallFailed) as failed:
        await model.turn(wire.target(llm), ask("hi"), Sink())
    assert failed.value.transient is transient
    assert f"scripted {status}" in str(failed.value)


async def test_failure_mid_stream_is_transient(wire: Wire, model: TurnModel, llm: ScriptedLLM) -> None:
    # Enough events for the first words to go out before the failure, in either format.
    llm.load([Turn(text="one two three four five six", fail_after_events=5, error="connection lost")])
    sink = Sink()
    with pytest.raises(ModelCallFailed) as failed:
        await model.turn(wire.target(llm), ask("hi"), sink)
    assert failed.value.transient is True
    assert sink.pieces and "".join(sink.pieces) != "one two three four five six"


def test_anthropic_merges_tool_results_and_marks_errors() -> None:
    from animas_agent_runner.adapters.anthropic_model import anthropic_body

    calls = (ToolCall("a", "get_weather", {"city": "Oslo"}), ToolCall("b", "get_weather", {}, "bad"))
    request = ask(
        "Two cities?",
        AssistantTurn("", calls),
        ToolResult("a", "get_weather", "rain"),
        ToolResult("b", "get_weather", "arguments were not JSON", is_error=True),
        UserTurn("and tomorrow?"),
    )
    body = anthropic_body("claude-x", request)
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]
    assert body["messages"][1]["content"] == [
        {"type": "tool_use", "id": "a", "name": "get_weather", "input": {"city": "Oslo"}},
        {"type": "tool_use", "id": "b", "name": "get_weather", "input": {}},
    ]
    assert body["messages"][2]["content"] == [
        {"type": "tool_result", "tool_use_id": "a", "content": "rain"},
        {"type": "tool_result", "tool_use_id": "b", "content": "arguments were not JSON", "is_error": True},
        {"type": "text", "text": "and tomorrow?"},
    ]
    assert body["model"] == "claude-x"


async def test_raw_response_is_the_assembled_answer(wire: Wire, model: TurnModel, llm: ScriptedLLM) -> None:
    llm.load(
        [Turn(text="Checking.", tool_calls=[ScriptedToolCall("get_weather", {"city": "Oslo"}, id="t1")])]
    )
    result: TurnResult = await model.turn(wire.target(llm), ask("Weather?"), Sink())
    raw: dict[str, Any] = result.raw_response
    if isinstance(model, LiteLLMTurnModel):
        assert raw["text"] == "Checking."
        assert raw["finish_reason"] == "tool_calls"
        assert raw["tool_calls"] == [{"id": "t1", "name": "get_weather", "arguments": '{"city":"Oslo"}'}]
        assert set(raw["usage"]) == {"prompt_tokens", "completion_tokens"}
    else:
        assert raw["stop_reason"] == "tool_use"
        assert raw["content"] == [
            {"type": "text", "text": "Checking."},
            {"type": "tool_use", "id": "t1", "name": "get_weather", "input": {"city": "Oslo"}},
        ]
        assert raw["usage"] == {
            "input_tokens": result.prompt_tokens,
            "output_tokens": result.completion_tokens,
        }
    assert raw["model"] in ("scripted", "claude-scripted")


async def test_a_failing_sink_is_not_a_model_failure(wire: Wire, model: TurnModel, llm: ScriptedLLM) -> None:
    llm.load([Turn(text="one two three four"), Turn(text="after")])

    async def broken(text: str) -> None:
        raise RuntimeError("recorder is down")

    with pytest.raises(RuntimeError, match="recorder is down"):
        await model.turn(wire.target(llm), ask("hi", tools=False), broken)
    # The adapter is still usable: the abandoned stream did not wedge it.
    assert (await model.turn(wire.target(llm), ask("hi", tools=False), Sink())).text == "after"
