"""How a reply is decoded beyond greedy/sampling: the guards against a tiny model's loops. Pure.

A 135M model decoding greedily falls into loops ("I'm designed to be helpful, and I'm designed to
be helpful, …" until the token cap). Three guards, each cheap:

- a repetition penalty on the tokens the reply has already produced (not the prompt's: the
  answer is usually a name or code copied from the prompt, and penalising those breaks it);
- no n-gram repeated within the reply (again the reply only, so copying a prompt span still works);
- stop sequences: text that only appears when the model starts writing the next turn itself.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Generator, Iterable, Sequence

DEFAULT_STOP = ("<|im_start|>", "<|im_end|>", "\nUser:", "\nuser:", "\nHuman:", "\n[")
"""Text that means the model has started writing the next turn. The chat template's turn markers
(in case they come out as text), the plain-text role labels small models invent, and a line
starting with ``[``: agent-runner frames a peer's earlier messages as ``[peer] text``, so a model
that imitates the history starts its invented next turn that way."""


@dataclasses.dataclass(frozen=True)
class Decoding:
    """The loop guards applied to every generation."""

    repetition_penalty: float = 1.0
    """Divides the logits of tokens the reply already holds (1.0: off)."""
    no_repeat_ngram_size: int = 0
    """No n-gram of this many tokens appears twice in the reply (0: off)."""


def banned_next_tokens(generated: Sequence[int], size: int) -> set[int]:
    """Tokens that would complete an n-gram of ``size`` already present in ``generated``.

    The n-gram's first ``size - 1`` tokens are the reply's last ``size - 1``; every earlier place
    where that prefix occurred names a token that may not follow it again.
    """
    if size < 1 or len(generated) < size - 1:
        return set()
    if size == 1:
        return set(generated)
    prefix = tuple(generated[len(generated) - size + 1 :])
    banned: set[int] = set()
    # Earlier occurrences only: the last window is the prefix itself and has no follower yet.
    for start in range(len(generated) - size + 1):
        if tuple(generated[start : start + size - 1]) == prefix:
            banned.add(generated[start + size - 1])
    return banned


def cut_at_stop(pieces: Iterable[str], stop: Sequence[str]) -> Generator[str, None, None]:
    """The pieces up to (not including) the first stop sequence; then ``pieces`` is closed.

    Text that could still turn into a stop sequence is held back until the next piece decides,
    so a stop sequence split across pieces never leaks its first half.
    """
    stops = [s for s in stop if s]
    source = iter(pieces)
    try:
        pending = ""
        for piece in source:
            pending += piece
            found = [i for i in (pending.find(s) for s in stops) if i >= 0]
            if found:
                if head := pending[: min(found)]:
                    yield head
                return
            # Keep the end that may be the start of a stop sequence; send the rest.
            safe = len(pending) - _partial_stop(pending, stops)
            if safe > 0:
                yield pending[:safe]
                pending = pending[safe:]
        if pending:
            yield pending
    finally:
        # Stopped early (a stop sequence, or the reader went away): stop the model now.
        close = getattr(source, "close", None)
        if close is not None:
            close()


def _partial_stop(text: str, stops: Sequence[str]) -> int:
    """Length of the longest end of ``text`` that begins some stop sequence (0: none)."""
    longest = 0
    for stop in stops:
        for size in range(min(len(stop) - 1, len(text)), longest, -1):
            if text.endswith(stop[:size]):
                longest = size
                break
    return longest
