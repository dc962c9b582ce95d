"""Counting tokens with a real tokenizer: the embedding model's own (bundled, offline)."""

from __future__ import annotations

from pathlib import Path

from tokenizers import Tokenizer


class ModelTokenCounter:
    """Token counts from a Hugging Face ``tokenizer.json``.

    The count is the embedding model's (WordPiece), not the chat model's; it is a measured
    count of the same order as an LLM's, where chars/4 is a guess (DESIGN §8).
    """

    def __init__(self, tokenizer_file: Path) -> None:
        self._tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self._tokenizer.no_truncation()
        self._tokenizer.no_padding()  # the bundled tokenizer.json pads to 128 for the model

    def count(self, text: str) -> int:
        """Tokens in ``text`` (special tokens excluded)."""
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)

    def truncate(self, text: str, tokens: int) -> str:
        """The longest prefix of ``text`` with at most ``tokens`` tokens, cut at a token boundary."""
        if tokens <= 0:
            return ""
        encoding = self._tokenizer.encode(text, add_special_tokens=False)
        if len(encoding.ids) <= tokens:
            return text
        end = encoding.offsets[tokens - 1][1]
        return text[:end].rstrip() + "…"
