"""How a tool is declared: a name, a description, an argument Struct (its schema), and a function."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from animas_agent_runner.ports import ToolSpec
from animas_agent_runner.toolbox.context import ToolContext
from animas_agent_runner.toolbox.errors import ToolFailed


class Args(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Base of tool arguments: unknown fields are a clear error, not silently ignored."""


ToolFunction = Callable[[ToolContext, Any, int], Awaitable[str]]
"""``(context, arguments, ordinal) -> text for the model``; raises ToolDenied or ToolFailed."""


@dataclasses.dataclass(frozen=True)
class Tool:
    """One tool of the surface.

    ``own`` tools act on the anima's own memory, messages, tasks and skills: they are available
    unless permissions.md lists them as unavailable. The others (workspace files and commands,
    external tools) must be granted (DESIGN §8, default deny).
    """

    name: str
    description: str
    args: type[Args]
    run: ToolFunction
    own: bool = True
    refusal: str | None = None
    """Why this cycle may not use it whatever permissions.md says (e.g. notifications are off)."""
    permission: str | None = None
    """The name permissions.md grants it by; None: the tool's own name."""
    guide: str | None = None
    """One line for the prompt's tool section (external tools), after the tool's name."""
    external: bool = False
    """It reaches outside the organization (toolbox/external): needs a grant, but no workspace."""

    def spec(self) -> ToolSpec:
        """What the model is told about this tool: the JSON Schema comes from the Struct itself."""
        return ToolSpec(name=self.name, description=self.description, parameters=_schema(self.args))

    def parse(self, arguments: dict[str, Any]) -> Args:
        """Arguments as the Struct, or :class:`ToolFailed` naming what is wrong."""
        try:
            return msgspec.convert(arguments, type=self.args)
        except msgspec.ValidationError as exc:
            raise ToolFailed(f"invalid arguments for {self.name}: {exc}") from None


def _schema(args: type[Args]) -> dict[str, Any]:
    document = msgspec.json.schema(args)
    definitions: dict[str, Any] = document.get("$defs", {})
    schema = dict(definitions.get(args.__name__, document))
    schema.pop("title", None)
    schema.setdefault("properties", {})
    schema.setdefault("required", [])
    return schema
