"""A replay or a fork answers a tool call only with the recording of the same call."""

from __future__ import annotations

from animas_agent_runner.ports import ToolCall
from animas_agent_runner.replay import NOT_RECORDED, RecordedTools, named_specs
from animas_contracts import ToolStatus, ToolUsed


def _used(ordinal: int, tool: str, result: str, **arguments: object) -> ToolUsed:
    return ToolUsed(
        anima="sample",
        correlation_id="c",
        producer="agent-runner",
        cycle_id="cycle",
        ordinal=ordinal,
        tool=tool,
        arguments=dict(arguments),
        status=ToolStatus.OK,
        result=result,
    )


async def test_the_same_call_gets_the_recorded_result() -> None:
    tools = RecordedTools(
        named_specs(["http_fetch"]), [_used(0, "http_fetch", "the page", url="https://a.example")]
    )
    result = await tools.run(ToolCall("t1", "http_fetch", {"url": "https://a.example"}))
    assert result.content == "the page" and not result.is_error and tools.divergence is None


async def test_the_same_tool_with_other_arguments_is_not_given_the_recorded_result() -> None:
    tools = RecordedTools(
        named_specs(["http_fetch"]), [_used(0, "http_fetch", "the page", url="https://a.example")]
    )
    result = await tools.run(ToolCall("t1", "http_fetch", {"url": "https://b.example"}))
    assert result.content == NOT_RECORDED and result.is_error
    assert tools.divergence is not None and "https://b.example" in tools.divergence


async def test_a_clipped_recorded_argument_still_matches_its_full_value() -> None:
    tools = RecordedTools(named_specs(["remember"]), [_used(0, "remember", "kept", fact="Tanaka likes…")])
    result = await tools.run(ToolCall("t1", "remember", {"fact": "Tanaka likes green tea"}))
    assert result.content == "kept"
