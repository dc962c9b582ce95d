"""What a tool needs to act for one anima in one cycle, and what the cycle learns from its tools."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime

from animas_agent_runner.ports import (
    ChannelReader,
    MemoryOps,
    MemorySearch,
    MemoryStore,
    OutboundSender,
    ReportWaiter,
)
from animas_agent_runner.toolbox.effects import EffectRetry
from animas_agent_runner.toolbox.workspace import Workspace
from animas_contracts import TaskLink, derive_id
from animas_core.broker import EventSink
from animas_core.permissions import Permissions


@dataclasses.dataclass
class CycleEffects:
    """What the tools did this cycle, for the encoding step at its end."""

    episode_written: bool = False
    """The model appended its own episode entry; the framework then adds none."""
    remembered: list[str] = dataclasses.field(default_factory=list)
    """Facts and lessons written to knowledge."""
    messages_sent: list[str] = dataclasses.field(default_factory=list)
    """Recipients of send_message and post_channel (``#board`` for a post)."""
    tools_used: list[str] = dataclasses.field(default_factory=list)
    denied: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class ToolContext:
    """One anima's cycle as its tools see it."""

    anima: str
    cycle_id: str
    correlation_id: str
    thread_id: str
    trigger: str
    """How the episode names what woke the anima, e.g. ``Message received (from tanaka)``."""
    permissions: Permissions
    memory: MemoryStore
    search: MemorySearch
    ops: MemoryOps
    channels: ChannelReader
    publisher: EventSink
    workspace: Workspace | None
    now: Callable[[], datetime]
    reply_to: str | None = None
    """The message that woke the anima, when it came from another anima."""
    reply_to_sender: str | None = None
    answers_to: str | None = None
    """The anima the cycle's final answer is delivered to (it asked a question); None otherwise."""
    hops: int = 0
    """The hops of the message that woke the anima; what it sends carries one more."""
    pair_depth: int = 0
    """The pair depth of the message that woke the anima (see ``message.received``)."""
    outbound: OutboundSender | None = None
    """Where messages go and outbound's verdict comes back; None publishes without waiting."""
    task: TaskLink | None = None
    """The delegated task this cycle carries out (a task cycle); None otherwise."""
    reports: ReportWaiter | None = None
    """Where a waiting ``delegate_task`` hears its report; None: delegations never wait."""
    op_timeout_s: float = 10.0
    effect_retry: EffectRetry = dataclasses.field(default_factory=EffectRetry)
    """How a call whose effect was not confirmed is retried before the cycle fails."""
    effects: CycleEffects = dataclasses.field(default_factory=CycleEffects)

    def effect_id(self, ordinal: int, kind: str) -> str:
        """The id of the effect of the call at ``ordinal``: the same on a redelivered cycle."""
        return derive_id(self.cycle_id, "tool", ordinal, kind)
