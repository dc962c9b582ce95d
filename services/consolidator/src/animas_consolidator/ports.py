"""What a consolidation run needs from the outside, as protocols the adapters (and tests) implement."""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol

from animas_consolidator.domain.model_choice import ModelTarget
from animas_contracts import ConsolidationPlanned, IdentityRevised, MemoryOpRequested, TaskRecord, TokenUsage


class AnimaFiles(Protocol):
    """The anima's files, read through memory-writer (``rpc.memory.read.<anima>``)."""

    async def read(self, anima: str, path: str) -> str | None: ...

    async def listing(self, anima: str, path: str) -> list[str]: ...

    async def tree(self, anima: str) -> dict[str, str]: ...


class TaskReader(Protocol):
    """The anima's task store, read through memory-writer (``MemoryClient.tasks``)."""

    async def tasks(self, anima: str) -> list[TaskRecord]: ...


class KnowledgeSearch(Protocol):
    """Priming's search (``rpc.priming.search.<anima>``): knowledge files that may duplicate a text."""

    async def knowledge_paths(self, anima: str, text: str, limit: int) -> list[str] | None:
        """Paths of the best hits, or None when priming did not answer (the caller looks further)."""
        ...


@dataclasses.dataclass(frozen=True)
class ModelAnswer:
    """A decision call's answer."""

    text: str
    model: str
    raw_request: dict[str, Any]
    raw_response: dict[str, Any]
    usage: TokenUsage


class ModelCallFailed(Exception):
    """The model did not answer (network, provider, timeout); the run falls back."""


class DecisionModel(Protocol):
    """Asks a model for the day's decisions."""

    async def ask(self, target: ModelTarget, messages: list[dict[str, str]]) -> ModelAnswer:
        """One completion; raises :class:`ModelCallFailed`."""
        ...


@dataclasses.dataclass(frozen=True)
class OpOutcome:
    """What memory-writer said to an operation: applied, rejected (with why), or not known yet."""

    applied: bool | None
    reason: str = ""
    first_time: bool = False
    """The request was stored now, not found stored by an earlier attempt of the run."""


class MemoryOps(Protocol):
    """Publishes ``memory.op.requested`` (or ``identity.revised``) and learns memory-writer's answer."""

    async def apply(self, request: MemoryOpRequested | IdentityRevised) -> OpOutcome: ...


class RunLedger(Protocol):
    """What an earlier delivery of the same run left in the activity stream."""

    async def plan(self, anima: str, plan_id: str, after_seq: int) -> ConsolidationPlanned | None:
        """The run's recorded plan, stored after the due event (``after_seq``), or None."""
        ...


class BodyStore(Protocol):
    """Large request and response bodies, stored by digest."""

    async def put(self, digest: str, data: bytes) -> None: ...
