"""Each supervised process's environment, from an allow-list (issue #12, item 9: secrets only where needed).

``anima up`` runs with the operator's whole environment: model keys, cloud credentials, tokens of
unrelated tools. A service gets only what it reads: the basics of a process (PATH, HOME, locale),
the ``ANIMAWORKS_*`` settings its settings class declares, OpenTelemetry's variables, and, only for
the services that call a model, the model credentials. tests/unit/test_service_env.py checks this
table against every service's settings class, so a new setting cannot be silently dropped.

Who calls models: agent-runner, and consolidator (it asks the anima's model for consolidation
decisions, DESIGN §6); local-llm *is* a model and needs no key; outbound's channel tokens will come
through config.json's credentials, not these variables.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

PROCESS_BASICS = frozenset(
    {"PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "PYTHONPATH", "VIRTUAL_ENV"}
)
PROCESS_PREFIXES = ("LC_", "OTEL_", "FASTSTREAM_")
"""Locale, OpenTelemetry's standard variables (animas_core.telemetry), FastStream's switches."""

NATS_SETTINGS = ("URL", "USER", "PASSWORD", "CONNECT_TIMEOUT_S", "MAX_RECONNECT_ATTEMPTS", "RECONNECT_WAIT_S")
"""animas_core.settings.NatsSettings (``ANIMAWORKS_NATS_*``); the supervisor sets user and password."""

SHARED_SETTINGS = (
    "HOME",
    "CONFIG_FILE",
    "LOG_LEVEL",
    "INSTANCE_ID",
    "ACK_WAIT_S",
    "MAX_DELIVERIES",
    "RETRY_BACKOFF_S",
    "HEALTH_INTERVAL_S",
    "PROBE_FILE",
    "FAULTS",
)
"""animas_core.settings.ServiceSettings (``ANIMAWORKS_*``), read by every NATS service."""

OWN_SETTINGS: Mapping[str, tuple[str, ...]] = {
    "gateway": ("GATEWAY_HOST", "GATEWAY_PORT", "CHAT_TIMEOUT_S", "SSE_KEEPALIVE_S"),
    "agent-runner": (
        "LLM_TIMEOUT_S",
        "MAX_CONCURRENT_LLM_CALLS",
        "BODY_INLINE_LIMIT",
        "WORKSPACE",
        "HIDDEN_PATHS",
        "MEMORY_OP_TIMEOUT_S",
        "EFFECT_RETRY_BACKOFF_S",
        "LOCAL_MODEL_URL",
        "COMMAND_PATH",
        "BACKGROUND_SWEEP_AFTER_S",
        "BACKGROUND_SWEEP_EVERY_S",
    ),
    "priming": ("INDEX_DIR", "WEAVIATE_URL", "WEAVIATE_GRPC_PORT", "CHANNEL_TIMEOUT_S"),
    "memory-writer": ("REPLAY_BATCH", "WATCH_INTERVAL_S"),
    "consolidator": ("LLM_TIMEOUT_S", "MEMORY_OP_TIMEOUT_S"),
    "scheduler": ("MEMORY_TIMEOUT_S", "SCHEDULER_PAUSED", "SCHEDULER_CLOCK_FILE", "SCHEDULER_CLOCK_OFFSET_S"),
    "outbound": (
        "MEMORY_TIMEOUT_S",
        "NOTIFY_ATTEMPTS",
        "NOTIFY_BACKOFF_S",
        "NOTIFY_TIMEOUT_S",
        "REPLY_ATTEMPTS",
        "REPLY_BACKOFF_S",
        "REPLY_TIMEOUT_S",
    ),
}
"""The ``ANIMAWORKS_*`` names (without the prefix) of each NATS service's own settings class."""

LOCAL_LLM_SETTINGS = ("HOME", "LOG_LEVEL", "LOCAL_LLM_")
"""local-llm reads ``ANIMAWORKS_LOCAL_LLM_*``, the shared home and log level, and no NATS at all."""

