"""Slack Socket Mode: events over a connection the gateway opens, for installations without a public URL.

For each enabled Slack source with ``mode: socket`` the gateway keeps one Socket Mode connection
(``slack_sdk``'s aiohttp client: ``apps.connections.open`` with the source's app-level token, then
a WebSocket). Each ``events_api`` envelope carries the body the Events API would have POSTed; it
goes the HTTP route's way from there (:mod:`animas_gateway.webhook_inputs`): a person's message
becomes one ``message.received`` (origin ``external``, the source named, the ``people`` map
applied), stored once whatever Slack retries, and its answer is posted back by outbound like any
Slack source's. The connection itself is the authentication (Slack signs nothing in Socket Mode).

The envelope is acknowledged after the message is stored, so one that could not be stored is
sent again by Slack. Sources are reconciled with config.json every ``check_s`` seconds: a source
added, changed or removed there is connected, reconnected or closed without a restart. The token
is in no log line: errors are logged by type and Slack's error code.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from animas_contracts import MessageReceived
from animas_core.config import AnimaWorksConfig, ConfigError, WebhookSource
from animas_gateway.webhook_inputs import BadPayload, Inbound, message_event, read_input

_log = logging.getLogger(__name__)

SLACK_API = "https://slack.com/api/"
MAX_BACKOFF_S = 60.0
Store = Callable[[MessageReceived, AnimaWorksConfig], Awaitable[None]]
"""Stores a message once (the HTTP route's :func:`animas_gateway.ingress.deliver_once`)."""


@dataclasses.dataclass(frozen=True)
class SocketSource:
    """What a connection depends on: a change to any of it reconnects."""

    app_token: str
    base_url: str


class Connection(Protocol):
    """One open Socket Mode connection."""

    async def close(self) -> None: ...


Listener = Callable[[AsyncBaseSocketModeClient, SocketModeRequest], Awaitable[None]]
Connect = Callable[[str, SocketSource, Listener], Awaitable[Connection]]


async def sdk_connect(
    name: str,
    source: SocketSource,
    listener: Listener,
) -> Connection:
    """A connection through slack-sdk's aiohttp Socket Mode client (it reconnects by itself)."""
    client = SocketModeClient(
        app_token=source.app_token,
        web_client=AsyncWebClient(base_url=source.base_url, retry_handlers=[]),
        logger=logging.getLogger(f"{__name__}.sdk"),
    )
    client.socket_mode_request_listeners.append(listener)
    try:
        # Asked first, so a wrong token fails here at once (connect() itself would retry forever).
        client.wss_uri = await client.issue_new_wss_url()
        await asyncio.wait_for(client.connect(), timeout=30)  # type: ignore[no-untyped-call]
    except BaseException:
        await client.close()  # type: ignore[no-untyped-call]
        raise
    _log.info("Slack Socket Mode connected", extra={"source": name})
    return client


def socket_sources(config: AnimaWorksConfig) -> dict[str, SocketSource]:
    """The enabled Socket Mode sources of ``config`` by name."""
    wanted = {}
    for name, source in config.webhooks.sources.items():
        if source.mode == "socket" and source.enabled and source.app_token is not None:
            wanted[name] = SocketSource(
                source.app_token.get_secret_value(), _slash(source.api_base_url or SLACK_API)
            )
    return wanted


class SocketModeSources:
    """Keeps one connection per Socket Mode source in config.json, and turns its events into messages."""

    def __init__(
        self,
        config: Callable[[], AnimaWorksConfig],
        store: Store,
        *,
        connect: Connect = sdk_connect,
        check_s: float = 2.0,
    ) -> None:
        self._config = config
        self._store = store
        self._connect = connect
        self._check_s = check_s
        self._open: dict[str, tuple[SocketSource, Connection]] = {}
        self._failed: dict[str, tuple[SocketSource, int, float]] = {}
        """A source that failed to connect: its settings, failures in a row, when to try again."""
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Connect the configured sources now and keep them in step with config.json."""
        await self.reconcile()
        self._task = asyncio.create_task(self._keep(), name="slack-socket-mode")

    async def stop(self) -> None:
        """Close every connection."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for name in list(self._open):
            await self._close(name)

    def connected(self) -> list[str]:
        """The sources connected now."""
        return sorted(self._open)

    async def reconcile(self) -> None:
        """Connect what config.json wants and is not connected; close what it no longer wants."""
        try:
            wanted = socket_sources(self._config())
        except ConfigError as exc:
            _log.warning("config.json cannot be read; Socket Mode connections kept as they are: %s", exc)
            return
        for name in [n for n, (s, _) in self._open.items() if wanted.get(n) != s]:
            await self._close(name)
        now = asyncio.get_running_loop().time()
        for name, source in wanted.items():
            failed = self._failed.get(name)
            if name in self._open or (failed is not None and failed[0] == source and now < failed[2]):
                continue
            try:
                connection = await self._connect(name, source, self._listener(name))
            except Exception as exc:
                # Tried again later, backing off to a minute (a change to the source tries at once).
                failures = failed[1] + 1 if failed is not None and failed[0] == source else 1
                delay = min(MAX_BACKOFF_S, self._check_s * 2**failures)
                self._failed[name] = (source, failures, now + delay)
                _log.warning(
                    "Slack Socket Mode could not connect; trying again in %.0f s: %s",
                    delay,
                    _described(exc),
                    extra={"source": name},
                )
                continue
            self._failed.pop(name, None)
            self._open[name] = (source, connection)

    async def _keep(self) -> None:
        while True:
            await asyncio.sleep(self._check_s)
            try:
                await self.reconcile()
            except Exception:
                _log.exception("Slack Socket Mode reconciliation failed")

    async def _close(self, name: str) -> None:
        _, connection = self._open.pop(name)
        try:
            await connection.close()
        except Exception as exc:
            _log.warning(
                "closing a Socket Mode connection failed", extra={"source": name, "error": _described(exc)}
            )
        _log.info("Slack Socket Mode closed", extra={"source": name})

    def _listener(self, name: str) -> Listener:
        async def listener(client: AsyncBaseSocketModeClient, request: SocketModeRequest) -> None:
            if await self.receive(name, request.type, request.payload):
                await client.send_socket_mode_response(SocketModeResponse(envelope_id=request.envelope_id))

        return listener

    async def receive(self, name: str, kind: str, payload: dict[str, Any] | None) -> bool:
        """Store the envelope's message once; whether to acknowledge it (False: Slack sends it again)."""
        if kind != "events_api" or not isinstance(payload, dict):
            _log.info("Socket Mode envelope ignored", extra={"source": name, "why": f"type {kind!r}"})
            return True
        try:
            config = self._config()
        except ConfigError:
            return False
        source: WebhookSource | None = config.webhooks.sources.get(name)
        if source is None or source.mode != "socket" or not source.enabled:
            return False
        try:
            said = read_input("slack", name, json.dumps(payload).encode())
            if not isinstance(said, Inbound):
                _log.info(
                    "Socket Mode event ignored", extra={"source": name, "why": getattr(said, "why", "")}
                )
                return True
            event = message_event(name, source.anima, said, config.api, source.people)
        except BadPayload as exc:
            _log.warning("Socket Mode event refused", extra={"source": name, "why": str(exc)})
            return True  # Slack would send the same body again: nothing is gained by a retry
        try:
            await self._store(event, config)
        except Exception as exc:
            _log.warning(
                "could not store a Socket Mode message; Slack will send it again",
                extra={"source": name, "error": _described(exc)},
            )
            return False
        _log.info(
            "Socket Mode message accepted",
            extra={"source": name, "anima": source.anima, "message_id": event.id},
        )
        return True


def _described(exc: BaseException) -> str:
    error = getattr(getattr(exc, "response", None), "get", lambda _: None)("error")
    return type(exc).__name__ + (f" ({error})" if isinstance(error, str) else "")


def _slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"
