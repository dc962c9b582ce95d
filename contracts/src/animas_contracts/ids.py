"""Event ids: time-ordered uuid7 for new facts, name-derived ids for effects.

A redelivered event must produce effects with the same ids as the first delivery, so that
JetStream's duplicate window or the consumer drops the repeat (DESIGN §4). Effects therefore
never get random ids: they are derived from the id of what caused them.
"""

from __future__ import annotations

import os
import time
import uuid

# Fixed namespace for derived ids; changing it would change every derived id ever issued.
_DERIVED_NAMESPACE = uuid.UUID("6f1c2a3e-5b4d-4e8f-9a0b-1c2d3e4f5a6b")


def uuid7() -> str:
    """Return a new RFC 9562 version 7 UUID: 48 bits of Unix milliseconds, then randomness."""
    unix_ms = (time.time_ns() // 1_000_000) & ((1 << 48) - 1)
    rand = int.from_bytes(os.urandom(10), "big")
    rand_a = (rand >> 62) & 0xFFF
    rand_b = rand & ((1 << 62) - 1)
    value = unix_ms << 80 | 0x7 << 76 | rand_a << 64 | 0b10 << 62 | rand_b
    return str(uuid.UUID(int=value))


def derive_id(parent_id: str, *parts: str | int) -> str:
    """Return the id of an effect of ``parent_id``: the same inputs always give the same id.

    Example: the reply to message M is ``derive_id(M.id, "reply")``; the n-th LLM call of a
    cycle is ``derive_id(cycle_id, "llm", n)``.
    """
    name = "/".join([parent_id, *(str(p) for p in parts)])
    return str(uuid.uuid5(_DERIVED_NAMESPACE, name))
