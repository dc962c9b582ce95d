"""SmolLM2-135M-Instruct on CPU torch: the bundled model behind the :class:`LocalModel` port."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import torch
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    LogitsProcessor,
    LogitsProcessorList,
    PreTrainedModel,
    RepetitionPenaltyLogitsProcessor,
    StoppingCriteria,
    StoppingCriteriaList,
    TextIteratorStreamer,
)

from animas_local_llm.cache import ensure_cache
from animas_local_llm.decoding import Decoding, banned_next_tokens
from animas_local_llm.ports import MODEL_NAME, ChatMessage

_log = logging.getLogger(__name__)


class _StopFlag(StoppingCriteria):
    """Ends a generation between two tokens once ``event`` is set (the client went away)."""

    def __init__(self, event: threading.Event) -> None:
        self._event = event

    def __call__(
        self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs: Any
    ) -> torch.BoolTensor:
        stop = torch.full((input_ids.shape[0],), self._event.is_set(), dtype=torch.bool)
        return stop  # type: ignore[return-value]


class _NoRepeatInReply(LogitsProcessor):
    """Forbids the token that would repeat an n-gram of the reply; the prompt's n-grams stay allowed.

    transformers' own ``no_repeat_ngram_size`` counts the prompt too, which would forbid copying a
    code or a name from the memories in the prompt: exactly the answers a tiny model is for.
    """

    def __init__(self, size: int, prompt_length: int) -> None:
        self._size = size
        self._prompt_length = prompt_length

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        for row in range(input_ids.shape[0]):
            reply = input_ids[row, self._prompt_length :].tolist()
            banned = banned_next_tokens(reply, self._size)
            if banned:
                scores[row, sorted(banned)] = -float("inf")
        return scores


def loop_guards(decoding: Decoding, prompt_length: int) -> LogitsProcessorList:
    """The logits processors that keep a reply out of loops, counting the reply's tokens only."""
    guards = LogitsProcessorList()
    if decoding.repetition_penalty != 1.0:
        guards.append(
            RepetitionPenaltyLogitsProcessor(decoding.repetition_penalty, prompt_ignore_length=prompt_length)
        )
    if decoding.no_repeat_ngram_size > 0:
        guards.append(_NoRepeatInReply(decoding.no_repeat_ngram_size, prompt_length))
    return guards


def configure_threads(threads: int) -> int:
    """Give torch ``threads`` intra-op threads (0: half the CPUs this process may use); return the count.

    A 135M model gains little from more threads: on two cores one thread decoded ~15 tokens/s and
    two threads no faster, while the other services (priming's embedder above all) share the
    machine. One inter-op thread: generating one sequence has no independent operators to overlap.
    """
    available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    count = threads if threads > 0 else max(1, available // 2)
    torch.set_num_threads(count)
    with contextlib.suppress(RuntimeError):  # only allowed before the process's first parallel work
        torch.set_num_interop_threads(1)
    return count


class SmolLM2:
    """The model, loaded from the converted cache; generations are serialised by a lock."""

    def __init__(
        self, model: PreTrainedModel, tokenizer: Any, *, from_cache: bool, decoding: Decoding | None = None
    ) -> None:
        self._model = model
        self._tokenizer = tokenizer
        self._from_cache = from_cache
        self._decoding = decoding or Decoding()
        self._lock = threading.Lock()
        # The chat template's end of turn, and the start of a new one: a tiny model sometimes skips
        # the first and writes the next (user) turn itself.
        markers = [tokenizer.eos_token_id, tokenizer.convert_tokens_to_ids("<|im_start|>")]
        unknown = tokenizer.unk_token_id
        self._end_ids = [i for i in dict.fromkeys(markers) if isinstance(i, int) and i != unknown]

    @classmethod
    def load(cls, gguf: Path, cache: Path, decoding: Decoding | None = None) -> SmolLM2:
        """Convert ``gguf`` into ``cache`` unless done before, then load from the cache."""
        started = time.monotonic()
        from_cache = ensure_cache(gguf, cache)
        tokenizer = AutoTokenizer.from_pretrained(str(cache))
        # from_pretrained returns the model in eval mode (no dropout), which generation needs.
        model = AutoModelForCausalLM.from_pretrained(str(cache), dtype=torch.float32)
        _log.info(
            "model loaded",
            extra={
                "model": MODEL_NAME,
                "from_cache": from_cache,
                "seconds": round(time.monotonic() - started, 2),
            },
        )
        return cls(model, tokenizer, from_cache=from_cache, decoding=decoding)

    @property
    def name(self) -> str:
        return MODEL_NAME

    @property
    def from_cache(self) -> bool:
        return self._from_cache

    @property
    def context_window(self) -> int:
        return int(self._model.config.max_position_embeddings)

    def _encode(self, messages: Sequence[ChatMessage]) -> dict[str, torch.Tensor]:
        encoded = self._tokenizer.apply_chat_template(
            list(messages), add_generation_prompt=True, return_tensors="pt", return_dict=True
        )
        return {"input_ids": encoded["input_ids"], "attention_mask": encoded["attention_mask"]}

    def count_prompt_tokens(self, messages: Sequence[ChatMessage]) -> int:
        return int(self._encode(messages)["input_ids"].shape[1])

    def count_tokens(self, text: str) -> int:
        return len(self._tokenizer.encode(text, add_special_tokens=False))

    def generate(
        self, messages: Sequence[ChatMessage], max_new_tokens: int, temperature: float
    ) -> Iterator[str]:
        inputs = self._encode(messages)
        guards = loop_guards(self._decoding, int(inputs["input_ids"].shape[1]))
        streamer = TextIteratorStreamer(self._tokenizer, skip_prompt=True, skip_special_tokens=True)
        stop = threading.Event()
        failure: list[BaseException] = []
        sampling: dict[str, Any] = (
            {"do_sample": True, "temperature": temperature} if temperature > 0 else {"do_sample": False}
        )

        def run() -> None:
            try:
                with torch.inference_mode():
                    self._model.generate(  # type: ignore[operator]
                        **inputs,
                        **sampling,
                        max_new_tokens=max_new_tokens,
                        streamer=streamer,
                        logits_processor=guards,
                        stopping_criteria=StoppingCriteriaList([_StopFlag(stop)]),
                        eos_token_id=self._end_ids,
                        pad_token_id=self._tokenizer.eos_token_id,
                    )
            except BaseException as exc:  # reported to the reader, who would otherwise wait forever
                failure.append(exc)
                streamer.end()  # type: ignore[no-untyped-call]

        with self._lock:
            worker = threading.Thread(target=run, name="smollm2-generate", daemon=True)
            worker.start()
            try:
                for piece in streamer:
                    if piece:
                        yield piece
                if failure:
                    raise failure[0]
            finally:
                # Closed early (client gone): the stopping criterion ends the generation at the next
                # token; the streamer's queue is unbounded, so the worker never blocks on it.
                stop.set()
                worker.join()
