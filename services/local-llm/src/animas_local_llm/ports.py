"""What the HTTP layer needs from a model: the port, free of torch, so fakes can stand in for it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol, TypedDict

MODEL_NAME = "smollm2-135m-instruct"
"""The name the service answers to in ``/v1/models`` and in every completion."""


class ChatMessage(TypedDict):
    """One turn of a chat, already reduced to plain text (``role`` is system, user or assistant)."""

    role: str
    content: str


class LocalModel(Protocol):
    """A chat model that runs in this process. Calls block: the server runs them in a worker thread.

    Implementations need not be safe for concurrent generations: the server runs one at a time.
    """

    @property
    def name(self) -> str:
        """The model's name, as clients ask for it."""
        ...

    @property
    def from_cache(self) -> bool:
        """Whether the weights were loaded from a converted cache (not converted on this start)."""
        ...

    @property
    def context_window(self) -> int:
        """Tokens the prompt and the reply may use together."""
        ...

    def generate(
        self, messages: Sequence[ChatMessage], max_new_tokens: int, temperature: float
    ) -> Iterator[str]:
        """Stream the reply as text pieces; ``temperature`` 0 means greedy decoding.

        Closing the iterator early stops the generation before ``close()`` returns.
        """
        ...

    def count_prompt_tokens(self, messages: Sequence[ChatMessage]) -> int:
        """Tokens of the prompt the messages make (chat template included)."""
        ...

    def count_tokens(self, text: str) -> int:
        """Tokens of a piece of generated text."""
        ...
