"""Memory: operations on an anima's directory, their outcomes, hand edits and access.

Authority is carried by the subject, not by a field: agent-runner and the consolidator publish
``memory.op.requested`` (checked against the anima's grants); only the gateway, the consolidator
and the operator may publish ``identity.revised``; only the gateway and the operator publish the
``anima.*`` events (creation, status, human file writes); only memory-writer publishes outcomes
and ``memory.edited``. Every path is relative to the anima's directory.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from animas_contracts.envelope import Event

RelPath = Annotated[
    str, Meta(description="A path relative to the anima's directory, e.g. knowledge/contacts.md")
]


class TaskState(enum.StrEnum):
    """States of a task or deferred message (DESIGN §9: one store, an explicit state machine)."""

    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    BLOCKED = "blocked"
    DELEGATED = "delegated"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class TaskRelation(enum.StrEnum):
    """Whose task it is."""

    OWN = "own"
    ASSIGNED_TO_ME = "assigned_to_me"
    DELEGATED_BY_ME = "delegated_by_me"
    DEFERRED_MESSAGE = "deferred_message"


class _Op(msgspec.Struct, frozen=True, kw_only=True, tag_field="kind"):
    """Base of memory operations; ``kind`` names the operation."""


class AppendEpisode(_Op, frozen=True, kw_only=True, tag="episode.append"):
    """Append an entry to ``episodes/YYYY-MM-DD.md`` (seed 003 §4.5), dated in the anima's time zone."""

    title: str
    at: datetime
    trigger: str
    decision: str
    result: str
    lesson: str = "None"
    said: str = ""
    """What the person or anima said (their words, or a faithful shortening of a long message):
    an episode keeps what was said, so a fact told in chat can be recalled in a later thread."""


class WriteKnowledge(_Op, frozen=True, kw_only=True, tag="knowledge.write"):
    """Create or update a file under ``knowledge/`` (seed 003 §4.6) with YAML frontmatter."""

    path: RelPath
    content: str
    frontmatter: dict[str, str] = {}


class WriteProcedure(_Op, frozen=True, kw_only=True, tag="procedure.write"):
    """Write or revise a runbook under ``procedures/``; each revision bumps its version."""

    path: RelPath
    content: str
    description: str = ""
    confidence: Annotated[float, Meta(ge=0, le=1)] | None = None
    """The confidence recorded when this write creates the procedure (a procedure distilled from
    one resolved task starts at 0.4); every revision computes it from the counted outcomes."""


class RecordOutcome(_Op, frozen=True, kw_only=True, tag="procedure.outcome"):
    """Count a success or failure of a procedure (metadata only: the Markdown is not rewritten)."""

    path: RelPath
    success: bool


class MarkImportant(_Op, frozen=True, kw_only=True, tag="memory.mark_important"):
    """Prefix the first line containing ``text`` with ``[IMPORTANT]`` and mark the file important."""

    path: RelPath
    text: str


class ArchiveMemory(_Op, frozen=True, kw_only=True, tag="memory.archive"):
    """Move a memory file to ``archive/`` (the forgetting path); it can be restored."""

    path: RelPath


class RestoreMemory(_Op, frozen=True, kw_only=True, tag="memory.restore"):
    """Move an archived file back to its original path."""

    path: RelPath


class DeleteSavedSession(_Op, frozen=True, kw_only=True, tag="memory.delete"):
    """Delete a saved session under ``shortterm/archive/`` that retention no longer keeps.

    Housekeeping's op (the consolidator's daily run): an event, so a rebuild deletes it too.
    Nothing else may be deleted this way; knowledge is forgotten by archiving it.
    """

    path: RelPath
    reason: str = ""


class TrimConversationArchive(_Op, frozen=True, kw_only=True, tag="conversation.archive.trim"):
    """Drop the turns said before ``before`` from a ``state/conversations/<peer>.archive.jsonl``.

    Housekeeping's op: the cut-off is in the event, so a rebuild trims the same turns.
    """

    path: RelPath
    before: datetime


class WriteFile(_Op, frozen=True, kw_only=True, tag="file.write"):
    """Write a whole file (the write_memory_file tool); protected files need a grant."""

    path: RelPath
    content: str


class CreateTask(_Op, frozen=True, kw_only=True, tag="task.create"):
    """Add a task or deferred message to the anima's task store."""

    task_id: str
    title: str
    detail: str = ""
    relation: TaskRelation = TaskRelation.OWN
    counterpart: str | None = None
    state: TaskState = TaskState.PENDING
    """The state it starts in: ``pending``, ``in_progress`` or ``delegated`` (a delegation)."""
    deadline: str | None = None
    """ISO 8601 time it is due by (a delegation's), if any."""
    parent: str | None = None
    """The task in the same store this one serves (a delegation made while working on it)."""
    linked_task: str | None = None
    """The counterpart's copy: the assignee's task for a delegation, the supervisor's for an
    assigned task."""


class TransitionTask(_Op, frozen=True, kw_only=True, tag="task.transition"):
    """Move a task to another state; illegal transitions are rejected with a reason."""

    task_id: str
    to: TaskState
    note: str = ""


MemoryOp = (
    AppendEpisode
    | WriteKnowledge
    | WriteProcedure
    | RecordOutcome
    | MarkImportant
    | ArchiveMemory
    | RestoreMemory
    | DeleteSavedSession
    | TrimConversationArchive
    | WriteFile
    | CreateTask
    | TransitionTask
)


