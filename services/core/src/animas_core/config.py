"""``config.json``: system settings, credentials and anima defaults (seed 003 §3.2, DESIGN §9).

The sections are in :mod:`animas_core.config_model` and re-exported here; this module holds the
whole file's model, versioning, reading, writing and the execution-mode rule.
"""

from __future__ import annotations

import copy
import fnmatch
import json
import logging
import os
import re
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final, Protocol

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from animas_core.api_config import ApiConfig, ApiToken
from animas_core.config_model import (
    CONFIG_VERSION,
    MASK_SECRETS,
    MODE_ALIASES,
    REVEAL_SECRETS,
    AnimaModelConfig,
    AnimaName,
    BackgroundTaskConfig,
    ChatworkConfig,
    ConfigError,
    ConsolidationConfig,
    Credential,
    CredentialName,
    EligibleTool,
    ExecutionMode,
    ExternalMessagingConfig,
    HousekeepingConfig,
    ImageGenConfig,
    ModeName,
    PrimingConfig,
    RAGConfig,
    SchedulerConfig,
    ServerConfig,
    SlackConfig,
    SystemConfig,
    UserContact,
    normalise_mode,
)
from animas_core.config_secrets import with_local_secrets
from animas_core.external_tools_config import (
    ChatworkToolConfig,
    EmailToolConfig,
    ExternalToolsConfig,
    GitHubConfig,
    HttpFetchConfig,
    SlackToolConfig,
    WebSearchConfig,
)
from animas_core.messaging_config import MessagingConfig
from animas_core.notification_config import HumanNotificationConfig, NotificationChannel
from animas_core.sandbox_config import SandboxConfig
from animas_core.webhook_config import WebhooksConfig, WebhookSource

_log = logging.getLogger(__name__)

__all__ = [
    "BUILTIN_MODEL_MODES",
    "CONFIG_VERSION",
    "MIGRATIONS",
    "MODE_ALIASES",
    "AnimaModelConfig",
    "AnimaWorksConfig",
    "ApiConfig",
    "ApiToken",
    "BackgroundTaskConfig",
    "CachedConfig",
    "ChatworkConfig",
    "ChatworkToolConfig",
    "ConfigError",
    "ConfigSource",
    "ConsolidationConfig",
    "Credential",
    "EligibleTool",
    "EmailToolConfig",
    "ExternalMessagingConfig",
    "ExternalToolsConfig",
    "GitHubConfig",
    "HousekeepingConfig",
    "HttpFetchConfig",
    "HumanNotificationConfig",
    "ImageGenConfig",
    "ModeName",
    "NotificationChannel",
    "PrimingConfig",
    "RAGConfig",
    "SandboxConfig",
    "SchedulerConfig",
    "ServerConfig",
    "SlackConfig",
    "SlackToolConfig",
    "SystemConfig",
    "UserContact",
    "WebSearchConfig",
    "WebhookSource",
    "WebhooksConfig",
    "credential_env_var",
    "load_config",
    "masked_view",
    "normalise_mode",
    "parse_config",
    "resolve_mode",
    "write_config",
]


def credential_env_var(name: str) -> str:
    """The environment variable that supplies credential ``name``'s key without writing it to disk."""
    return f"ANIMAWORKS_CREDENTIAL_{name.upper().replace('-', '_')}_API_KEY"


