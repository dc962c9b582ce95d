"""`anima token`: create (printed once, kept as a digest), list and revoke, against a temporary home."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from animas_core.api_config import match_token
from animas_core.config import load_config
from animas_tools.token_cli import token_app

runner = CliRunner()


def invoke(home: Path, *args: str) -> Result:
    return runner.invoke(token_app, [*args, "--home", str(home)])


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def test_create_prints_the_token_once_and_keeps_only_its_digest(home: Path) -> None:
    (home).mkdir()
    (home / "config.json").write_text(json.dumps({"credentials": {"openai": {"api_key": "sk-keep"}}}))
    result = invoke(home, "create", "ci-bot", "--scope", "chat")
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert "shown only now" in result.stderr
    text = (home / "config.json").read_text()
    assert token not in text
    config = load_config(home / "config.json")
    assert match_token(config.api.tokens, token) == "ci-bot"
    assert config.api.tokens["ci-bot"].scope == "chat"
    assert config.credentials["openai"].api_key is not None  # the rest of the file is kept
    assert config.credentials["openai"].api_key.get_secret_value() == "sk-keep"
    assert stat.S_IMODE((home / "config.json").stat().st_mode) == 0o600

    listed = invoke(home, "list")
    assert listed.exit_code == 0
    assert "ci-bot" in listed.stdout and "chat" in listed.stdout
    assert token not in listed.stdout and config.api.tokens["ci-bot"].sha256 not in listed.stdout


def test_a_name_is_used_once_and_must_be_a_plain_lowercase_name(home: Path) -> None:
    assert invoke(home, "create", "ops", "--scope", "admin").exit_code == 0
    again = invoke(home, "create", "ops", "--scope", "chat")
    assert again.exit_code == 1 and "revoke ops" in again.stderr
    for bad, problem in (
        ("Ops", "should match pattern"),
        ("local", "reserved"),
        ("a b", "should match pattern"),
    ):
        refused = invoke(home, "create", bad, "--scope", "chat")
        assert refused.exit_code == 1 and problem in refused.stderr, refused.output
        assert "left unchanged" in refused.stderr
    wrong_scope = invoke(home, "create", "x", "--scope", "root")
    assert wrong_scope.exit_code == 2 and "choose one of admin, chat" in wrong_scope.output
    assert list(load_config(home / "config.json").api.tokens) == ["ops"]


def test_revoke_removes_the_token(home: Path) -> None:
    token = invoke(home, "create", "phone", "--scope", "chat").stdout.strip()
    assert invoke(home, "revoke", "phone").exit_code == 0
    assert match_token(load_config(home / "config.json").api.tokens, token) is None
    missing = invoke(home, "revoke", "phone")
    assert missing.exit_code == 1 and "no token named 'phone'" in missing.stderr
    assert "no API tokens" in invoke(home, "list").stdout
