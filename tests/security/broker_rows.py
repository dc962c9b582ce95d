"""The rows of the broker matrix, derived from the authority table (animas_tools.authority).

Pure: which subjects each service must be able to publish and subscribe to, and which it must
not, computed from :data:`AUTHORITY`'s fields (not from the rendered NATS permissions, so the
matrix checks the rendering as well as the server). A new service, event type, rpc subject,
durable, read or bucket in the table adds its rows here.
"""

from __future__ import annotations

from animas_contracts.subjects import (
    ACTIVITY_STREAM,
    BODIES_BUCKET,
    DEADLETTER_STREAM,
    DELIVERIES_BUCKET,
    DELTAS_STREAM,
    GUARDS_BUCKET,
    NOTIFICATIONS_BUCKET,
    RPC_MEMORY_REBUILD,
    RPC_MEMORY_SNAPSHOT,
    RPC_MEMORY_SYNC_ALL,
    RPC_PRIMING_REINDEX,
    SCHEDULES_BUCKET,
    SERVICES_BUCKET,
    inbox_prefix,
)
from animas_core.config_store import CONFIG_STREAM, CONFIG_SUBJECT
from animas_tools.authority import AUTHORITY, Bodies, Durable, requests_of, streams_used
from animas_tools.jetstream_subjects import kv_stream, object_stream

ANIMA = "sample"
BUCKETS = (SERVICES_BUCKET, DELIVERIES_BUCKET, SCHEDULES_BUCKET, NOTIFICATIONS_BUCKET, GUARDS_BUCKET)
STREAMS = (
    ACTIVITY_STREAM,
    DELTAS_STREAM,
    DEADLETTER_STREAM,
    *(kv_stream(b) for b in BUCKETS),
    object_stream(BODIES_BUCKET),
)
OPERATOR_RPC = (RPC_MEMORY_REBUILD, RPC_MEMORY_SNAPSHOT, RPC_MEMORY_SYNC_ALL, RPC_PRIMING_REINDEX)
"""rpc subjects only the operator's CLI calls."""


def matches(pattern: str, subject: str) -> bool:
    """NATS subject matching: ``*`` one token, ``>`` one or more trailing tokens."""
    want, have = pattern.split("."), subject.split(".")
    for i, token in enumerate(want):
        if token == ">":
            return len(have) > i
        if i >= len(have) or token not in ("*", have[i]):
            return False
    return len(want) == len(have)


def concrete(pattern: str) -> str:
    """A subject a pattern matches: ``*`` → the sample anima, ``>`` → one more token."""
    return ".".join(ANIMA if t == "*" else "x" if t == ">" else t for t in pattern.split("."))


def event_subject(event_type: str) -> str:
    """The subject of a (pattern of an) event type, for the sample anima."""
    return f"activity.{ANIMA}.{concrete(event_type)}"


def others(service: str) -> list[str]:
    """Every other service in the table."""
    return [name for name in AUTHORITY if name != service]


def durables_of(service: str) -> tuple[Durable, ...]:
    """The service's own durables."""
    return AUTHORITY[service].durables


def foreign_durables(service: str) -> list[Durable]:
    """Every durable in the table that is another service's."""
    return [d for other in others(service) for d in AUTHORITY[other].durables]


def reads_granted(service: str) -> set[str]:
    """Streams whose stored messages the service may get."""
    grant = AUTHORITY[service]
    streams = set(grant.reads) | {kv_stream(b) for b in grant.buckets}
    if grant.bodies is not Bodies.NONE:
        streams.add(object_stream(BODIES_BUCKET))
    return streams


def own_event_subjects(service: str) -> list[str]:
    """One subject per event type the service publishes."""
    return [event_subject(t) for t in AUTHORITY[service].events]


def foreign_event_subjects(service: str) -> list[str]:
    """Other services' event types this one may not publish, and its own never-events."""
    grant = AUTHORITY[service]
    refused = [event_subject(t) for t in grant.never_events]
    for other in others(service):
        for event_type in AUTHORITY[other].events:
            subject = event_subject(event_type)
            if not any(matches(f"activity.*.{own}", subject) for own in grant.events):
                refused.append(subject)
    return sorted(set(refused))


def rpc_requests(service: str) -> list[str]:
    """The rpc subjects it calls, made concrete."""
    return [concrete(s) for s in requests_of(service)]


def all_rpc() -> set[str]:
    """Every rpc subject anyone serves."""
    return {s for grant in AUTHORITY.values() for s in grant.serves}


def refused_rpc(service: str) -> list[str]:
    """rpc subjects it may not call: what others serve beyond its calls, and the operator's."""
    allowed = requests_of(service)
    candidates = {concrete(s) for s in all_rpc() | set(OPERATOR_RPC)}
    return sorted(s for s in candidates if not any(matches(a, s) for a in allowed))


def allowed_subscriptions(service: str) -> list[str]:
    """Its inboxes, the rpc subjects it serves, and what it listens to live."""
    grant = AUTHORITY[service]
    return [
        f"{inbox_prefix(service)}.x",
        f"{inbox_prefix(service)}.>",
        *grant.serves,
        *grant.listens,
        CONFIG_SUBJECT,  # hearing that the operator's config changed
    ]


