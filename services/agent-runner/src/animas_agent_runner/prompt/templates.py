"""The fixed texts of the prompt, kept as Markdown files under ``templates/`` (package data).

Keeping them out of the code lets a reader review the words an anima is given in one place, and
lets a diff of a template show exactly what changed in every prompt. Placeholders use
:class:`string.Template` syntax (``${name}``); a missing value is an error, never a blank.
"""

from __future__ import annotations

import functools
import string
from importlib import resources

TEMPLATE_NAMES = (
    "assisted_mode",
    "behaviour_rules",
    "emotion",
    "environment",
    "hiring_context",
    "hiring_rules",
    "human_notification",
    "memory_guide",
    "messaging",
    "task",
    "tool_loop_reflection",
    "tools",
)
"""Every template the builder uses (a test checks each one exists and renders)."""


@functools.cache
def _source(name: str) -> string.Template:
    if name not in TEMPLATE_NAMES:
        raise KeyError(f"no prompt template named {name!r}")
    # Read once per process from the installed package: the builder stays free of file I/O
    # in the sense that matters, since these files are part of the code, not of any anima.
    path = resources.files("animas_agent_runner.prompt").joinpath("templates", f"{name}.md")
    return string.Template(path.read_text(encoding="utf-8"))


def render(name: str, **values: str) -> str:
    """The template ``name`` with its placeholders filled, without surrounding blank lines.

    Raises:
        KeyError: There is no such template, or a placeholder has no value.
    """
    return _source(name).substitute(values).strip()
