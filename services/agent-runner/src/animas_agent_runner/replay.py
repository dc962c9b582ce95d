"""Offline replay of a recorded cycle: ``anima replay cycle <id>`` (DESIGN §5, invariant 7).

The cycle's events arrive on stdin as JSON lines (the CLI reads them from the stream and inlines
bodies kept in the object store). The prompt is rebuilt from the recipe ``cycle.started``
recorded, with the code running now, and diffed against the recorded prompt; then the cycle's
execution mode runs again against the recorded model responses and tool results, with no model,
no broker and no anima files, and the replayed reply is compared with the recorded one.

Run as ``python -m animas_agent_runner.replay <cycle-id> < events.jsonl``; agent-runner also
serves it on ``rpc.agent.replay`` (:func:`replay_responder`, the HTTP API's "replay this cycle").
``python -m animas_agent_runner.replay_command range|fork`` replays many cycles the same way.
"""

from __future__ import annotations

import asyncio
import dataclasses
import difflib
import logging
import sys
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

import msgspec
from nats.aio.msg import Msg

from animas_agent_runner.cycle.recipe import CycleRecipe
from animas_agent_runner.cycle.thinking import think
from animas_agent_runner.domain import replayed_result
from animas_agent_runner.modes.calls import Candidate, ModelChain
from animas_agent_runner.modes.tool_loop import Chaining, SessionState
from animas_agent_runner.ports import (
    ModelCallFailed,
    ModelTarget,
    TextSink,
    ToolCall,
    ToolResult,
    ToolSpec,
    TurnRequest,
    TurnResult,
)
from animas_agent_runner.prompt import count_tokens
from animas_contracts import (
    ContractError,
    CycleStarted,
    Event,
    LlmCalled,
    ResponseSent,
    ToolStatus,
    ToolUsed,
    decode_event,
)
from animas_contracts.operations import ReplayReply, ReplayRequest

_log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class RecordedCycle:
    """What the stream kept of one cycle: how it started, its last attempt's calls, its reply."""

    started: CycleStarted
    calls: tuple[LlmCalled, ...]
    tools: tuple[ToolUsed, ...]
    reply: ResponseSent | None


def recorded_cycle(events: Iterable[Event], cycle_id: str) -> RecordedCycle:
    """Pick one cycle's records out of ``events``.

    Raises:
        ValueError: ``cycle.started`` of that cycle is not among them, it recorded no recipe, or
            it ran in mode agent_sdk (the Claude Code CLI made its calls: nothing here can re-run them).
    """
    events = list(events)
    started = next((e for e in events if isinstance(e, CycleStarted) and e.id == cycle_id), None)
    if started is None:
        raise ValueError(f"no cycle.started with id {cycle_id} among the events given")
    if started.inputs is None or started.inputs.inline is None:
        raise ValueError(f"cycle {cycle_id} recorded no recipe (it had no model, or predates recording)")
    if started.mode == "agent_sdk":
        raise ValueError(
            f"cycle {cycle_id} ran in mode agent_sdk (A1): the Claude Code CLI drove its model calls "
            "and tools, so it cannot be replayed offline (its llm.called and tool.used events are the record)"
        )
    # Summary calls made the history the recipe already holds; only the mode's turns re-run.
    calls = [e for e in events if isinstance(e, LlmCalled) and e.cycle_id == cycle_id and e.purpose == "turn"]
    last = max((c.attempt for c in calls), default=1)
    tools = {e.ordinal: e for e in reversed(events) if isinstance(e, ToolUsed) and e.cycle_id == cycle_id}
    reply = next(
        (e for e in events if isinstance(e, ResponseSent) and e.in_reply_to == started.trigger_event_id),
        None,
    )
    return RecordedCycle(
        started=started,
        calls=tuple(sorted((c for c in calls if c.attempt == last), key=lambda c: c.ordinal)),
        tools=tuple(tools[n] for n in sorted(tools)),
        reply=reply,
    )


