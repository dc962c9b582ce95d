"""The sections of ``config.json`` (seed 003 §3.2, newer defaults from seed 004).

Every section forbids unknown keys, so a misspelt key stops the system at start-up with the field
path instead of being ignored (DESIGN §8 "Typed, not stringly typed"). The one exception is
``image_gen``, whose settings arrive with the image-generation feature. The top-level model,
loading and writing live in :mod:`animas_core.config`, which re-exports everything here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated, Any, Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    SecretStr,
    SerializationInfo,
    field_validator,
)

from animas_contracts import validate_anima_name

CONFIG_VERSION = 1
"""The config.json format this code writes; older files are migrated on load."""


class ConfigError(ValueError):
    """config.json (or a status.json) is missing, unreadable or invalid.

    Attributes:
        problems: One line per problem, each naming its field path, e.g.
            ``animas.bob.max_tokens: Input should be greater than 0``.
    """

    def __init__(self, message: str, problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.problems: tuple[str, ...] = tuple(problems) or (message,)


# --- value types -----------------------------------------------------------------------------

ModeName = Literal["anthropic", "litellm", "assisted", "agent_sdk"]
"""Execution modes (DESIGN §7): Anthropic SDK loop, any provider via litellm, one-shot assisted,
and the Claude Agent SDK (the Claude Code CLI drives the loop; the ``agent-sdk`` extra)."""

MODE_ALIASES: Final[dict[str, ModeName]] = {"a1": "agent_sdk", "a2": "litellm", "b": "assisted"}
"""The seed's mode names (A1/A2/B, any case) and what they mean here."""

_MODES: Final[dict[str, ModeName]] = {
    "anthropic": "anthropic",
    "litellm": "litellm",
    "assisted": "assisted",
    "agent_sdk": "agent_sdk",
    **MODE_ALIASES,
}


def normalise_mode(value: str) -> ModeName:
    """The canonical mode for a mode name or one of the seed's aliases (case-insensitive).

    Raises:
        ValueError: The name is neither a mode nor an alias.
    """
    mode = _MODES.get(value.strip().lower())
    if mode is None:
        raise ValueError(
            f"unknown execution mode {value!r}: use 'anthropic', 'litellm', 'assisted' or "
            "'agent_sdk' (or the seed's 'A1', 'A2', 'B')"
        )
    return mode


def _mode_before(value: object) -> object:
    # Non-strings fall through so pydantic reports the wrong type itself.
    return normalise_mode(value) if isinstance(value, str) else value


ExecutionMode = Annotated[ModeName, BeforeValidator(_mode_before)]

AnimaName = Annotated[str, AfterValidator(validate_anima_name)]

CredentialName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$", max_length=64)]
"""Letters, digits, ``_`` and ``-``: the name also forms ``ANIMAWORKS_CREDENTIAL_<NAME>_API_KEY``."""

ModelName = Annotated[str, Field(min_length=1)]
"""A litellm model name (``openai/gpt-4o``, ``anthropic/claude-…``, ``ollama/llama3.2``)."""

UnitFraction = Annotated[float, Field(gt=0, le=1)]
"""A ratio in (0, 1]."""

_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def _check_clock_time(value: str) -> str:
    if not _HHMM.fullmatch(value):
        raise ValueError(f"must be a 24-hour time HH:MM, got {value!r}")
    return value


ClockTime = Annotated[str, AfterValidator(_check_clock_time)]


def _check_time_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        # ZoneInfoNotFoundError is a KeyError, which pydantic would not turn into a field error.
        raise ValueError(f"unknown IANA time zone {value!r} (e.g. 'UTC', 'Asia/Tokyo')") from None
    return value


TimeZoneName = Annotated[str, AfterValidator(_check_time_zone)]

REVEAL_SECRETS: Final = {"secrets": "reveal"}
"""Serialisation context that writes real keys (only :func:`~animas_core.config.write_config`)."""
MASK_SECRETS: Final = {"secrets": "mask"}
"""Serialisation context that writes ``***`` for every set key (display)."""


def _serialise_secret(value: SecretStr, info: SerializationInfo[Any]) -> str:
    # JSON output hides keys unless the caller asks otherwise through the context, so no
    # accidental dump (logs, API responses) can carry one.
    context = info.context if isinstance(info.context, dict) else {}
    if context.get("secrets") == "reveal":
        return value.get_secret_value()
    return "***" if context.get("secrets") == "mask" else str(value)


