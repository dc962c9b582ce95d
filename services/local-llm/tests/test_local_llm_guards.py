"""The loop guards reach transformers' ``generate`` and count the reply's tokens only, not the prompt's.

No weights: a stand-in for the transformers model records what ``generate`` was given.
"""

from __future__ import annotations

from typing import Any

import torch

from animas_local_llm.decoding import Decoding
from animas_local_llm.model import SmolLM2, loop_guards

PROMPT = [5, 6, 7, 8]
IM_END, IM_START = 2, 1


def _scores(vocabulary: int = 12) -> torch.FloatTensor:
    return torch.ones((1, vocabulary))  # type: ignore[return-value]


def _ids(tokens: list[int]) -> torch.LongTensor:
    return torch.tensor([tokens])  # type: ignore[return-value]


def test_copying_a_span_of_the_prompt_is_allowed_repeating_the_replys_own_is_not() -> None:
    guards = loop_guards(Decoding(no_repeat_ngram_size=3), prompt_length=len(PROMPT))
    # The reply copies 5 6 from the prompt: 7 may follow, as it did in the prompt.
    copying = guards(_ids([*PROMPT, 5, 6]), _scores())
    assert torch.isfinite(copying[0, 7])
    # The reply said 9 10 11 and is at 9 10 again: 11 is banned, nothing else.
    looping = guards(_ids([*PROMPT, 9, 10, 11, 9, 10]), _scores())
    assert torch.isinf(looping[0, 11]) and int(torch.isinf(looping).sum()) == 1


def test_the_repetition_penalty_spares_the_prompts_tokens() -> None:
    guards = loop_guards(Decoding(repetition_penalty=2.0), prompt_length=len(PROMPT))
    scores = guards(_ids([*PROMPT, 9]), _scores())
    assert scores[0, 9] == 0.5 and scores[0, 5] == 1.0
    assert len(loop_guards(Decoding(), prompt_length=4)) == 0  # both off: nothing in the way


class FakeTokenizer:
    eos_token_id = IM_END
    unk_token_id = 0

    def convert_tokens_to_ids(self, token: str) -> int:
        return IM_START if token == "<|im_start|>" else self.unk_token_id

    def apply_chat_template(self, messages: Any, **kwargs: Any) -> dict[str, torch.Tensor]:
        return {"input_ids": torch.tensor([PROMPT]), "attention_mask": torch.ones((1, len(PROMPT)))}

    def decode(self, tokens: Any, **kwargs: Any) -> str:
        return ""


class RecordingModel:
    def __init__(self) -> None:
        self.kwargs: dict[str, Any] = {}

    def generate(self, **kwargs: Any) -> None:
        self.kwargs = kwargs
        kwargs["streamer"].end()


def test_the_configured_guards_and_both_turn_markers_reach_generate() -> None:
    recording = RecordingModel()
    model = SmolLM2(
        recording,  # type: ignore[arg-type]
        FakeTokenizer(),
        from_cache=True,
        decoding=Decoding(repetition_penalty=1.1, no_repeat_ngram_size=4),
    )
    assert list(model.generate([{"role": "user", "content": "hi"}], 16, 0.0)) == []
    sent = recording.kwargs
    assert sent["max_new_tokens"] == 16 and sent["do_sample"] is False
    assert sent["eos_token_id"] == [IM_END, IM_START]
    kinds = [type(g).__name__ for g in sent["logits_processor"]]
    assert kinds == ["RepetitionPenaltyLogitsProcessor", "_NoRepeatInReply"]
    assert sent["logits_processor"][0].prompt_ignore_length == len(PROMPT)
