"""report_procedure_outcome: a cycle says whether a procedure worked (procedures that learn, issue #13).

memory-writer counts the outcome (``procedure.outcome``: metadata, the Markdown is untouched);
a failure, or any outcome with a note, is also an entry of today's episode log titled
``Procedure failed: <path> — <note>``, which daily consolidation reads as the failure notes of a
procedure it revises.
"""

from __future__ import annotations

from animas_agent_runner.toolbox.context import ToolContext
from animas_agent_runner.toolbox.errors import ToolFailed
from animas_agent_runner.toolbox.memory_tools import request_op
from animas_agent_runner.toolbox.registry import Args, Tool
from animas_contracts import AppendEpisode, RecordOutcome

PROCEDURES = "procedures/"
NOTE_LIMIT = 300


class ReportProcedureOutcomeArgs(Args, frozen=True, kw_only=True):
    """Arguments of report_procedure_outcome."""

    path: str
    success: bool
    note: str = ""


def _procedure_path(path: str) -> str:
    clean = path.strip().lstrip("./")
    if not clean.startswith(PROCEDURES):
        clean = PROCEDURES + clean
    if not clean.endswith(".md"):
        raise ToolFailed(f"{path!r} is not a procedure file (procedures/<name>.md)")
    return clean


async def report_procedure_outcome(ctx: ToolContext, args: ReportProcedureOutcomeArgs, ordinal: int) -> str:
    """Count the outcome; log a failure (or a note) in today's episode log."""
    path = _procedure_path(args.path)
    note = " ".join(args.note.split())[:NOTE_LIMIT]
    await request_op(ctx, RecordOutcome(path=path, success=args.success), ordinal)
    word = "succeeded" if args.success else "failed"
    if args.success and not note:
        return f"Recorded: {path} {word}."
    title = f"Procedure {word}: {path}" + (f" — {note}" if note else "")
    entry = AppendEpisode(
        title=title,
        at=ctx.now(),
        trigger=ctx.trigger,
        decision=f"followed {path}",
        result=note or word,
    )
    await request_op(ctx, entry, ordinal, kind="memory.op.note")  # the call's second effect, its own id
    return f"Recorded: {path} {word}" + (f" ({note})." if note else ".")


PROCEDURE_TOOLS = (
    Tool(
        "report_procedure_outcome",
        "After following a procedure (procedures/<name>.md), report whether it worked. "
        "On failure, say in the note what went wrong: procedures that keep failing get revised.",
        ReportProcedureOutcomeArgs,
        report_procedure_outcome,
    ),
)
