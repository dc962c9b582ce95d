"""How animas reach people (config.json ``human_notification``): the channels outbound delivers to."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from animas_core.config_model import CredentialName, _Section


class NotificationChannel(_Section):
    """One way to reach a human. Tokens live in ``credentials`` (masked, environment-capable).

    What each type reads (outbound delivers; see ``animas_outbound.notify.channels``):

    - ``ntfy``: ``url`` (or the credential's ``base_url``) is the server, ``target`` the topic;
      the credential's key, if any, is sent as a bearer token.
    - ``slack``: an incoming webhook; its URL is a secret, so it is the credential's key (or
      ``url``, for a test server).
    - ``chatwork``: ``target`` is the room id, the credential's key the API token; ``url`` (or
      the credential's ``base_url``) replaces ``https://api.chatwork.com/v2``.
    - ``email``: SMTP to ``smtp_host``:``smtp_port`` from ``sender`` to ``to``; the credential's
      key is the password (login as ``smtp_user``, else ``sender``).
    - ``webhook``: a JSON POST to ``url``, signed with HMAC-SHA256 by the credential's key.
    - ``line``, ``telegram``: accepted in the file, not delivered yet.
    """

    type: Literal["slack", "line", "telegram", "chatwork", "ntfy", "email", "webhook"]
    enabled: bool = True
    name: CredentialName | None = None
    """How events and ``anima status`` name the channel; default its type (then ``type-2``…)."""
    target: str | None = None
    """Slack channel ID, LINE user/group ID, Telegram chat ID, Chatwork room ID or ntfy topic."""
    credential: CredentialName | None = None
    """``credentials`` entry with the token (api_key) and, for ntfy, the server (base_url)."""
    url: str | None = None
    """ntfy server, Chatwork API base, webhook endpoint (or a Slack webhook for tests)."""
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, gt=0, lt=65536)
    smtp_starttls: bool = True
    """STARTTLS before logging in (port 587); off for a local relay."""
    smtp_user: str | None = None
    sender: str | None = None
    """The From address of notification mail."""
    to: list[str] = Field(default_factory=list)
    """Recipients of notification mail."""


class HumanNotificationConfig(_Section):
    """How animas notify humans."""

    enabled: bool = False
    channels: list[NotificationChannel] = Field(default_factory=list)
