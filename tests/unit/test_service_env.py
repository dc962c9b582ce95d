"""Each supervised process inherits only what it reads (issue #12, item 9).

The allow-list lives in animas_tools.service_env (tools may not import services); these tests hold
it against every service's settings class, so a setting added to a service without adding it there
fails here instead of being silently dropped by `anima up`.
"""

from __future__ import annotations

import pytest
from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from animas_agent_runner.settings import AgentRunnerSettings
from animas_consolidator.settings import ConsolidatorSettings
from animas_contracts.subjects import SERVICE_NAMES
from animas_core.config import credential_env_var
from animas_core.settings import NatsSettings
from animas_gateway.settings import GatewaySettings
from animas_local_llm.settings import LocalLlmSettings
from animas_memory_writer.settings import MemoryWriterSettings
from animas_outbound.settings import OutboundSettings
from animas_priming.settings import PrimingSettings
from animas_scheduler.settings import SchedulerSettings
from animas_tools.service_env import POLICIES, nats_server_env, service_env

SETTINGS: dict[str, tuple[type[BaseSettings], ...]] = {
    "gateway": (GatewaySettings, NatsSettings),
    "agent-runner": (AgentRunnerSettings, NatsSettings),
    "priming": (PrimingSettings, NatsSettings),
    "memory-writer": (MemoryWriterSettings, NatsSettings),
    "consolidator": (ConsolidatorSettings, NatsSettings),
    "scheduler": (SchedulerSettings, NatsSettings),
    "outbound": (OutboundSettings, NatsSettings),
    "local-llm": (LocalLlmSettings,),
}
"""What each service's ``__main__`` reads from the environment."""

MODEL_CALLERS = {"agent-runner", "consolidator"}
"""Services that call a model with a key."""


def env_names(settings: type[BaseSettings]) -> set[str]:
    """The environment variables a pydantic-settings class reads."""
    prefix = str(settings.model_config.get("env_prefix", ""))
    names: set[str] = set()
    for field_name, field in settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names.update(str(choice).upper() for choice in alias.choices)
        else:
            names.add(f"{prefix}{field_name}".upper())
    return names


def test_every_service_has_a_policy() -> None:
    assert set(POLICIES) == {*SERVICE_NAMES, "local-llm"} == set(SETTINGS)


@pytest.mark.parametrize("service", sorted(SETTINGS))
def test_every_setting_a_service_reads_is_passed_on(service: str) -> None:
    read = set().union(*(env_names(s) for s in SETTINGS[service]))
    dropped = sorted(name for name in read if not POLICIES[service].allows(name))
    assert not dropped, f"add {dropped} to {service}'s entry in animas_tools/service_env.py"


def test_a_setting_of_another_service_is_not_passed_on() -> None:
    assert not POLICIES["gateway"].allows("ANIMAWORKS_WORKSPACE")
    assert not POLICIES["memory-writer"].allows("ANIMAWORKS_WEAVIATE_URL")
    assert not POLICIES["local-llm"].allows("ANIMAWORKS_NATS_PASSWORD")


OPERATOR_ENV = {
    "PATH": "/usr/bin",
    "LANG": "C.UTF-8",
    "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318",
    credential_env_var("my-llm"): "sk-animaworks",
    "OPENAI_API_KEY": "sk-openai",
    "ANTHROPIC_API_KEY": "sk-anthropic",
    "DEEPSEEK_API_KEY": "sk-deepseek",
    "AWS_SECRET_ACCESS_KEY": "aws-secret",
    "GITHUB_TOKEN": "ghp-unrelated",
    "ANIMAWORKS_TEST_SECRET": "not-a-setting",
    "ANIMAWORKS_ACK_WAIT_S": "3",
    "HTTPS_PROXY": "http://proxy:3128",
}
SECRETS = {
    credential_env_var("my-llm"),
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "DEEPSEEK_API_KEY",
    "AWS_SECRET_ACCESS_KEY",
}


@pytest.mark.parametrize("service", sorted(POLICIES))
def test_model_credentials_reach_only_the_services_that_call_models(service: str) -> None:
    env = service_env(service, OPERATOR_ENV, {"ANIMAWORKS_HOME": "/home"})
    if service in MODEL_CALLERS:
        assert set(env) >= SECRETS
    else:
        assert not SECRETS & set(env)
    assert "GITHUB_TOKEN" not in env and "ANIMAWORKS_TEST_SECRET" not in env
    assert env["PATH"] == "/usr/bin" and env["LANG"] == "C.UTF-8"
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://collector:4318"
    assert env["ANIMAWORKS_HOME"] == "/home"
    assert ("ANIMAWORKS_ACK_WAIT_S" in env) == (service != "local-llm")


def test_a_replica_has_its_services_policy_and_the_supervisors_values_win() -> None:
    inherited = {**OPERATOR_ENV, "ANIMAWORKS_NATS_USER": "x"}
    env = service_env("agent-runner#2", inherited, {"ANIMAWORKS_NATS_USER": "y"})
    assert env["ANIMAWORKS_NATS_USER"] == "y"
    assert env["OPENAI_API_KEY"] == "sk-openai"
    assert env["HTTPS_PROXY"] == "http://proxy:3128"
    assert "HTTPS_PROXY" not in service_env("memory-writer", OPERATOR_ENV, {})


def test_nats_server_inherits_only_the_basics() -> None:
    assert nats_server_env(OPERATOR_ENV) == {"PATH": "/usr/bin", "LANG": "C.UTF-8"}
