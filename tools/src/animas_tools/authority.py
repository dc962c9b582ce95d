"""Who may do what on the broker: one NATS user per service, from one table (DESIGN §9).

:data:`AUTHORITY` says, per service, which events it publishes, which rpc subjects it calls and
answers, which live subjects it listens to, which durable consumers are its own, which streams
it reads, and which buckets it writes. :func:`permissions` turns an entry into the NATS user's
publish/subscribe rules; `anima up`, ``infra/nats/accounts.conf`` and the broker matrix test
(tests/security/test_broker_matrix.py) are all generated from it, so adding a service adds its
user, its config and its rows of the matrix.

What the broker enforces, for every service:

- it publishes only its own event types and dead letters, and calls only the rpc subjects listed;
- it subscribes only to its own inbox prefix (``_INBOX.<service>``), the rpc subjects it serves
  and the live subjects listed: no ``activity.>``, ``rpc.>`` or ``_INBOX.>``;
- of the JetStream API it may only read stream info, create, inspect and pull from its own
  durables (by exact name) and read stored messages of the streams listed, with direct gets.
  Deleting a message, updating, purging or deleting a stream, and deleting any consumer are the
  operator's (``admin``). It creates no ephemeral consumers: a consumer-create right names
  the consumer in the subject, so allowing any name (``*``) would let a service re-point or
  expire another service's durable, and the body (a push consumer's deliver subject) is not
  checked against the creator's publish rights (both verified against nats-server 2.15; the
  subjects of each operation are in :mod:`animas_tools.jetstream_subjects`);
- it writes only its own health record (``$KV.SERVICES.<service>.>``) and the KV buckets listed;
- it reads the operator's config (the ``CONFIG`` bucket's latest revision, by a message get) and
  hears it change (a subscription to the key's subject), and never writes it: only the operator
  does (:mod:`animas_core.config_store`).
"""

from __future__ import annotations

import dataclasses
import enum

from animas_contracts.subjects import (
    ACTIVITY_STREAM,
    BODIES_BUCKET,
    DEADLETTER_STREAM,
    DEFAULT_ACTIVITY_PARTITIONS,
    DELIVERIES_BUCKET,
    DELTAS_STREAM,
    GUARDS_BUCKET,
    NOTIFICATIONS_BUCKET,
    RPC_AGENT_REPLAY,
    RPC_MEMORY_ANIMAS,
    RPC_MEMORY_BOARD,
    RPC_MEMORY_READ_ALL,
    RPC_MEMORY_REBUILD,
    RPC_MEMORY_SHARED,
    RPC_MEMORY_SNAPSHOT,
    RPC_MEMORY_SYNC_ALL,
    RPC_PRIMING_PRIME_ALL,
    RPC_PRIMING_REINDEX,
    RPC_PRIMING_SEARCH_ALL,
    SCHEDULES_BUCKET,
    SERVICES_BUCKET,
    inbox_prefix,
)
from animas_core.config_store import CONFIG_STREAM, CONFIG_SUBJECT
from animas_tools.jetstream_subjects import (
    OPERATOR_ONLY,
    durable_use,
    kv_stream,
    latest_get,
    object_reads,
    object_stream,
    object_writes,
    stored_reads,
    stream_info,
)

RESPONSE_WINDOW = "1h"
"""How long a received request stays answerable. The longest rpc is an operator's reindex (the
CLI waits 30 minutes); the server forgets unanswered requests after this (without a limit it would
keep one entry per live event a service received with a reply subject, for ever)."""
RESPONSES = f'{{ max: 1, expires: "{RESPONSE_WINDOW}" }}'
"""The ``allow_responses`` value in a nats-server config."""


@dataclasses.dataclass(frozen=True)
class Permissions:
    """Publish and subscribe rules of one NATS user."""

    publish_allow: tuple[str, ...]
    publish_deny: tuple[str, ...] = ()
    subscribe_allow: tuple[str, ...] = (">",)
    allow_responses: bool = False
    """May answer a request it received (one reply to its reply subject, within
    :data:`RESPONSE_WINDOW`) without a publish rule for inboxes: how rpc servers reply, without
    being able to write into anyone's inbox."""


