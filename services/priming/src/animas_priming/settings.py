"""Priming settings."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import SettingsConfigDict

from animas_core.settings import ServiceSettings


class PrimingSettings(ServiceSettings):
    """Settings of the priming service (``ANIMAWORKS_*``)."""

    model_config = SettingsConfigDict(env_prefix="ANIMAWORKS_", extra="ignore")

    index_dir: Path | None = None
    """Where the embedded index keeps one SQLite file per anima; default ``<home>/index``."""
    weaviate_url: str | None = None
    """``ANIMAWORKS_WEAVIATE_URL``: use Weaviate (production) instead of the embedded index."""
    weaviate_grpc_port: int = 50051
    channel_timeout_s: float = 2.0
    """A priming channel slower than this is reported as timed out, not waited for."""

    @property
    def index_path(self) -> Path:
        """The embedded index's folder."""
        return self.index_dir or self.home / "index"