class AnimaWorksConfig(BaseModel):
    """The whole of config.json; unknown top-level sections are errors, like misspelt keys."""

    model_config = ConfigDict(extra="forbid")

    version: int = Field(default=CONFIG_VERSION, ge=1)
    system: SystemConfig = Field(default_factory=SystemConfig)
    credentials: dict[CredentialName, Credential] = Field(default_factory=dict)
    model_modes: dict[str, ExecutionMode] = Field(default_factory=dict)
    """fnmatch pattern over model names -> mode; see :func:`resolve_mode`."""
    anima_defaults: AnimaModelConfig = Field(default_factory=AnimaModelConfig)
    animas: dict[AnimaName, AnimaModelConfig] = Field(default_factory=dict)
    """Per-anima overrides: only the keys given here are applied."""
    consolidation: ConsolidationConfig = Field(default_factory=ConsolidationConfig)
    housekeeping: HousekeepingConfig = Field(default_factory=HousekeepingConfig)
    scheduler: SchedulerConfig = Field(default_factory=SchedulerConfig)
    rag: RAGConfig = Field(default_factory=RAGConfig)
    priming: PrimingConfig = Field(default_factory=PrimingConfig)
    image_gen: ImageGenConfig = Field(default_factory=ImageGenConfig)
    human_notification: HumanNotificationConfig = Field(default_factory=HumanNotificationConfig)
    server: ServerConfig = Field(default_factory=ServerConfig)
    external_messaging: ExternalMessagingConfig = Field(default_factory=ExternalMessagingConfig)
    background_task: BackgroundTaskConfig = Field(default_factory=BackgroundTaskConfig)
    api: ApiConfig = Field(default_factory=ApiConfig)
    sandbox: SandboxConfig = Field(default_factory=SandboxConfig)
    messaging: MessagingConfig = Field(default_factory=MessagingConfig)
    webhooks: WebhooksConfig = Field(default_factory=WebhooksConfig)
    external_tools: ExternalToolsConfig = Field(default_factory=ExternalToolsConfig)
    """Tools that reach outside (web search, fetching pages, GitHub); each must also be granted."""

    def anima(self, name: str, status: Mapping[str, Any] | None = None) -> AnimaModelConfig:
        """The merged settings of one anima.

        Order, later wins: ``anima_defaults`` < the anima's ``status.json`` fields < the
        ``animas[name]`` section of config.json (the operator's file has the last word). Keys of
        ``status`` that are not :class:`AnimaModelConfig` fields (role, …) are ignored, and so is
        a null there: it means "not set in status.json", falling through to the defaults.

        Args:
            name: The anima.
            status: The parsed ``status.json`` of the anima, if any.

        Raises:
            ConfigError: A status field has a wrong value; the message names the field.
        """
        merged = self.anima_defaults.model_dump()
        if status:
            fields = {k: v for k, v in status.items() if k in AnimaModelConfig.model_fields and v is not None}
            try:
                from_status = AnimaModelConfig.model_validate(fields)
            except ValidationError as exc:
                problems = _problems(exc, prefix=f"animas/{name}/status.json: ")
                raise ConfigError("; ".join(problems), problems) from None
            merged.update(from_status.model_dump(exclude_unset=True))
        override = self.animas.get(name)
        if override is not None:
            merged.update(override.model_dump(exclude_unset=True))
        return AnimaModelConfig.model_validate(merged)

    def credential(self, name: str | None) -> Credential | None:
        """A credential by name, with its key taken from the environment when the file has none.

        ``ANIMAWORKS_CREDENTIAL_<NAME>_API_KEY`` (see :func:`credential_env_var`) supplies a key
        without writing it to disk.
        """
        if name is None:
            return None
        stored = self.credentials.get(name, Credential())
        env_key = os.environ.get(credential_env_var(name))
        if stored.api_key is None and env_key:
            return Credential(api_key=SecretStr(env_key), base_url=stored.base_url)
        if name not in self.credentials and not env_key:
            return None
        return stored


# --- execution mode --------------------------------------------------------------------------

BUILTIN_MODEL_MODES: Final[tuple[tuple[str, ModeName], ...]] = (
    ("anthropic/*", "anthropic"),
    ("claude-*", "anthropic"),
    ("ollama/*", "assisted"),
    ("ollama_chat/*", "assisted"),
)
"""Used when no ``model_modes`` pattern matches; anything else is ``litellm``."""

_WILDCARDS = re.compile(r"\[!?\]?[^\]]*\]|[*?]")


def _specificity(pattern: str) -> tuple[int, int]:
    literal = _WILDCARDS.sub("", pattern)
    return len(literal), -len(_WILDCARDS.findall(pattern))


def resolve_mode(config: AnimaWorksConfig, model: str, explicit: str | None = None) -> ModeName:
    """The execution mode for ``model``.

    1. ``explicit`` (the anima's ``execution_mode``; aliases A1/A2/B accepted) wins.
    2. Else the most specific ``model_modes`` pattern matching the model name (``fnmatch``,
       case-sensitive): the one with the most non-wildcard characters (``*``, ``?`` and ``[…]``
       do not count); on a tie the one with fewer wildcards, then the one listed first.
    3. Else the built-in rules: ``anthropic/…`` and bare ``claude-…`` names → ``anthropic``;
       ``ollama/…`` and ``ollama_chat/…`` → ``assisted``; everything else → ``litellm``.

    Raises:
        ConfigError: ``explicit`` is not a mode.
    """
    if explicit is not None:
        try:
            return normalise_mode(explicit)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
    matching = [p for p in config.model_modes if fnmatch.fnmatchcase(model, p)]
    if matching:
        # max() keeps the first of equals, so file order breaks the last tie.
        return config.model_modes[max(matching, key=_specificity)]
    for pattern, mode in BUILTIN_MODEL_MODES:
        if fnmatch.fnmatchcase(model, pattern):
            return mode
    return "litellm"


# --- versions, reading, writing --------------------------------------------------------------

MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}
"""``MIGRATIONS[n]`` turns a version-``n`` file (a dict) into version ``n + 1``; pure functions."""


def _problems(exc: ValidationError, prefix: str = "") -> list[str]:
    problems = []
    for err in exc.errors():
        path = ".".join(str(p) for p in err["loc"]) or "(root)"
        problems.append(f"{prefix}{path}: {err['msg']}")
    return problems


