"""Posting an answer to its platform: Slack through the official ``slack-sdk``, the others by HTTP.

Each post raises :class:`RetryableSendError` for what may pass (a timeout, a refused connection,
429, 5xx, Slack's ``ratelimited``) and :class:`PermanentSendError` for what will not (a wrong
token, an unknown channel or room). Error texts never carry a token or a key.

Slack and Chatwork take no idempotency key, so a post is made once per attempt and the handler
makes one attempt succeed at most once; a generic callback carries the answer's key in the
``Idempotency-Key`` header (and as ``id`` in the body), so its receiver can drop a repeat.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import aiohttp
import httpx
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from animas_outbound.notify.adapters import (
    PermanentSendError,
    RetryableSendError,
    idempotency_headers,
    post,
    scrub,
)
from animas_outbound.notify.channels import SIGNATURE_HEADER, TIMESTAMP_HEADER, signature
from animas_outbound.replies.targets import CallbackTarget, ChatworkTarget, SlackTarget, Target

SLACK_RETRYABLE = frozenset(
    {"ratelimited", "rate_limited", "service_unavailable", "internal_error", "fatal_error", "request_timeout"}
)
"""Slack ``error`` codes that may pass on a later attempt; every other one is permanent."""


class ReplyPoster:
    """Posts answers; one shared HTTP client for Chatwork and callbacks, a Slack client per post."""

    def __init__(
        self, client: httpx.AsyncClient, timeout_s: float, clock: Callable[[], float] = time.time
    ) -> None:
        self._client = client
        self._timeout_s = timeout_s
        self._clock = clock

    async def post(self, target: Target, text: str, key: str) -> str | None:
        """Post ``text`` once; return the platform's id of the post when it gives one."""
        match target:
            case SlackTarget():
                return await self._slack(target, text)
            case ChatworkTarget():
                return await self._chatwork(target, text)
            case CallbackTarget():
                await self._callback(target, text, key)
                return None

    async def _slack(self, target: SlackTarget, text: str) -> str | None:
        client = AsyncWebClient(
            token=target.token,
            base_url=target.base_url,
            timeout=max(1, round(self._timeout_s)),
            # The handler retries with backoff and knows what was sent; no retries hidden in the SDK.
            retry_handlers=[],
        )
        try:
            response = await client.chat_postMessage(
                channel=target.channel, thread_ts=target.thread_ts, text=text
            )
        except SlackApiError as exc:
            error = str(exc.response.get("error") or "")
            status = exc.response.status_code
            reason = scrub(
                f"Slack chat.postMessage: HTTP {status}, {error or 'no error code'}", [target.token]
            )
            if status == 429 or status >= 500 or error in SLACK_RETRYABLE:
                raise RetryableSendError(reason) from None
            raise PermanentSendError(reason) from None
        except (TimeoutError, aiohttp.ClientError, SlackClientError) as exc:
            raise RetryableSendError(scrub(f"Slack: {type(exc).__name__}: {exc}", [target.token])) from None
        ts = response.get("ts")
        return str(ts) if ts is not None else None

    async def _chatwork(self, target: ChatworkTarget, text: str) -> str | None:
        url = f"{target.base_url}/rooms/{target.room}/messages"
        response = await post(
            self._client,
            url,
            data={"body": text},
            headers={"X-ChatWorkToken": target.token},
            secrets=[target.token],
            timeout=self._timeout_s,
        )
        try:
            sent = response.json()
        except ValueError:
            return None
        message_id = sent.get("message_id") if isinstance(sent, dict) else None
        return str(message_id) if message_id is not None else None

    async def _callback(self, target: CallbackTarget, text: str, key: str) -> None:
        body = json.dumps(
            {"id": key, "source": target.source, "thread_id": target.thread_id or None, "to": target.to,
             "text": text},
            ensure_ascii=False,
        ).encode()  # fmt: skip
        ts = str(int(self._clock()))
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: ts,
            SIGNATURE_HEADER: signature(target.key, ts, body),
            **idempotency_headers(key),
        }
        await post(
            self._client,
            target.url,
            content=body,
            headers=headers,
            secrets=[target.key],
            timeout=self._timeout_s,
        )
