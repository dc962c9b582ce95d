"""Priming budgets by message type, channel shares and fitting items into a budget."""

from __future__ import annotations

import pytest

from animas_core.config_model import PrimingConfig
from animas_priming.domain.budget import (
    BASE_BUDGETS,
    CHANNELS,
    IMPORTANT_KEY,
    TokenCounter,
    channel_budgets,
    fit,
    important_budget,
    total_budget,
)
from animas_priming.domain.message_types import MessageType


class WhitespaceCounter:
    """One token per whitespace-separated word: enough to test the arithmetic."""

    def count(self, text: str) -> int:
        return len(text.split())

    def truncate(self, text: str, tokens: int) -> str:
        return " ".join(text.split()[:tokens])


COUNTER: TokenCounter = WhitespaceCounter()


@pytest.mark.parametrize(
    ("message_type", "expected"),
    [(MessageType.GREETING, 500), (MessageType.QUESTION, 2000), (MessageType.REQUEST, 3000)],
)
def test_seed_budgets_by_message_type(message_type: MessageType, expected: int) -> None:
    assert total_budget(message_type, PrimingConfig(), 128_000) == expected


@pytest.mark.parametrize(
    ("window", "expected"), [(0, 200), (2_000, 200), (4_000, 200), (8_000, 400), (200_000, 10_000)]
)
def test_heartbeat_budget_grows_with_the_context_window(window: int, expected: int) -> None:
    assert total_budget(MessageType.HEARTBEAT, PrimingConfig(), window) == expected


def test_without_dynamic_budget_everything_but_heartbeat_gets_the_request_budget() -> None:
    config = PrimingConfig(dynamic_budget=False, budget_request=2500)
    for message_type in (MessageType.GREETING, MessageType.QUESTION, MessageType.REQUEST):
        assert total_budget(message_type, config, 128_000) == 2500
    assert total_budget(MessageType.HEARTBEAT, config, 128_000) == 6400


def test_config_overrides_are_used() -> None:
    config = PrimingConfig(budget_greeting=100, budget_question=700)
    assert total_budget(MessageType.GREETING, config, 8000) == 100
    assert total_budget(MessageType.QUESTION, config, 8000) == 700


def test_at_2000_the_channels_get_the_seed_base_budgets() -> None:
    budgets = channel_budgets(2000)
    assert {c: budgets[c] for c in CHANNELS} == {"A": 500, "B": 1300, "C": 1500, "D": 200, "E": 500, "F": 800}
    assert budgets[IMPORTANT_KEY] == important_budget(2000) == 500


@pytest.mark.parametrize("total", [0, 1, 200, 500, 1999, 2000, 3000, 10_000, 123_457])
def test_channels_scale_uniformly_and_never_exceed_the_ratio(total: int) -> None:
    budgets = channel_budgets(total)
    for channel in CHANNELS:
        exact = BASE_BUDGETS[channel] * total / 2000
        assert exact - 1 < budgets[channel] <= exact
    assert budgets[IMPORTANT_KEY] <= budgets["C"]


def test_important_is_a_third_of_c() -> None:
    budgets = channel_budgets(3000)
    assert (budgets["C"], budgets[IMPORTANT_KEY]) == (2250, 750)


def test_negative_budget_is_an_error() -> None:
    with pytest.raises(ValueError, match="negative"):
        channel_budgets(-1)


def test_fit_keeps_whole_items_in_order() -> None:
    items = ["a b c", "d e", "f g h i", "j"]
    assert fit(items, 5, COUNTER) == (["a b c", "d e"], 5)
    assert fit(items, 6, COUNTER) == (["a b c", "d e"], 5)  # "j" would fit, but it ranks below "f g h i"
    assert fit(items, 100, COUNTER) == (items, 10)


def test_fit_truncates_only_a_first_item_that_does_not_fit() -> None:
    assert fit(["one two three four", "five"], 2, COUNTER) == (["one two"], 2)


@pytest.mark.parametrize("budget", [-5, 0])
def test_fit_with_no_budget_keeps_nothing(budget: int) -> None:
    assert fit(["one", "two"], budget, COUNTER) == ([], 0)


@pytest.mark.parametrize("budget", range(0, 15))
@pytest.mark.parametrize(
    "items",
    [
        [],
        ["x"],
        ["a b c d e f g h"],
        ["a b", "c d e", "f", "g h i j", "k"],
        ["", "a b c"],
        ["日本語 の テキスト", "b"],
    ],
)
def test_fit_properties(items: list[str], budget: int) -> None:
    kept, used = fit(items, budget, COUNTER)
    assert used == sum(COUNTER.count(item) for item in kept) <= max(budget, 0)
    assert len(kept) <= len(items)
    # Everything but the first item is kept verbatim, and the kept items are a prefix.
    assert kept[1:] == items[1 : len(kept)]
    if kept and kept[0] != items[0]:
        assert items[0].startswith(kept[0])
