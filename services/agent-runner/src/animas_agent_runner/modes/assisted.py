"""The ``assisted`` mode: one completion for models too weak to drive tools (DESIGN §7).

The framework does the memory work around the call: priming has already put what matters into
the prompt, and what the model wants kept comes back in a structured reply that the framework
writes through the same tool surface the other modes use. The reply is asked for as JSON against
a schema, validated, and when it is not valid the model's text is used as a plain reply: a weak
model's malformed JSON never costs the sender an answer.
"""

from __future__ import annotations

import dataclasses
import json
import re

import msgspec

from animas_agent_runner.modes.calls import ModelChain
from animas_agent_runner.modes.tool_loop import ModeOutcome, StopReason
from animas_agent_runner.ports import ConversationItem, ToolCall, ToolRunner, TurnRequest, UserTurn

REMEMBER_TOOL = "remember"

FORMAT_INSTRUCTIONS = """\
Answer with one JSON object and nothing else, in this shape:
{"reply": "what you say to the sender",
 "decision": "one sentence: what you decided and which memory it rests on",
 "lesson": "a lesson worth keeping, or an empty string",
 "remember": ["new facts worth keeping, each one short"]}
Only "reply" is required."""


class AssistedReply(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    """The structured reply asked of an assisted model."""

    reply: str
    decision: str = ""
    lesson: str = ""
    remember: list[str] = msgspec.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class Parsed:
    """A model's text read as a structured reply, or the plain-reply fallback and why."""

    reply: AssistedReply
    problem: str | None = None
    """Why the structured reply was not usable; None when it was."""


_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.IGNORECASE)


def parse_reply(text: str) -> Parsed:
    """Read ``text`` as an :class:`AssistedReply`; fall back to the text itself when it is not one."""
    body = _FENCE.sub("", text.strip()).strip()
    candidate = _first_object(body)
    if candidate is None:
        return Parsed(AssistedReply(reply=body), problem="no JSON object in the reply")
    try:
        parsed = msgspec.json.decode(candidate, type=AssistedReply)
    except msgspec.ValidationError as exc:
        return Parsed(
            AssistedReply(reply=_plain(body, candidate)), problem=f"reply does not match the schema: {exc}"
        )
    except msgspec.DecodeError as exc:
        return Parsed(AssistedReply(reply=_plain(body, candidate)), problem=f"reply is not valid JSON: {exc}")
    if not parsed.reply.strip():
        return Parsed(AssistedReply(reply=_plain(body, candidate)), problem="the JSON reply is empty")
    return Parsed(parsed)


def _first_object(text: str) -> str | None:
    """The first balanced ``{…}`` in ``text`` (strings and escapes respected), if any."""
    start = text.find("{")
    while start != -1:
        depth, in_string, escaped = 0, False, False
        for index in range(start, len(text)):
            char = text[index]
            if in_string:
                # A quote ends the string unless the character before it escaped it.
                if escaped:
                    escaped = False
                elif char == "\\":
                    escaped = True
                elif char == '"':
                    in_string = False
                continue
            if char == '"':
                in_string = True
            elif char == "{":
                depth += 1
            elif char == "}":
                depth -= 1
                if depth == 0:
                    return text[start : index + 1]
        start = text.find("{", start + 1)
    return None


def _plain(body: str, candidate: str) -> str:
    """What the sender reads when the JSON was unusable: the prose around it, else a best effort."""
    prose = body.replace(candidate, "").strip()
    if prose:
        return prose
    try:
        loose = json.loads(candidate, strict=False)
    except json.JSONDecodeError:
        return body
    if isinstance(loose, dict):
        for key in ("reply", "answer", "response", "text", "message"):
            value = loose.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()
    return body


async def run_plain(
    chain: ModelChain,
    *,
    system: str,
    user_text: str,
    max_tokens: int,
    history: tuple[ConversationItem, ...] = (),
) -> ModeOutcome:
    """One completion read as plain text: for a model too small to write JSON reliably.

    The framework still does the memory work: priming filled the prompt, and the cycle's episode
    entry records what was said.
    """
    request = TurnRequest(system=system, conversation=(*history, UserTurn(user_text)), max_tokens=max_tokens)
    result = await chain.turn(request)
    reply = _FENCE.sub("", result.text.strip()).strip()
    return ModeOutcome(reply=reply, model=result.model, turns=1, tool_calls=0, stop=StopReason.DONE)


async def run_assisted(
    chain: ModelChain,
    *,
    system: str,
    user_text: str,
    tools: ToolRunner,
    max_tokens: int,
    history: tuple[ConversationItem, ...] = (),
) -> ModeOutcome:
    """One completion; then the framework keeps what the model asked to keep."""
    request = TurnRequest(
        system=f"{system}\n\n---\n\n{FORMAT_INSTRUCTIONS}",
        conversation=(*history, UserTurn(user_text)),
        max_tokens=max_tokens,
    )
    result = await chain.turn(request, stream=False)
    parsed = parse_reply(result.text)
    structured = parsed.reply
    await chain.say(structured.reply.strip())
    available = {spec.name for spec in tools.specs()}
    calls = 0
    if REMEMBER_TOOL in available:
        keep = [("knowledge", fact) for fact in structured.remember if fact.strip()]
        if structured.lesson.strip() and structured.lesson.strip().lower() not in {"none", "n/a"}:
            keep.append(("lessons", structured.lesson.strip()))
        for topic, fact in keep:
            await tools.run(
                ToolCall(id=f"assisted-{calls}", name=REMEMBER_TOOL, arguments={"topic": topic, "fact": fact})
            )
            calls += 1
    return ModeOutcome(
        reply=structured.reply.strip(),
        model=result.model,
        turns=1,
        tool_calls=calls,
        stop=StopReason.DONE,
        decision=structured.decision.strip()
        or (f"(plain reply: {parsed.problem})" if parsed.problem else ""),
        lesson=structured.lesson.strip(),
    )