@dataclasses.dataclass(frozen=True)
class ReplayReport:
    """How a replay compares with the recording."""

    cycle: RecordedCycle
    prompt_diff: tuple[str, ...]
    recorded_tokens: int
    current_tokens: int
    calls_replayed: int
    replayed_reply: str | None
    divergence: str | None
    chains: int
    tool_calls: tuple[ToolCall, ...] = ()
    """The tool calls the replay made, in order."""


class _RecordedModel:
    """Answers each model call with the next recorded response (or its recorded failure)."""

    def __init__(self, calls: Sequence[LlmCalled]) -> None:
        self._calls = list(calls)
        self.used = 0

    async def turn(self, target: ModelTarget, request: TurnRequest, on_text: TextSink) -> TurnResult:
        if self.used >= len(self._calls):
            raise ModelCallFailed(
                f"the replay asked for model call {self.used + 1}; the recording has {len(self._calls)}",
                transient=False,
            )
        call = self._calls[self.used]
        self.used += 1
        if call.turn is None:
            raise ModelCallFailed(call.error or "the recorded call failed", transient=False)
        await on_text(call.turn.text)
        return replayed_result(call.turn, call.usage.prompt_tokens, call.usage.completion_tokens)


class RecordedTools:
    """Answers each tool call with the recorded result of the same call at the same position.

    No tool runs: a call the recording does not have at that position (another tool, other
    arguments, or one past the end) is answered with an error and noted as the first divergence. The fork
    (:mod:`animas_agent_runner.replay_fork`) uses it too, so a fork has no side effects.
    """

    def __init__(self, specs: Sequence[ToolSpec], used: Sequence[ToolUsed]) -> None:
        self._specs = tuple(specs)
        self._used = list(used)
        self.calls: list[ToolCall] = []
        self.divergence: str | None = None

    def specs(self) -> tuple[ToolSpec, ...]:
        return self._specs

    async def run(self, call: ToolCall) -> ToolResult:
        position = len(self.calls)
        self.calls.append(call)
        recorded = self._used[position] if position < len(self._used) else None
        if (
            recorded is None
            or recorded.tool != call.name
            or not same_arguments(recorded.arguments, call.arguments)
        ):
            said = f"{recorded.tool} {recorded.arguments}" if recorded else "no call"
            replayed = f"{call.name} {call.arguments}"
            mismatch = f"tool call {position}: the replay called {replayed}, the recording has {said}"
            self.divergence = self.divergence or mismatch
            return ToolResult(call.id, call.name, NOT_RECORDED, is_error=True)
        return ToolResult(call.id, call.name, recorded.result, is_error=recorded.status is not ToolStatus.OK)


def same_arguments(recorded: dict[str, Any], replayed: dict[str, Any]) -> bool:
    """Whether a call's arguments are the recorded ones (a recorded long string was clipped with …)."""
    if recorded.keys() != replayed.keys():
        return False
    for key, old in recorded.items():
        new = replayed[key]
        clipped = isinstance(old, str) and isinstance(new, str) and old.endswith("…")
        if not (old == new or (clipped and new.startswith(old[:-1]))):
            return False
    return True


NOT_RECORDED = "(not run: a replay runs no tool, and the recording has no result for this call)"


def named_specs(names: Sequence[str]) -> tuple[ToolSpec, ...]:
    """Tools offered by name only: enough for recorded answers, which never read the schema."""
    return tuple(ToolSpec(name, "", {"type": "object"}) for name in names)


class _Silent:
    """A recorder that keeps nothing: a replay records no events."""

    async def on_text(self, text: str) -> None:
        return None

    async def model_called(
        self,
        *,
        target: ModelTarget,
        request: TurnRequest,
        result: TurnResult | None,
        error: ModelCallFailed | None,
        latency_ms: float,
    ) -> None:
        return None


