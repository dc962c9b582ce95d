"""Token counts measured by a real tokenizer, never estimated from characters (DESIGN §8).

The prompt is measured with tiktoken's ``cl100k_base``, loaded from the copy litellm bundles so
that no network is needed: litellm points ``TIKTOKEN_CACHE_DIR`` at its own files before loading
the encoding, whereas a bare ``tiktoken.get_encoding`` would download it. One encoding for every
model keeps tiers and trimming deterministic for replay; providers' own tokenizers differ by a few
percent, which the budget share (:data:`~animas_agent_runner.prompt.builder.MAX_PROMPT_SHARE`)
leaves room for. Japanese text costs roughly one token per character here, four times what a
chars/4 estimate would say.
"""

from __future__ import annotations

import functools
import os
from typing import Protocol, cast


class _Encoding(Protocol):
    def encode(self, text: str, *, disallowed_special: tuple[str, ...]) -> list[int]: ...


@functools.cache
def _encoding() -> _Encoding:
    # Loaded on first use: importing litellm takes seconds, and most importers of this package
    # (tests of other modules, the CLI) never count a token.
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # noqa: TID251 (offline price list)
    from litellm.litellm_core_utils.default_encoding import encoding

    return cast(_Encoding, encoding)


def count_tokens(text: str) -> int:
    """The number of ``cl100k_base`` tokens in ``text``.

    Text that looks like a special token (``<|endoftext|>``) is counted as ordinary text: prompts
    quote messages and files, and their content must never be rejected or read as control tokens.
    """
    if not text:
        return 0
    return len(_encoding().encode(text, disallowed_special=()))
