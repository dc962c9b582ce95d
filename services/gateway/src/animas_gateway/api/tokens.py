"""Token counts with the tokenizer agent-runner measures prompts with: tiktoken's ``cl100k_base``.

The encoding's file is the copy litellm bundles (installed with agent-runner), found without
importing litellm, so no network is needed and the gateway does not pay litellm's import. Counts
are measured, never estimated from characters (DESIGN §8), and agree with a prompt's.
"""

from __future__ import annotations

import functools
import importlib.util
import os
from pathlib import Path
from typing import Protocol, cast


class _Encoding(Protocol):
    def encode(self, text: str, *, disallowed_special: tuple[str, ...]) -> list[int]: ...
    def decode(self, tokens: list[int]) -> str: ...


@functools.cache
def _encoding() -> _Encoding:
    spec = importlib.util.find_spec("litellm")
    if spec is not None and spec.submodule_search_locations:
        bundled = Path(next(iter(spec.submodule_search_locations))) / "litellm_core_utils" / "tokenizers"
        if bundled.is_dir():
            os.environ["TIKTOKEN_CACHE_DIR"] = str(bundled)  # noqa: TID251 (where tiktoken finds the file)
    import tiktoken

    return cast(_Encoding, tiktoken.get_encoding("cl100k_base"))


def count_tokens(text: str) -> int:
    """The number of ``cl100k_base`` tokens in ``text`` (special-looking text counts as text)."""
    if not text:
        return 0
    return len(_encoding().encode(text, disallowed_special=()))


def truncate_tokens(text: str, tokens: int) -> str:
    """The longest prefix of ``text`` with at most ``tokens`` tokens (``…`` marks a cut)."""
    if tokens <= 0:
        return ""
    ids = _encoding().encode(text, disallowed_special=())
    if len(ids) <= tokens:
        return text
    return _encoding().decode(ids[: max(tokens - 1, 0)]).rstrip() + "…"
