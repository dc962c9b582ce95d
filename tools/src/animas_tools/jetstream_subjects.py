"""The subjects nats-py 2.16 publishes for each JetStream operation, as nats-server 2.15 sees them.

What a NATS user's permissions must allow for an operation (verified by tracing a real
nats-server while nats-py ran each one; tests/security/test_broker_matrix.py checks them):

- stream info: ``$JS.API.STREAM.INFO.<stream>`` (also how a KV or object bucket is bound);
- a durable by name: create ``$JS.API.CONSUMER.CREATE.<stream>.<name>[.<filter>]`` (the filter
  is in the subject when there is exactly one), info ``$JS.API.CONSUMER.INFO.<stream>.<name>``,
  pull ``$JS.API.CONSUMER.MSG.NEXT.<stream>.<name>``, and acks, naks, terms and in-progress acks
  on ``$JS.ACK.<stream>.<name>.>``. A durable made without ``name`` uses the legacy
  ``$JS.API.CONSUMER.DURABLE.CREATE.<stream>.<name>``, an ephemeral ``…CONSUMER.CREATE.<stream>``
  (ordered consumers) or ``…CREATE.<stream>.<random name>.<filter>`` (pull_subscribe);
- a stored message: ``$JS.API.STREAM.MSG.GET.<stream>``, or with direct gets on
  ``$JS.API.DIRECT.GET.<stream>`` (batches) and ``$JS.API.DIRECT.GET.<stream>.<subject>`` (last);
- KV: put, create and update publish on ``$KV.<bucket>.<key>``; get is a message get on
  ``KV_<bucket>``;
- object store: put publishes ``$O.<bucket>.C.<nuid>`` and ``$O.<bucket>.M.<name>`` after a
  message get of the meta (and purges the old chunks when the name existed); get is that message
  get, ``$JS.API.STREAM.NAMES``, an ordered push consumer on ``OBJ_<bucket>`` and flow-control
  replies on ``$JS.FC.<stream>.>``.
"""

from __future__ import annotations

JS_API = "$JS.API"

OPERATOR_ONLY = (
    f"{JS_API}.STREAM.CREATE.>",
    f"{JS_API}.STREAM.UPDATE.>",
    f"{JS_API}.STREAM.DELETE.>",
    f"{JS_API}.STREAM.PURGE.>",
    f"{JS_API}.STREAM.MSG.DELETE.>",
    f"{JS_API}.CONSUMER.DELETE.>",
)
"""What no service may do, whatever an allow rule says: these change or lose history."""


def kv_stream(bucket: str) -> str:
    """The stream behind a KV bucket."""
    return f"KV_{bucket}"


def object_stream(bucket: str) -> str:
    """The stream behind an object store bucket."""
    return f"OBJ_{bucket}"


def stream_info(stream: str) -> str:
    """Reading a stream's config and state."""
    return f"{JS_API}.STREAM.INFO.{stream}"


def stored_reads(stream: str) -> tuple[str, ...]:
    """Getting stored messages of a stream (message gets and direct gets)."""
    return (
        f"{JS_API}.DIRECT.GET.{stream}",
        f"{JS_API}.DIRECT.GET.{stream}.>",
        f"{JS_API}.STREAM.MSG.GET.{stream}",
    )


def latest_get(stream: str) -> str:
    """Getting a stored message (a KV key's latest revision) from the stream's leader, not a replica."""
    return f"{JS_API}.STREAM.MSG.GET.{stream}"


def durable_use(stream: str, name: str) -> tuple[str, ...]:
    """Creating, inspecting, pulling from and acknowledging one durable, by its exact name."""
    consumer = f"{stream}.{name}"
    return (
        f"{JS_API}.CONSUMER.CREATE.{consumer}",
        f"{JS_API}.CONSUMER.CREATE.{consumer}.>",
        f"{JS_API}.CONSUMER.INFO.{consumer}",
        f"{JS_API}.CONSUMER.MSG.NEXT.{consumer}",
        f"$JS.ACK.{consumer}.>",
    )


def object_writes(bucket: str) -> tuple[str, ...]:
    """Storing objects (and looking up whether one is there)."""
    return (f"$O.{bucket}.C.>", f"$O.{bucket}.M.>", *stored_reads(object_stream(bucket)))


def object_reads(bucket: str) -> tuple[str, ...]:
    """Fetching objects: nats-py reads one through an ordered push consumer (an ephemeral)."""
    stream = object_stream(bucket)
    return (
        *stored_reads(stream),
        f"{JS_API}.STREAM.NAMES",
        f"{JS_API}.CONSUMER.CREATE.{stream}",
        f"$JS.FC.{stream}.>",
    )
