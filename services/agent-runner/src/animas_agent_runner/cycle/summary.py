"""The rolling summary of a conversation: by the model when it gives a usable one, else without it.

The model is asked for JSON (``{"summary": ...}``), checked, and refused when it is empty or far
over its budget; the deterministic fallback keeps the previous summary and one line per folded
turn. Either way memory-writer archives the folded turns verbatim, so nothing said is lost.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Sequence

import msgspec

from animas_agent_runner.prompt.tokens import count_tokens
from animas_contracts import ConversationTurn, Summarizer, TurnRole

Say = Callable[[str, str], Awaitable[str]]
"""Asks the model once: ``await say(system, user)`` returns its text or raises."""

SUMMARY_OVERRUN = 1.5
"""A model's summary longer than this many times its budget is refused (the fallback is used)."""

FALLBACK_LINE_CHARS = 200

SUMMARY_SYSTEM = """\
You keep the running summary of a conversation between you (the assistant) and {peer}.
Merge the previous summary and the new turns into one summary that replaces both. Keep what
matters later: names, facts, decisions, commitments and deadlines, preferences, open questions,
and who said what. Drop greetings and small talk. Write in the language of the conversation, in
the third person for {peer} and the first person for yourself, in at most {words} words.
Answer with one JSON object and nothing else: {{"summary": "the new summary"}}"""


@dataclasses.dataclass(frozen=True)
class Summary:
    """A new rolling summary and what wrote it."""

    text: str
    summarizer: Summarizer
    error: str | None = None
    """Why the model's summary was not used (when the fallback wrote this one)."""


class _SummaryReply(msgspec.Struct, frozen=True):
    """The JSON asked of the model."""

    summary: str


async def summarize(
    turns: Sequence[ConversationTurn],
    previous_summary: str | None,
    say: Say,
    *,
    peer: str,
    max_tokens: int,
) -> Summary:
    """The new rolling summary: the model's when it gives a usable one, else :func:`fallback_summary`.

    The model is asked for ``{"summary": ...}``; a failure, an answer that is not that JSON, an
    empty summary or one far over ``max_tokens`` all lead to the deterministic fallback, with the
    reason kept in :attr:`Summary.error`.
    """
    system = SUMMARY_SYSTEM.format(peer=peer, words=max(50, max_tokens * 3 // 4))
    user = (
        f"Previous summary:\n{previous_summary or '(none yet)'}\n\n"
        f"New turns, oldest first:\n{_transcript(turns, peer)}"
    )
    problem: str | None
    try:
        answer = await say(system, user)
    except Exception as exc:
        problem = f"the model failed: {exc}"
    else:
        text, problem = _read_summary(answer, max_tokens)
        if text is not None:
            return Summary(text, Summarizer.LLM)
    return Summary(
        fallback_summary(previous_summary, turns, peer=peer, max_tokens=max_tokens),
        Summarizer.FALLBACK,
        problem,
    )


def fallback_summary(
    previous_summary: str | None, turns: Sequence[ConversationTurn], *, peer: str, max_tokens: int
) -> str:
    """A summary written without a model: the previous one, then one line per folded turn.

    Each line is the speaker and the first :data:`FALLBACK_LINE_CHARS` characters of the turn.
    The result stays within ``max_tokens``: the previous summary may take half (cut at the end),
    and when the lines do not all fit the oldest go first, with a note of how many.
    """
    parts: list[str] = []
    if previous_summary:
        parts.append(_clip_tokens(previous_summary.strip(), max_tokens // 2))
    intro = "Then" if previous_summary else "Earlier,"
    header = (
        f"{intro} {len(turns)} turns (condensed without a model; the full text is kept in the "
        "conversation archive):"
    )
    lines = [f"- {_speaker(t, peer)}: {_first_chars(t.text)}" for t in turns]
    room = max_tokens - count_tokens("\n\n".join([*parts, header])) - 2
    shown: list[str] = []
    used = 0
    for line in reversed(lines):
        cost = count_tokens(line) + 1
        # The note about omitted lines must fit too: reserve room for it whenever lines are left out.
        left_out = len(lines) - len(shown) - 1
        note = count_tokens(_omitted(left_out)) + 1 if left_out else 0
        if used + cost + note > room:
            break
        shown.insert(0, line)
        used += cost
    omitted = len(lines) - len(shown)
    body = "\n".join(([_omitted(omitted)] if omitted else []) + shown)
    # Tokens of joined text almost never exceed the sum of the parts; the clip makes sure of it.
    return _clip_tokens("\n\n".join([*parts, f"{header}\n{body}"]), max_tokens)


def _speaker(turn: ConversationTurn, peer: str) -> str:
    return peer if turn.role is TurnRole.USER else "you"


def _transcript(turns: Sequence[ConversationTurn], peer: str) -> str:
    return "\n\n".join(f"[{t.ts.isoformat(timespec='minutes')}] {_speaker(t, peer)}: {t.text}" for t in turns)


def _read_summary(answer: str, max_tokens: int) -> tuple[str | None, str | None]:
    """The summary in the model's answer, or None and why it is not usable."""
    body = answer.strip()
    if body.startswith("```"):
        body = body.strip("`").removeprefix("json").strip()
    start, end = body.find("{"), body.rfind("}")
    if start == -1 or end < start:
        return None, "the model's answer holds no JSON object"
    try:
        reply = msgspec.json.decode(body[start : end + 1], type=_SummaryReply)
    except msgspec.ValidationError as exc:
        return None, f"the model's answer does not match the schema: {exc}"
    except msgspec.DecodeError as exc:
        return None, f"the model's answer is not valid JSON: {exc}"
    text = reply.summary.strip()
    if not text:
        return None, "the model's summary is empty"
    size = count_tokens(text)
    if size > max_tokens * SUMMARY_OVERRUN:
        return None, f"the model's summary is {size} tokens; the budget is {max_tokens}"
    return text, None


def _first_chars(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= FALLBACK_LINE_CHARS else flat[: FALLBACK_LINE_CHARS - 1] + "…"


def _omitted(count: int) -> str:
    return f"- ({count} older turns omitted here)"


def _clip_tokens(text: str, limit: int) -> str:
    """``text`` cut (with an ellipsis) to at most ``limit`` tokens."""
    if count_tokens(text) <= limit:
        return text
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if count_tokens(text[:middle] + "…") <= limit:
            low = middle
        else:
            high = middle - 1
    return text[:low] + "…"
