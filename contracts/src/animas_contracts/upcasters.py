"""Upcasters: pure ``dict -> dict`` functions that lift a stored payload one version up.

The key is ``(type, from_version)``; the function returns the payload at ``from_version + 1``.
The registry applies them in a chain on read, so consumers only ever see the current version.
Golden payloads of every version are pinned in ``contracts/tests/golden`` and never edited.

Every event type is still at version 1, so the chain is empty; the mechanism itself is tested
with a registry built around a test-only event type (contracts/tests/test_registry.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Payload = dict[str, Any]
Upcaster = Callable[[Payload], Payload]

UPCASTERS: Mapping[tuple[str, int], Upcaster] = {}
