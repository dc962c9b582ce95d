"""Subjects, streams, buckets and header names: the one place these literals live.

Subjects carry no version (DESIGN §4):

- ``activity.<anima>.<type>``: the activity log. Types contain dots, so ``activity.alice.>``
  selects one anima and ``activity.*.message.received`` one type. The ``ACTIVITY`` stream stores
  them under a partition token, ``activity.<partition>.<anima>.<type>``, computed by the server
  from the anima token, so each partition can have one owner (DESIGN §9).
- ``delta.<anima>``: streamed model output, the write-ahead journal.
- ``deadletter.<service>``: poison messages with their reason.
- ``rpc.<service>.<verb>[.<anima>]``: core NATS request/reply between services (not stored).
"""

from __future__ import annotations

import dataclasses

from animas_contracts.names import validate_anima_name

ACTIVITY_STREAM = "ACTIVITY"
DELTAS_STREAM = "DELTAS"
DEADLETTER_STREAM = "DEADLETTER"
BODIES_BUCKET = "BODIES"
"""Object store bucket for large LLM request/response bodies, keyed by digest."""
DELIVERIES_BUCKET = "DELIVERIES"
"""KV bucket where outbound records each request it settled (delivered or failed), by request id."""
DELIVERIES_TTL_S = 90 * 24 * 3600.0
"""How long outbound remembers a settled request: a repeat older than this would be delivered again."""
SERVICES_BUCKET = "SERVICES"
"""KV bucket where every running service instance reports its health."""
NOTIFICATIONS_BUCKET = "NOTIFICATIONS"
"""KV bucket where outbound records each notification channel's outcome (per request) and the
first request of each notification (per anima and dedup key, for the 24-hour repeat rule)."""
NOTIFICATIONS_TTL_S = 30 * 24 * 3600.0
"""How long outbound remembers a notification's outcomes: longer than any redelivery or re-run."""

GUARDS_BUCKET = "GUARDS"
"""KV bucket of outbound's storm-guard windows: the messages each anima, each pair of animas and
each conversation sent recently (by request id and event time), and each cycle's recipients."""
GUARDS_TTL_S = 2 * 24 * 3600.0
"""How long a window outlives its last message: longer than any guard's window (at most a day)."""

SCHEDULES_BUCKET = "SCHEDULES"
"""KV bucket of schedule occurrences: each claimed with create-if-absent before it is published."""
SCHEDULES_TTL_S = 30 * 24 * 3600.0
"""How long the scheduler's claims and cursors live: a replica whose clock is behind by less than
this, or a downtime shorter than this, still finds every claim and cursor (so it never fires an
occurrence twice and coalesces what it missed); a cursor untouched for longer starts afresh."""

HEADER_MSG_ID = "Nats-Msg-Id"
HEADER_EVENT_TYPE = "Animaworks-Event-Type"
HEADER_DEADLETTER_REASON = "Animaworks-Deadletter-Reason"

DEFAULT_ACTIVITY_PARTITIONS = 32
"""Partitions of a new activity stream. A partition runs one cycle at a time (whichever replica
holds its message), so this is how many animas can think at once; animas that hash to the same
partition take turns. An existing stream keeps the count it was created with."""

SERVICE_NAMES = (
    "gateway",
    "agent-runner",
    "priming",
    "memory-writer",
    "consolidator",
    "scheduler",
    "outbound",
)


@dataclasses.dataclass(frozen=True)
class SubjectTransform:
    """A stream subject transform (NATS ``subject_transform``)."""

    src: str
    dest: str


@dataclasses.dataclass(frozen=True)
class StreamSpec:
    """Settings of one JetStream stream; the core library turns this into a server config."""

    name: str
    subjects: tuple[str, ...]
    description: str
    max_age_s: float = 0.0
    """0 keeps messages forever."""
    max_bytes: int = -1
    duplicate_window_s: float = 120.0
    storage: str = "file"
    transform: SubjectTransform | None = None
    replicas: int = 1
    """Copies kept by a JetStream cluster: 1 on one machine, 3 in production."""


def activity_transform(partitions: int) -> SubjectTransform:
    """The transform that stores ``activity.<anima>.<type>`` as ``activity.<p>.<anima>.<type>``."""
    if partitions < 1:
        raise ValueError("the activity stream needs at least one partition")
    return SubjectTransform(
        src="activity.*.>", dest=f"activity.{{{{partition({partitions},1)}}}}.{{{{wildcard(1)}}}}.>"
    )


