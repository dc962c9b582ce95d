"""Tool calls made inside a cycle, and streamed model output."""

from __future__ import annotations

import enum
from typing import Annotated, Any

from msgspec import Meta

from animas_contracts.envelope import Event


class ToolStatus(enum.StrEnum):
    """How a tool call ended."""

    OK = "ok"
    DENIED = "denied"
    """The anima's permissions (or a protected-file rule) refused it; nothing was done."""
    ERROR = "error"
    """The call was allowed but failed (bad arguments, missing file, command failure)."""


class ToolUsed(Event, frozen=True, kw_only=True, tag="tool.used"):
    """One tool call: what the model asked for and what it got back (seed 003 §4.10 ``tool_use``).

    Its id is derived from the cycle and the call's position, so a redelivered cycle records the
    same call once. Arguments and results are truncated; secrets never enter them.
    """

    cycle_id: Annotated[str, Meta(description="The cycle that made the call.")]
    ordinal: Annotated[int, Meta(description="Position of the call within its cycle, from 0.")]
    tool: Annotated[str, Meta(description="The tool's name, e.g. write_memory_file.")]
    arguments: Annotated[dict[str, Any], Meta(description="The arguments (long strings truncated).")]
    status: Annotated[ToolStatus, Meta(description="ok, denied or error.")]
    result: Annotated[str, Meta(description="What the model was told (truncated).")] = ""
    reason: Annotated[str | None, Meta(description="Why it was denied or failed, if it was.")] = None
    call_id: Annotated[str | None, Meta(description="The provider's id of the tool call.")] = None
    background_task: Annotated[
        str | None,
        Meta(
            description="Set when the call ran past its threshold and went on in the background: "
            "the task id its ``tool.background.finished`` carries (the model was handed it)."
        ),
    ] = None
    background_runner: Annotated[
        str | None,
        Meta(
            description="The agent-runner process running a background call (its health record "
            "names it): once that process is gone, the call is recorded as interrupted."
        ),
    ] = None


class BackgroundStatus(enum.StrEnum):
    """How a tool call that went on in the background ended."""

    OK = "ok"
    ERROR = "error"
    """The tool failed (its error says why)."""
    INTERRUPTED = "interrupted"
    """agent-runner stopped while it ran; it did not finish and will not."""


class ToolBackgroundFinished(Event, frozen=True, kw_only=True, tag="tool.background.finished"):
    """A tool call handed to the background has ended (seed 003 ``background_task``).

    Published under the anima's subject with the cycle's correlation id; its id is derived from
    the task id, so the result is recorded once. Priming shows it in the anima's next cycle.
    """

    task_id: Annotated[str, Meta(description="The handle the model was given.")]
    cycle_id: Annotated[str, Meta(description="The cycle that made the call.")]
    tool: Annotated[str, Meta(description="The tool's name.")]
    arguments: Annotated[dict[str, Any], Meta(description="The call's arguments (long strings truncated).")]
    status: Annotated[BackgroundStatus, Meta(description="ok, error or interrupted.")]
    result: Annotated[str, Meta(description="The tool's result (bounded).")] = ""
    error: Annotated[str | None, Meta(description="Why it failed or stopped, if it did.")] = None
    call_id: Annotated[str | None, Meta(description="The provider's id of the tool call.")] = None


class BackgroundResultDelivered(Event, frozen=True, kw_only=True, tag="priming.background.delivered"):
    """Priming showed a background result to a cycle; no later cycle is shown it again.

    Its id is derived from the task id, so a redelivered cycle's priming records it once.
    """

    task_id: Annotated[str, Meta(description="The background task whose result was shown.")]
    cycle_id: Annotated[str, Meta(description="The cycle whose priming showed it.")]


class DeltaKind(enum.StrEnum):
    """What a piece of streamed output is."""

    TEXT = "text"
    TOOL_START = "tool_start"
    TOOL_END = "tool_end"
    DONE = "done"


class ModelDelta(Event, frozen=True, kw_only=True, tag="model.delta"):
    """A piece of model output as it streams (``delta.<anima>``, the write-ahead journal).

    Stored on the short-lived ``DELTAS`` stream, not the activity log. ``seq`` orders the pieces
    of one cycle; ``text`` holds the new text for ``text`` pieces and the tool name for tool pieces.
    """

    cycle_id: Annotated[str, Meta(description="The cycle producing the output.")]
    in_reply_to: Annotated[
        str | None, Meta(description="The message the cycle answers, when it answers one.")
    ] = None
    seq: Annotated[int, Meta(description="Position of this piece within the cycle, from 0.")]
    kind: Annotated[DeltaKind, Meta(description="text, tool_start, tool_end or done.")] = DeltaKind.TEXT
    text: Annotated[str, Meta(description="New text, or the tool name for tool pieces.")] = ""
    attempt: Annotated[
        int, Meta(description="Delivery attempt of the cycle; a retried cycle streams again from seq 0.")
    ] = 1
