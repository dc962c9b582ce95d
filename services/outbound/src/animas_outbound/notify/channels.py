"""The channel adapters and the factory that builds them from config.json.

ntfy, a Slack incoming webhook, Chatwork, a signed webhook and email (``human_notification.channels``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import time
from collections.abc import Callable

import httpx

from animas_contracts import NotifyPriority
from animas_core.config import AnimaWorksConfig, NotificationChannel
from animas_outbound.notify.adapters import (
    Notification,
    NotifierAdapter,
    PermanentSendError,
    idempotency_headers,
    post,
)
from animas_outbound.notify.mail import EmailAdapter

CHATWORK_API = "https://api.chatwork.com/v2"
SIGNATURE_HEADER = "X-Animaworks-Signature"
TIMESTAMP_HEADER = "X-Animaworks-Timestamp"
NTFY_PRIORITY = {
    NotifyPriority.LOW: 2,
    NotifyPriority.NORMAL: 3,
    NotifyPriority.HIGH: 4,
    NotifyPriority.URGENT: 5,
}
"""ntfy's priorities: 1 (min) to 5 (max); 3 is its default."""


def _headline(notification: Notification) -> str:
    urgent = notification.priority in (NotifyPriority.HIGH, NotifyPriority.URGENT)
    mark = f"[{notification.priority.value.upper()}] " if urgent else ""
    return f"{mark}{notification.subject} ({notification.anima})"


@dataclasses.dataclass(frozen=True)
class NtfyAdapter:
    """Publishes to an ntfy topic as JSON (titles in any script), priority as ntfy's 1–5."""

    client: httpx.AsyncClient
    base_url: str
    topic: str
    token: str | None = None

    async def send(self, notification: Notification, idempotency_key: str) -> None:
        headers = idempotency_headers(idempotency_key)
        headers["Priority"] = str(NTFY_PRIORITY[notification.priority])
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        payload = {
            "topic": self.topic,
            "title": f"{notification.subject} ({notification.anima})",
            "message": notification.body,
            "priority": NTFY_PRIORITY[notification.priority],
        }
        await post(
            self.client, self.base_url.rstrip("/"), json=payload, headers=headers, secrets=[self.token]
        )


@dataclasses.dataclass(frozen=True)
class SlackAdapter:
    """Posts to a Slack incoming webhook (the URL itself is the secret)."""

    client: httpx.AsyncClient
    url: str

    async def send(self, notification: Notification, idempotency_key: str) -> None:
        text = f"*{_headline(notification)}*\n{notification.body}"
        await post(self.client, self.url, json={"text": text}, headers=idempotency_headers(idempotency_key))


@dataclasses.dataclass(frozen=True)
class ChatworkAdapter:
    """Posts a message to a Chatwork room (``POST /rooms/{room}/messages``)."""

    client: httpx.AsyncClient
    room: str
    token: str
    base_url: str = CHATWORK_API

    async def send(self, notification: Notification, idempotency_key: str) -> None:
        body = f"[info][title]{_headline(notification)}[/title]{notification.body}[/info]"
        headers = {"X-ChatWorkToken": self.token, **idempotency_headers(idempotency_key)}
        url = f"{self.base_url.rstrip('/')}/rooms/{self.room}/messages"
        await post(self.client, url, data={"body": body}, headers=headers, secrets=[self.token])


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 with ``secret`` over ``<timestamp>.<raw body>``."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


@dataclasses.dataclass(frozen=True)
class WebhookAdapter:
    """A JSON POST signed with HMAC-SHA256 (:func:`signature`), the send time in a header."""

    client: httpx.AsyncClient
    url: str
    secret: str
    clock: Callable[[], float] = time.time

    async def send(self, notification: Notification, idempotency_key: str) -> None:
        body = json.dumps(
            {
                "id": idempotency_key,
                "request_id": notification.request_id,
                "anima": notification.anima,
                "subject": notification.subject,
                "body": notification.body,
                "priority": notification.priority.value,
                "ts": notification.ts.isoformat(),
            },
            ensure_ascii=False,
        ).encode()
        timestamp = str(int(self.clock()))
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: signature(self.secret, timestamp, body),
            **idempotency_headers(idempotency_key),
        }
        await post(self.client, self.url, content=body, headers=headers, secrets=[self.secret])


class UnusableChannel(PermanentSendError):
    """A channel whose configuration cannot work (missing server, token or recipient)."""


def channel_names(channels: list[NotificationChannel]) -> list[str]:
    """Each channel's name: its ``name``, else its type, numbered from the second of a type."""
    names: list[str] = []
    for channel in channels:
        name = channel.name or channel.type
        base, n = name, 1
        while name in names:
            n += 1
            name = f"{base}-{n}"
        names.append(name)
    return names


def build_adapter(
    channel: NotificationChannel, config: AnimaWorksConfig, client: httpx.AsyncClient, timeout_s: float
) -> NotifierAdapter:
    """The adapter for one configured channel.

    Raises:
        UnusableChannel: The configuration lacks what the type needs (named, never a secret).
    """
    credential = config.credential(channel.credential)
    key = credential.api_key.get_secret_value() if credential and credential.api_key else None
    base = channel.url or (credential.base_url if credential else None)
    match channel.type:
        case "ntfy":
            if not base or not channel.target:
                raise UnusableChannel(
                    "ntfy needs a server (url or the credential's base_url) and a topic (target)"
                )
            return NtfyAdapter(client, base, channel.target, key)
        case "slack":
            url = key or channel.url
            if not url:
                raise UnusableChannel("slack needs the incoming webhook URL as its credential's api_key")
            return SlackAdapter(client, url)
        case "chatwork":
            if not key or not channel.target:
                raise UnusableChannel(
                    "chatwork needs a room id (target) and a token (the credential's api_key)"
                )
            return ChatworkAdapter(client, channel.target, key, base or CHATWORK_API)
        case "webhook":
            if not channel.url or not key:
                raise UnusableChannel("webhook needs a url and a signing secret (the credential's api_key)")
            return WebhookAdapter(client, channel.url, key)
        case "email":
            if not channel.smtp_host or not channel.sender or not channel.to:
                raise UnusableChannel("email needs smtp_host, sender and at least one address in to")
            return EmailAdapter(
                host=channel.smtp_host,
                port=channel.smtp_port,
                sender=channel.sender,
                to=tuple(channel.to),
                starttls=channel.smtp_starttls,
                user=channel.smtp_user,
                password=key,
                timeout_s=timeout_s,
            )
        case _:
            raise UnusableChannel(f"channel type {channel.type} is not delivered yet")