Secret = Annotated[SecretStr, PlainSerializer(_serialise_secret, when_used="json")]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- sections --------------------------------------------------------------------------------


class SystemConfig(_Section):
    """System-wide settings."""

    mode: Literal["server"] = "server"
    """The seed's operation mode; the only one here (embedded vs production is how it is started)."""
    log_level: Annotated[
        Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"],
        BeforeValidator(lambda v: v.upper() if isinstance(v, str) else v),
    ] = "INFO"
    timezone: TimeZoneName = "UTC"
    """IANA time zone used for day boundaries (activity log files) unless an anima sets its own."""


class Credential(_Section):
    """An API key and endpoint for one provider. Keys may come from the environment instead."""

    api_key: Secret | None = None
    base_url: str | None = None

    @field_validator("api_key", mode="before")
    @classmethod
    def _empty_key_is_none(cls, value: object) -> object:
        # The seed writes "api_key": "" for "not set": treat it as absent so the environment
        # can supply the key.
        return None if value == "" else value


class AnimaModelConfig(_Section):
    """Model settings of an anima (seed 003 §3.2 table).

    ``anima_defaults`` holds them for all animas; an anima's ``status.json`` and the ``animas``
    section of config.json override them (see :meth:`AnimaWorksConfig.anima`).
    """

    model: ModelName | None = None
    """litellm model name; null means not configured (there is no usable default without a key)."""
    fallback_model: ModelName | None = None
    max_tokens: int = Field(default=4096, gt=0)
    """Maximum tokens per response."""
    max_turns: int = Field(default=20, gt=0)
    """Maximum tool-use turns per cycle."""
    context_window: int | None = Field(default=None, gt=0)
    """The model's context window in tokens; null looks it up by model name (litellm's table)."""
    credential: CredentialName | None = None
    """Name of the ``credentials`` entry (or environment key) to call the model with."""
    context_threshold: UnitFraction = 0.50
    """Context usage ratio at which short-term memory is externalised."""
    max_chains: int = Field(default=2, ge=0)
    """Maximum automatic session continuations (0: none)."""
    conversation_history_threshold: UnitFraction = 0.30
    """Context usage ratio at which conversation memory is compressed."""
    execution_mode: ExecutionMode | None = None
    """Overrides the mode chosen from the model name (aliases A1/A2/B accepted)."""
    supervisor: AnimaName | None = None
    speciality: str | None = None
    timezone: TimeZoneName | None = None
    """The anima's own IANA time zone; null means ``system.timezone``."""
    enabled: bool = True
    share_across_people: bool = False
    """Recent activity in a prompt shows conversations with every person (an anima serving one
    team); false (the default) shows a person only their own conversation and shared work."""


class ConsolidationConfig(_Section):
    """When memory consolidation runs and the thresholds it applies (DESIGN §6, seed 004).

    Times are in ``system.timezone`` (or the anima's own). ``weekly_day`` is a POSIX weekday:
    0 = Sunday … 6 = Saturday, and 7 is accepted as Sunday and stored as 0.

    Thresholds: ``duplicate_threshold`` (0.85, seed 004) is the similarity at or above which new
    knowledge or a procedure counts as a duplicate; daily downscaling marks a knowledge chunk
    low-activity once it went ``downscale_idle_days`` (30) unrecalled with fewer than
    ``forgetting_max_access_count`` (3) accesses, and complete forgetting archives it once it has
    been low for ``forgetting_low_activation_days`` (90); procedures are downscaled after
    ``procedure_inactivity_days`` (180) unused and keep ``procedure_archive_keep_versions`` (5)
    archived versions. ``[IMPORTANT]`` memories, skills, knowledge that helped twice and
    procedures at version 3 or ``protected: true`` are never forgotten (forgetting does not read
    ``important_safety_net_days`` (365): an ``[IMPORTANT]`` mark protects for good).
    Weekly consolidation merges knowledge files at ``duplicate_threshold``, summarises
    episode files ``episode_summary_after_days`` (7) old or older, and distils an action repeated
    ``pattern_min_repeats`` (3) times in the week into one routine procedure (confidence 0.4), and
    merges low-activity knowledge alike at ``low_activity_merge_threshold`` (0.6).
    """

    enabled: bool = True
    daily_time: ClockTime = "02:00"
    weekly_day: Annotated[int, Field(ge=0, le=7), AfterValidator(lambda d: d % 7)] = 0
    weekly_time: ClockTime = "03:00"
    duplicate_threshold: UnitFraction = 0.85
    downscale_idle_days: int = Field(default=30, gt=0)
    """Daily downscaling marks a chunk low-activity once it went this many days unrecalled."""
    forgetting_low_activation_days: int = Field(default=90, gt=0)
    forgetting_max_access_count: int = Field(default=3, ge=0)
    procedure_inactivity_days: int = Field(default=180, gt=0)
    procedure_archive_keep_versions: int = Field(default=5, gt=0)
    important_safety_net_days: int = Field(default=365, gt=0)
    episode_summary_after_days: int = Field(default=7, gt=0)
    """Weekly: an episode file this many days older than the run's day or more becomes a summary."""
    pattern_min_repeats: int = Field(default=3, ge=2)
    """Weekly: an action repeated this often in the week becomes one routine procedure."""
    low_activity_merge_threshold: UnitFraction = 0.6
    """Weekly: two low-activity knowledge chunks (downscaling's rule, never protected ones) alike at
    this similarity are merged into one (seed 004's neurogenesis-inspired reorganisation)."""
    identity_max_changed_lines: int = Field(default=3, ge=0)
    """Daily: an identity revision changing at most this many lines of identity.md is applied;
    a larger one is recorded as ``identity.proposed`` and waits for ``anima identity --approve``."""


