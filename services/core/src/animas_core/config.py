"""``config.json``: system settings, credentials and anima defaults (seed 003 §3.2).

This is the minimal model the walking skeleton needs (models, credentials, the animas that
exist); the animas-and-memory issue grows it to every section of the seed. Unknown sections are
kept, not rejected, so a newer file still loads.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from animas_contracts import validate_anima_name

CONFIG_VERSION = 1


class ConfigError(ValueError):
    """config.json is missing, unreadable or invalid; the message names the field path."""


class Credential(BaseModel):
    """An API key and endpoint for one provider. Keys may come from the environment instead."""

    model_config = ConfigDict(extra="forbid")

    api_key: SecretStr | None = None
    base_url: str | None = None


class AnimaModelConfig(BaseModel):
    """Model settings of an anima; ``anima_defaults`` holds them for all, ``animas`` per anima."""

    model_config = ConfigDict(extra="allow")

    model: str | None = None
    """litellm model name (``openai/gpt-4o``, ``anthropic/claude-…``); null means not configured."""
    credential: str | None = None
    max_tokens: int = Field(default=4096, gt=0)


class SystemConfig(BaseModel):
    """System-wide settings."""

    model_config = ConfigDict(extra="allow")

    log_level: str = "INFO"
    timezone: str = "UTC"
    """IANA time zone used for day boundaries (activity log files) unless an anima sets its own."""


class AnimaWorksConfig(BaseModel):
    """The whole of config.json."""

    model_config = ConfigDict(extra="allow")

    version: int = CONFIG_VERSION
    system: SystemConfig = SystemConfig()
    credentials: dict[str, Credential] = {}
    anima_defaults: AnimaModelConfig = AnimaModelConfig()
    animas: dict[str, AnimaModelConfig] = {}

    @field_validator("animas")
    @classmethod
    def _names_are_valid(cls, animas: dict[str, AnimaModelConfig]) -> dict[str, AnimaModelConfig]:
        for name in animas:
            validate_anima_name(name)
        return animas

    def anima(self, name: str) -> AnimaModelConfig:
        """The merged settings of one anima: its overrides over ``anima_defaults``."""
        merged = self.anima_defaults.model_dump(exclude_unset=False)
        override = self.animas.get(name)
        if override is not None:
            merged.update(override.model_dump(exclude_unset=True))
        return AnimaModelConfig.model_validate(merged)

    def credential(self, name: str | None) -> Credential | None:
        """A credential by name, with its key taken from the environment when the file has none.

        ``ANIMAWORKS_CREDENTIAL_<NAME>_API_KEY`` supplies a key without writing it to disk.
        """
        if name is None:
            return None
        stored = self.credentials.get(name, Credential())
        env_key = os.environ.get(f"ANIMAWORKS_CREDENTIAL_{name.upper().replace('-', '_')}_API_KEY")
        if stored.api_key is None and env_key:
            return Credential(api_key=SecretStr(env_key), base_url=stored.base_url)
        if name not in self.credentials and not env_key:
            return None
        return stored


def _format_validation_error(exc: ValidationError) -> str:
    problems = []
    for err in exc.errors():
        path = ".".join(str(p) for p in err["loc"]) or "(root)"
        problems.append(f"{path}: {err['msg']}")
    return "; ".join(problems)


def parse_config(data: dict[str, Any]) -> AnimaWorksConfig:
    """Validate a config mapping, raising :class:`ConfigError` that names each bad field path."""
    try:
        return AnimaWorksConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"invalid config: {_format_validation_error(exc)}") from None
    except ValueError as exc:
        raise ConfigError(f"invalid config: {exc}") from None


def load_config(path: Path) -> AnimaWorksConfig:
    """Read and validate config.json; a missing file means all defaults."""
    if not path.exists():
        return AnimaWorksConfig()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a JSON object")
    return parse_config(data)


def write_config(path: Path, config: AnimaWorksConfig) -> None:
    """Write config.json atomically with owner-only permissions (0600): it may hold API keys."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = config.model_dump(mode="json", exclude_none=False)
    # Per-anima sections hold overrides only: writing their defaults would turn them into
    # explicit values that mask anima_defaults on the next read.
    payload["animas"] = {
        name: section.model_dump(mode="json", exclude_unset=True) for name, section in config.animas.items()
    }
    for name, cred in config.credentials.items():
        # model_dump masks SecretStr; the file must keep the real value.
        payload["credentials"][name]["api_key"] = (
            cred.api_key.get_secret_value() if cred.api_key is not None else None
        )
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


class CachedConfig:
    """config.json, re-read only when the file changes, so edits apply without a restart."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._stamp: tuple[int, int] | None = None
        self._config = AnimaWorksConfig()

    def get(self) -> AnimaWorksConfig:
        """The current config; raises :class:`ConfigError` if the file is invalid."""
        try:
            stat = self._path.stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
        except FileNotFoundError:
            stamp = (0, -1)
        if stamp != self._stamp:
            self._config = load_config(self._path)
            self._stamp = stamp
        return self._config
