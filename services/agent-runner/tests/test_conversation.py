"""Conversation memory in the cycle: threshold, compaction plan, summary and its fallback, rendering."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from animas_agent_runner.cycle.conversation import (
    MIN_RECENT_TURNS,
    NOT_SHOWN,
    ConversationUnreadable,
    compaction_event,
    compaction_id,
    decode_conversation,
    fallback_summary,
    history_budget,
    history_for,
    plan_compaction,
    prepare_history,
    render_history,
    summarize,
    summary_line,
    turn_tokens,
    user_line,
)
from animas_agent_runner.ports import AssistantTurn, UserTurn
from animas_agent_runner.prompt.tokens import count_tokens
from animas_contracts import (
    Conversation,
    ConversationTurn,
    Summarizer,
    TurnRole,
    decode_event,
    derive_id,
    encode_event,
)

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
PEER = "human:alice"


def _turn(index: int, words: int = 20, role: TurnRole | None = None) -> ConversationTurn:
    role = role or (TurnRole.USER if index % 2 == 0 else TurnRole.ASSISTANT)
    return ConversationTurn(
        id=f"t{index:03d}",
        role=role,
        text=f"turn {index}: " + " ".join(f"word{index}-{w}" for w in range(words)),
        ts=T0 + timedelta(minutes=index),
    )


def _turns(count: int, words: int = 20) -> tuple[ConversationTurn, ...]:
    return tuple(_turn(i, words) for i in range(count))


def _conversation(count: int, words: int = 20, summary: str | None = None) -> Conversation:
    return Conversation(peer=PEER, summary=summary, turns=_turns(count, words))


def _size(turns: tuple[ConversationTurn, ...]) -> int:
    return sum(turn_tokens(t, PEER) for t in turns)


class _Model:
    """A fake ``say``: answers with a fixed text, or raises; records what it was asked."""

    def __init__(self, answer: str | Exception) -> None:
        self.answer = answer
        self.calls: list[tuple[str, str]] = []

    async def __call__(self, system: str, user: str) -> str:
        self.calls.append((system, user))
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def _json(summary: str) -> str:
    return msgspec.json.encode({"summary": summary}).decode()


# --- the file and the history -----------------------------------------------------------------


def test_no_file_is_an_empty_conversation_and_a_bad_file_a_clear_error() -> None:
    assert decode_conversation(None, PEER) == Conversation(peer=PEER)
    assert decode_conversation("", PEER).turns == ()
    with pytest.raises(ConversationUnreadable, match="human:alice"):
        decode_conversation('{"peer": "human:alice", "turns": [', PEER)


def test_the_file_memory_writer_writes_decodes() -> None:
    conversation = _conversation(3, summary="earlier")
    text = msgspec.json.format(msgspec.json.encode(conversation), indent=2).decode()
    assert decode_conversation(text, PEER) == conversation


def test_history_leaves_out_the_current_message_and_what_follows_it() -> None:
    conversation = _conversation(6)
    assert history_for(conversation, "t004") == conversation.turns[:4]
    # Not applied yet by memory-writer: everything in the file precedes it.
    assert history_for(conversation, "not-there-yet") == conversation.turns


# --- when to compact, and what ------------------------------------------------------------------


def test_a_history_within_the_threshold_is_left_alone() -> None:
    turns = _turns(4)
    window = (_size(turns) + 10) * 10  # the history is under 10% of it
    assert plan_compaction(turns, peer=PEER, summary=None, window=window, threshold=0.3) is None


def test_the_threshold_counts_the_summary_and_the_current_message() -> None:
    turns = _turns(4)
    window = 1000
    budget = history_budget(window, 0.3)
    fits = budget - _size(turns)
    assert (
        plan_compaction(turns, peer=PEER, summary=None, window=window, threshold=0.3, extra_tokens=fits)
        is None
    )
    assert plan_compaction(
        turns, peer=PEER, summary=None, window=window, threshold=0.3, extra_tokens=fits + 1
    )
    assert plan_compaction(turns, peer=PEER, summary="x " * fits, window=window, threshold=0.3)


def test_over_the_threshold_older_turns_are_folded_and_recent_ones_kept() -> None:
    turns = _turns(30)
    window = 2000
    plan = plan_compaction(turns, peer=PEER, summary=None, window=window, threshold=0.3)
    assert plan is not None
    assert plan.tokens > plan.budget == history_budget(window, 0.3) == 600
    assert plan.fold + plan.keep == turns  # every turn is folded or kept: nothing lost
    assert plan.keep == turns[-len(plan.keep) :] and len(plan.keep) >= MIN_RECENT_TURNS
    assert _size(plan.keep) <= plan.budget // 2
    assert _size((*plan.keep, plan.fold[-1])) > plan.budget // 2  # kept as many as fit
    assert plan.through_turn_id == plan.fold[-1].id


def test_the_last_turns_stay_verbatim_however_long_they_are() -> None:
    turns = (*_turns(4, words=5), _turn(4, words=400), _turn(5, words=400))
    plan = plan_compaction(turns, peer=PEER, summary=None, window=1000, threshold=0.3)
    assert plan is not None
    assert plan.keep == turns[-2:]
    assert plan.fold == turns[:-2]


def test_nothing_to_fold_means_no_compaction() -> None:
    turns = (_turn(0, words=400), _turn(1, words=400))
    assert plan_compaction(turns, peer=PEER, summary=None, window=1000, threshold=0.3) is None
    assert plan_compaction((), peer=PEER, summary="s " * 500, window=1000, threshold=0.3) is None


# --- the summary ----------------------------------------------------------------------------------


async def test_the_model_writes_the_summary_from_the_previous_one_and_the_folded_turns() -> None:
    model = _Model(_json("Alice asked for the Q3 review by Friday; I agreed."))
    summary = await summarize(_turns(4), "We met last week.", model, peer=PEER, max_tokens=300)
    assert summary.summarizer is Summarizer.LLM and summary.error is None
    assert summary.text == "Alice asked for the Q3 review by Friday; I agreed."
    ((system, user),) = model.calls
    assert '{"summary": "the new summary"}' in system and PEER in system
    assert "We met last week." in user
    assert all(t.text in user for t in _turns(4))  # the model sees the whole text of the folded turns


async def test_a_fenced_json_answer_is_accepted() -> None:
    model = _Model("```json\n" + _json('She said "yes".') + "\n```")
    summary = await summarize(_turns(2), None, model, peer=PEER, max_tokens=300)
    assert (summary.summarizer, summary.text) == (Summarizer.LLM, 'She said "yes".')


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (RuntimeError("connection refused"), "the model failed: connection refused"),
        ("", "no JSON object"),
        ("Sure! Here is a summary of the conversation.", "no JSON object"),
        ('{"summary": "  "}', "empty"),
        ('{"text": "wrong key"}', "does not match the schema"),
        ('{"summary": "unterminated}', "not valid JSON"),
        (_json("blah " * 2000), "the budget is 300"),
    ],
)
async def test_an_unusable_answer_falls_back_deterministically(answer: str | Exception, reason: str) -> None:
    turns = _turns(4)
    summary = await summarize(turns, "before", _Model(answer), peer=PEER, max_tokens=300)
    assert summary.summarizer is Summarizer.FALLBACK
    assert summary.error is not None and reason in summary.error
    assert summary.text == fallback_summary("before", turns, peer=PEER, max_tokens=300)


def test_the_fallback_keeps_the_previous_summary_and_a_line_per_turn() -> None:
    turns = (
        ConversationTurn(id="a", role=TurnRole.USER, text="Can you review\nthe Q3 plan?", ts=T0),
        ConversationTurn(id="b", role=TurnRole.ASSISTANT, text="Yes, by Thursday.", ts=T0),
        ConversationTurn(id="c", role=TurnRole.USER, text="x" * 500, ts=T0),
    )
    text = fallback_summary("We met last week.", turns, peer=PEER, max_tokens=500)
    assert text.startswith("We met last week.\n\nThen 3 turns (condensed without a model")
    assert f"- {PEER}: Can you review the Q3 plan?" in text
    assert "- you: Yes, by Thursday." in text
    assert f"- {PEER}: {'x' * 199}…" in text
    assert fallback_summary("We met last week.", turns, peer=PEER, max_tokens=500) == text


def test_the_fallback_stays_within_its_budget_dropping_the_oldest_lines() -> None:
    turns = _turns(60, words=40)
    text = fallback_summary("p " * 2000, turns, peer=PEER, max_tokens=400)
    assert count_tokens(text) <= 400
    assert "older turns omitted here" in text
    assert turns[-1].text[:50] in text and turns[0].text[:50] not in text
    assert "Then 60 turns" in text


# --- the compaction event -----------------------------------------------------------------------------


def test_the_compaction_id_is_derived_so_a_retried_cycle_does_not_compact_twice() -> None:
    assert compaction_id("sample", PEER, "t009") == compaction_id("sample", PEER, "t009")
    assert compaction_id("sample", PEER, "t009") == derive_id(
        "sample", "conversation.compacted", PEER, "t009"
    )
    assert compaction_id("sample", PEER, "t009") != compaction_id("sample", PEER, "t011")
    assert compaction_id("sample", PEER, "t009") != compaction_id("sample", "bob", "t009")
    assert compaction_id("sample", PEER, "t009") != compaction_id("other", PEER, "t009")


async def test_the_compaction_event_round_trips() -> None:
    plan = plan_compaction(_turns(30), peer=PEER, summary=None, window=2000, threshold=0.3)
    assert plan is not None
    summary = await summarize(plan.fold, None, _Model(OSError("down")), peer=PEER, max_tokens=200)
    event = compaction_event(
        anima="sample", peer=PEER, plan=plan, summary=summary, correlation_id="c", causation_id="m"
    )
    assert event.id == compaction_id("sample", PEER, plan.fold[-1].id)
    assert (event.turns_folded, event.summarizer, event.error) == (
        len(plan.fold),
        Summarizer.FALLBACK,
        "the model failed: down",
    )
    assert event.producer == "agent-runner" and event.event_type == "conversation.compacted"
    assert decode_event(encode_event(event)) == event


# --- what the model sees -------------------------------------------------------------------------------


def test_the_summary_leads_and_roles_alternate() -> None:
    turns = (
        ConversationTurn(id="1", role=TurnRole.USER, text="first", ts=T0),
        ConversationTurn(id="2", role=TurnRole.USER, text="second (the first was never answered)", ts=T0),
        ConversationTurn(id="3", role=TurnRole.ASSISTANT, text="answer", ts=T0),
        ConversationTurn(id="4", role=TurnRole.ASSISTANT, text="more", ts=T0),
        ConversationTurn(id="5", role=TurnRole.USER, text="third", ts=T0),
    )
    items = render_history("we spoke before", turns, peer=PEER, current="[human:alice] now")
    assert items == (
        UserTurn(
            f"{summary_line('we spoke before')}\n\n{user_line(PEER, 'first')}\n\n"
            f"{user_line(PEER, 'second (the first was never answered)')}"
        ),
        AssistantTurn("answer\n\nmore"),
        UserTurn(f"{user_line(PEER, 'third')}\n\n[human:alice] now"),
    )


def test_a_history_never_starts_with_the_assistant() -> None:
    turns = (ConversationTurn(id="1", role=TurnRole.ASSISTANT, text="hello", ts=T0),)
    assert render_history(None, turns, peer=PEER, current="hi") == (
        UserTurn(NOT_SHOWN),
        AssistantTurn("hello"),
        UserTurn("hi"),
    )
    assert render_history(None, (), peer=PEER, current="hi") == (UserTurn("hi"),)
    assert render_history(None, (), peer=PEER) == ()


@pytest.mark.parametrize("count", [1, 2, 5, 12])
def test_rendered_roles_always_alternate(count: int) -> None:
    turns = tuple(_turn(i, role=TurnRole.USER if i % 3 else TurnRole.ASSISTANT) for i in range(count))
    items = render_history("s", turns, peer=PEER, current="now")
    assert isinstance(items[0], UserTurn) and isinstance(items[-1], UserTurn)
    assert all(type(a) is not type(b) for a, b in itertools.pairwise(items))


# --- the whole step ------------------------------------------------------------------------------------


async def test_a_conversation_over_the_threshold_is_compacted_and_its_last_turns_stay_verbatim() -> None:
    conversation = _conversation(30, summary="We met last week.")
    model = _Model(_json("Alice and I planned Q3."))
    prepared = await prepare_history(
        conversation,
        anima="sample",
        message_id="m-now",
        current="[human:alice] and now?",
        window=2000,
        threshold=0.3,
        say=model,
        correlation_id="c",
        causation_id="cycle",
    )
    event = prepared.compaction
    assert event is not None and event.summarizer is Summarizer.LLM
    assert event.summary == "Alice and I planned Q3." and event.peer == PEER
    kept = conversation.turns[event.turns_folded :]
    assert event.through_turn_id == conversation.turns[event.turns_folded - 1].id
    assert prepared.items == render_history(event.summary, kept, peer=PEER, current="[human:alice] and now?")
    assert prepared.items[-2] == AssistantTurn(conversation.turns[-1].text)  # the last turn, verbatim
    assert prepared.tokens <= history_budget(2000, 0.3)
    assert "We met last week." in model.calls[0][1]


async def test_with_the_summarizer_failing_the_fallback_is_used_and_nothing_is_lost() -> None:
    conversation = _conversation(30)
    prepared = await prepare_history(
        conversation,
        anima="sample",
        message_id="t029",  # already applied by memory-writer: it is the current message, not history
        current="[human:alice] turn 29",
        window=2000,
        threshold=0.3,
        say=_Model(TimeoutError("no answer")),
        correlation_id="c",
        causation_id=None,
    )
    event = prepared.compaction
    assert event is not None and event.summarizer is Summarizer.FALLBACK
    assert event.error == "the model failed: no answer"
    folded = conversation.turns[: event.turns_folded]
    assert f"{len(folded)} turns (condensed without a model" in event.summary
    history = conversation.turns[:29]
    kept = history[event.turns_folded :]
    assert folded + kept == history
    assert prepared.items == render_history(event.summary, kept, peer=PEER, current="[human:alice] turn 29")


async def test_a_short_conversation_is_passed_through_without_asking_the_model() -> None:
    conversation = _conversation(4)
    model = _Model(_json("unused"))
    prepared = await prepare_history(
        conversation,
        anima="sample",
        message_id="m",
        current="now",
        window=200_000,
        threshold=0.3,
        say=model,
        correlation_id="c",
        causation_id=None,
    )
    assert prepared.compaction is None and model.calls == []
    assert prepared.items == render_history(None, conversation.turns, peer=PEER, current="now")
    assert prepared.tokens == _size(conversation.turns) + count_tokens("now") + 4