async def replay_cycle(cycle: RecordedCycle) -> ReplayReport:
    """Rebuild the prompt and re-run the cycle against its recordings."""
    recipe = recipe_of(cycle)
    plan = recipe.plan
    model = _RecordedModel(cycle.calls)
    targets = [ModelTarget(plan.model, None, None, plan.max_tokens)]
    if plan.fallback:
        targets.append(ModelTarget(plan.fallback, None, None, plan.max_tokens))
    chain = ModelChain(tuple(Candidate(model, target) for target in targets), _Silent())
    names = recipe.prompt_inputs.tool_names if recipe.prompt_inputs else ()
    report = await rerun(cycle, recipe, chain, RecordedTools(named_specs(names), cycle.tools))
    if report.divergence is None and model.used < len(cycle.calls):
        missing = f"the replay made {model.used} model calls; the recording has {len(cycle.calls)}"
        report = dataclasses.replace(report, divergence=missing)
    return dataclasses.replace(report, calls_replayed=model.used)


def recipe_of(cycle: RecordedCycle) -> CycleRecipe:
    """The recipe ``cycle.started`` recorded.

    Raises:
        ValueError: it recorded none, or one this build cannot read.
    """
    inputs = cycle.started.inputs
    if inputs is None or not isinstance(inputs.inline, dict):
        raise ValueError(f"cycle {cycle.started.id} recorded no recipe")
    return CycleRecipe.from_dict(inputs.inline)


async def rerun(
    cycle: RecordedCycle, recipe: CycleRecipe, chain: ModelChain, tools: RecordedTools
) -> ReplayReport:
    """Run ``recipe`` with this build's prompt through ``chain``, tools answered from the recording.

    ``calls_replayed`` is left at 0 for the caller, which knows what its chain counts.
    """
    prompt = cycle.started.prompt
    recorded_prompt = str(prompt.inline) if prompt is not None and prompt.inline is not None else ""
    current = recipe.system_prompt()
    diff = tuple(
        difflib.unified_diff(
            recorded_prompt.splitlines(), current.splitlines(), "recorded", "current build", lineterm=""
        )
    )
    plan = recipe.plan
    states: list[SessionState] = []

    async def keep(state: SessionState) -> None:
        states.append(state)

    chaining = Chaining(int(plan.window * plan.context_threshold), plan.max_chains, keep)
    divergence: str | None = None
    reply: str | None = None
    try:
        outcome = await think(chain, recipe, system=current, tools=tools, chaining=chaining)
        reply = outcome.reply
    except ModelCallFailed as exc:
        divergence = str(exc)
    return ReplayReport(
        cycle=cycle,
        prompt_diff=diff,
        recorded_tokens=count_tokens(recorded_prompt),
        current_tokens=count_tokens(current),
        calls_replayed=0,
        replayed_reply=reply,
        divergence=divergence or tools.divergence,
        chains=len(states),
        tool_calls=tuple(tools.calls),
    )


def render(report: ReplayReport) -> str:
    """The report as the CLI prints it."""
    started = report.cycle.started
    lines = [f"cycle {started.id} of {started.anima} (mode {started.mode}, model {started.model})"]
    if report.prompt_diff:
        tokens = f"{report.recorded_tokens} → {report.current_tokens} tokens"
        lines.append(f"prompt: differs from the recording ({tokens})")
        lines += list(report.prompt_diff)
    else:
        lines.append(f"prompt: identical to the recording ({report.current_tokens} tokens)")
    lines.append(f"model calls: {len(report.cycle.calls)} recorded, {report.calls_replayed} replayed")
    if report.chains:
        lines.append(f"sessions: continued {report.chains} time(s) past the context threshold")
    recorded = report.cycle.reply.text if report.cycle.reply else None
    if report.divergence:
        lines.append(f"diverged: {report.divergence}")
    elif recorded is None:
        lines.append("reply: none was recorded")
    elif same_reply(recorded, report.replayed_reply):
        lines.append("reply: identical to the recorded reply")
    else:
        lines.append("reply: differs from the recorded reply")
        lines += [f"  recorded: {recorded!r}", f"  replayed: {report.replayed_reply!r}"]
    return "\n".join(lines)


