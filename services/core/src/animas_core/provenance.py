"""The subject is the authority (DESIGN §9): decode an event and check it against where it came from.

The broker decides who may publish on which subject (each service's NATS user), so the subject a
message arrived on is a fact a consumer can trust; the payload is whatever the publisher wrote.
Every consumer therefore takes the anima and the event type from the subject and refuses an event
whose payload names another anima or another type: an ``identity.revised`` payload smuggled onto
``activity.a.cycle.started``, or a payload naming anima ``b`` on ``activity.a.…``. The refusal is
a :class:`SubjectMismatch`, a :class:`ContractError`, so the error policy dead-letters it with the
reason, and replay and rebuild skip it the same way.
"""

from __future__ import annotations

import dataclasses

from animas_contracts import ContractError, Event, ModelDelta, decode_event


class SubjectMismatch(ContractError):
    """An event whose payload disagrees with the subject it was delivered on."""


@dataclasses.dataclass(frozen=True)
class SubjectClaim:
    """What a subject says about the event on it."""

    anima: str
    event_type: str


_DELTA_TYPE = ModelDelta.__struct_config__.tag


def claim_of(subject: str) -> SubjectClaim:
    """The anima and event type a subject names.

    Accepts the published form ``activity.<anima>.<type>`` (what core-NATS subscribers see), the
    stored form ``activity.<partition>.<anima>.<type>`` (what stream consumers see; anima names
    start with a letter, so a numeric second token is always a partition) and ``delta.<anima>``.

    Raises:
        SubjectMismatch: the subject is not one an event can arrive on.
    """
    tokens = subject.split(".")
    if tokens[0] == "delta" and len(tokens) == 2 and tokens[1]:
        assert isinstance(_DELTA_TYPE, str)
        return SubjectClaim(tokens[1], _DELTA_TYPE)
    if tokens[0] == "activity" and len(tokens) >= 3:
        rest = tokens[2:] if tokens[1].isdigit() else tokens[1:]
        if len(rest) >= 2 and all(rest):
            return SubjectClaim(rest[0], ".".join(rest[1:]))
    raise SubjectMismatch(f"{subject!r} is not an event subject")


def check_provenance(subject: str, event: Event) -> Event:
    """Return ``event`` if its payload agrees with ``subject``; else raise :class:`SubjectMismatch`."""
    claim = claim_of(subject)
    if event.event_type != claim.event_type:
        raise SubjectMismatch(
            f"payload type {event.event_type!r} on subject {subject!r}, which carries {claim.event_type!r}"
        )
    if event.anima != claim.anima:
        raise SubjectMismatch(
            f"payload anima {event.anima[:64]!r} on subject {subject!r}, which belongs to {claim.anima!r}"
        )
    return event


def decode_delivered(subject: str, data: bytes) -> Event:
    """Decode a delivered event and check it against its subject.

    Raises:
        ContractError: the bytes are not a known event (see ``decode_event``), or
            :class:`SubjectMismatch` when the payload names another anima or type than the subject.
    """
    return check_provenance(subject, decode_event(data))
