"""Where an answer to a message from outside goes: pure decisions, no I/O.

The answer (a ``response.sent`` with a ``source``) names the webhook source its message came
through and the thread of that message, both copied by agent-runner from the stored
``message.received`` the gateway published; nothing the model writes reaches either. The source's
config says the platform, the token and the URL; the thread says the place on the platform:

- Slack ``slack:<channel>:<thread ts>``: ``chat.postMessage`` in that channel, in that thread;
- Chatwork ``chatwork:<room>``: a message in that room;
- generic ``webhook:<source>[:<thread>]``: a signed POST to the source's ``callback_url``.

A source that is gone, disabled, meant for another anima, or missing what its platform needs makes
the answer :class:`Unroutable` (recorded as not delivered, never guessed).
"""

from __future__ import annotations

import dataclasses

from animas_contracts import ResponseSent
from animas_core.config import WebhookSource

SLACK_API = "https://slack.com/api/"
CHATWORK_API = "https://api.chatwork.com/v2"


class Unroutable(Exception):
    """The answer has nowhere it can go; the text says why (no secret in it)."""


@dataclasses.dataclass(frozen=True)
class SlackTarget:
    """A reply in a Slack thread."""

    base_url: str
    token: str
    channel: str
    thread_ts: str


@dataclasses.dataclass(frozen=True)
class ChatworkTarget:
    """A message in a Chatwork room."""

    base_url: str
    token: str
    room: str


@dataclasses.dataclass(frozen=True)
class CallbackTarget:
    """A generic source's callback: a signed JSON POST."""

    url: str
    key: str
    source: str
    thread_id: str
    to: str


Target = SlackTarget | ChatworkTarget | CallbackTarget


def reply_target(answer: ResponseSent, sources: dict[str, WebhookSource]) -> Target:
    """Where ``answer`` goes, by its source's config and its thread.

    Raises:
        Unroutable: why it cannot go anywhere.
    """
    name = answer.source
    if name is None:
        raise Unroutable("the answer names no webhook source")
    source = sources.get(name)
    if source is None or not source.enabled:
        raise Unroutable(f"webhook source {name!r} is not configured (or disabled) any more")
    if source.anima != answer.anima:
        raise Unroutable(f"webhook source {name!r} belongs to anima {source.anima!r}, not {answer.anima!r}")
    kind, _, place = answer.thread_id.partition(":")
    if source.kind == "slack":
        channel, _, thread_ts = place.partition(":")
        if kind != "slack" or not channel or not thread_ts:
            raise Unroutable(f"thread {answer.thread_id!r} is not a Slack thread")
        return SlackTarget(
            base_url=_slash(source.api_base_url or SLACK_API),
            token=_token(name, source),
            channel=channel,
            thread_ts=thread_ts,
        )
    if source.kind == "chatwork":
        if kind != "chatwork" or not place or ":" in place:
            raise Unroutable(f"thread {answer.thread_id!r} is not a Chatwork room")
        return ChatworkTarget(
            base_url=(source.api_base_url or CHATWORK_API).rstrip("/"), token=_token(name, source), room=place
        )
    origin, _, thread = place.partition(":")
    if kind != "webhook" or origin != name:
        raise Unroutable(f"thread {answer.thread_id!r} is not a thread of webhook source {name!r}")
    if source.callback_url is None:
        raise Unroutable(f"webhook source {name!r} has no callback_url to answer to")
    return CallbackTarget(
        url=source.callback_url, key=source.callback_key(), source=name, thread_id=thread, to=answer.to
    )


def _token(name: str, source: WebhookSource) -> str:
    if source.token is None:
        raise Unroutable(f"webhook source {name!r} has no token to post answers with")
    return source.token.get_secret_value()


def _slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"
