"""One interface for every way to reach a person, and the two ways a send can fail.

An adapter sends one notification to one configured channel. It raises
:class:`RetryableSendError` for what may pass (a timeout, a refused connection, 429, 5xx) and
:class:`PermanentSendError` for what will not (a wrong token, an unknown room: other 4xx). Error
texts never carry secrets: every adapter scrubs its token, webhook URL and password from them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import datetime
from typing import Protocol

import httpx

from animas_contracts import NotifyPriority


class SendError(Exception):
    """A notification did not reach its channel."""


class RetryableSendError(SendError):
    """The channel may accept it on a later attempt."""


class PermanentSendError(SendError):
    """Trying again would fail the same way (configuration, authorisation, a refused request)."""


@dataclasses.dataclass(frozen=True)
class Notification:
    """What is sent: the request's words and where it came from."""

    request_id: str
    anima: str
    subject: str
    body: str
    priority: NotifyPriority
    ts: datetime


class NotifierAdapter(Protocol):
    """Sends notifications to one configured channel."""

    async def send(self, notification: Notification, idempotency_key: str) -> None:
        """Deliver once; the key lets a receiver drop a repeat of the same delivery.

        Raises:
            RetryableSendError: Try again later.
            PermanentSendError: Give up now.
        """
        ...


IDEMPOTENCY_HEADERS = ("Idempotency-Key", "X-Idempotency-Key")
"""Headers that carry the key on HTTP channels (different receivers read different names)."""


def scrub(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with every secret replaced by ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def idempotency_headers(key: str) -> dict[str, str]:
    """The key under each header name receivers use."""
    return dict.fromkeys(IDEMPOTENCY_HEADERS, key)


async def post(
    client: httpx.AsyncClient,
    url: str,
    *,
    secrets: Iterable[str | None] = (),
    **kwargs: object,
) -> httpx.Response:
    """POST and classify the outcome.

    2xx returns; 408, 425, 429, 5xx and transport errors are retryable; any other status is
    permanent. The URL is never part of an error text.
    """
    hidden = (url, *secrets)
    try:
        response = await client.post(url, **kwargs)  # type: ignore[arg-type]
    except httpx.TransportError as exc:
        raise RetryableSendError(scrub(f"{type(exc).__name__}: {exc}", hidden)) from None
    if response.is_success:
        return response
    detail = scrub(response.text[:200], hidden)
    reason = f"HTTP {response.status_code}" + (f": {detail}" if detail else "")
    if response.status_code in (408, 425, 429) or response.status_code >= 500:
        raise RetryableSendError(reason)
    raise PermanentSendError(reason)