def refused_subscriptions(service: str) -> list[str]:
    """Everything, every activity, rpc, inbox, ack and KV subject; others' inboxes and rpc."""
    grant = AUTHORITY[service]
    refused = [
        ">",
        "activity.>",
        "rpc.>",
        "_INBOX.>",
        "_INBOX.x",
        "$JS.ACK.>",
        "$KV.>",
        "deadletter.>",
    ]
    if "delta.*" not in grant.listens:
        # (nats-server matches a subscription's subject against the allow list token by token, so
        # an allowed ``delta.*`` admits ``delta.>``: its ``*`` matches the token ``>``. Harmless
        # here: delta subjects have one token after ``delta``.)
        refused.append("delta.>")
    refused += [f"{inbox_prefix(other)}.>" for other in others(service)]
    refused += sorted(s for s in all_rpc() - set(grant.serves))
    if not any(matches(listen, "activity.sample.message.received") for listen in grant.listens):
        refused.append("activity.*.message.received")
    return refused


def refused_publishes(service: str) -> list[str]:
    """Core publishes the broker must refuse the service."""
    grant = AUTHORITY[service]
    refused = [*foreign_event_subjects(service), *refused_rpc(service)]
    refused += [f"deadletter.{other}" for other in others(service)]
    refused += [f"$KV.{SERVICES_BUCKET}.{other}.seed" for other in others(service)]
    refused += [f"{inbox_prefix(other)}.x" for other in others(service)] + ["_INBOX.x"]
    refused += [
        f"$KV.{b}.x"
        for b in (DELIVERIES_BUCKET, SCHEDULES_BUCKET, NOTIFICATIONS_BUCKET, GUARDS_BUCKET)
        if b not in grant.buckets
    ]
    refused.append(CONFIG_SUBJECT)  # only the operator writes the config
    if not grant.journal:
        refused.append(f"delta.{ANIMA}")
    if grant.bodies is not Bodies.WRITE:
        refused += [f"$O.{BODIES_BUCKET}.C.x", f"$O.{BODIES_BUCKET}.M.x"]
    return refused


def refused_api(service: str) -> list[str]:
    """JetStream API subjects the broker must refuse the service."""
    api = "$JS.API"
    own = durables_of(service)[0].name if durables_of(service) else "matrix-own"
    refused = [
        f"{api}.STREAM.MSG.DELETE.{ACTIVITY_STREAM}",
        f"{api}.STREAM.UPDATE.{ACTIVITY_STREAM}",
        f"{api}.STREAM.DELETE.{ACTIVITY_STREAM}",
        f"{api}.STREAM.PURGE.{ACTIVITY_STREAM}",
        f"{api}.STREAM.CREATE.MATRIX",
        f"{api}.STREAM.LIST",
        f"{api}.CONSUMER.LIST.{ACTIVITY_STREAM}",
        f"{api}.CONSUMER.DELETE.{ACTIVITY_STREAM}.{own}",
        # Ephemeral and legacy creates: a body the broker cannot see could name any consumer.
        f"{api}.CONSUMER.CREATE.{ACTIVITY_STREAM}",
        f"{api}.CONSUMER.CREATE.{ACTIVITY_STREAM}.matrix-intruder",
        f"{api}.CONSUMER.CREATE.{ACTIVITY_STREAM}.matrix-intruder.activity.>",
        f"{api}.CONSUMER.DURABLE.CREATE.{ACTIVITY_STREAM}.{own}",
        f"{api}.CONSUMER.CREATE.{DELTAS_STREAM}",
    ]
    for durable in foreign_durables(service):
        consumer = f"{durable.stream}.{durable.name}"
        refused += [
            f"{api}.CONSUMER.CREATE.{consumer}",
            f"{api}.CONSUMER.CREATE.{consumer}.activity.>",
            f"{api}.CONSUMER.INFO.{consumer}",
            f"{api}.CONSUMER.MSG.NEXT.{consumer}",
            f"{api}.CONSUMER.DELETE.{consumer}",
            f"$JS.ACK.{consumer}.1.1.1.1.1",
        ]
    for stream in sorted(set(STREAMS) - reads_granted(service)):
        refused += [f"{api}.DIRECT.GET.{stream}", f"{api}.STREAM.MSG.GET.{stream}"]
    refused += [f"{api}.STREAM.INFO.{s}" for s in STREAMS if s not in streams_used(service)]
    if AUTHORITY[service].bodies is not Bodies.READ:
        refused += [f"{api}.CONSUMER.CREATE.{object_stream(BODIES_BUCKET)}", f"{api}.STREAM.NAMES"]
    # The config is read from the leader only and followed without a consumer of its own (whose
    # deliver subject the broker would not check): no watcher, no direct get, no purge.
    refused += [
        f"{api}.CONSUMER.CREATE.{CONFIG_STREAM}",
        f"{api}.CONSUMER.CREATE.{CONFIG_STREAM}.matrix-watcher.{CONFIG_SUBJECT}",
        f"{api}.DIRECT.GET.{CONFIG_STREAM}",
        f"{api}.STREAM.PURGE.{CONFIG_STREAM}",
        f"{api}.STREAM.MSG.DELETE.{CONFIG_STREAM}",
    ]
    return refused
