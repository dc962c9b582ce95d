"""Slack Socket Mode in the gateway (#17 acceptance 2) against a local fake Socket Mode server:
slack-sdk's aiohttp client opens the connection, events become external messages like the HTTP
route's, retries are one message, acks follow storage, and config.json adds and removes sources.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import pytest

from animas_contracts import MessageOrigin, MessageReceived
from animas_core.config import AnimaWorksConfig, ConfigError, parse_config
from animas_gateway.slack_socket import SocketModeSources
from animas_tools.fake_slack import FakeSlackSocket

APP_TOKEN = "xapp-1-test-app-token-5b0e"
BOT_TOKEN = "xoxb-test-bot-token-0c3a"
EVENT = {"type": "event_callback", "event_id": "Ev1",
         "event": {"type": "message", "user": "U1", "text": "<@UBOT> status?", "channel": "D9",
                   "ts": "1765000000.000100"}}  # fmt: skip


def _config(fake: FakeSlackSocket, **overrides: Any) -> AnimaWorksConfig:
    source = {"kind": "slack", "anima": "sample", "mode": "socket", "app_token": APP_TOKEN,
              "api_base_url": fake.api_url, "people": {"U1": "alice"}, **overrides}  # fmt: skip
    return parse_config({"webhooks": {"sources": {"slack-sock": source}}})


async def _until(what: str, probe: Callable[[], object]) -> None:
    for _ in range(200):
        if probe():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class Store:
    def __init__(self) -> None:
        self.events: list[MessageReceived] = []
        self.failing = False
        self.tries = 0

    async def __call__(self, event: MessageReceived, config: AnimaWorksConfig) -> None:
        self.tries += 1
        if self.failing:
            raise RuntimeError("the broker is away")
        self.events.append(event)


async def test_socket_mode_events_become_one_external_message_each_acked_after_storing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="animas_gateway")
    with FakeSlackSocket(APP_TOKEN, BOT_TOKEN) as fake:
        current = [_config(fake)]
        store = Store()
        sources = SocketModeSources(lambda: current[0], store, check_s=0.05)
        await sources.start()
        try:
            assert sources.connected() == ["slack-sock"] and fake.opened == 1
            await _until("the connection", fake.connected)
            first = fake.send_event(EVENT)
            retries = [fake.send_event(EVENT, retry_attempt=n) for n in (1, 2, 3)]
            await _until("four acks", lambda: len(fake.acks) == 4)
            assert sorted(fake.acks) == sorted([first, *retries])
            assert len(store.events) == 4 and len({e.id for e in store.events}) == 1  # one id: stored once
            message = store.events[0]
            assert (message.origin, message.source, message.anima) == (
                MessageOrigin.EXTERNAL,
                "slack-sock",
                "sample",
            )
            assert (message.sender, message.thread_id) == ("alice", "slack:D9:1765000000.000100")
            assert message.text == "<@UBOT> status?"
            # A bot's message is acknowledged and dropped.
            bot = {**EVENT, "event": {**EVENT["event"], "bot_id": "B1"}}  # type: ignore[dict-item]
            dropped = fake.send_event(bot)
            await _until("the bot message's ack", lambda: dropped in fake.acks)
            assert len(store.events) == 4
            # A message that cannot be stored is not acknowledged: Slack sends it again.
            store.failing = True
            tries = store.tries
            unstored = fake.send_event(EVENT)
            await _until("the failed store", lambda: store.tries > tries)
            store.failing = False
            later = fake.send_event(EVENT, retry_attempt=1)
            await _until("the redelivery's ack", lambda: later in fake.acks)
            assert unstored not in fake.acks
            # Removed from config.json: the connection is closed without a restart.
            current[0] = parse_config({})
            await _until("the connection closed", lambda: not sources.connected() and not fake.connected())
        finally:
            await sources.stop()
    assert APP_TOKEN not in caplog.text


async def test_a_wrong_app_token_or_a_broken_config_connects_nothing_and_logs_no_token(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="animas_gateway")
    with FakeSlackSocket("xapp-the-right-one", BOT_TOKEN) as fake:
        sources = SocketModeSources(lambda: _config(fake), Store(), check_s=60)
        await sources.start()
        assert sources.connected() == [] and fake.connected() == 0
        await sources.stop()

        def broken() -> AnimaWorksConfig:
            raise ConfigError("config.json is not JSON")

        unread = SocketModeSources(broken, Store(), check_s=60)
        await unread.start()
        assert unread.connected() == []
        await unread.stop()
    assert "could not connect" in caplog.text and APP_TOKEN not in caplog.text


@pytest.mark.parametrize(
    ("source", "why"),
    [
        ({"kind": "chatwork", "anima": "sample", "mode": "socket", "app_token": "x"}, "only a Slack source"),
        ({"kind": "slack", "anima": "sample", "mode": "socket"}, "app-level token"),
        ({"kind": "slack", "anima": "sample"}, "signing secret"),
    ],
)
def test_a_socket_mode_source_needs_slack_and_an_app_token(source: dict[str, Any], why: str) -> None:
    with pytest.raises(ConfigError, match=why):
        parse_config({"webhooks": {"sources": {"s": source}}})
