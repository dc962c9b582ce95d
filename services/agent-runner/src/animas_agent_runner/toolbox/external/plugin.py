"""The one interface every external tool implements (issue #17 item 3).

A tool that reaches outside the organization is a module with a :class:`Plugin`: its name, the
permission that grants it (the name permissions.md lists under Available Tools), what the model
is told about it, a one-line guide for the prompt, its arguments (a msgspec Struct: the JSON
Schema the model sees), and ``configure``, which turns config.json into the tool's ``call`` or
says why the tool is not configured. ``call(args, http)`` does its work through the
``httpx.AsyncClient`` it is given, so tests point it at a local fake server; base URLs and keys
come from config, never from the model.

:func:`~animas_agent_runner.toolbox.external.external_tools` registers the plugins as tools of the
one surface every mode uses: denied unless granted, each call a ``tool.used`` event, and the
result framed as untrusted content from outside before the model reads it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from animas_agent_runner.toolbox.errors import ToolFailed
from animas_agent_runner.toolbox.registry import Args
from animas_core.config import AnimaWorksConfig

Call = Callable[[Any, httpx.AsyncClient], Awaitable[str]]
"""``(arguments, http) -> text`` of a configured tool; raises ToolFailed or ToolDenied."""


@dataclasses.dataclass(frozen=True)
class Plugin:
    """One external tool, as its module declares it."""

    name: str
    permission: str
    """What permissions.md lists under Available Tools to grant it."""
    description: str
    """The tool's description in the model's tool list."""
    guide: str
    """One line for the prompt's tool section: when to use it."""
    origin: str
    """Where its results come from, as the untrusted label says (e.g. ``the web, via a search provider``)."""
    args: type[Args]
    configure: Callable[[AnimaWorksConfig], Call | str]
    """The tool's call under this config, or why it is not configured (shown as the refusal)."""


def api_key(config: AnimaWorksConfig, credential: str | None) -> str | None:
    """The key of ``credential`` (from config.json or the environment), or None when there is none."""
    found = config.credential(credential)
    if found is None or found.api_key is None:
        return None
    key = found.api_key.get_secret_value()
    return key or None


def answered(response: httpx.Response, what: str) -> Any:
    """The JSON body of a successful response, or ToolFailed naming the status (never the body)."""
    if response.status_code >= 400:
        hint = {
            401: " (the key was refused)",
            403: " (forbidden)",
            404: " (not found)",
            429: " (rate limited)",
        }
        raise ToolFailed(f"{what} answered HTTP {response.status_code}{hint.get(response.status_code, '')}")
    try:
        return response.json()
    except ValueError:
        raise ToolFailed(f"{what} did not answer with JSON") from None


def clip(text: object, limit: int) -> str:
    """``text`` on one line, at most ``limit`` characters."""
    flat = " ".join(str(text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