class HousekeepingConfig(_Section):
    """Retention: what is deleted once it is old or plentiful (#13 item 8).

    The daily consolidation run keeps the newest ``shortterm_archive_keep`` (100) saved sessions
    of each anima and drops conversation-archive turns older than
    ``conversation_archive_days`` (365; 0 keeps them for good), each as a memory operation so a
    rebuild agrees. The operator's provisioning (``anima up``, ``python -m animas_core.provision``)
    sets the DELTAS stream's max age to ``deltas_max_age_hours`` (24) and the BODIES object
    store's to ``bodies_max_age_days`` (0: kept for good, since ``anima replay cycle`` needs the
    bodies of recorded cycles).
    """

    shortterm_archive_keep: int = Field(default=100, ge=0)
    """Saved sessions (``shortterm/archive/``) kept per anima, newest first."""
    conversation_archive_days: int = Field(default=365, ge=0)
    """Archived conversation turns older than this are dropped; 0 keeps them all."""
    deltas_max_age_hours: float = Field(default=24.0, gt=0)
    """How long streamed model output (the write-ahead journal) stays in DELTAS."""
    bodies_max_age_days: int = Field(default=0, ge=0)
    """Stored request/response bodies expire after this many days; 0 keeps them for good."""
    deadletter_max_age_days: int = Field(default=0, ge=0)
    """Dead letters expire after this many days; 0 keeps them for good (docs/retention.md)."""
    snapshot_every_events: int = Field(default=1000, ge=0)
    """memory-writer snapshots an anima's projection after this many of its events; 0: never."""
    snapshots_kept: int = Field(default=2, ge=1)
    """Snapshots memory-writer keeps per anima, newest first (older ones are deleted)."""


MissedFires = Literal["coalesce", "skip", "all"]
"""What the scheduler does with occurrences that passed while it could not fire them."""


class SchedulerConfig(_Section):
    """How the scheduler fires heartbeat, cron and consolidation occurrences (DESIGN §3).

    ``missed_fires`` decides what becomes of occurrences that passed while no scheduler ran (or
    memory-writer did not answer): ``coalesce`` fires one event for the latest of them, saying in
    ``coalesced`` how many it stands for; ``skip`` fires none; ``all`` fires each, the latest
    ``max_catch_up`` of them, and skips older ones. An occurrence is due once, whichever replica
    sees it first: ``claim_timeout_s`` is how long a replica waits for another's claim to be
    published before it completes the claim itself (the claimant died in between).
    """

    missed_fires: MissedFires = "coalesce"
    max_catch_up: int = Field(default=24, gt=0)
    """With ``all``: the most missed occurrences of one schedule fired after a downtime."""
    tick_s: float = Field(default=1.0, gt=0)
    """How often the scheduler looks at the clock; an occurrence fires at most this late."""
    reload_s: float = Field(default=5.0, ge=0)
    """How often the animas and their heartbeat.md and cron.md are re-read (0: every tick)."""
    claim_timeout_s: float = Field(default=30.0, gt=0)


