"""The tool surface: the tools this cycle may use, each call checked, run and recorded."""

from __future__ import annotations

import logging
from typing import Any

from animas_agent_runner.domain import PRODUCER
from animas_agent_runner.ports import ToolCall, ToolResult, ToolSpec
from animas_agent_runner.toolbox.background import (
    BackgroundCall,
    BackgroundTasks,
    background_threshold,
    handle_text,
    task_id_for,
)
from animas_agent_runner.toolbox.context import CycleEffects, ToolContext
from animas_agent_runner.toolbox.effects import settle
from animas_agent_runner.toolbox.errors import ToolDenied, ToolFailed
from animas_agent_runner.toolbox.registry import Tool
from animas_contracts import ToolStatus, ToolUsed, derive_id
from animas_core.config_model import BackgroundTaskConfig
from animas_core.errors import RetryableError

_log = logging.getLogger(__name__)

MAX_RESULT_CHARS = 20_000
"""A tool result longer than this is cut before it reaches the model."""
RECORDED_CHARS = 2_000
"""How much of arguments and results the ``tool.used`` event keeps."""


class ToolSurface:
    """Runs tool calls for one cycle; implements :class:`~animas_agent_runner.ports.ToolRunner`.

    A tool the permissions do not grant is not offered; if the model calls it anyway (or any
    other unknown name) the call is denied like any other refusal: a tool error the model reads,
    a ``tool.used`` event with status ``denied``, and nothing done. A call whose effect another
    service did not store or confirm is retried and then fails the cycle (toolbox/effects.py).
    A call of a tool eligible for the background that runs past its threshold is handed to
    ``background`` and the model gets its handle (toolbox/background.py).
    """

    def __init__(
        self,
        context: ToolContext,
        tools: tuple[Tool, ...],
        background: tuple[BackgroundTasks, BackgroundTaskConfig] | None = None,
    ) -> None:
        self._context = context
        self._background = background
        self._tools = {tool.name: tool for tool in tools}
        self._offered = tuple(tool for tool in tools if self._denial(tool) is None and self._present(tool))
        self._ordinal = 0

    @property
    def effects(self) -> CycleEffects:
        """What the tools did so far this cycle."""
        return self._context.effects

    def specs(self) -> tuple[ToolSpec, ...]:
        """The tools offered this cycle."""
        return tuple(tool.spec() for tool in self._offered)

    async def run(self, call: ToolCall) -> ToolResult:
        """Check, run and record one call."""
        ordinal = self._ordinal
        self._ordinal += 1
        status, text, reason, task_id = await self._execute(call, ordinal)
        effects = self._context.effects
        effects.tools_used.append(call.name)
        if status is ToolStatus.DENIED:
            effects.denied.append(call.name)
        await self._record(call, ordinal, status, text, reason, task_id)
        shown = text if len(text) <= MAX_RESULT_CHARS else text[:MAX_RESULT_CHARS] + "\n… (cut)"
        return ToolResult(
            call_id=call.id, name=call.name, content=shown, is_error=status is not ToolStatus.OK
        )

    async def _execute(self, call: ToolCall, ordinal: int) -> tuple[ToolStatus, str, str | None, str | None]:
        """The call's status, the model's text, the reason of a refusal or failure, the task id."""
        tool = self._tools.get(call.name)
        if tool is None:
            reason = f"there is no tool named {call.name!r}"
            return ToolStatus.DENIED, f"Refused: {reason}.", reason, None
        denial = self._denial(tool) or (None if self._present(tool) else "no workspace is configured")
        if denial is not None:
            return ToolStatus.DENIED, f"Refused: {denial}.", denial, None
        if call.arguments_error is not None:
            reason = f"the arguments are not a JSON object: {call.arguments_error}"
            return ToolStatus.ERROR, f"Error: {reason}", reason, None
        context = self._context
        try:
            arguments = tool.parse(call.arguments)
            work = settle(tool.name, lambda: tool.run(context, arguments, ordinal), context.effect_retry)
            if self._background is None:
                return ToolStatus.OK, await work, None, None
            tasks, config = self._background
            threshold = background_threshold(config, tool.name, own=tool.own)
            task_id = task_id_for(context.cycle_id, ordinal)
            describe = BackgroundCall(
                task_id=task_id,
                anima=context.anima,
                cycle_id=context.cycle_id,
                correlation_id=context.correlation_id,
                tool=tool.name,
                arguments=_clip(call.arguments),
                call_id=call.id,
            )
            text = await tasks.run(work, threshold, describe)
            if text is None:
                assert threshold is not None  # only a call with a threshold is handed over
                return ToolStatus.OK, handle_text(task_id, tool.name, threshold), None, task_id
            return ToolStatus.OK, text, None, None
        except ToolDenied as exc:
            return ToolStatus.DENIED, f"Refused: {exc}", str(exc), None
        except ToolFailed as exc:
            return ToolStatus.ERROR, f"Error: {exc}", str(exc), None
        except RetryableError:
            # Still not stored or confirmed after the retries (see toolbox/effects.py): the cycle
            # fails and is redelivered. Neither the model nor the tool.used record may say "done",
            # and a record of the failure would take the derived id the redelivered call needs.
            raise
        except Exception as exc:
            # A bug in a tool must not end the cycle: the model hears it failed, the log has it.
            _log.exception("tool %s failed", call.name)
            reason = f"{type(exc).__name__}: {exc}"
            return ToolStatus.ERROR, f"Error: the tool failed unexpectedly ({reason})", reason, None

    def guides(self) -> tuple[str, ...]:
        """The prompt's guide lines of the offered tools that have one (``name: guide``)."""
        return tuple(f"{tool.name}: {tool.guide}" for tool in self._offered if tool.guide)

    def _denial(self, tool: Tool) -> str | None:
        permission = tool.permission or tool.name
        return tool.refusal or self._context.permissions.tool_allowed(permission, own_tool=tool.own)

    def _present(self, tool: Tool) -> bool:
        return tool.own or tool.external or self._context.workspace is not None

    async def _record(
        self,
        call: ToolCall,
        ordinal: int,
        status: ToolStatus,
        text: str,
        reason: str | None,
        task_id: str | None,
    ) -> None:
        context = self._context
        await context.publisher.publish(
            ToolUsed(
                id=derive_id(context.cycle_id, "tool.used", ordinal),
                anima=context.anima,
                correlation_id=context.correlation_id,
                causation_id=context.cycle_id,
                producer=PRODUCER,
                cycle_id=context.cycle_id,
                ordinal=ordinal,
                tool=call.name,
                arguments=_clip(call.arguments),
                status=status,
                result=text[:RECORDED_CHARS],
                reason=reason,
                call_id=call.id,
                background_task=task_id,
                background_runner=self._background[0].runner if task_id and self._background else None,
            )
        )


def _clip(arguments: dict[str, Any]) -> dict[str, Any]:
    """Arguments for the record: long strings cut, so an event stays small."""
    return {
        key: (
            value[:RECORDED_CHARS] + "…" if isinstance(value, str) and len(value) > RECORDED_CHARS else value
        )
        for key, value in arguments.items()
    }
