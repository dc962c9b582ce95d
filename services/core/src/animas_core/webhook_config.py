"""Webhook sources the gateway accepts (config.json ``webhooks``): who may post, to which anima, signed how.

Each source has a name (the last part of its URL, ``POST /api/webhooks/<name>``), a kind that
says how its requests are signed and what their bodies mean, the anima its messages go to, and
one or two secrets. Two secrets are for rotation: add the new one next to the old, switch the
sender over, then remove the old one; while both are listed a request signed with either is
accepted.

Secrets are kept like credentials' keys: in config.json (written 0600), shown as ``"***"`` by
``GET /api/config`` and ``anima config``, and a ``"***"`` sent back by ``PUT /api/config`` keeps
the stored secret at that place in the list. They never enter an event or a log line.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Final, Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from animas_core.config_model import AnimaName, Secret, _Section

WebhookKind = Literal["slack", "chatwork", "generic"]
"""``slack``: the Events API (``v0`` signatures); ``chatwork``: Chatwork's webhooks (a base64
token as the key); ``generic``: AnimaWorks' own scheme (HMAC-SHA256 over timestamp and body)."""

MAX_SECRETS: Final = 2
"""The old and the new secret while a source's secret is rotated."""

PlatformUser = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.@:-]{1,128}$")]
"""A platform's user id (Slack ``U123ABC``, a Chatwork account number, a generic sender)."""
PersonName = Annotated[str, Field(pattern=r"^[^\x00-\x1f\x7f:]{1,64}$")]
"""A person's name as the animas know it (the web chat's sender): one line, no ``:`` (which would
make it look like a platform's user)."""

SourceName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
"""Lowercase letters, digits, ``_`` and ``-`` (up to 64): a URL path segment with nothing to escape."""


class WebhookSource(_Section):
    """One sender of webhooks and the anima its messages are for."""

    kind: WebhookKind
    anima: AnimaName
    """The anima each verified message of this source is delivered to."""
    secrets: list[Secret] = Field(default_factory=list, max_length=MAX_SECRETS)
    """The signing secret (Slack's signing secret, Chatwork's webhook token, a generic source's
    shared secret); a second one during rotation. Required unless the source is a Slack source in
    Socket Mode (which receives nothing by HTTP)."""
    mode: Literal["events", "socket"] = "events"
    """``events``: the platform POSTs to ``/api/webhooks/<name>``; ``socket`` (Slack only): the
    gateway opens a Slack Socket Mode connection with ``app_token`` and receives the events over
    it, for installations without a public URL (the HTTP route refuses such a source)."""
    app_token: Secret | None = None
    """A Socket Mode source's app-level token (``xapp-…``, scope ``connections:write``)."""
    enabled: bool = True
    """A disabled source is refused like an unknown one."""
    token: Secret | None = None
    """Where answers go back (outbound): a Slack source's bot token (``xoxb-…``, for
    ``chat.postMessage``), a Chatwork source's API token (``X-ChatWorkToken``). Without one, answers
    to this source's messages are recorded as not delivered."""
    api_base_url: str | None = Field(default=None, pattern=r"^https?://")
    """The platform's API (default Slack's ``https://slack.com/api/``, Chatwork's
    ``https://api.chatwork.com/v2``); a test points it at a local fake."""
    callback_url: str | None = Field(default=None, pattern=r"^https?://")
    """A generic source's answers are POSTed here, signed like its ingress (timestamp + HMAC)."""
    callback_secret: Secret | None = None
    """The key the callback is signed with (default: the source's newest secret)."""
    account_id: Annotated[int, Field(ge=1)] | None = None
    """A Chatwork source's own account: the one whose API ``token`` posts the answers. Chatwork's
    webhooks fire for that account's posts too, so the gateway ignores every message from it
    (else each answer would come back as a new message and the anima would answer itself).
    Required when a Chatwork source has a ``token``."""
    people: dict[PlatformUser, PersonName] = Field(default_factory=dict)
    """Platform user id to the person the animas know (``{"U123ABC": "alice"}``): the message's
    sender becomes ``alice`` instead of ``slack:U123ABC``, so memory, privacy per person and
    threads are shared with the web chat. Unmapped users stay ``<platform>:<id>``. Slack users are
    mapped only in direct messages (channel ids starting with ``D``): an answer drawing on that
    person's own memories is posted where it was asked, and a channel is read by others. Chatwork
    does not say which rooms are direct chats, so a mapped Chatwork account is that person in
    every room the webhook covers."""

    @field_validator("secrets")
    @classmethod
    def _not_empty(cls, secrets: list[SecretStr]) -> list[SecretStr]:
        if any(not s.get_secret_value() for s in secrets):
            raise ValueError("a secret must not be empty")
        return secrets

    @model_validator(mode="after")
    def _mode_has_what_it_needs(self) -> WebhookSource:
        if self.mode == "socket":
            if self.kind != "slack":
                raise ValueError("only a Slack source can use Socket Mode (mode: socket)")
            if self.app_token is None:
                raise ValueError("a Socket Mode source needs its app-level token (app_token)")
        elif not self.secrets:
            raise ValueError("a source needs its signing secret (secrets: one, or two while rotating)")
        return self

    @model_validator(mode="after")
    def _chatwork_tokens_are_base64(self) -> WebhookSource:
        if self.kind == "chatwork":
            for secret in self.secrets:
                try:
                    base64.b64decode(secret.get_secret_value(), validate=True)
                except (binascii.Error, ValueError):
                    # The value is not repeated: it is a secret even when it is malformed.
                    raise ValueError("a Chatwork webhook token is base64 (as Chatwork shows it)") from None
        return self

    @model_validator(mode="after")
    def _chatwork_answers_do_not_loop(self) -> WebhookSource:
        if self.kind == "chatwork" and self.token is not None and self.account_id is None:
            raise ValueError(
                "a Chatwork source that posts answers (token) needs the account_id of that token's"
                " account: its own posts come back by webhook and must be ignored"
            )
        if self.account_id is not None and self.kind != "chatwork":
            raise ValueError("account_id is for a Chatwork source")
        return self

    def callback_key(self) -> str:
        """The key a generic source's callbacks are signed with."""
        if self.callback_secret is not None:
            return self.callback_secret.get_secret_value()
        return self.secrets[-1].get_secret_value()

    def secret_values(self) -> tuple[str, ...]:
        """The secrets themselves, for verifying a signature (never for showing)."""
        return tuple(s.get_secret_value() for s in self.secrets)


class WebhooksConfig(_Section):
    """Webhook ingress: the sources by name (none by default: every webhook URL is 401)."""

    sources: dict[SourceName, WebhookSource] = Field(default_factory=dict)