MemoryType = Literal["knowledge", "episodes", "procedures", "skills", "shared_users"]
_DEFAULT_SPREADING: Final[list[MemoryType]] = ["knowledge", "episodes"]


class RAGConfig(_Section):
    """Retrieval settings (seed 003 §3.2 RAGConfig; the embedding model is the bundled one)."""

    enabled: bool = True
    embedding_model: str = Field(default="all-MiniLM-L6-v2", min_length=1)
    """all-MiniLM-L6-v2 ships with the embedded install, so retrieval works offline."""
    use_gpu: bool = False
    enable_spreading_activation: bool = True
    max_graph_hops: int = Field(default=2, ge=0)
    enable_file_watcher: bool = True
    graph_cache_enabled: bool = True
    implicit_link_threshold: UnitFraction = 0.75
    spreading_memory_types: list[MemoryType] = Field(default_factory=lambda: _DEFAULT_SPREADING.copy())
    recency_half_life_days: float = Field(default=30.0, gt=0)


class PrimingConfig(_Section):
    """Automatic recall token budgets by message type (seed 004 values)."""

    dynamic_budget: bool = True
    budget_greeting: int = Field(default=500, gt=0)
    budget_question: int = Field(default=2000, gt=0)
    budget_request: int = Field(default=3000, gt=0)
    budget_heartbeat: int = Field(default=200, gt=0)
    heartbeat_context_fraction: UnitFraction = 0.05
    min_similarity: float = Field(default=0.3, ge=-1.0, le=1.0)
    """Cosine similarity below which a memory is not primed: a small prompt holds only what
    bears on the message (calibrated on all-MiniLM-L6-v2; other models may want another value)."""

    def heartbeat_budget(self, context_window: int) -> int:
        """Seed 004: ``max(budget_heartbeat, context_window * heartbeat_context_fraction)``."""
        return max(self.budget_heartbeat, int(context_window * self.heartbeat_context_fraction))


class ImageGenConfig(BaseModel):
    """Image generation; its settings (style consistency, Vibe Transfer) come with that feature.

    Until then unknown keys are kept as they are. Put API keys in ``credentials``, not here:
    only ``credentials`` is masked for display.
    """

    model_config = ConfigDict(extra="allow")

    enabled: bool = False


class ServerConfig(_Section):
    """Server runtime settings (seed 003 §3.2 ServerConfig)."""

    ipc_stream_timeout: int = Field(default=60, gt=0)
    keepalive_interval: int = Field(default=30, gt=0)
    max_streaming_duration: int = Field(default=1800, gt=0)
    stream_checkpoint_enabled: bool = True
    stream_retry_max: int = Field(default=3, ge=0)
    stream_retry_delay_s: float = Field(default=5.0, ge=0)


class SlackConfig(_Section):
    """Slack integration; ``anima_mapping`` maps a Slack channel ID to the anima that answers."""

    enabled: bool = False
    mode: Literal["socket", "events"] = "socket"
    anima_mapping: dict[str, AnimaName] = Field(default_factory=dict)


class ChatworkConfig(_Section):
    """Chatwork integration; ``anima_mapping`` maps a room ID to the anima that answers."""

    enabled: bool = False
    mode: Literal["webhook", "polling"] = "webhook"
    anima_mapping: dict[str, AnimaName] = Field(default_factory=dict)


class UserContact(_Section):
    """Where a person is reached on each external channel."""

    slack: str | None = None
    """Slack user ID."""
    chatwork: str | None = None
    """Chatwork account ID."""


class ExternalMessagingConfig(_Section):
    """External messaging integration (seed 003 §3.2 ExternalMessagingConfig)."""

    preferred_channel: Literal["slack", "chatwork"] = "slack"
    user_aliases: dict[str, UserContact] = Field(default_factory=dict)
    slack: SlackConfig = Field(default_factory=SlackConfig)
    chatwork: ChatworkConfig = Field(default_factory=ChatworkConfig)


class EligibleTool(_Section):
    """A tool that may run in the background."""

    threshold_s: float = Field(gt=0)
    """Calls expected to take longer than this run in the background."""


class BackgroundTaskConfig(_Section):
    """Background tool execution (seed 003 §3.2 BackgroundTaskConfig)."""

    enabled: bool = True
    eligible_tools: dict[str, EligibleTool] = Field(default_factory=dict)
    result_retention_hours: int = Field(default=24, gt=0)