MODEL_CREDENTIAL_PREFIXES = (
    "ANIMAWORKS_CREDENTIAL_",
    "OPENAI_",
    "ANTHROPIC_",
    "AZURE_",
    "AWS_",
    "GOOGLE_",
    "GEMINI_",
    "VERTEX",
    "MISTRAL_",
    "GROQ_",
    "COHERE_",
    "OLLAMA_",
    "OPENROUTER_",
    "LITELLM_",
)
"""Model keys and endpoints: ``ANIMAWORKS_CREDENTIAL_<NAME>_API_KEY`` and what litellm and the
provider SDKs read by themselves (``OPENAI_API_KEY``, ``AWS_ACCESS_KEY_ID`` …)."""
MODEL_CREDENTIAL_SUFFIXES = ("_API_KEY", "_API_BASE", "_BASE_URL", "_API_VERSION")
"""Any other provider's key or endpoint (``DEEPSEEK_API_KEY`` …)."""

NETWORK_NAMES = frozenset(
    {
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "NO_PROXY",
        "ALL_PROXY",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "REQUESTS_CA_BUNDLE",
    }
)
"""How to reach the internet, for the services that call out (models, channels, Weaviate)."""
MODEL_RUNTIME_PREFIXES = (
    "HF_",
    "TRANSFORMERS_",
    "SENTENCE_TRANSFORMERS_",
    "TORCH",
    "OMP_",
    "MKL_",
    "OPENBLAS_",
)
"""torch and the embedding model's switches, for the services that run a model on this machine."""


@dataclasses.dataclass(frozen=True)
class EnvPolicy:
    """What one process may inherit from the supervisor's environment."""

    settings: tuple[str, ...]
    """``ANIMAWORKS_`` + each of these; one ending in ``_`` is a prefix."""
    model_credentials: bool = False
    network: bool = False
    local_model_runtime: bool = False

    def allows(self, name: str) -> bool:
        """Whether the variable ``name`` is passed on (names compare as upper case, as settings read them)."""
        upper = name.upper()
        if upper in PROCESS_BASICS or upper.startswith(PROCESS_PREFIXES):
            return True
        if self.model_credentials and (
            upper.startswith(MODEL_CREDENTIAL_PREFIXES) or upper.endswith(MODEL_CREDENTIAL_SUFFIXES)
        ):
            return True
        if self.network and (upper in NETWORK_NAMES or upper == "TIKTOKEN_CACHE_DIR"):
            return True
        if self.local_model_runtime and upper.startswith(MODEL_RUNTIME_PREFIXES):
            return True
        setting = upper.removeprefix("ANIMAWORKS_")
        if setting == upper:
            return False
        return any(setting == s or (s.endswith("_") and setting.startswith(s)) for s in self.settings)


def _nats_service(name: str, **flags: bool) -> EnvPolicy:
    nats = tuple(f"NATS_{s}" for s in NATS_SETTINGS)
    return EnvPolicy(settings=(*SHARED_SETTINGS, *nats, *OWN_SETTINGS[name]), **flags)


POLICIES: Mapping[str, EnvPolicy] = {
    "gateway": _nats_service("gateway"),
    "agent-runner": _nats_service("agent-runner", model_credentials=True, network=True),
    "priming": _nats_service("priming", network=True, local_model_runtime=True),
    "memory-writer": _nats_service("memory-writer"),
    "consolidator": _nats_service("consolidator", model_credentials=True, network=True),
    "scheduler": _nats_service("scheduler"),
    "outbound": _nats_service("outbound", network=True),
    "local-llm": EnvPolicy(settings=LOCAL_LLM_SETTINGS, local_model_runtime=True),
}


def service_env(service: str, inherited: Mapping[str, str], own: Mapping[str, str]) -> dict[str, str]:
    """The environment of ``service``: what its policy lets through from ``inherited``, then ``own``.

    ``own`` is what the supervisor sets for it (its home, its NATS user…) and always wins. A replica
    (``agent-runner#2``) has its service's policy.
    """
    policy = POLICIES[service.split("#")[0]]
    env = {name: value for name, value in inherited.items() if policy.allows(name)}
    env.update(own)
    return env


NATS_SERVER_ENV = ("PATH", "HOME", "LANG", "TZ", "TMPDIR")
"""All nats-server inherits: it reads its config file and nothing of the operator's environment."""


def nats_server_env(inherited: Mapping[str, str]) -> dict[str, str]:
    """The embedded nats-server's environment."""
    return {name: inherited[name] for name in NATS_SERVER_ENV if name in inherited}
