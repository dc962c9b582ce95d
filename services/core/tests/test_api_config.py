"""config.json's ``api`` section: tokens kept as digests, names and limits checked at load."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from animas_core.api_config import TOKEN_PREFIX, ApiConfig, match_token, new_token, token_digest
from animas_core.config import ConfigError, load_config, parse_config, write_config


def test_defaults_are_strict_on_others_and_open_on_this_machine() -> None:
    api = parse_config({}).api
    assert (api.require_token_on_loopback, api.tokens) == (False, {})
    assert (api.max_body_bytes, api.max_document_bytes, api.max_thread_id_chars) == (1 << 20, 256 << 10, 128)


def test_a_new_token_is_long_random_and_stored_only_as_its_sha256() -> None:
    first, second = new_token(), new_token()
    assert first.startswith(TOKEN_PREFIX) and len(first) >= len(TOKEN_PREFIX) + 43  # 256 bits in base64
    assert first != second
    assert token_digest(first) == hashlib.sha256(first.encode()).hexdigest()


def test_tokens_round_trip_through_the_file_as_digests(tmp_path: Path) -> None:
    token = new_token()
    config = parse_config({"api": {"tokens": {"ci-bot": {"scope": "chat", "sha256": token_digest(token)}}}})
    path = tmp_path / "config.json"
    write_config(path, config)
    assert token not in path.read_text()
    loaded = load_config(path).api
    assert match_token(loaded.tokens, token) == "ci-bot"
    assert loaded.tokens["ci-bot"].scope == "chat"


@pytest.mark.parametrize(
    ("api", "problem"),
    [
        ({"tokens": {"local": {"scope": "admin", "sha256": "0" * 64}}}, "reserved"),
        ({"tokens": {"Bad Name": {"scope": "admin", "sha256": "0" * 64}}}, "should match pattern"),
        ({"tokens": {"bot": {"scope": "root", "sha256": "0" * 64}}}, "api.tokens.bot.scope"),
        ({"tokens": {"bot": {"scope": "chat", "sha256": "plaintext-token"}}}, "api.tokens.bot.sha256"),
        ({"tokens": {"bot": {"scope": "chat", "sha256": "0" * 64, "token": "x"}}}, "api.tokens.bot.token"),
        ({"max_body_bytes": 0}, "api.max_body_bytes"),
        ({"max_body_bytes": 64 << 20}, "api.max_body_bytes"),
        ({"require_token_on_loopbak": True}, "api.require_token_on_loopbak"),
    ],
)
def test_a_wrong_api_section_is_refused_naming_the_field(api: dict[str, object], problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        parse_config({"api": api})


def test_the_section_model_is_exported_from_config() -> None:
    assert isinstance(parse_config({}).api, ApiConfig)
