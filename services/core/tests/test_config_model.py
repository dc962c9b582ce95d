"""The full config.json model: sections, defaults, validation, merge order, modes, versions, secrets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from animas_core import config as config_module
from animas_core.config import (
    CONFIG_VERSION,
    AnimaModelConfig,
    AnimaWorksConfig,
    ConfigError,
    Credential,
    load_config,
    masked_view,
    parse_config,
    resolve_mode,
    write_config,
)

SECTIONS = {
    "version",
    "system",
    "credentials",
    "model_modes",
    "anima_defaults",
    "animas",
    "consolidation",
    "housekeeping",
    "scheduler",
    "rag",
    "priming",
    "image_gen",
    "human_notification",
    "server",
    "external_messaging",
    "background_task",
    "sandbox",
    "api",
    "messaging",
    "webhooks",
    "external_tools",
}


def test_housekeeping_defaults_keep_100_sessions_a_year_of_turns_and_every_body() -> None:
    kept = AnimaWorksConfig().housekeeping
    assert (
        kept.shortterm_archive_keep,
        kept.conversation_archive_days,
        kept.deltas_max_age_hours,
        kept.bodies_max_age_days,
    ) == (100, 365, 24.0, 0)
    with pytest.raises(ValidationError, match="deltas_max_age_hours"):
        AnimaWorksConfig.model_validate({"housekeeping": {"deltas_max_age_hours": 0}})


def test_housekeeping_defaults_snapshot_every_1000_events_keep_2_and_every_dead_letter() -> None:
    kept = AnimaWorksConfig().housekeeping
    assert (kept.snapshot_every_events, kept.snapshots_kept, kept.deadletter_max_age_days) == (1000, 2, 0)
    with pytest.raises(ValidationError, match="snapshots_kept"):
        AnimaWorksConfig.model_validate({"housekeeping": {"snapshots_kept": 0}})


def test_every_seed_section_is_present_with_its_defaults() -> None:
    config = AnimaWorksConfig()
    assert set(masked_view(config)) == SECTIONS
    assert (config.version, config.system.mode, config.system.log_level, config.system.timezone) == (
        CONFIG_VERSION,
        "server",
        "INFO",
        "UTC",
    )
    assert config.anima_defaults == AnimaModelConfig(
        model=None,
        fallback_model=None,
        max_tokens=4096,
        max_turns=20,
        credential=None,
        context_threshold=0.50,
        max_chains=2,
        conversation_history_threshold=0.30,
        execution_mode=None,
        supervisor=None,
        speciality=None,
        timezone=None,
        enabled=True,
    )
    rag = config.rag
    assert (rag.enabled, rag.embedding_model, rag.use_gpu, rag.max_graph_hops) == (
        True,
        "all-MiniLM-L6-v2",
        False,
        2,
    )
    assert (rag.implicit_link_threshold, rag.spreading_memory_types, rag.recency_half_life_days) == (
        0.75,
        ["knowledge", "episodes"],
        30,
    )
    assert (config.consolidation.daily_time, config.consolidation.weekly_day) == ("02:00", 0)
    assert config.server.model_dump() == {
        "ipc_stream_timeout": 60,
        "keepalive_interval": 30,
        "max_streaming_duration": 1800,
        "stream_checkpoint_enabled": True,
        "stream_retry_max": 3,
        "stream_retry_delay_s": 5.0,
    }
    messaging = config.external_messaging
    assert (messaging.preferred_channel, messaging.slack.enabled, messaging.chatwork.mode) == (
        "slack",
        False,
        "webhook",
    )
    assert (config.background_task.enabled, config.background_task.result_retention_hours) == (True, 24)
    assert (config.image_gen.enabled, config.human_notification.channels) == (False, [])


def test_seed_004_priming_budgets_win() -> None:
    priming = AnimaWorksConfig().priming
    assert (priming.budget_greeting, priming.budget_question, priming.budget_request) == (500, 2000, 3000)
    assert priming.heartbeat_budget(1_000) == 200  # the floor
    assert priming.heartbeat_budget(200_000) == 10_000  # 5% of the context window


def test_the_seed_example_loads() -> None:
    config = parse_config(
        {
            "version": 1,
            "system": {"mode": "server", "log_level": "INFO"},
            "credentials": {
                "anthropic": {"api_key": "", "base_url": None},
                "ollama": {"api_key": "dummy", "base_url": "http://localhost:11434/v1"},
            },
            "anima_defaults": {"model": "claude-sonnet-4-20250514", "credential": "anthropic"},
            "animas": {
                "alice": {},
                "bob": {"model": "gpt-4o", "credential": "openai", "supervisor": "alice"},
            },
        }
    )
    # An empty key is no key, so the environment may still supply one.
    assert config.credentials["anthropic"].api_key is None
    assert config.anima("bob").supervisor == "alice"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"animas": {"bob": {"max_tokens": "lots"}}},
            "animas.bob.max_tokens: Input should be a valid integer",
        ),
        ({"animas": {"bob": {"max_tokens": 0}}}, "animas.bob.max_tokens: Input should be greater than 0"),
        ({"anima_defaults": {"modle": "openai/x"}}, "anima_defaults.modle: Extra inputs are not permitted"),
        ({"priming": {"budget_questoin": 1}}, "priming.budget_questoin: Extra inputs are not permitted"),
        ({"rage": {}}, "rage: Extra inputs are not permitted"),
        ({"anima_defaults": {"context_threshold": 1.5}}, "anima_defaults.context_threshold"),
        ({"rag": {"implicit_link_threshold": 0}}, "rag.implicit_link_threshold"),
        ({"consolidation": {"daily_time": "25:00"}}, "consolidation.daily_time: Value error, must be"),
        ({"consolidation": {"weekly_day": 8}}, "consolidation.weekly_day"),
        ({"system": {"timezone": "Mars/Olympus"}}, "system.timezone: Value error, unknown IANA time zone"),
        ({"animas": {"bob": {"timezone": "Nowhere"}}}, "animas.bob.timezone"),
        ({"model_modes": {"openai/*": "turbo"}}, "model_modes.openai/*: Value error, unknown execution mode"),
        ({"human_notification": {"channels": [{"type": "fax"}]}}, "human_notification.channels.0.type"),
        ({"external_messaging": {"slack": {"anima_mapping": {"C1": "Bad Name"}}}}, "anima_mapping.C1"),
        ({"credentials": {"my.key": {}}}, "credentials.my.key"),
    ],
)
def test_errors_name_each_field_path(data: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    assert expected in str(caught.value)
    assert any(expected in problem for problem in caught.value.problems)


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"priming": {"budget_question": -1}, "server": {"keepalive_interval": "x"}})
    assert [p.split(":")[0] for p in caught.value.problems] == [
        "priming.budget_question",
        "server.keepalive_interval",
    ]


def test_load_config_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"animas": {"bob": {"max_tokens": "lots"}}}))
    with pytest.raises(ConfigError, match=r"config\.json: invalid config: animas\.bob\.max_tokens"):
        load_config(path)


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("A1", "agent_sdk"),
        ("agent_sdk", "agent_sdk"),
        ("a2", "litellm"),
        ("B", "assisted"),
        ("litellm", "litellm"),
        ("Assisted", "assisted"),
    ],
)
def test_mode_aliases_normalise_to_canonical_names(given: str, canonical: str) -> None:
    config = parse_config({"model_modes": {"x/*": given}, "anima_defaults": {"execution_mode": given}})
    assert config.model_modes["x/*"] == canonical
    assert config.anima_defaults.execution_mode == canonical
    assert resolve_mode(config, "anything", given) == canonical


def test_weekday_7_is_sunday() -> None:
    assert parse_config({"consolidation": {"weekly_day": 7}}).consolidation.weekly_day == 0


@pytest.mark.parametrize(
    ("model", "mode"),
    [
        ("openai/o3", "assisted"),  # only "openai/*"
        ("openai/gpt-4o-mini", "anthropic"),  # "openai/gpt-4o-mini" beats "openai/gpt-4o*" and "openai/*"
        ("openai/gpt-4o-2024", "litellm"),  # "openai/gpt-4o*"
        ("ollama/qwen3:32b", "litellm"),  # a configured pattern beats the built-in ollama rule
        ("ollama/llama3.2", "assisted"),  # built-in
        ("ollama_chat/phi4", "assisted"),  # built-in
        ("anthropic/claude-sonnet-4", "anthropic"),  # built-in
        ("claude-sonnet-4-20250514", "anthropic"),  # bare Claude name
        ("gemini/gemini-2.5-pro", "litellm"),  # default
    ],
)
def test_resolve_mode_most_specific_pattern_wins(model: str, mode: str) -> None:
    config = parse_config(
        {
            "model_modes": {
                "openai/*": "B",
                "openai/gpt-4o*": "litellm",
                "openai/gpt-4o-mini": "anthropic",
                "ollama/qwen3*": "litellm",
            }
        }
    )
    assert resolve_mode(config, model, None) == mode


def test_resolve_mode_ties_go_to_fewer_wildcards_then_file_order() -> None:
    config = parse_config({"model_modes": {"openai/gpt-?o": "assisted", "openai/gpt-4?": "litellm"}})
    assert resolve_mode(config, "openai/gpt-4o", None) == "assisted"  # same specificity: first listed
    config = parse_config({"model_modes": {"openai/gpt-4o*": "assisted", "openai/gpt-4o": "anthropic"}})
    assert resolve_mode(config, "openai/gpt-4o", None) == "anthropic"  # no wildcard beats "*" matching ""


def test_explicit_mode_wins_and_must_be_a_mode() -> None:
    config = parse_config({"model_modes": {"*": "assisted"}})
    assert resolve_mode(config, "openai/gpt-4o", "litellm") == "litellm"
    with pytest.raises(ConfigError, match="unknown execution mode 'turbo'"):
        resolve_mode(config, "openai/gpt-4o", "turbo")


def test_merge_order_defaults_then_status_then_config_overrides() -> None:
    config = parse_config(
        {
            "anima_defaults": {"model": "openai/default", "max_tokens": 1000, "max_turns": 5},
            "animas": {"bob": {"max_tokens": 3000}},
        }
    )
    status = {"model": "openai/from-status", "max_tokens": 2000, "role": "engineer", "fallback_model": None}
    bob = config.anima("bob", status)
    assert (bob.model, bob.max_tokens, bob.max_turns) == ("openai/from-status", 3000, 5)
    assert config.anima("alice", status).max_tokens == 2000  # no override: status wins over defaults
    assert config.anima("bob").model == "openai/default"  # callers without a status.json


def test_a_bad_status_value_names_the_anima_and_field() -> None:
    with pytest.raises(
        ConfigError, match=r"animas/bob/status\.json: max_turns: Input should be greater than 0"
    ):
        AnimaWorksConfig().anima("bob", {"max_turns": 0})


def test_migration_hook_upgrades_older_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def rename_budget(data: dict[str, Any]) -> dict[str, Any]:
        priming = data.get("priming", {})
        if "question_budget" in priming:
            priming["budget_question"] = priming.pop("question_budget")
        return data

    monkeypatch.setattr(config_module, "CONFIG_VERSION", 2)
    monkeypatch.setitem(config_module.MIGRATIONS, 1, rename_budget)
    path = tmp_path / "config.json"
    original = {"version": 1, "priming": {"question_budget": 1234}}
    path.write_text(json.dumps(original))
    config = load_config(path)
    assert (config.version, config.priming.budget_question) == (2, 1234)
    assert json.loads(path.read_text()) == original  # loading never rewrites the file
    # A file without a version predates versioning and is migrated too.
    assert parse_config({"priming": {"question_budget": 1}}).priming.budget_question == 1


def test_a_missing_migration_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config_module, "CONFIG_VERSION", 2)
    with pytest.raises(ConfigError, match="no migration from version 1 to 2"):
        parse_config({"version": 1})


@pytest.mark.parametrize("version", [CONFIG_VERSION + 1, 99])
def test_a_newer_file_is_refused(version: int) -> None:
    with pytest.raises(ConfigError, match=f"version: the file is version {version}, newer than"):
        parse_config({"version": version})


@pytest.mark.parametrize("version", [0, "1", True])
def test_a_bad_version_is_refused(version: object) -> None:
    with pytest.raises(ConfigError, match="version: must be a positive integer"):
        parse_config({"version": version})


def test_keys_never_show_in_repr_or_masked_view() -> None:
    config = AnimaWorksConfig(
        credentials={
            "openai": Credential(api_key=SecretStr("sk-secret")),
            "local": Credential(base_url="http://x"),
        }
    )
    assert "sk-secret" not in repr(config) and "sk-secret" not in str(config)
    assert "sk-secret" not in config.model_dump_json()
    view = masked_view(config)
    assert view["credentials"] == {
        "openai": {"api_key": "***", "base_url": None},
        "local": {"api_key": None, "base_url": "http://x"},
    }
    assert "sk-secret" not in json.dumps(view)


def test_written_file_round_trips_every_section(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    data: dict[str, Any] = {
        "credentials": {"openai": {"api_key": "sk-real"}},
        "model_modes": {"ollama/*": "A2"},
        "animas": {"bob": {"model": "openai/b", "execution_mode": "B"}},
        "human_notification": {"enabled": True, "channels": [{"type": "ntfy", "target": "alerts"}]},
        "external_messaging": {"chatwork": {"enabled": True, "anima_mapping": {"123": "bob"}}},
        "background_task": {"eligible_tools": {"image_generation": {"threshold_s": 30}}},
        "image_gen": {"enabled": True, "style": "anime"},
    }
    config = parse_config(data)
    write_config(path, config)
    raw = json.loads(path.read_text())
    assert raw["credentials"]["openai"]["api_key"] == "sk-real"
    assert raw["animas"] == {"bob": {"model": "openai/b", "execution_mode": "assisted"}}
    assert raw["image_gen"] == {"enabled": True, "style": "anime"}
    assert load_config(path) == config
