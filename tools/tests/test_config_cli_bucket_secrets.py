"""``anima config set --nats-url`` refuses any value that carries a secret, wherever it sits in it.

The bucket is stood in for by a document in memory (what ``set_in_bucket`` reads and stores); the
real bucket, with a NATS server, is tests/integration/test_config_replicas.py.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from animas_core.config import AnimaWorksConfig, ConfigError, parse_config
from animas_core.config_store import kv_document
from animas_core.home import Home
from animas_tools import config_cli
from animas_tools.cli_support import fail
from animas_tools.config_bucket_cli import with_stand_ins

KEY = "sk-whsec-operator-key"
DIGEST = "b" * 64

runner = CliRunner()


class Bucket:
    def __init__(self) -> None:
        config = parse_config(
            {
                "credentials": {"llm": {"api_key": "sk-already-there"}},
                "api": {"tokens": {"ci": {"scope": "chat", "sha256": "a" * 64}}},
                "webhooks": {"sources": {"ci": {"kind": "generic", "anima": "s", "secrets": ["w"]}}},
            }
        )
        self.document: dict[str, Any] = json.loads(kv_document(config))
        self.writes = 0

    def set_in_bucket(
        self, home: Home, nats_url: str, change: Callable[[dict[str, Any]], None]
    ) -> AnimaWorksConfig:
        data = copy.deepcopy(self.document)
        change(data)
        try:  # as the real one: an invalid document is refused, the bucket left unchanged
            config = parse_config(with_stand_ins(data))
        except ConfigError as exc:
            raise fail(f"{exc} (the config bucket left unchanged)") from None
        self.document, self.writes = data, self.writes + 1
        return config


@pytest.fixture
def bucket(monkeypatch: pytest.MonkeyPatch) -> Bucket:
    fake = Bucket()
    monkeypatch.setattr(config_cli, "set_in_bucket", fake.set_in_bucket)
    return fake


def invoke(tmp_path: Path, key: str, value: str) -> Result:
    args = ["set", key, value, "--home", str(tmp_path / "home"), "--nats-url", "nats://x:4222"]
    return runner.invoke(config_cli.config_app, args)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("credentials.openai.api_key", KEY),
        ("credentials.openai", json.dumps({"api_key": KEY})),
        ("credentials", json.dumps({"openai": {"api_key": KEY, "base_url": "http://x/v1"}})),
        ("api.tokens.ci.sha256", DIGEST),
        ("api.tokens.x", json.dumps({"scope": "chat", "sha256": DIGEST})),
        ("api", json.dumps({"tokens": {"x": {"scope": "chat", "sha256": DIGEST}}})),
        ("webhooks.sources.ci.secrets.0", KEY),
        ("webhooks.sources.ci", json.dumps({"kind": "generic", "anima": "s", "secrets": [KEY]})),
        ("webhooks.sources.ci.callback_secret", KEY),
    ],
)
def test_a_value_carrying_a_secret_is_refused_and_never_printed(
    bucket: Bucket, tmp_path: Path, key: str, value: str
) -> None:
    before = copy.deepcopy(bucket.document)
    result = invoke(tmp_path, key, value)
    assert result.exit_code == 1, result.output
    assert "secrets never go into the config bucket" in result.output
    assert KEY not in result.output and DIGEST not in result.output
    assert (bucket.writes, bucket.document) == (0, before)


def test_a_digest_for_a_new_token_is_refused_and_never_printed(bucket: Bucket, tmp_path: Path) -> None:
    before = copy.deepcopy(bucket.document)
    result = invoke(tmp_path, "api.tokens.x.sha256", DIGEST)  # invalid too: a token needs its scope
    assert result.exit_code == 1 and DIGEST not in result.output
    assert (bucket.writes, bucket.document) == (0, before)


def test_the_credential_hint_names_the_keys_environment_variable(bucket: Bucket, tmp_path: Path) -> None:
    result = invoke(tmp_path, "credentials.openai", json.dumps({"api_key": KEY}))
    assert result.exit_code == 1 and "ANIMAWORKS_CREDENTIAL_OPENAI_API_KEY" in result.output


@pytest.mark.parametrize(
    ("key", "value", "shown"),
    [
        ("anima_defaults.max_turns", "7", "7"),
        ("credentials.openai", json.dumps({"base_url": "http://x/v1"}), '"base_url": "http://x/v1"'),
        ("credentials.llm.base_url", "http://y/v1", "http://y/v1"),
        ("api.tokens.ci.scope", "admin", "admin"),
        ("webhooks.sources.ci.anima", "t", "t"),
        ("credentials.llm", json.dumps({"api_key": "***", "base_url": "http://z/v1"}), '"api_key": "***"'),
        ("credentials.llm.api_key", "null", "null"),
    ],
)
def test_a_value_without_a_secret_is_stored_and_echoed_masked(
    bucket: Bucket, tmp_path: Path, key: str, value: str, shown: str
) -> None:
    result = invoke(tmp_path, key, value)
    assert result.exit_code == 0, result.output
    assert bucket.writes == 1 and f"{key} = " in result.output and shown in result.output
    assert "sk-already-there" not in json.dumps(bucket.document)