class MemoryOpRequested(Event, frozen=True, kw_only=True, tag="memory.op.requested"):
    """An operation on the anima's memory, asked for by a cycle or by consolidation.

    Its id is the operation id: derived from the cycle and an ordinal, so a redelivered cycle
    asks for the same operation and it is applied once.
    """

    op: Annotated[MemoryOp, Meta(description="The operation.")]
    cycle_id: Annotated[str | None, Meta(description="The cycle that asked, if any.")] = None


class IdentityRevised(Event, frozen=True, kw_only=True, tag="identity.revised"):
    """identity.md replaced: only consolidation or a person may do this (the write boundary)."""

    content: Annotated[str, Meta(description="The whole new identity.md.")]
    author: Annotated[str, Meta(description="'consolidation' or the person who edited it.")]
    reason: Annotated[str, Meta(description="Why the identity changed.")] = ""


class TaskRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A row of the task store, as carried by a snapshot (import)."""

    task_id: str
    title: str
    detail: str
    relation: TaskRelation
    state: TaskState
    counterpart: str | None
    created_at: str
    updated_at: str
    deadline: str | None = None
    parent: str | None = None
    linked_task: str | None = None
    note: str = ""
    """The note of its latest transition (a report's summary, for a delegation)."""


class MetaRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A row of memory metadata, as carried by a snapshot (import)."""

    path: str
    access_count: int = 0
    last_access: str | None = None
    success_count: int = 0
    failure_count: int = 0
    importance: str = "normal"
    low_since: str | None = None
    """The day daily downscaling found the memory's activity low since (None: not marked)."""


class AnimaCreated(Event, frozen=True, kw_only=True, tag="anima.created"):
    """An anima came into being: its whole initial directory, as a snapshot.

    Created from a template or character sheet, or imported from an export; rebuilding from the
    stream recreates the directory from this event and everything after it.
    """

    source: Annotated[str, Meta(description="blank, template:<role>, character-sheet or import.")]
    files: Annotated[dict[str, str], Meta(description="Text files: relative path to content.")]
    binary_files: Annotated[
        dict[str, bytes], Meta(description="Small binary files (assets), base64 in JSON.")
    ] = {}  # noqa: RUF012
    blobs: Annotated[
        dict[str, str], Meta(description="Large files stored in the BODIES object store: path to digest.")
    ] = {}  # noqa: RUF012
    tasks: Annotated[list[TaskRecord], Meta(description="Task store rows (imports).")] = []  # noqa: RUF012
    meta: Annotated[list[MetaRecord], Meta(description="Memory metadata rows (imports).")] = []  # noqa: RUF012


class AnimaStatusChanged(Event, frozen=True, kw_only=True, tag="anima.status.changed"):
    """Fields of status.json changed by a person (enable, disable, model, supervisor…)."""

    changes: Annotated[dict[str, Any], Meta(description="Fields to set; null removes a field.")]


class AnimaFileWritten(Event, frozen=True, kw_only=True, tag="anima.file.written"):
    """A person wrote a file through the API or CLI (protected files included, identity excepted)."""

    path: RelPath
    content: str
    author: str = "human"


class MemoryEdited(Event, frozen=True, kw_only=True, tag="memory.edited"):
    """A file changed on disk by hand; memory-writer records it so the stream stays complete."""

    path: RelPath
    content: Annotated[str | None, Meta(description="The new content; null when the file was deleted.")]
    digest_before: Annotated[str | None, Meta(description="sha256 of what memory-writer had written.")]


class MemoryExtracted(Event, frozen=True, kw_only=True, tag="memory.extracted"):
    """Something another application told an anima to remember (seed 002's ``extract``).

    Published by the gateway (``POST /api/memory/{anima}/events``); memory-writer appends it as
    one entry to the episode file of the day it happened (``at``, in the anima's time zone) and
    answers like a memory operation, so priming indexes it. No cycle runs for it. The id is
    derived from the application's own event id when it sends one, so a repeat is applied once.
    """

    kind: Annotated[str, Meta(description="The application's type of event: message_in, message_out, fact…")]
    content: Annotated[str, Meta(description="What happened or was said, in the application's words.")]
    at: Annotated[datetime, Meta(description="When it happened (its day file is this day's).")]
    session_id: Annotated[str | None, Meta(description="The application's session, if any.")] = None
    author: Annotated[
        str | None, Meta(description="Who said or did it, as the application names them (not an authority).")
    ] = None


class MemoryOpApplied(Event, frozen=True, kw_only=True, tag="memory.op.applied"):
    """memory-writer applied an operation (or a creation, identity revision, status change, write)."""

    op_id: Annotated[str, Meta(description="Id of the event that asked for the change.")]
    kind: Annotated[str, Meta(description="What was done.")]
    paths: Annotated[list[str], Meta(description="Files written, moved or deleted.")] = []  # noqa: RUF012


class MemoryOpRejected(Event, frozen=True, kw_only=True, tag="memory.op.rejected"):
    """memory-writer refused an operation; nothing was written."""

    op_id: Annotated[str, Meta(description="Id of the event that asked for the change.")]
    kind: Annotated[str, Meta(description="What was asked.")]
    reason: Annotated[str, Meta(description="Why it was refused.")]


class MemoryAccessed(Event, frozen=True, kw_only=True, tag="memory.accessed"):
    """Memories reached a prompt or a tool result; memory-writer counts the access."""

    paths: Annotated[list[str], Meta(description="Files that were recalled.")]
    channel: Annotated[str, Meta(description="Priming channel or tool that recalled them.")] = ""