def _format_validation_error(exc: ValidationError) -> str:
    return "; ".join(_problems(exc))


def _version_error(problem: str) -> ConfigError:
    return ConfigError(f"invalid config: version: {problem}", [f"version: {problem}"])


def _migrate(data: dict[str, Any]) -> dict[str, Any]:
    # A file without "version" predates versioning: every file write_config produces has one.
    version = data.get("version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise _version_error(f"must be a positive integer, got {version!r}")
    if version > CONFIG_VERSION:
        raise _version_error(
            f"the file is version {version}, newer than this AnimaWorks understands "
            f"({CONFIG_VERSION}); upgrade AnimaWorks"
        )
    while version < CONFIG_VERSION:
        migration = MIGRATIONS.get(version)
        if migration is None:
            raise _version_error(f"no migration from version {version} to {version + 1}")
        data = migration(copy.deepcopy(data))
        version += 1
        data["version"] = version
    return data


def parse_config(data: dict[str, Any]) -> AnimaWorksConfig:
    """Migrate an older config mapping to :data:`CONFIG_VERSION` and validate it.

    Raises:
        ConfigError: Naming each bad field path, or saying the file is too new.
    """
    data = _migrate(data)
    try:
        return AnimaWorksConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"invalid config: {_format_validation_error(exc)}", _problems(exc)) from None


def load_config(path: Path) -> AnimaWorksConfig:
    """Read, migrate and validate config.json; a missing file means all defaults.

    Raises:
        ConfigError: The file is not JSON, not an object, too new or invalid.
    """
    if not path.exists():
        return AnimaWorksConfig()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a JSON object")
    try:
        return parse_config(data)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}", exc.problems) from None


def _to_json(config: AnimaWorksConfig, secrets: Mapping[str, str]) -> dict[str, Any]:
    payload = config.model_dump(mode="json", context=dict(secrets))
    # Per-anima sections hold overrides only: writing their defaults would turn them into
    # explicit values that mask anima_defaults on the next read.
    payload["animas"] = {
        name: section.model_dump(mode="json", exclude_unset=True, context=dict(secrets))
        for name, section in config.animas.items()
    }
    return payload


def masked_view(config: AnimaWorksConfig) -> dict[str, Any]:
    """The config as JSON-able data for display: each set ``api_key`` is ``"***"``, unset null."""
    return _to_json(config, MASK_SECRETS)


def write_config(path: Path, config: AnimaWorksConfig) -> None:
    """Write config.json atomically with owner-only permissions (0600): it may hold API keys."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = _to_json(config, REVEAL_SECRETS)  # the file must keep the real keys
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".config.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(payload, handle, indent=2, ensure_ascii=False)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class ConfigSource(Protocol):
    """The shared config document a service follows (:class:`animas_core.config_store.ConfigFeed`)."""

    revision: int
    document: dict[str, Any] | None


class CachedConfig:
    """The config a service runs with, re-read only when it changes, so edits apply without a restart.

    With a ``source`` that holds a document (the operator's ``CONFIG`` bucket), that document is
    the config, with the secrets this process holds put back from its own file at ``path``
    (:func:`animas_core.config_secrets.with_local_secrets`). Without one (a bucket never written:
    tests, a first start) the file at ``path`` is the config.
    """

    def __init__(self, path: Path, source: ConfigSource | None = None) -> None:
        self._path = path
        self._source = source
        self._stamp: tuple[int, int] | None = None
        self._file = AnimaWorksConfig()
        self._shared: tuple[int, tuple[int, int]] | None = None
        self._config = AnimaWorksConfig()
        self._good = False  # whether _config came from a revision that parsed

    def get(self) -> AnimaWorksConfig:
        """The current config; raises :class:`ConfigError` if it is invalid.

        A bucket revision that does not parse (with this process's secrets) is logged once and
        skipped: the last valid one is kept. It raises only while no revision has parsed yet.
        """
        try:
            stat = self._path.stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
        except FileNotFoundError:
            stamp = (0, -1)
        if stamp != self._stamp:
            self._file = load_config(self._path)
            self._stamp = stamp
        source = self._source
        if source is None or source.document is None:
            return self._file
        if self._shared != (source.revision, stamp):
            seen = (source.revision, stamp)
            try:
                self._config = parse_config(with_local_secrets(source.document, self._file))
            except ConfigError as exc:
                error = ConfigError(f"config revision {source.revision}: {exc}", exc.problems)
                if not self._good:
                    raise error from None  # nothing valid to keep serving yet
                # Logged once: this revision (with this file) is not parsed again, and the last
                # good config is served until the operator publishes a valid one.
                _log.error("%s; keeping the last valid config", error)
                self._shared = seen
                return self._config
            self._shared = seen
            self._good = True
        return self._config
