"""config.json ``external_tools`` (#17 item 3): validated at load, keys only through credentials."""

from __future__ import annotations

import pytest

from animas_core.config import ConfigError, masked_view, parse_config


def _parse(tools: dict[str, object], **extra: object) -> object:
    return parse_config({"version": 1, "external_tools": tools, **extra})


def test_nothing_is_configured_by_default() -> None:
    tools = parse_config({"version": 1}).external_tools
    assert (tools.web_search, tools.http_fetch, tools.github) == (None, None, None)


def test_a_search_provider_gets_its_default_url_and_needs_what_it_lacks() -> None:
    config = parse_config(
        {
            "version": 1,
            "external_tools": {"web_search": {"provider": "brave", "credential": "brave"}},
        }
    )
    assert config.external_tools.web_search is not None
    assert config.external_tools.web_search.url() == "https://api.search.brave.com"
    with pytest.raises(ConfigError, match="searxng needs a base_url"):
        _parse({"web_search": {"provider": "searxng"}})
    with pytest.raises(ConfigError, match="tavily needs a credential"):
        _parse({"web_search": {"provider": "tavily"}})
    with pytest.raises(ConfigError):
        _parse({"web_search": {"provider": "bing", "base_url": "https://x"}})
    with pytest.raises(ConfigError):
        _parse({"web_search": {"provider": "searxng", "base_url": "https://x", "api_key": "inline"}})


def test_fetch_hosts_are_folded_and_an_empty_or_odd_list_is_refused() -> None:
    config = parse_config(
        {"version": 1, "external_tools": {"http_fetch": {"allowed_hosts": ["Docs.Example.com"]}}}
    )
    assert config.external_tools.http_fetch is not None
    assert config.external_tools.http_fetch.allowed_hosts == ["docs.example.com"]
    assert config.external_tools.http_fetch.allow_private_addresses is False
    for hosts in ([], ["https://example.com"], ["example.com/path"]):
        with pytest.raises(ConfigError):
            _parse({"http_fetch": {"allowed_hosts": hosts}})


def test_the_key_a_tool_names_is_masked_like_every_credential() -> None:
    config = parse_config(
        {
            "version": 1,
            "credentials": {"github": {"api_key": "ghp_secret"}},
            "external_tools": {"github": {"credential": "github", "repositories": ["acme/app"]}},
        }
    )
    view = masked_view(config)
    assert view["credentials"]["github"]["api_key"] == "***"
    assert view["external_tools"]["github"]["credential"] == "github"
    assert "ghp_secret" not in str(view)


def test_slack_and_chatwork_need_a_credential_and_take_only_ids() -> None:
    config = parse_config(
        {
            "version": 1,
            "external_tools": {
                "slack": {"credential": "bot", "channels": ["C0123ABC"]},
                "chatwork": {"credential": "cw", "rooms": ["123456"]},
            },
        }
    )
    assert config.external_tools.slack is not None and config.external_tools.chatwork is not None
    assert config.external_tools.slack.base_url == "https://slack.com/api"
    assert config.external_tools.chatwork.base_url == "https://api.chatwork.com/v2"
    with pytest.raises(ConfigError):
        _parse({"slack": {}})
    with pytest.raises(ConfigError):
        _parse({"slack": {"credential": "bot", "channels": ["#general"]}})
    with pytest.raises(ConfigError):
        _parse({"chatwork": {"credential": "cw", "rooms": ["room-1"]}})


def test_email_needs_its_servers_and_a_credential_and_sends_to_nobody_by_default() -> None:
    section = {
        "address": "scout@org.example",
        "username": "scout",
        "credential": "mail",
        "imap_host": "imap.org.example",
        "smtp_host": "smtp.org.example",
    }
    config = parse_config({"version": 1, "external_tools": {"email": section}})
    email = config.external_tools.email
    assert email is not None
    assert (email.imap_port, email.imap_security, email.smtp_port, email.smtp_security) == (
        993,
        "tls",
        587,
        "starttls",
    )
    assert email.allowed_recipients == []
    for broken in (
        {**section, "address": "not an address"},
        {k: v for k, v in section.items() if k != "smtp_host"},
    ):
        with pytest.raises(ConfigError):
            _parse({"email": broken})
    with pytest.raises(ConfigError):
        _parse({"email": {**section, "allowed_recipients": ["everyone"]}})
