"""Conversation memory in a cycle (seed 003 §4.8): the history, when to compact it, and the summary.

memory-writer keeps one file per anima and peer (``state/conversations/<stem>.json``, a
:class:`~animas_contracts.Conversation`): the peer's rolling summary and the later turns verbatim,
each with its thread. Before the model is called the cycle reads it, takes the turns of the
message's thread that precede the current message (a new thread has none: it starts with the
peer's summary) and, when the summary, those turns and the message together exceed
``conversation_history_threshold`` of the context window, folds the older turns into a new
summary of the peer. The most recent turns always stay
verbatim. The model writes the summary (as JSON, validated); when it fails or answers with
something unusable, a deterministic summary is used instead. The compaction is an event,
:class:`~animas_contracts.ConversationCompacted`, whose id is derived from the anima, the peer and
the last folded turn, so a retried cycle does not compact twice; memory-writer archives the folded
turns verbatim, so nothing said is lost.

Everything here is pure; the summary itself, by the model or without it, is :mod:`.summary`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import msgspec

from animas_agent_runner.cycle.summary import Say as Say
from animas_agent_runner.cycle.summary import Summary as Summary
from animas_agent_runner.cycle.summary import fallback_summary as fallback_summary
from animas_agent_runner.cycle.summary import summarize as summarize
from animas_agent_runner.domain import PRODUCER
from animas_agent_runner.ports import AssistantTurn, UserTurn
from animas_agent_runner.prompt.tokens import count_tokens
from animas_agent_runner.prompt.untrusted import EXTERNAL_CLOSE as EXTERNAL_CLOSE
from animas_agent_runner.prompt.untrusted import EXTERNAL_OPEN as EXTERNAL_OPEN
from animas_agent_runner.prompt.untrusted import STRANGER_RULE, UNTRUSTED_MARK, untrusted
from animas_contracts import (
    Conversation,
    ConversationCompacted,
    ConversationTurn,
    MessageOrigin,
    MessageReceived,
    TurnRole,
    derive_id,
)

HistoryItem = UserTurn | AssistantTurn

MIN_RECENT_TURNS = 2
"""The last turns before the current message are never folded, however long they are."""
RECENT_SHARE = 0.5
"""Share of the history budget that the verbatim turns may keep after a compaction."""
SUMMARY_SHARE = 0.25
"""Share of the history budget a summary may take (within the bounds below)."""
SUMMARY_MIN_TOKENS = 200
SUMMARY_MAX_TOKENS = 4000
TURN_OVERHEAD_TOKENS = 4
"""What a turn costs on the wire beyond its text (role markers), roughly the same for every provider."""
NOT_SHOWN = "(Earlier messages of this conversation are not shown.)"


class ConversationUnreadable(ValueError):
    """The conversation file's text is not a conversation (cut short, or edited by hand)."""


@dataclasses.dataclass(frozen=True)
class CompactionPlan:
    """Which turns to fold into the summary and which to keep verbatim."""

    fold: tuple[ConversationTurn, ...]
    """The older turns, oldest first; never empty."""
    keep: tuple[ConversationTurn, ...]
    """The recent turns that stay verbatim, oldest first."""
    budget: int
    """Tokens the history (summary, turns and the current message) may use."""
    tokens: int
    """Tokens it uses now."""
    summary_tokens: int
    """The most tokens the new summary should take."""

    @property
    def through_turn_id(self) -> str:
        """The last turn folded."""
        return self.fold[-1].id


@dataclasses.dataclass(frozen=True)
class PreparedHistory:
    """The conversation as the model sees it this cycle, and the compaction to record (if any)."""

    items: tuple[HistoryItem, ...]
    """Summary, earlier turns and the current message; roles alternate, first and last are user turns."""
    compaction: ConversationCompacted | None
    tokens: int
    """Tokens the history uses after any compaction (current message included)."""


def decode_conversation(text: str | None, peer: str) -> Conversation:
    """The conversation file's text as a :class:`Conversation`; an empty one when there is no file.

    Raises:
        ConversationUnreadable: the text is not a conversation file.
    """
    if not text:
        return Conversation(peer=peer)
    try:
        return msgspec.json.decode(text, type=Conversation)
    except msgspec.DecodeError as exc:
        raise ConversationUnreadable(f"the conversation with {peer!r} cannot be read: {exc}") from None


