r"""Checks of the values a client sends, field by field. Pure: no I/O.

Much of what a client sends ends up in an anima's Markdown files (a supervisor's name in
injection.md and bootstrap.md, a sender in an episode's title) or in its prompt. A line break
there is a new line of the file: a new heading, a new instruction. So a one-line field refuses
every line break Unicode knows (not only ``\n``: ``str.splitlines`` and Markdown renderers also
break at ``\r``, ``\x0b``, ``\x1c``, ``\x85``, U+2028 …) and every other control character;
a text field (a message, identity.md) keeps ``\n``, ``\t`` and ``\r\n`` and refuses the rest.
"""

from __future__ import annotations

import re
import unicodedata

MODEL_NAME = re.compile(
    r"^(?:[a-z0-9][a-z0-9_.-]*(?:/[A-Za-z0-9][A-Za-z0-9._:@+-]*)+|claude-[A-Za-z0-9._:@-]+)$"
)
"""A litellm model name (``provider/model``, e.g. ``openai/gpt-4o``, ``ollama/llama3.2:3b``,
``openrouter/meta-llama/llama-3-70b``) or a bare Claude name (``claude-sonnet-4-5``)."""
MAX_MODEL_NAME_CHARS = 200

THREAD_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")
"""Letters, digits, ``.``, ``_``, ``:`` and ``-``: a uuid, or a client's own id, never a path or a line."""

IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9._~:+/=-]{1,128}$")
"""Up to 128 printable ASCII characters without spaces: a uuid, base64 or a client's own id."""
MAX_IDEMPOTENCY_KEY_CHARS = 128

MAX_SENDER_CHARS = 200
MAX_REASON_CHARS = 500

# Bidirectional overrides and isolates reorder how text is shown (the "trojan source" trick):
# nothing a client names here needs them.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_TEXT_ALLOWED = frozenset("\n\t")


class FieldError(ValueError):
    """A field value the gateway refuses (422), with a message that names the field."""


def _refused_character(value: str, allowed: frozenset[str]) -> tuple[int, str] | None:
    for index, char in enumerate(value):
        if char in allowed:
            continue
        if char == "\r" and "\n" in allowed and value[index + 1 : index + 2] == "\n":
            continue  # a Windows line end is a line end
        category = unicodedata.category(char)
        if category in ("Cc", "Cs", "Zl", "Zp") or char in _BIDI_CONTROLS:
            return index, char
    return None


def one_line(field: str, value: str, max_chars: int, *, allow_empty: bool = False) -> str:
    """``value`` if it is one line of at most ``max_chars`` characters without control characters."""
    if not allow_empty and not value.strip():
        raise FieldError(f"{field!r} must not be empty")
    if len(value) > max_chars:
        raise FieldError(f"{field!r} is longer than {max_chars} characters (the limit)")
    refused = _refused_character(value, frozenset())
    if refused is not None:
        index, char = refused
        raise FieldError(
            f"{field!r} must be one line without control characters; "
            f"it has U+{ord(char):04X} at character {index}"
        )
    return value


def text(field: str, value: str, *, max_chars: int | None = None, max_bytes: int | None = None) -> str:
    """``value`` if it is text (lines, tabs) without other control characters, within the limits."""
    if not value.strip():
        raise FieldError(f"{field!r} must not be empty")
    if max_chars is not None and len(value) > max_chars:
        raise FieldError(f"{field!r} is longer than {max_chars} characters (the limit)")
    if max_bytes is not None and len(value.encode("utf-8", errors="surrogatepass")) > max_bytes:
        raise FieldError(f"{field!r} is larger than {max_bytes} bytes of UTF-8 (the limit)")
    refused = _refused_character(value, _TEXT_ALLOWED)
    if refused is not None:
        index, char = refused
        raise FieldError(
            f"{field!r} has the control character U+{ord(char):04X} at character {index}; "
            "text may hold line breaks and tabs, nothing else of the kind"
        )
    return value


def model_name(value: str) -> str:
    """``value`` if it is a model name litellm understands (see :data:`MODEL_NAME`)."""
    if len(value) > MAX_MODEL_NAME_CHARS or not MODEL_NAME.fullmatch(value):
        shown = value if len(value) <= 80 else value[:80] + "…"
        raise FieldError(
            f"'model' {shown!r} is not a model name: use provider/model as litellm names it "
            "(e.g. 'openai/gpt-4o-mini', 'anthropic/claude-sonnet-4-5', 'ollama/llama3.2') "
            f"or a bare Claude name, at most {MAX_MODEL_NAME_CHARS} characters"
        )
    return value


def thread_id(value: str, max_chars: int) -> str:
    """``value`` if it is a thread id of at most ``max_chars`` characters (see :data:`THREAD_ID`)."""
    if len(value) > max_chars:
        raise FieldError(f"'thread_id' is longer than {max_chars} characters (the limit)")
    if not THREAD_ID.fullmatch(value):
        raise FieldError("'thread_id' may hold only letters, digits, '.', '_', ':' and '-'")
    return value


def idempotency_key(field: str, value: str) -> str:
    """``value`` if it is an idempotency key (see :data:`IDEMPOTENCY_KEY`)."""
    if len(value) > MAX_IDEMPOTENCY_KEY_CHARS:
        raise FieldError(f"{field!r} is longer than {MAX_IDEMPOTENCY_KEY_CHARS} characters (the limit)")
    if not IDEMPOTENCY_KEY.fullmatch(value):
        raise FieldError(
            f"{field!r} must be 1 to {MAX_IDEMPOTENCY_KEY_CHARS} characters of letters, digits and ._~:+/=-"
        )
    return value
