"""Reading what the scripted model was asked: whose cycle a request is, what woke it, what its tools said.

Several animas share one scripted LLM in the organization tests; a rule or an assertion tells
their requests apart by the system prompt's first line and reads the conversation's tail.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

_NAME = re.compile(r"You are ([a-z][a-z0-9_-]*), an anima")


def content(message: Mapping[str, Any]) -> str:
    """A chat message's content as text (structured content as its JSON)."""
    value = message.get("content")
    return value if isinstance(value, str) else json.dumps(value)


def anima_of(body: Mapping[str, Any]) -> str:
    """The anima whose cycle made the request ("" when the prompt does not say)."""
    found = _NAME.search(json.dumps(body))
    return found.group(1) if found else ""


def since_last_user(body: Mapping[str, Any]) -> tuple[str, list[str]]:
    """The message that woke the anima, and the tool results its cycle got since."""
    messages = list(body.get("messages", []))
    last = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=-1)
    woke = content(messages[last]) if last >= 0 else ""
    return woke, [content(m) for m in messages[last + 1 :] if m.get("role") == "tool"]
