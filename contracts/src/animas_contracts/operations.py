"""Operational records that are not activity events: dead letters and rebuild requests."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from animas_contracts.envelope import utc_now
from animas_contracts.memory import MetaRecord, TaskRecord


class DeadLetter(msgspec.Struct, frozen=True, kw_only=True):
    """A message a service could not process, kept with the reason and the original bytes."""

    service: Annotated[str, Meta(description="The service that gave up on the message.")]
    reason: Annotated[str, Meta(description="Why, in words an operator can act on.")]
    subject: Annotated[str, Meta(description="The subject the message was stored under.")]
    headers: Annotated[dict[str, str], Meta(description="The original headers.")]
    data: Annotated[bytes, Meta(description="The original payload bytes (base64 in JSON).")]
    stream: Annotated[str | None, Meta(description="Stream the message came from.")] = None
    stream_seq: Annotated[int | None, Meta(description="Its sequence in that stream.")] = None
    deliveries: Annotated[int, Meta(description="How many times it was delivered.")] = 1
    ts: Annotated[datetime, Meta(description="When it was dead-lettered (UTC).")] = msgspec.field(
        default_factory=utc_now
    )


class RebuildRequest(msgspec.Struct, frozen=True, kw_only=True):
    """Ask memory-writer to rebuild its activity-log projection from the stream."""

    anima: Annotated[str | None, Meta(description="One anima, or null for all.")] = None
    full: Annotated[bool, Meta(description="Replay from sequence 1, ignoring projection snapshots.")] = False


class RebuildReply(msgspec.Struct, frozen=True, kw_only=True):
    """What a rebuild did."""

    ok: bool
    animas: list[str] = []
    events: int = 0
    files: int = 0
    error: str | None = None
    refused: int = 0
    """Stored events left out: unreadable, or a payload that disagrees with its subject."""
    refusals: list[str] = []
    """The first few reasons, for the operator."""
    restored: dict[str, int] = {}
    """Animas started from a snapshot, with the stream sequence each snapshot reflects."""
    fallbacks: list[str] = []
    """Snapshots found but not used (unreadable, another format, not matching the stream), and why."""


class SnapshotRequest(msgspec.Struct, frozen=True, kw_only=True):
    """Ask memory-writer to snapshot anima projections now (``rpc.memory.snapshot``)."""

    anima: Annotated[str | None, Meta(description="One anima, or null for all.")] = None


class SnapshotReply(msgspec.Struct, frozen=True, kw_only=True):
    """The snapshots taken: anima to the stream sequence each reflects."""

    ok: bool
    snapshots: dict[str, int] = {}
    error: str | None = None


class MemoryReadRequest(msgspec.Struct, frozen=True, kw_only=True):
    """A read of one anima's directory through memory-writer (``rpc.memory.read.<anima>``)."""

    op: Annotated[str, Meta(description="read, list, grep, exists, tree, stats or tasks.")]
    path: Annotated[str, Meta(description="Relative to the anima directory; '' is the directory itself.")] = (
        ""
    )
    pattern: Annotated[str, Meta(description="For grep: a plain substring, case-insensitive.")] = ""
    max_bytes: Annotated[int, Meta(description="Largest content returned by read.")] = 256 * 1024


class GrepMatch(msgspec.Struct, frozen=True, kw_only=True):
    """One line that matched a grep."""

    path: str
    line: int
    text: str


class MemoryReadReply(msgspec.Struct, frozen=True, kw_only=True):
    """The answer to a read; ``error`` says why it failed (not found, outside the directory…)."""

    ok: bool
    content: str | None = None
    truncated: bool = False
    entries: list[str] = []
    matches: list[GrepMatch] = []
    exists: bool = False
    files: dict[str, str] = {}
    """For ``tree``: memory files (knowledge, episodes, procedures, skills) and their digests."""
    stats: list[MetaRecord] = []
    """For ``stats``: access counts, outcomes and importance of memory files."""
    tasks: list[TaskRecord] = []
    """For ``tasks``: every row of the anima's task store, oldest first."""
    error: str | None = None


class AnimaSummary(msgspec.Struct, frozen=True, kw_only=True):
    """An anima as memory-writer knows it from its status.json."""

    name: str
    enabled: bool
    role: str | None = None
    status: dict[str, Any] = {}


class AnimaListReply(msgspec.Struct, frozen=True, kw_only=True):
    """Every anima that exists (``rpc.memory.animas``)."""

    animas: list[AnimaSummary]


class SyncReply(msgspec.Struct, frozen=True, kw_only=True):
    """What a scan for hand edits found and recorded (``rpc.memory.sync.<anima>``)."""

    ok: bool
    edits: list[str] = []
    error: str | None = None


class ReplayRequest(msgspec.Struct, frozen=True, kw_only=True):
    """Replay one recorded cycle offline (``rpc.agent.replay``): its events in, the comparison out."""

    cycle_id: Annotated[str, Meta(description="The cycle: the id of its cycle.started.")]
    events: Annotated[
        list[dict[str, Any]],
        Meta(
            description="The stored JSON of the cycle's events, oldest first (its cycle.started, model "
            "calls, tool calls and reply at least); bodies kept in the object store are inlined by "
            "the replayer when it may read them."
        ),
    ]


class ReplayReply(msgspec.Struct, frozen=True, kw_only=True):
    """How the replay compares with the recording; ``error`` says why it could not run."""

    ok: Annotated[bool, Meta(description="False when the cycle could not be replayed (see error).")]
    matches: Annotated[
        bool, Meta(description="Same prompt, every recorded model call replayed, and the same reply.")
    ] = False
    diff: Annotated[str, Meta(description="Unified diff of the recorded prompt against this build's.")] = ""
    report: Annotated[str, Meta(description="The report `anima replay cycle` prints.")] = ""
    prompt_identical: bool = False
    calls_recorded: int = 0
    calls_replayed: int = 0
    divergence: Annotated[str | None, Meta(description="Where the replay left the recording.")] = None
    recorded_reply: str | None = None
    replayed_reply: str | None = None
    error: str | None = None
