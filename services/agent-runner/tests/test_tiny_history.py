"""What a tiny local model hears of the thread: the peer's last messages, verbatim, within a budget."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from animas_agent_runner.cycle.tiny_history import TINY_HISTORY_MESSAGES, recent_messages, with_recent
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


def test_the_peers_last_messages_come_before_the_current_one_and_the_replies_stay_out() -> None:
    turns = [
        _turn(0, TurnRole.USER, "My favourite colour is teal."),
        _turn(1, TurnRole.ASSISTANT, "I'm a friendly AI assistant."),
    ]
    recent = recent_messages(turns)
    assert recent == ("My favourite colour is teal.",)
    assert with_recent(recent, "What is my favourite colour?") == (
        "Earlier I said: My favourite colour is teal.\n\nWhat is my favourite colour?"
    )
    assert with_recent(("I like teal.", "I live in Osaka.\n"), "Where do I live?") == (
        "Earlier I said: I like teal. I live in Osaka.\n\nWhere do I live?"
    )
    assert with_recent((), "hi") == "hi"


def test_only_the_newest_statements_are_kept_and_answered_questions_are_not_asked_again() -> None:
    recent = recent_messages(_exchange(10))
    assert len(recent) == TINY_HISTORY_MESSAGES and recent == ("question 7", "question 8", "question 9")
    asked = [_turn(0, TurnRole.USER, "Who are you?"), _turn(1, TurnRole.USER, "I like teal.")]
    assert recent_messages(asked) == ("I like teal.",)


def test_the_token_budget_stops_at_a_long_message() -> None:
    turns = [*_exchange(1), _turn(2, TurnRole.USER, "word " * 400), _turn(3, TurnRole.USER, "short")]
    # The 400-word message does not fit, and nothing older than it is taken either.
    assert recent_messages(turns, max_tokens=100) == ("short",)
