"""What a cycle runner is built from: the ports it talks to and the settings it runs under."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from pathlib import Path

import httpx

from animas_agent_runner import domain
from animas_agent_runner.ports import (
    BodyStore,
    ChannelReader,
    Journal,
    MemoryOps,
    MemorySearch,
    MemoryStore,
    OutboundSender,
    Priming,
    ReportWaiter,
    TurnModel,
)
from animas_agent_runner.toolbox.background import BackgroundTasks
from animas_agent_runner.toolbox.effects import EffectRetry
from animas_core.broker import EventSink
from animas_core.clock import Clock, system_clock
from animas_core.config import CachedConfig
from animas_core.faults import FaultPoints


@dataclasses.dataclass(frozen=True)
class CyclePorts:
    """Everything outside agent-runner a cycle talks to."""

    publisher: EventSink
    bodies: BodyStore
    memory: MemoryStore
    priming: Priming
    search: MemorySearch
    ops: MemoryOps
    channels: ChannelReader
    models: Mapping[str, TurnModel]
    """A client per provider format: ``anthropic`` (the Anthropic SDK) and ``litellm`` (all others)."""
    context_window: Callable[[str], int]
    faults: FaultPoints
    journal: Journal
    """The delta stream read back, to recover an attempt that died mid-stream."""
    clock: Clock = system_clock
    """What time the prompt and the tools say it is."""
    outbound: OutboundSender | None = None
    """Sends through outbound and hears its verdict; None publishes without waiting (tests)."""
    reports: ReportWaiter | None = None
    """Hears reports on delegated tasks for a waiting ``delegate_task``; None: no waiting."""
    http: httpx.AsyncClient | None = None
    """The client external tools call through (toolbox/external); None: the runner makes its own."""
    background: BackgroundTasks | None = None
    """Where tool calls past their threshold go on (toolbox/background); None: the runner's own."""
    config: CachedConfig | None = None
    """The service's live config (the runtime's); None reads ``CycleSettings.config_path`` alone."""


@dataclasses.dataclass(frozen=True)
class CycleSettings:
    """How cycles run on this replica."""

    config_path: Path
    max_deliveries: int
    body_inline_limit: int
    workspace: Path | None
    hidden: tuple[Path, ...] = ()
    """Paths no workspace tool may touch, whatever an anima's permissions say."""
    op_timeout_s: float = 10.0
    effect_retry: EffectRetry = dataclasses.field(default_factory=EffectRetry)
    """How a tool call whose effect was not confirmed is retried before the cycle fails."""
    command_path: str = "/usr/local/bin:/usr/bin:/bin"
    local_model: domain.LocalModel | None = None
    """The bundled local model's server, used when an anima has no model configured."""
