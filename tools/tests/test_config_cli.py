"""`anima config`: show, get, set and validate against a temporary home."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from animas_tools.config_cli import config_app

runner = CliRunner()


def invoke(*args: str) -> Result:
    return runner.invoke(config_app, list(args))


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def write(home: Path, data: dict[str, object]) -> Path:
    path = home / "config.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path


def test_show_masks_keys(home: Path) -> None:
    write(home, {"credentials": {"openai": {"api_key": "sk-secret"}}})
    result = invoke("show", "--home", str(home))
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["credentials"]["openai"]["api_key"] == "***"
    assert shown["priming"]["budget_question"] == 2000
    assert "sk-secret" not in result.output


def test_show_anima_merges_status_and_overrides_and_resolves_the_mode(home: Path) -> None:
    write(
        home,
        {
            "anima_defaults": {"model": "openai/default", "max_tokens": 1000},
            "model_modes": {"ollama/*": "litellm"},
            "animas": {"bob": {"max_tokens": 3000}},
        },
    )
    status = home / "animas" / "bob" / "status.json"
    status.parent.mkdir(parents=True)
    status.write_text(json.dumps({"model": "ollama/qwen3", "max_turns": 7, "role": "engineer"}))
    before = status.read_bytes()
    result = invoke("show", "--anima", "bob", "--home", str(home))
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert (shown["model"], shown["max_turns"], shown["max_tokens"]) == ("ollama/qwen3", 7, 3000)
    assert shown["resolved_mode"] == "litellm"
    assert status.read_bytes() == before  # status.json is only read


def test_show_anima_without_a_model(home: Path) -> None:
    result = invoke("show", "--anima", "alice", "--home", str(home))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["resolved_mode"] is None


def test_a_bad_anima_name_is_a_usage_error(home: Path) -> None:
    result = invoke("show", "--anima", "Bad Name", "--home", str(home))
    assert result.exit_code == 2


def test_get_reads_dotted_paths_and_masks_keys(home: Path) -> None:
    write(
        home,
        {
            "anima_defaults": {"model": "openai/gpt-4o"},
            "credentials": {"openai": {"api_key": "sk-secret", "base_url": "http://llm"}},
        },
    )
    assert invoke("get", "priming.budget_question", "--home", str(home)).stdout == "2000\n"
    assert invoke("get", "anima_defaults.model", "--home", str(home)).stdout == "openai/gpt-4o\n"
    assert invoke("get", "credentials.openai.base_url", "--home", str(home)).stdout == "http://llm\n"
    assert invoke("get", "credentials.openai.api_key", "--home", str(home)).stdout == "***\n"
    assert invoke("get", "rag.spreading_memory_types.1", "--home", str(home)).stdout == "episodes\n"
    assert invoke("get", "model", "--anima", "bob", "--home", str(home)).stdout == "openai/gpt-4o\n"
    assert invoke("get", "resolved_mode", "--anima", "bob", "--home", str(home)).stdout == "litellm\n"


def test_get_unknown_key_fails(home: Path) -> None:
    result = invoke("get", "priming.nope", "--home", str(home))
    assert result.exit_code == 1
    assert "error: no setting 'priming.nope'" in result.stderr
    result = invoke("get", "animas.bob.model", "--home", str(home))
    assert result.exit_code == 1 and "--anima bob" in result.stderr
    assert invoke("get", "priming..x", "--home", str(home)).exit_code == 2


def test_set_then_get_round_trip_and_0600(home: Path) -> None:
    result = invoke("set", "priming.budget_question", "2500", "--home", str(home))
    assert result.exit_code == 0, result.output
    result = invoke("set", "anima_defaults.model", "openai/gpt-4o-mini", "--home", str(home))
    assert result.exit_code == 0, result.output
    result = invoke("set", "animas.bob.execution_mode", "A1", "--home", str(home))
    assert result.exit_code == 0, result.output
    path = home / "config.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    raw = json.loads(path.read_text())
    assert raw["priming"]["budget_question"] == 2500
    assert raw["animas"] == {"bob": {"execution_mode": "agent_sdk"}}  # overrides only
    assert invoke("get", "anima_defaults.model", "--home", str(home)).stdout == "openai/gpt-4o-mini\n"
    assert invoke("get", "resolved_mode", "--anima", "bob", "--home", str(home)).stdout == "agent_sdk\n"
    result = invoke("set", "anima_defaults.model", "null", "--home", str(home))
    assert result.exit_code == 0 and json.loads(path.read_text())["anima_defaults"]["model"] is None


def test_set_refuses_an_invalid_value_and_leaves_the_file_alone(home: Path) -> None:
    path = write(home, {"priming": {"budget_question": 1500}})
    before = path.read_bytes()
    for key, value in [
        ("priming.budget_question", "-5"),
        ("animas.bob.max_tokens", "lots"),
        ("anima_defaults.modle", "openai/x"),
        ("system.timezone", "Mars/Olympus"),
    ]:
        result = invoke("set", key, value, "--home", str(home))
        assert result.exit_code == 1, (key, result.output)
        assert f"error: invalid config: {key}" in result.stderr
        assert path.read_bytes() == before
    # The usual "--" works too.
    assert invoke("set", "--home", str(home), "--", "server.keepalive_interval", "-1").exit_code == 1
    assert path.read_bytes() == before


def test_set_api_key_keeps_the_real_key_and_hints_at_the_environment(home: Path) -> None:
    result = invoke("set", "credentials.my-llm.api_key", "sk-real", "--home", str(home))
    assert result.exit_code == 0, result.output
    assert "sk-real" not in result.output
    assert "ANIMAWORKS_CREDENTIAL_MY_LLM_API_KEY" in result.stderr
    assert json.loads((home / "config.json").read_text())["credentials"]["my-llm"]["api_key"] == "sk-real"


def test_set_webhook_secrets_never_echoes_them(home: Path) -> None:
    source = '{"kind": "generic", "anima": "sample", "secrets": ["whsec-first"]}'
    for key, value in [
        ("webhooks.sources.ci", source),
        ("webhooks.sources.ci.secrets", '["whsec-first", "whsec-second"]'),
        ("webhooks.sources.ci.secrets.1", "whsec-third"),
    ]:
        result = invoke("set", key, value, "--home", str(home))
        assert result.exit_code == 0, result.output
        # Printed as `config get` shows it: each secret "***", the rest as given.
        assert "whsec" not in result.output and f"{key} = " in result.output and "***" in result.output
    shown = invoke("get", "webhooks.sources.ci.secrets", "--home", str(home))
    assert "whsec" not in shown.output and "***" in shown.output
    stored = json.loads((home / "config.json").read_text())["webhooks"]["sources"]["ci"]
    assert stored["secrets"] == ["whsec-first", "whsec-third"]
    assert invoke("set", "webhooks.sources.ci.anima", "other", "--home", str(home)).output.strip() == (
        "webhooks.sources.ci.anima = other"
    )


def test_validate(home: Path, tmp_path: Path) -> None:
    result = invoke("validate", "--home", str(home))
    assert result.exit_code == 0 and "config OK" in result.stdout
    write(home, {"animas": {"bob": {"max_tokens": "lots"}}, "rage": {}})
    result = invoke("validate", "--home", str(home))
    assert result.exit_code == 1
    assert "error: animas.bob.max_tokens: Input should be a valid integer" in result.stderr
    assert "error: rage: Extra inputs are not permitted" in result.stderr
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"priming": {"budget_question": 2000}}))
    result = invoke("validate", "--file", str(other))
    assert result.exit_code == 0 and "config OK" in result.stdout
    assert invoke("validate", "--file", str(tmp_path / "absent.json")).exit_code == 1


def test_validate_checks_status_files(home: Path) -> None:
    status = home / "animas" / "bob" / "status.json"
    status.parent.mkdir(parents=True)
    status.write_text(json.dumps({"max_turns": 0}))
    result = invoke("validate", "--home", str(home))
    assert result.exit_code == 1
    assert "animas/bob/status.json: max_turns: Input should be greater than 0" in result.stderr