class Bodies(enum.Enum):
    """What a service does with the ``BODIES`` object store."""

    NONE = "none"
    WRITE = "write"
    """Stores large bodies (and looks up whether a digest is already there)."""
    READ = "read"
    """Fetches objects. nats-py reads an object through an ordered push consumer, so this grants
    creating ephemeral consumers on the object store's stream, and nothing else."""


@dataclasses.dataclass(frozen=True)
class Durable:
    """A durable consumer a service owns."""

    stream: str
    name: str


@dataclasses.dataclass(frozen=True)
class Authority:
    """What one service may do on the broker."""

    events: tuple[str, ...]
    """Event types it publishes, ``activity.<anima>.<type>`` (wildcards allowed)."""
    never_events: tuple[str, ...] = ()
    """Event types denied outright, even if a broader rule would allow them."""
    journal: bool = False
    """Publishes streamed model output (``delta.<anima>``)."""
    anima_files: str = ""
    """Why it reads the animas' files over ``rpc.memory.read.<anima>`` (empty: it may not)."""
    calls: tuple[str, ...] = ()
    """Other rpc subjects it requests."""
    serves: tuple[str, ...] = ()
    """rpc subjects it answers."""
    listens: tuple[str, ...] = ()
    """Subjects it follows live (core NATS), besides its inbox and what it serves."""
    durables: tuple[Durable, ...] = ()
    """Its own durable consumers: the only ones it may create, inspect and pull from."""
    reads: tuple[str, ...] = ()
    """Streams whose stored messages it reads (direct gets, no consumer)."""
    buckets: tuple[str, ...] = ()
    """KV buckets it reads and writes, besides its own health record."""
    bodies: Bodies = Bodies.NONE


def _durables(*names: str) -> tuple[Durable, ...]:
    return tuple(Durable(ACTIVITY_STREAM, name) for name in names)


MEMORY_OUTCOMES = "activity.*.memory.op.*"
"""memory-writer's answers (``applied``/``rejected``), as core's EventWaiter subscribes to them;
it also matches ``requested``, which the services that listen to it publish or relay themselves."""

