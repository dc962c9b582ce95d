"""AnimaWorks contracts: the events services exchange, their subjects and how to read them.

This package is a leaf: it imports only msgspec and the standard library.
"""

from animas_contracts.agent import (
    Body,
    CycleFinished,
    CycleStarted,
    CycleStatus,
    LlmCalled,
    TokenUsage,
    Trigger,
)
from animas_contracts.envelope import Event, utc_now
from animas_contracts.errors import ContractError
from animas_contracts.ids import derive_id, uuid7
from animas_contracts.messaging import MessageOrigin, MessageReceived, ResponseOutcome, ResponseSent
from animas_contracts.names import InvalidAnimaName, is_valid_anima_name, validate_anima_name
from animas_contracts.operations import DeadLetter, RebuildReply, RebuildRequest
from animas_contracts.registry import (
    EVENT_TYPES,
    REGISTRY,
    Registry,
    current_version,
    decode_event,
    encode_event,
    type_tag,
)

__all__ = [
    "EVENT_TYPES",
    "REGISTRY",
    "Body",
    "ContractError",
    "CycleFinished",
    "CycleStarted",
    "CycleStatus",
    "DeadLetter",
    "Event",
    "InvalidAnimaName",
    "LlmCalled",
    "MessageOrigin",
    "MessageReceived",
    "RebuildReply",
    "RebuildRequest",
    "Registry",
    "ResponseOutcome",
    "ResponseSent",
    "TokenUsage",
    "Trigger",
    "current_version",
    "decode_event",
    "derive_id",
    "encode_event",
    "is_valid_anima_name",
    "type_tag",
    "utc_now",
    "uuid7",
    "validate_anima_name",
]
