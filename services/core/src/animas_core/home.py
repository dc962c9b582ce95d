"""The AnimaWorks home directory and the paths inside it."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from animas_contracts import validate_anima_name

HOME_ENV = "ANIMAWORKS_HOME"


def default_home() -> Path:
    """``$ANIMAWORKS_HOME`` if set, else ``~/.animaworks``."""
    configured = os.environ.get(HOME_ENV)
    return Path(configured).expanduser() if configured else Path.home() / ".animaworks"


@dataclasses.dataclass(frozen=True)
class Home:
    """Paths under one AnimaWorks home."""

    root: Path

    @property
    def config_file(self) -> Path:
        """System settings, credentials and anima defaults."""
        return self.root / "config.json"

    @property
    def animas_dir(self) -> Path:
        """Parent of every anima directory."""
        return self.root / "animas"

    @property
    def nats_dir(self) -> Path:
        """The embedded nats-server's config and JetStream store."""
        return self.root / "nats"

    @property
    def run_dir(self) -> Path:
        """Runtime files of a running system: URLs, pids, service logs."""
        return self.root / "run"

    def anima_dir(self, name: str) -> Path:
        """The directory of one anima; the name is validated first."""
        return self.animas_dir / validate_anima_name(name)

    def activity_log_dir(self, name: str) -> Path:
        """Where memory-writer projects an anima's activity events, one JSONL file per day."""
        return self.anima_dir(name) / "activity_log"
