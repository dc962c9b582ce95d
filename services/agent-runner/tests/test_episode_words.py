"""The episode of a cycle keeps the words that woke it, not only that a message came."""

from __future__ import annotations

from datetime import UTC, datetime

from animas_agent_runner.cycle.episode_entry import episode_request
from animas_contracts import AppendEpisode, MessageReceived, Trigger

AT = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def _said(sender: str, text: str, trigger: Trigger) -> str:
    message = MessageReceived(
        anima="sample", correlation_id="c", producer="gateway", text=text, sender=sender, thread_id="t"
    )
    op = episode_request(message, at=AT, decision="d", result="r", lesson="", trigger=trigger).op
    assert isinstance(op, AppendEpisode)
    return op.said


def test_a_persons_message_is_kept_in_the_episode() -> None:
    assert _said("rin", "My favourite colour is teal.", Trigger.MESSAGE) == "My favourite colour is teal."


def test_a_message_answered_at_a_heartbeat_keeps_its_words() -> None:
    assert _said("tanaka", "Send the Q3 numbers", Trigger.HEARTBEAT) == "Send the Q3 numbers"


def test_the_anima_clock_prompts_are_not_kept_as_words() -> None:
    assert _said("heartbeat", "Check your pending tasks.", Trigger.HEARTBEAT) == ""
    assert _said("cron", "Write the daily report.", Trigger.CRON) == ""
