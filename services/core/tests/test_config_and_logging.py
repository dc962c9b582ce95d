"""config.json validation and persistence, and secret redaction in logs."""

from __future__ import annotations

import json
import logging
import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from animas_core.config import (
    AnimaModelConfig,
    AnimaWorksConfig,
    CachedConfig,
    ConfigError,
    Credential,
    load_config,
    parse_config,
    write_config,
)
from animas_core.logging import JsonFormatter, redact


def test_missing_file_means_defaults(tmp_path: Path) -> None:
    assert load_config(tmp_path / "config.json") == AnimaWorksConfig()


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"anima_defaults": {"max_tokens": "lots"}}, "anima_defaults.max_tokens"),
        ({"credentials": {"openai": {"api_key": 1, "bogus": True}}}, "credentials.openai.bogus"),
        ({"animas": {"Bad Name": {}}}, "invalid anima name 'Bad Name'"),
    ],
)
def test_errors_name_the_field_path(data: dict[str, object], path: str) -> None:
    with pytest.raises(ConfigError, match=path.replace(".", r"\.")):
        parse_config(data)


def test_invalid_json_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{nope")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_config(tmp_path / "config.json")


def test_overrides_merge_over_defaults() -> None:
    config = parse_config(
        {"anima_defaults": {"model": "openai/a", "max_tokens": 100}, "animas": {"bob": {"model": "openai/b"}}}
    )
    assert (config.anima("bob").model, config.anima("bob").max_tokens) == ("openai/b", 100)
    assert config.anima("alice").model == "openai/a"


def test_written_with_0600_and_keeps_keys_and_overrides(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    config = AnimaWorksConfig(
        credentials={"openai": Credential(api_key=SecretStr("sk-test"))},
        anima_defaults=AnimaModelConfig(model="openai/a"),
        animas={"sample": AnimaModelConfig()},
    )
    write_config(path, config)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    raw = json.loads(path.read_text())
    assert raw["credentials"]["openai"]["api_key"] == "sk-test"
    assert raw["animas"] == {"sample": {}}
    assert load_config(path).anima("sample").model == "openai/a"


def test_api_key_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANIMAWORKS_CREDENTIAL_MY_LLM_API_KEY", "from-env")
    config = parse_config({"credentials": {"my-llm": {"base_url": "http://x"}}})
    credential = config.credential("my-llm")
    assert credential is not None and credential.api_key is not None
    assert credential.api_key.get_secret_value() == "from-env"
    assert config.credential("absent") is None


def test_cached_config_rereads_on_change(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    cached = CachedConfig(path)
    assert cached.get().anima_defaults.model is None
    path.write_text(json.dumps({"anima_defaults": {"model": "openai/changed"}}))
    assert cached.get().anima_defaults.model == "openai/changed"


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("connecting to nats://gateway:s3cr3t@127.0.0.1:4222", "s3cr3t"),
        ("api_key=sk-abcdef failed", "sk-abcdef"),
        ('{"password": "hunter2"}', "hunter2"),
        ("Authorization: Bearer-xyz", "Bearer-xyz"),
    ],
)
def test_redaction(text: str, secret: str) -> None:
    assert secret not in redact(text)


def test_json_formatter_redacts_messages_and_extras() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "url %s", ("nats://u:pw@h:1",), None)
    record.endpoint = "http://u:topsecret@h"
    line = json.loads(JsonFormatter("gateway").format(record))
    assert line["service"] == "gateway" and "pw" not in line["msg"] and "topsecret" not in line["endpoint"]