AUTHORITY: dict[str, Authority] = {
    "gateway": Authority(
        # Messages from outside (chat and webhooks), the admin API's anima events and human
        # identity edits, a person's "trigger now" of a schedule, other applications' events kept
        # as memories, and refused webhook requests (recorded under their source's anima).
        events=(
            "message.received",
            "anima.>",
            "identity.>",
            "heartbeat.due",
            "cron.due",
            "memory.extracted",
            "webhook.rejected",
        ),
        anima_files="the HTTP API's memory browser and the web UI show an anima's files to an admin",
        # Boards, memory search and the priming an answer used; a cycle replayed offline.
        calls=(
            RPC_MEMORY_ANIMAS,
            RPC_MEMORY_BOARD,
            RPC_PRIMING_SEARCH_ALL,
            RPC_PRIMING_PRIME_ALL,
            RPC_AGENT_REPLAY,
        ),
        # Replies to chats, outcomes of admin changes, and a chat's streamed output.
        listens=("activity.*.response.sent", MEMORY_OUTCOMES, "delta.*"),
        # Retried chats (was the message stored already?), the timeline and live feed, dead
        # letters, services' health and the schedules' next fires.
        reads=(ACTIVITY_STREAM, DEADLETTER_STREAM, kv_stream(SERVICES_BUCKET), kv_stream(SCHEDULES_BUCKET)),
    ),
    "agent-runner": Authority(
        events=(
            "cycle.>",
            "llm.>",
            "tool.>",
            "memory.op.requested",
            "memory.accessed",
            "outbound.requested",
            "human.notify.requested",
            "response.sent",
            "task.report.taken",
            "board.created",
            "board.joined",
            "board.left",
            "channel.read",
            "conversation.>",
            "heartbeat.finished",
            "cron.executed",
        ),
        # It runs what animas wrote: never identity, never a message from outside.
        never_events=("identity.>", "message.received"),
        journal=True,
        anima_files=(
            "any replica runs any anima's cycle, so it reads every anima's memory; which anima may "
            "see what is enforced by its tools (an anima reads only its own files)"
        ),
        calls=(
            RPC_MEMORY_ANIMAS,
            RPC_MEMORY_SHARED,
            RPC_MEMORY_BOARD,
            RPC_PRIMING_PRIME_ALL,
            RPC_PRIMING_SEARCH_ALL,
        ),
        serves=(RPC_AGENT_REPLAY,),  # the web UI's "replay this cycle", offline
        # memory-writer's answers, outbound's verdicts on what a tool sent, and the reports a
        # waiting delegate_task expects.
        listens=(MEMORY_OUTCOMES, "activity.*.outbound.*", "activity.*.message.received"),
        # One durable per activity partition, and one per partition for delegated tasks (their
        # own lane, so a task never waits behind its supervisor's cycle). A stream with more
        # partitions than this needs the table (and the users) regenerated before agent-runner
        # can take the extra ones.
        durables=_durables(
            *(f"agent-runner-p{p}" for p in range(DEFAULT_ACTIVITY_PARTITIONS)),
            *(f"agent-runner-tasks-p{p}" for p in range(DEFAULT_ACTIVITY_PARTITIONS)),
        ),
        # Reply and answer ledgers, channel boards, the anima's own earlier messages; the journal;
        # which agent-runner processes are alive (a killed one's background calls are interrupted).
        reads=(ACTIVITY_STREAM, DELTAS_STREAM, kv_stream(SERVICES_BUCKET)),
        bodies=Bodies.WRITE,
    ),
    "priming": Authority(
        events=("priming.>", "memory.accessed"),
        anima_files="it indexes every anima's memory files and primes any anima's cycle",
        calls=(RPC_MEMORY_ANIMAS,),
        serves=(RPC_PRIMING_PRIME_ALL, RPC_PRIMING_SEARCH_ALL, RPC_PRIMING_REINDEX),
        # Changes not applied yet, so a cycle's own fresh memories are found before indexing.
        listens=(
            "activity.*.memory.op.requested",
            "activity.*.memory.op.applied",
            "activity.*.memory.op.rejected",
        ),
        # One indexing durable per activity partition (as agent-runner's).
        durables=_durables(*(f"priming-index-p{p}" for p in range(DEFAULT_ACTIVITY_PARTITIONS))),
    ),
    "memory-writer": Authority(
        events=("memory.op.applied", "memory.op.rejected", "memory.edited"),
        serves=(
            RPC_MEMORY_REBUILD,
            RPC_MEMORY_READ_ALL,
            RPC_MEMORY_ANIMAS,
            RPC_MEMORY_SHARED,
            RPC_MEMORY_BOARD,
            RPC_MEMORY_SYNC_ALL,
            RPC_MEMORY_SNAPSHOT,
        ),
        durables=_durables("memory-writer-activity"),
        reads=(ACTIVITY_STREAM,),  # a rebuild replays the stream
        bodies=Bodies.READ,  # the large files of an import
    ),
    "consolidator": Authority(
        # Consolidation is the one path to identity (with human edits through the gateway).
        events=(
            "memory.op.requested",
            "identity.>",
            "forgetting.>",
            "cycle.>",
            "llm.>",
            "consolidation.started",
            "consolidation.planned",
            "consolidation.finished",
        ),
        anima_files=(
            "it consolidates any anima's day: it reads the episodes, saved sessions, conversations "
            "and knowledge of the anima whose consolidation is due"
        ),
        # Existing knowledge near a lesson (merge candidates), through the index like any service.
        calls=(RPC_PRIMING_SEARCH_ALL,),
        listens=(MEMORY_OUTCOMES,),  # whether its memory operations were applied, as agent-runner
        durables=_durables("consolidator-due"),
        # A rerun of a killed run finds its recorded plan and memory-writer's earlier answers.
        reads=(ACTIVITY_STREAM,),
        bodies=Bodies.WRITE,
    ),
    "scheduler": Authority(
        events=("heartbeat.due", "cron.due", "consolidation.due", "schedule.rejected"),
        anima_files="it reads every anima's heartbeat.md and cron.md to plan their schedules",
        calls=(RPC_MEMORY_ANIMAS,),
        reads=(ACTIVITY_STREAM,),  # whether an occurrence was already published
        buckets=(SCHEDULES_BUCKET,),
    ),
    # Delivers anima-to-anima messages (origin anima) and channel posts; asks memory-writer who
    # exists. Like agent-runner, it relays what animas wrote, so identity is denied outright.
    "outbound": Authority(
        events=(
            "message.received",
            "channel.posted",
            "outbound.delivered",
            "outbound.failed",
            "messaging.refused",
            "task.delegated",
            "task.assigned",
            "task.reported",
            "human.notified",
            "human.notify.failed",
        ),
        never_events=("identity.>", "memory.op.>"),
        # Who exists; a board's members and posting rule (board checks and mention fan-out).
        calls=(RPC_MEMORY_ANIMAS, RPC_MEMORY_BOARD),
        # Notifications to people have their own durable: slow HTTP retries never hold up
        # messages between animas.
        durables=_durables("outbound-requests", "outbound-notify", "outbound-replies"),
        reads=(ACTIVITY_STREAM,),  # whether a delivery was already stored
        buckets=(DELIVERIES_BUCKET, NOTIFICATIONS_BUCKET, GUARDS_BUCKET),
    ),
}


