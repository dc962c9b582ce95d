"""The recent turns a tiny local model gets: the newest of the thread, verbatim, within a small budget."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from animas_agent_runner.cycle.tiny_history import TINY_HISTORY_TURNS, recent_turns
from animas_agent_runner.ports import AssistantTurn, UserTurn
from animas_contracts import ConversationTurn, TurnRole

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def _turn(index: int, role: TurnRole, text: str) -> ConversationTurn:
    return ConversationTurn(
        id=f"t{index}", role=role, text=text, ts=T0 + timedelta(minutes=index), thread_id="t"
    )


def _exchange(count: int) -> list[ConversationTurn]:
    turns = []
    for n in range(count):
        turns.append(_turn(2 * n, TurnRole.USER, f"question {n}"))
        turns.append(_turn(2 * n + 1, TurnRole.ASSISTANT, f"answer {n}"))
    return turns


def test_what_was_just_said_comes_back_verbatim_without_the_peer_frame() -> None:
    turns = [
        _turn(0, TurnRole.USER, "My favourite colour is teal."),
        _turn(1, TurnRole.ASSISTANT, "Teal is a lovely colour."),
    ]
    assert recent_turns(turns) == (
        UserTurn("My favourite colour is teal."),
        AssistantTurn("Teal is a lovely colour."),
    )


def test_only_the_newest_turns_are_kept_and_the_first_is_a_users() -> None:
    kept = recent_turns(_exchange(10))
    assert len(kept) == TINY_HISTORY_TURNS
    assert kept[0] == UserTurn("question 7") and kept[-1] == AssistantTurn("answer 9")
    # An odd limit would start on a reply: that reply is dropped rather than shown without its question.
    assert recent_turns(_exchange(10), max_turns=5)[0] == UserTurn("question 8")


def test_the_token_budget_stops_at_a_long_turn() -> None:
    turns = [*_exchange(1), _turn(2, TurnRole.USER, "word " * 400), _turn(3, TurnRole.ASSISTANT, "ok")]
    # The 400-word message does not fit; nothing older than it is taken either, and the lone reply
    # after it is not shown without it.
    assert recent_turns(turns, max_tokens=100) == ()


def test_turns_of_one_role_in_a_row_are_joined() -> None:
    turns = [
        _turn(0, TurnRole.USER, "Hello."),
        _turn(1, TurnRole.USER, "Are you there?"),
        _turn(2, TurnRole.ASSISTANT, "Yes."),
    ]
    assert recent_turns(turns) == (UserTurn("Hello.\n\nAre you there?"), AssistantTurn("Yes."))
