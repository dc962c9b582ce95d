"""Privacy between people: a cycle with one person never sees another person's private chat."""

from __future__ import annotations

import pytest

from animas_contracts import PrimeRequest
from animas_priming.domain.privacy import (
    Viewer,
    episode_party,
    episode_visible,
    known_animas,
    shared_entries,
    visible,
)
from animas_priming.primer import viewer_of

ENTRIES: list[dict[str, object]] = [
    {"type": "message_received", "from": "alice", "via": "human", "summary": "My favourite colour is teal"},
    {"type": "response_sent", "to": "alice", "summary": "Noted: teal."},
    {"type": "message_received", "from": "bob", "via": "human", "summary": "Any news on the report?"},
    {"type": "response_sent", "to": "bob", "summary": "Not yet."},
    {"type": "dm_received", "from": "kato", "via": "anima", "summary": "The build is green."},
    {"type": "response_sent", "to": "kato", "summary": "Thanks."},
    {"type": "tool_use", "tool": "web_search", "summary": "searched the weather"},
    {"type": "board_post", "channel": "general", "summary": "Deployed v2."},
    {"type": "response_sent", "to": "heartbeat", "summary": "Checked the inbox."},
    {"type": "response_sent", "to": "carol", "summary": "Here is your answer."},
]


def _summaries(viewer: Viewer) -> list[object]:
    return [e["summary"] for e in shared_entries(ENTRIES, viewer)]


def test_bob_sees_his_own_chat_and_shared_work_but_nothing_of_alices() -> None:
    seen = _summaries(Viewer(peer="bob"))
    assert seen == [
        "Any news on the report?",
        "Not yet.",
        "The build is green.",
        "Thanks.",
        "searched the weather",
        "Deployed v2.",
        "Checked the inbox.",
    ]
    assert not any("teal" in str(s) for s in seen)


def test_alice_sees_her_chat_and_not_bobs() -> None:
    seen = _summaries(Viewer(peer="alice"))
    assert "My favourite colour is teal" in seen and "Noted: teal." in seen
    assert "Any news on the report?" not in seen and "Here is your answer." not in seen


def test_the_anima_own_clock_sees_no_persons_chat() -> None:
    seen = _summaries(Viewer(peer=None))
    assert not {"My favourite colour is teal", "Not yet.", "Here is your answer."} & set(map(str, seen))
    assert "Deployed v2." in seen


def test_an_anima_serving_one_team_may_share_across_people() -> None:
    assert _summaries(Viewer(peer="bob", share_across_people=True)) == [e["summary"] for e in ENTRIES]


def test_an_unknown_party_counts_as_a_person() -> None:
    # A reply to someone never seen as an anima is hidden: a mistake hides rather than leaks.
    assert known_animas(ENTRIES) == {"kato"}
    assert not visible({"type": "response_sent", "to": "dave"}, Viewer(peer="bob"), known_animas(ENTRIES))


def test_the_viewer_comes_from_the_request() -> None:
    assert viewer_of(PrimeRequest(sender="bob")) == Viewer(peer="bob")
    assert viewer_of(PrimeRequest(sender="heartbeat", trigger="heartbeat")) == Viewer(peer=None)
    assert viewer_of(PrimeRequest(sender="bob", share_across_people=True)).share_across_people


def _framework(heading: str, sender: str) -> str:
    return f"## {heading}\n- Trigger: Message received (from {sender})\n- Decision: answered\n"


@pytest.mark.parametrize(
    ("heading", "text", "party"),
    [
        ("12:03 Reply to alice", _framework("12:03 Reply to alice", "alice"), "alice"),
        (
            "09:00 Reply to Alice Smith",
            _framework("09:00 Reply to Alice Smith", "Alice Smith"),
            "Alice Smith",
        ),
        ("12:03 Message from kato", _framework("12:03 Message from kato", "kato"), None),
        ("12:03 Heartbeat", "## 12:03 Heartbeat\n- Trigger: Heartbeat (its own clock)\n", None),
        # Written by the anima or a person: no party the code can trust, so never hidden.
        (
            "15:10 Reply to Tanaka-san was rejected",
            "## 15:10 Reply to Tanaka-san was rejected\n- Trigger: Message received\n",
            None,
        ),
        ("15:10 Reply to Tanaka-san", "## 15:10 Reply to Tanaka-san\n- Trigger: Message received\n", None),
        ("Deployed the release", "## Deployed the release\n", None),
    ],
)
def test_the_person_a_framework_episode_answered(heading: str, text: str, party: str | None) -> None:
    assert episode_party(heading, text) == party


def test_an_episode_with_another_person_is_not_recalled_for_bob() -> None:
    alice = _framework("12:03 Reply to alice", "alice")
    assert not episode_visible("12:03 Reply to alice", alice, Viewer(peer="bob"))
    assert episode_visible("12:03 Reply to bob", _framework("12:03 Reply to bob", "bob"), Viewer(peer="bob"))
    assert episode_visible(
        "12:03 Message from kato", _framework("12:03 Message from kato", "kato"), Viewer(peer="bob")
    )
    assert episode_visible("12:03 Reply to alice", alice, Viewer(peer="bob", share_across_people=True))