def streams_used(service: str) -> tuple[str, ...]:
    """Every stream whose info the service may read (to check it exists, or bind a bucket)."""
    grant = AUTHORITY[service]
    used = [ACTIVITY_STREAM, DEADLETTER_STREAM, kv_stream(SERVICES_BUCKET)]
    used += [d.stream for d in grant.durables] + list(grant.reads)
    used += [kv_stream(b) for b in grant.buckets]
    if grant.journal:
        used.append(DELTAS_STREAM)
    if grant.bodies is not Bodies.NONE:
        used.append(object_stream(BODIES_BUCKET))
    return tuple(dict.fromkeys(used))


def requests_of(service: str) -> tuple[str, ...]:
    """The rpc subjects the service may call."""
    grant = AUTHORITY[service]
    return ((RPC_MEMORY_READ_ALL,) if grant.anima_files else ()) + grant.calls


def permissions(service: str) -> Permissions:
    """The NATS user's rules of one service, rendered from its :data:`AUTHORITY` entry."""
    grant = AUTHORITY[service]
    publish = [f"activity.*.{event}" for event in grant.events]
    if grant.journal:
        publish.append("delta.*")
    publish += [f"deadletter.{service}", *requests_of(service)]
    publish += [stream_info(stream) for stream in streams_used(service)]
    for durable in grant.durables:
        publish += durable_use(durable.stream, durable.name)
    for stream in grant.reads:
        publish += stored_reads(stream)
    publish.append(f"$KV.{SERVICES_BUCKET}.{service}.>")
    publish.append(latest_get(CONFIG_STREAM))
    for bucket in grant.buckets:
        publish += [f"$KV.{bucket}.>", *stored_reads(kv_stream(bucket))]
    if grant.bodies is Bodies.WRITE:
        publish += object_writes(BODIES_BUCKET)
    if grant.bodies is Bodies.READ:
        publish += object_reads(BODIES_BUCKET)
    return Permissions(
        publish_allow=tuple(dict.fromkeys(publish)),
        publish_deny=(*(f"activity.*.{event}" for event in grant.never_events), *OPERATOR_ONLY),
        subscribe_allow=(f"{inbox_prefix(service)}.>", *grant.serves, *grant.listens, CONFIG_SUBJECT),
        allow_responses=bool(grant.serves) or grant.bodies is Bodies.READ,
    )


SERVICE_PERMISSIONS: dict[str, Permissions] = {service: permissions(service) for service in AUTHORITY}

ADMIN_USER = "admin"
"""The operator's user (the ``anima`` CLI, provisioning): may do everything, replays and purges included."""
ADMIN_PERMISSIONS = Permissions(publish_allow=(">",))