def same_reply(recorded: str, replayed: str | None) -> bool:
    """Equal, allowing the note the cycle adds after the model's words (e.g. the turn limit)."""
    return bool(replayed) and (recorded == replayed or recorded.startswith(f"{replayed}\n\n("))


def matches(report: ReplayReport) -> bool:
    """Same prompt, every recorded call replayed, no divergence, and the recorded reply again."""
    recorded = report.cycle.reply.text if report.cycle.reply else None
    replied_the_same = recorded is None or same_reply(recorded, report.replayed_reply)
    return not report.prompt_diff and report.divergence is None and replied_the_same


BodyFetch = Callable[[str], Awaitable[bytes | None]]
"""Reads a body kept in the object store by digest (None when it is gone)."""
_BODY_FIELDS = ("inputs", "prompt")


async def inlined(events: Sequence[dict[str, Any]], fetch: BodyFetch | None) -> list[dict[str, Any]]:
    """``events`` with the bodies ``cycle.started`` keeps in the object store put back inline.

    Raises:
        ValueError: a body is stored by reference and cannot be read.
    """
    out = []
    for raw in events:
        if raw.get("type") == "cycle.started":
            raw = dict(raw)
            for field in _BODY_FIELDS:
                body = raw.get(field)
                if isinstance(body, dict) and body.get("stored") and body.get("inline") is None:
                    data = await fetch(str(body.get("digest"))) if fetch is not None else None
                    if data is None:
                        raise ValueError(
                            f"the cycle's {field} body {body.get('digest')} is not in the object store"
                        )
                    raw[field] = {**body, "inline": msgspec.json.decode(data)}
        out.append(raw)
    return out


async def replay_request(request: ReplayRequest, fetch: BodyFetch | None = None) -> ReplayReply:
    """Replay the cycle of ``request`` and compare it with its recording (bodies read with ``fetch``)."""
    try:
        raws = await inlined(request.events, fetch)
        events = [decode_event(msgspec.json.encode(raw)) for raw in raws]
        cycle = recorded_cycle(events, request.cycle_id)
    except (ValueError, ContractError, msgspec.DecodeError) as exc:
        return ReplayReply(ok=False, error=str(exc))
    report = await replay_cycle(cycle)
    return ReplayReply(
        ok=True,
        matches=matches(report),
        diff="\n".join(report.prompt_diff),
        report=render(report),
        prompt_identical=not report.prompt_diff,
        calls_recorded=len(cycle.calls),
        calls_replayed=report.calls_replayed,
        divergence=report.divergence,
        recorded_reply=cycle.reply.text if cycle.reply else None,
        replayed_reply=report.replayed_reply,
    )


def replay_responder(fetch: BodyFetch | None) -> Callable[[Msg], Awaitable[None]]:
    """The ``rpc.agent.replay`` responder: a :class:`ReplayRequest` in, a :class:`ReplayReply` out.

    Offline: no model is called and no event is recorded; bodies the cycle kept in the object
    store are read with ``fetch``.
    """

    async def on_replay(msg: Msg) -> None:
        try:
            reply = await replay_request(msgspec.json.decode(msg.data, type=ReplayRequest), fetch)
        except msgspec.DecodeError as exc:
            reply = ReplayReply(ok=False, error=f"bad replay request: {exc}")
        except Exception as exc:
            _log.exception("replay failed")
            reply = ReplayReply(ok=False, error=f"replay failed: {exc!r}")
        await msg.respond(msgspec.json.encode(reply))

    return on_replay


def main(argv: Sequence[str] | None = None) -> int:
    """Read events from stdin, replay the cycle named on the command line, print the report."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m animas_agent_runner.replay <cycle-id> < events.jsonl", file=sys.stderr)
        return 2
    events = [decode_event(line.encode()) for line in sys.stdin if line.strip()]
    try:
        cycle = recorded_cycle(events, args[0])
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(render(asyncio.run(replay_cycle(cycle))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