def partitions_of(transform_dest: str) -> int:
    """Read the partition count back from a transform destination made by :func:`activity_transform`."""
    marker = "partition("
    start = transform_dest.index(marker) + len(marker)
    return int(transform_dest[start : transform_dest.index(",", start)])


def activity_stream(partitions: int = DEFAULT_ACTIVITY_PARTITIONS, max_age_s: float = 0.0) -> StreamSpec:
    """The activity log. Memory events never expire by default (``max_age_s=0``)."""
    return StreamSpec(
        name=ACTIVITY_STREAM,
        subjects=("activity.>",),
        description="AnimaWorks activity log: every event of every anima",
        max_age_s=max_age_s,
        transform=activity_transform(partitions),
    )


def deltas_stream(max_age_s: float = 24 * 3600.0) -> StreamSpec:
    """Streamed model output, kept briefly as the write-ahead journal."""
    return StreamSpec(
        name=DELTAS_STREAM,
        subjects=("delta.>",),
        description="Streamed model output (write-ahead journal)",
        max_age_s=max_age_s,
    )


def deadletter_stream() -> StreamSpec:
    """Poison messages, kept until an operator deals with them."""
    return StreamSpec(
        name=DEADLETTER_STREAM,
        subjects=("deadletter.>",),
        description="Messages a service could not process, with the reason and original bytes",
    )


def activity_subject(anima: str, event_type: str) -> str:
    """Subject an event is published on: ``activity.<anima>.<type>``."""
    return f"activity.{validate_anima_name(anima)}.{event_type}"


def stored_activity_filter(*, partition: int | str = "*", anima: str = "*", event_type: str = ">") -> str:
    """Filter over the *stored* (partitioned) activity subjects."""
    if anima != "*":
        validate_anima_name(anima)
    return f"activity.{partition}.{anima}.{event_type}"


def split_stored_activity_subject(subject: str) -> tuple[int, str, str]:
    """Split ``activity.<p>.<anima>.<type>`` into (partition, anima, type)."""
    prefix, partition, anima, event_type = subject.split(".", 3)
    if prefix != "activity":
        raise ValueError(f"not an activity subject: {subject!r}")
    return int(partition), anima, event_type


def delta_subject(anima: str) -> str:
    """Subject of streamed model output for one anima."""
    return f"delta.{validate_anima_name(anima)}"


def deadletter_subject(service: str) -> str:
    """Subject of a service's dead letters."""
    return f"deadletter.{service}"


def inbox_prefix(service: str) -> str:
    """The reply inboxes of one service's connections: ``_INBOX.<service>``.

    Request/reply, JetStream publish acks and pull fetches all answer to an inbox; a prefix per
    service lets the broker allow each service to subscribe to its own inboxes only, so no
    service can read another's replies.
    """
    if service not in SERVICE_NAMES:
        raise ValueError(f"unknown service {service!r}")
    return f"_INBOX.{service}"


def rpc_subject(service: str, verb: str, anima: str | None = None) -> str:
    """Request/reply subject ``rpc.<service>.<verb>[.<anima>]`` (core NATS, not stored)."""
    base = f"rpc.{service}.{verb}"
    return base if anima is None else f"{base}.{validate_anima_name(anima)}"


RPC_MEMORY_REBUILD = rpc_subject("memory", "rebuild")
"""Ask memory-writer to rebuild the anima directories from the stream."""
RPC_MEMORY_SNAPSHOT = rpc_subject("memory", "snapshot")
"""Ask memory-writer to snapshot anima projections now (a rebuild starts from the latest one)."""
RPC_MEMORY_ANIMAS = rpc_subject("memory", "animas")
"""Ask memory-writer which animas exist."""
RPC_MEMORY_READ_ALL = "rpc.memory.read.*"
RPC_MEMORY_SHARED = rpc_subject("memory", "shared")
"""Read the organization's shared files (``<home>/shared/``: the company vision…)."""
RPC_MEMORY_BOARD = rpc_subject("memory", "board")
"""Read a board from memory-writer's projection: meta, members, a page of posts."""
RPC_PRIMING_PRIME_ALL = "rpc.priming.prime.*"
RPC_PRIMING_SEARCH_ALL = "rpc.priming.search.*"
RPC_PRIMING_REINDEX = rpc_subject("priming", "reindex")
RPC_MEMORY_SYNC_ALL = "rpc.memory.sync.*"
RPC_AGENT_REPLAY = rpc_subject("agent", "replay")
"""Ask agent-runner to replay one recorded cycle offline (its events in, the diff out)."""