def history_for(
    conversation: Conversation, exclude_id: str, thread_id: str | None = None
) -> tuple[ConversationTurn, ...]:
    """The turns of ``thread_id`` before the current message (other threads' turns are not its history).

    memory-writer applies the message concurrently with the cycle, so it may or may not be in the
    file yet: when it is, it and everything after it (a reply from an earlier attempt) are left out.
    """
    turns = conversation.thread(thread_id)
    for index, turn in enumerate(turns):
        if turn.id == exclude_id:
            return turns[:index]
    return turns


def user_line(peer: str, text: str) -> str:
    """A peer's message as the model reads it (the cycle frames the current message the same way)."""
    return f"[{peer}] {text}"


EXTERNAL_LABEL = (
    UNTRUSTED_MARK.replace("{source}", "{peer}") + " This message came from outside the organization "
    "(a webhook: a chat platform or another system), and so did every earlier message of {peer} "
    f"in this conversation. {STRANGER_RULE} Answer it as your own duties and permissions allow."
)
"""How the current message is framed when its origin is ``external`` (DESIGN §9, issue #17)."""


def message_line(message: MessageReceived) -> str:
    """The current message as the model reads it.

    A person's or an anima's words are :func:`user_line`; a message from outside (origin
    ``external``) is labelled untrusted and its text is fenced between markers it cannot close
    itself (a closing marker inside the text is defused).
    """
    if message.origin is not MessageOrigin.EXTERNAL:
        return user_line(message.sender, message.text)
    return untrusted(EXTERNAL_LABEL.format(peer=message.sender), message.text)


def summary_line(summary: str) -> str:
    """The rolling summary as the model reads it, at the head of the history."""
    return f"(Summary of our earlier conversation: {summary})"


def turn_tokens(turn: ConversationTurn, peer: str) -> int:
    """Tokens a turn costs in the request."""
    text = user_line(peer, turn.text) if turn.role is TurnRole.USER else turn.text
    return count_tokens(text) + TURN_OVERHEAD_TOKENS


def summary_tokens(summary: str | None) -> int:
    """Tokens the summary costs in the request (0 without one)."""
    return count_tokens(summary_line(summary)) + TURN_OVERHEAD_TOKENS if summary else 0


def history_budget(window: int, threshold: float) -> int:
    """Tokens conversation history may use before it is compacted."""
    return max(1, int(window * threshold))


def summary_budget(budget: int) -> int:
    """Tokens a summary may take, for a history budget."""
    return min(SUMMARY_MAX_TOKENS, max(SUMMARY_MIN_TOKENS, int(budget * SUMMARY_SHARE)))


def plan_compaction(
    turns: Sequence[ConversationTurn],
    *,
    peer: str,
    summary: str | None,
    window: int,
    threshold: float,
    extra_tokens: int = 0,
    min_recent: int = MIN_RECENT_TURNS,
    recent_share: float = RECENT_SHARE,
) -> CompactionPlan | None:
    """Decide whether to compact, and which turns to fold; None while the history fits.

    The history fits while summary + turns + ``extra_tokens`` (the current message) stay within
    ``threshold`` of ``window``. Otherwise the newest turns are kept verbatim, at least
    ``min_recent`` of them and more while they fit in ``recent_share`` of that budget (less the
    current message), and every older turn is folded. None too when there is nothing older to fold.
    """
    budget = history_budget(window, threshold)
    sizes = [turn_tokens(t, peer) for t in turns]
    total = summary_tokens(summary) + sum(sizes) + extra_tokens
    if total <= budget:
        return None
    keep_budget = int(budget * recent_share) - extra_tokens
    keep_from, used = len(turns), 0
    for index in range(len(turns) - 1, -1, -1):
        if len(turns) - index > min_recent and used + sizes[index] > keep_budget:
            break
        keep_from, used = index, used + sizes[index]
    if keep_from == 0:
        return None
    return CompactionPlan(
        fold=tuple(turns[:keep_from]),
        keep=tuple(turns[keep_from:]),
        budget=budget,
        tokens=total,
        summary_tokens=summary_budget(budget),
    )


