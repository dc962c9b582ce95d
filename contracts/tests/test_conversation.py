"""Conversation memory contracts: safe, distinct file names for every peer."""

from __future__ import annotations

import re

import pytest

from animas_contracts import conversation_archive_path, conversation_path, peer_stem

SAFE = re.compile(r"^[a-z0-9][a-z0-9_~-]{0,63}$")
PEERS = [
    "human",
    "alice",
    "Alice",
    "ALICE",
    "human:alice",
    "human:Alice",
    "human/alice",
    "Alice Smith",
    "田中",
    "田中 太郎",
    "../../etc/passwd",
    "..",
    ".",
    "a\x00b",
    "con",
    "CON",
    "nul",
    "-x",
    "x" * 64,
    "x" * 65,
    "x" * 200,
    "peer",
    "alice~0000000000000000",
]


@pytest.mark.parametrize("peer", PEERS)
def test_every_peer_gets_a_safe_stem(peer: str) -> None:
    stem = peer_stem(peer)
    assert SAFE.fullmatch(stem), stem
    assert stem == peer_stem(peer)  # stable: the same file every time


def test_no_two_peers_share_a_stem_even_on_case_insensitive_file_systems() -> None:
    stems = [peer_stem(p).lower() for p in PEERS]
    assert len(set(stems)) == len(PEERS)


def test_safe_names_are_kept_and_others_are_readable() -> None:
    assert peer_stem("human") == "human"
    assert peer_stem("bob_the-builder2") == "bob_the-builder2"
    assert peer_stem("human:alice").startswith("human-alice~")
    assert peer_stem("../../etc/passwd").startswith("etc-passwd~")
    assert peer_stem("田中").startswith("peer~")
    assert peer_stem("con").startswith("con~")


def test_paths_stay_in_the_conversations_folder() -> None:
    assert conversation_path("human") == "state/conversations/human.json"
    assert conversation_archive_path("human") == "state/conversations/human.archive.jsonl"
    path = conversation_path("../../identity.md")
    assert path.startswith("state/conversations/") and "/" not in path.removeprefix("state/conversations/")


def test_an_empty_peer_is_refused() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        peer_stem("")
