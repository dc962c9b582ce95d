"""The config document of the CONFIG bucket: no secret in it, each service's own secrets put back."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import pytest

from animas_core.config import CachedConfig, ConfigError, parse_config, write_config
from animas_core.config_secrets import MASK, with_local_secrets
from animas_core.config_store import kv_document

KEY = "sk-operator-key-0123"
DIGEST = "a" * 64
SIGNING = "whsec-signing-secret"
BOT = "xoxb-bot-token"
CHATWORK = "c2VjcmV0LXRva2Vu"  # base64, as Chatwork shows it

OPERATORS = {
    "credentials": {"llm": {"api_key": KEY, "base_url": "http://llm.local/v1"}},
    "anima_defaults": {"model": "openai/first", "credential": "llm"},
    "api": {"tokens": {"ci": {"scope": "chat", "sha256": DIGEST}}},
    "webhooks": {
        "sources": {
            "team": {"kind": "slack", "anima": "sample", "secrets": [SIGNING], "token": BOT},
            "office": {"kind": "chatwork", "anima": "sample", "secrets": [CHATWORK]},
        }
    },
}


def _document() -> dict[str, Any]:
    return dict(json.loads(kv_document(parse_config(OPERATORS))))


def test_the_bucket_document_holds_every_setting_and_no_secret() -> None:
    payload = kv_document(parse_config(OPERATORS))
    for secret in (KEY, DIGEST, SIGNING, BOT, CHATWORK):
        assert secret.encode() not in payload
    document = json.loads(payload)
    assert document["anima_defaults"]["model"] == "openai/first"
    assert document["credentials"]["llm"] == {"api_key": MASK, "base_url": "http://llm.local/v1"}
    assert document["api"]["tokens"]["ci"]["sha256"] == MASK
    assert document["webhooks"]["sources"]["team"]["secrets"] == [MASK]


def test_a_service_puts_back_the_secrets_it_holds() -> None:
    filled = parse_config(with_local_secrets(_document(), parse_config(OPERATORS)))
    credential = filled.credential("llm")
    assert credential is not None and credential.api_key is not None
    assert credential.api_key.get_secret_value() == KEY
    assert filled.api.tokens["ci"].sha256 == DIGEST
    assert filled.webhooks.sources["team"].secret_values() == (SIGNING,)
    team_token = filled.webhooks.sources["team"].token
    assert team_token is not None and team_token.get_secret_value() == BOT


def test_what_a_service_does_not_hold_it_goes_without(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANIMAWORKS_CREDENTIAL_LLM_API_KEY", "from-this-pods-secret")
    filled = parse_config(with_local_secrets(_document(), None))
    credential = filled.credential("llm")  # the key comes from the environment instead
    assert credential is not None and credential.api_key is not None
    assert credential.api_key.get_secret_value() == "from-this-pods-secret"
    # A token or webhook source it cannot check is not there: requests relying on it are refused.
    assert filled.api.tokens == {} and filled.webhooks.sources == {}
    assert filled.anima_defaults.model == "openai/first"


class Feed:
    """A bucket's latest document as the runtime's ConfigFeed holds it."""

    def __init__(self) -> None:
        self.revision = 0
        self.document: dict[str, Any] | None = None

    def take(self, document: dict[str, Any]) -> None:
        self.revision += 1
        self.document = document


def test_cached_config_follows_the_bucket_with_the_files_secrets(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    # This service's own file: the secrets, and settings the bucket overrides once it holds any.
    write_config(path, parse_config({**OPERATORS, "anima_defaults": {"model": "openai/local-file"}}))
    feed = Feed()
    cached = CachedConfig(path, feed)
    assert cached.get().anima_defaults.model == "openai/local-file"  # an empty bucket: the file
    feed.take(_document())
    assert cached.get().anima_defaults.model == "openai/first"
    changed = _document()
    changed["anima_defaults"]["model"] = "openai/second"
    feed.take(changed)
    config = cached.get()
    assert config.anima_defaults.model == "openai/second"
    credential = config.credential("llm")
    assert credential is not None and credential.api_key is not None
    assert credential.api_key.get_secret_value() == KEY
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"


def test_a_revision_that_does_not_parse_is_logged_once_and_the_last_valid_config_kept(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "config.json"
    write_config(path, parse_config(OPERATORS))
    feed = Feed()
    cached = CachedConfig(path, feed)
    bad = _document()
    bad["anima_defaults"]["max_turns"] = "lots"
    feed.take(bad)
    with pytest.raises(ConfigError, match="config revision 1"):
        cached.get()  # nothing valid yet: said, not guessed

    feed.take(_document())
    assert cached.get().anima_defaults.model == "openai/first"
    feed.take(bad)
    with caplog.at_level(logging.ERROR, logger="animas_core.config"):
        for _ in range(3):
            assert cached.get().anima_defaults.model == "openai/first"
    logged = [r for r in caplog.records if "config revision 3" in r.getMessage()]
    assert len(logged) == 1 and "keeping the last valid config" in logged[0].getMessage()

    fixed = _document()
    fixed["anima_defaults"]["model"] = "openai/fixed"
    feed.take(fixed)
    assert cached.get().anima_defaults.model == "openai/fixed"
