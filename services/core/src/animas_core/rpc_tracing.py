"""Trace context across NATS request/reply: the hops FastStream's middleware does not see.

FastStream writes and reads ``traceparent`` on what passes through the broker's publishers and
subscribers. The RPCs (``rpc.memory.*``, ``rpc.priming.*``) use the raw connection, so without
this every answer would start a trace of its own and one chat would fall apart into several
(DESIGN.md §5, invariant 8). Callers use :func:`traced_request`; responders are registered
through :func:`traced_responder`, or open :func:`server_span` themselves.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager

from nats.aio.client import Client
from nats.aio.msg import Msg
from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind, TracerProvider
from opentelemetry.util.types import AttributeValue

TRACER_NAME = "animaworks.rpc"

Responder = Callable[[Msg], Awaitable[None]]
"""A core-NATS subscription callback that answers with ``msg.respond``."""


def operation(subject: str) -> str:
    """The span name of an RPC subject: ``rpc.<service>.<verb>``, without the anima token.

    Names stay few (one per endpoint, not one per anima), as span names should; the full
    subject is kept in ``messaging.destination.name``.
    """
    return ".".join(subject.split(".")[:3])


def rpc_attributes(subject: str) -> dict[str, AttributeValue]:
    """The semantic-convention attributes of one request on ``subject``."""
    parts = subject.split(".")
    attributes: dict[str, AttributeValue] = {
        "messaging.system": "nats",
        "messaging.destination.name": subject,
        "rpc.system": "nats",
    }
    if len(parts) >= 3 and parts[0] == "rpc":
        attributes["rpc.service"] = parts[1]
        attributes["rpc.method"] = parts[2]
    return attributes


def request_headers(headers: Mapping[str, str] | None = None) -> dict[str, str]:
    """``headers`` plus the W3C trace context (``traceparent``) of the current span."""
    carrier = dict(headers or {})
    propagate.inject(carrier)
    return carrier


async def traced_request(
    nc: Client,
    subject: str,
    payload: bytes,
    *,
    timeout_s: float,
    tracer_provider: TracerProvider | None = None,
) -> Msg:
    """``nc.request`` inside a CLIENT span whose context travels with the request.

    Errors (no responders, timeout) are recorded on the span and raised unchanged, so callers
    keep their own handling.
    """
    tracer = trace.get_tracer(TRACER_NAME, tracer_provider=tracer_provider)
    with tracer.start_as_current_span(
        operation(subject), kind=SpanKind.CLIENT, attributes=rpc_attributes(subject)
    ):
        return await nc.request(subject, payload, timeout=timeout_s, headers=request_headers())


@contextmanager
def server_span(
    name: str,
    headers: Mapping[str, str] | None,
    *,
    kind: SpanKind = SpanKind.SERVER,
    attributes: Mapping[str, AttributeValue] | None = None,
    tracer_provider: TracerProvider | None = None,
) -> Iterator[Span]:
    """A current span that continues the trace whose context ``headers`` carry.

    Without a ``traceparent`` (a request from a client that does not trace) it starts a new trace.
    """
    parent = propagate.extract(dict(headers or {}))
    tracer = trace.get_tracer(TRACER_NAME, tracer_provider=tracer_provider)
    with tracer.start_as_current_span(name, context=parent, kind=kind, attributes=attributes) as span:
        yield span


def traced_responder(respond: Responder, *, tracer_provider: TracerProvider | None = None) -> Responder:
    """``respond`` inside a SERVER span that is the child of the caller's span."""

    async def handle(msg: Msg) -> None:
        with server_span(
            operation(msg.subject),
            msg.headers,
            attributes=rpc_attributes(msg.subject),
            tracer_provider=tracer_provider,
        ):
            await respond(msg)

    return handle
