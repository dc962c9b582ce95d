"""Decode any stored event by its type, upcasting old versions on read."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

from animas_contracts.agent import CycleChained, CycleFinished, CycleRecovered, CycleStarted, LlmCalled
from animas_contracts.boards import BoardCreated, BoardJoined, BoardLeft, ChannelRead
from animas_contracts.consolidation import ConsolidationFinished, ConsolidationPlanned, ConsolidationStarted
from animas_contracts.conversation import ConversationCompacted
from animas_contracts.envelope import Event
from animas_contracts.errors import ContractError
from animas_contracts.forgetting import ForgettingDownscaled, MemoryForgotten
from animas_contracts.identity import IdentityProposed
from animas_contracts.memory import (
    AnimaCreated,
    AnimaFileWritten,
    AnimaStatusChanged,
    IdentityRevised,
    MemoryAccessed,
    MemoryEdited,
    MemoryExtracted,
    MemoryOpApplied,
    MemoryOpRejected,
    MemoryOpRequested,
)
from animas_contracts.messaging import MessageReceived, ResponseSent
from animas_contracts.notifications import HumanNotified, HumanNotifyFailed, HumanNotifyRequested
from animas_contracts.organization import ReportTaken, TaskAssigned, TaskDelegated, TaskReported
from animas_contracts.outbound import (
    ChannelPosted,
    MessagingRefused,
    OutboundDelivered,
    OutboundFailed,
    OutboundRequested,
)
from animas_contracts.schedule import (
    ConsolidationDue,
    CronDue,
    CronExecuted,
    HeartbeatDue,
    HeartbeatFinished,
    ScheduleRejected,
)
from animas_contracts.tools import (
    BackgroundResultDelivered,
    ModelDelta,
    ToolBackgroundFinished,
    ToolUsed,
)
from animas_contracts.upcasters import UPCASTERS, Upcaster
from animas_contracts.webhooks import WebhookRejected

EVENT_TYPES: tuple[type[Event], ...] = (
    MessageReceived,
    CycleStarted,
    LlmCalled,
    ResponseSent,
    CycleFinished,
    CycleRecovered,
    CycleChained,
    AnimaCreated,
    AnimaStatusChanged,
    AnimaFileWritten,
    IdentityRevised,
    IdentityProposed,
    MemoryOpRequested,
    MemoryOpApplied,
    MemoryOpRejected,
    MemoryEdited,
    MemoryExtracted,
    MemoryAccessed,
    ToolUsed,
    ToolBackgroundFinished,
    BackgroundResultDelivered,
    OutboundRequested,
    OutboundDelivered,
    OutboundFailed,
    ChannelPosted,
    ModelDelta,
    ConversationCompacted,
    HeartbeatDue,
    CronDue,
    ConsolidationDue,
    ScheduleRejected,
    HeartbeatFinished,
    CronExecuted,
    ConsolidationStarted,
    ConsolidationPlanned,
    ConsolidationFinished,
    ForgettingDownscaled,
    MemoryForgotten,
    MessagingRefused,
    TaskDelegated,
    TaskAssigned,
    TaskReported,
    ReportTaken,
    BoardCreated,
    BoardJoined,
    BoardLeft,
    ChannelRead,
    HumanNotifyRequested,
    HumanNotified,
    HumanNotifyFailed,
    WebhookRejected,
)


class _Head(msgspec.Struct):
    """Just enough of a payload to route it: its type and version."""

    type: str
    v: int = 1


def type_tag(cls: type[Event]) -> str:
    """The type tag of an event class."""
    tag = cls.__struct_config__.tag
    if not isinstance(tag, str):
        raise TypeError(f"{cls.__name__} has no string tag")
    return tag


def current_version(cls: type[Event]) -> int:
    """The version a class writes: the default of its ``v`` field."""
    for field in msgspec.structs.fields(cls):
        if field.name == "v":
            assert isinstance(field.default, int)
            return field.default
    raise TypeError(f"{cls.__name__} has no v field")


class Registry:
    """Maps type tags to event classes and decodes stored payloads into current versions."""

    def __init__(self, types: Iterable[type[Event]], upcasters: Mapping[tuple[str, int], Upcaster]) -> None:
        self._types = {type_tag(cls): cls for cls in types}
        self._upcasters = dict(upcasters)
        self._encoder = msgspec.json.Encoder()
        for tag, cls in self._types.items():
            for version in range(1, current_version(cls)):
                if (tag, version) not in self._upcasters:
                    raise TypeError(
                        f"{tag} is at v{current_version(cls)} but has no upcaster from v{version}"
                    )

    def types(self) -> tuple[type[Event], ...]:
        """Every registered event class."""
        return tuple(self._types.values())

    def tags(self) -> tuple[str, ...]:
        """Every registered type tag."""
        return tuple(self._types)

    def event_class(self, tag: str) -> type[Event]:
        """The class registered for ``tag``."""
        try:
            return self._types[tag]
        except KeyError:
            raise ContractError(f"unknown event type {tag!r}") from None

    def encode(self, event: Event) -> bytes:
        """Encode an event as JSON bytes."""
        return self._encoder.encode(event)

    def decode(self, data: bytes) -> Event:
        """Decode a stored payload into the current version of its event class.

        Raises:
            ContractError: the bytes are not JSON, name an unknown type, carry a version newer
                than this build knows, or do not match the schema.
        """
        try:
            head = msgspec.json.decode(data, type=_Head)
        except msgspec.DecodeError as exc:
            raise ContractError(f"not an event: {exc}") from None
        cls = self.event_class(head.type)
        target = current_version(cls)
        try:
            if head.v == target:
                return msgspec.json.decode(data, type=cls)
            if head.v > target or head.v < 1:
                raise ContractError(f"{head.type} v{head.v} cannot be read: this build knows v1..v{target}")
            payload: dict[str, Any] = msgspec.json.decode(data)
            for version in range(head.v, target):
                payload = self._upcasters[(head.type, version)](payload)
                payload["v"] = version + 1
            return msgspec.json.decode(self._encoder.encode(payload), type=cls)
        except msgspec.ValidationError as exc:
            raise ContractError(f"invalid {head.type} v{head.v}: {exc}") from None


REGISTRY = Registry(EVENT_TYPES, UPCASTERS)


def decode_event(data: bytes) -> Event:
    """Decode a stored event with the default registry."""
    return REGISTRY.decode(data)


def encode_event(event: Event) -> bytes:
    """Encode an event with the default registry."""
    return REGISTRY.encode(event)