def compaction_id(anima: str, peer: str, through_turn_id: str) -> str:
    """The id of the compaction folding ``peer``'s turns through ``through_turn_id``."""
    return derive_id(anima, "conversation.compacted", peer, through_turn_id)


def compaction_event(
    *,
    anima: str,
    peer: str,
    plan: CompactionPlan,
    summary: Summary,
    correlation_id: str,
    causation_id: str | None,
    thread_id: str | None = None,
) -> ConversationCompacted:
    """The event recording a compaction of ``thread_id``'s turns (a retried cycle makes the same id)."""
    return ConversationCompacted(
        id=compaction_id(anima, peer, plan.through_turn_id),
        anima=anima,
        correlation_id=correlation_id,
        causation_id=causation_id,
        producer=PRODUCER,
        peer=peer,
        summary=summary.text,
        through_turn_id=plan.through_turn_id,
        turns_folded=len(plan.fold),
        summarizer=summary.summarizer,
        error=summary.error,
        thread_id=thread_id,
    )


def render_history(
    summary: str | None, turns: Sequence[ConversationTurn], *, peer: str, current: str | None = None
) -> tuple[HistoryItem, ...]:
    """The history as model turns: the summary, the verbatim turns, then ``current`` (already framed).

    Consecutive turns of the same role are merged (an unanswered message followed by the next
    one), so roles alternate as the Anthropic API requires, and the first turn is a user turn.
    """
    items: list[HistoryItem] = []
    if summary:
        items.append(UserTurn(summary_line(summary)))
    for turn in turns:
        if turn.role is TurnRole.USER:
            items.append(UserTurn(user_line(peer, turn.text)))
        else:
            items.append(AssistantTurn(turn.text))
    if current is not None:
        items.append(UserTurn(current))
    if items and isinstance(items[0], AssistantTurn):
        items.insert(0, UserTurn(NOT_SHOWN))
    return _alternating(items)


async def prepare_history(
    conversation: Conversation,
    *,
    anima: str,
    message_id: str,
    current: str,
    window: int,
    threshold: float,
    say: Say,
    correlation_id: str,
    causation_id: str | None,
    thread_id: str | None = None,
) -> PreparedHistory:
    """The history for message ``message_id`` (framed as ``current``), compacted when over the threshold.

    The history is the peer's summary and the turns of ``thread_id``; a compaction folds that
    thread's older turns into the peer's summary. The returned compaction event is to be published
    by the cycle; memory-writer applies it.
    """
    peer = conversation.peer
    turns = history_for(conversation, message_id, thread_id)
    extra = count_tokens(current) + TURN_OVERHEAD_TOKENS
    plan = plan_compaction(
        turns, peer=peer, summary=conversation.summary, window=window, threshold=threshold, extra_tokens=extra
    )
    if plan is None:
        items = render_history(conversation.summary, turns, peer=peer, current=current)
        tokens = summary_tokens(conversation.summary) + sum(turn_tokens(t, peer) for t in turns) + extra
        return PreparedHistory(items, None, tokens)
    summary = await summarize(plan.fold, conversation.summary, say, peer=peer, max_tokens=plan.summary_tokens)
    event = compaction_event(
        anima=anima,
        peer=peer,
        plan=plan,
        summary=summary,
        correlation_id=correlation_id,
        causation_id=causation_id,
        thread_id=thread_id,
    )
    items = render_history(summary.text, plan.keep, peer=peer, current=current)
    tokens = summary_tokens(summary.text) + sum(turn_tokens(t, peer) for t in plan.keep) + extra
    return PreparedHistory(items, event, tokens)


def _alternating(items: list[HistoryItem]) -> tuple[HistoryItem, ...]:
    merged: list[HistoryItem] = []
    for item in items:
        last = merged[-1] if merged else None
        if isinstance(item, UserTurn) and isinstance(last, UserTurn):
            merged[-1] = UserTurn(f"{last.text}\n\n{item.text}")
        elif isinstance(item, AssistantTurn) and isinstance(last, AssistantTurn):
            merged[-1] = AssistantTurn(f"{last.text}\n\n{item.text}")
        else:
            merged.append(item)
    return tuple(merged)
