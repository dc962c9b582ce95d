"""Is this webhook request from its source? The three signature schemes, as pure functions.

Each verifier takes the source's secrets (one, or two during rotation), what the request carried
(signature, timestamp, the raw body exactly as received) and, where the scheme has a timestamp,
the current time from the caller's clock. It returns nothing when a secret signs the request and
raises :class:`SignatureRejected` saying why not. Every comparison is constant-time
(:func:`hmac.compare_digest`), and every secret is tried, so the time taken says nothing about
which secret or which byte came close.

- Slack (Events API): ``X-Slack-Signature: v0=hex(HMAC-SHA256(secret, "v0:<ts>:<body>"))`` with
  ``X-Slack-Request-Timestamp: <ts>`` (Unix seconds) within :data:`MAX_SKEW_S` of now.
- Chatwork: ``X-ChatWorkWebhookSignature`` (or the ``chatwork_webhook_signature`` query
  parameter) ``= base64(HMAC-SHA256(base64decode(token), body))``. Chatwork sends no timestamp.
- generic: ``X-AnimaWorks-Signature: sha256=hex(HMAC-SHA256(secret, "<ts>.<body>"))`` with
  ``X-AnimaWorks-Timestamp: <ts>`` (Unix seconds) within :data:`MAX_SKEW_S` of now.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import hmac
from collections.abc import Sequence
from datetime import datetime
from typing import Final

MAX_SKEW_S: Final = 300
"""How far a signed timestamp may be from now, either way (5 minutes, Slack's own rule): a
captured request cannot be replayed later than that."""

SLACK_VERSION: Final = "v0"
GENERIC_PREFIX: Final = "sha256="


class RejectReason(enum.StrEnum):
    """Why a webhook request was refused (what ``webhook.rejected`` records)."""

    UNKNOWN_SOURCE = "unknown_source"
    MISSING_SIGNATURE = "missing_signature"
    BAD_SIGNATURE = "bad_signature"
    MISSING_TIMESTAMP = "missing_timestamp"
    BAD_TIMESTAMP = "bad_timestamp"
    STALE_TIMESTAMP = "stale_timestamp"
    FUTURE_TIMESTAMP = "future_timestamp"


class SignatureRejected(Exception):
    """The request is not proven to come from the source."""

    def __init__(self, reason: RejectReason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


def _hmac_sha256(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def _any_matches(presented: bytes, expected: Sequence[bytes]) -> bool:
    # Every candidate is compared, so how long this takes does not depend on which one matched.
    found = False
    for candidate in expected:
        found = hmac.compare_digest(presented, candidate) | found
    return found


def check_timestamp(timestamp: str | None, now: datetime) -> int:
    """The signed Unix time, if it is within :data:`MAX_SKEW_S` of ``now``.

    Raises:
        SignatureRejected: missing, not a whole number of seconds, too old or too far ahead.
    """
    if not timestamp:
        raise SignatureRejected(RejectReason.MISSING_TIMESTAMP, "the request carries no timestamp")
    stripped = timestamp.strip()
    if not stripped.isascii() or not stripped.isdigit() or len(stripped) > 12:
        raise SignatureRejected(RejectReason.BAD_TIMESTAMP, "the timestamp is not Unix seconds")
    seconds = int(stripped)
    skew = seconds - now.timestamp()
    if skew < -MAX_SKEW_S:
        raise SignatureRejected(
            RejectReason.STALE_TIMESTAMP, f"the timestamp is more than {MAX_SKEW_S} s old (a replay?)"
        )
    if skew > MAX_SKEW_S:
        raise SignatureRejected(
            RejectReason.FUTURE_TIMESTAMP, f"the timestamp is more than {MAX_SKEW_S} s ahead of this clock"
        )
    return seconds


def _missing() -> SignatureRejected:
    return SignatureRejected(RejectReason.MISSING_SIGNATURE, "the request carries no signature")


def _bad() -> SignatureRejected:
    return SignatureRejected(RejectReason.BAD_SIGNATURE, "the signature does not match the request")


def _hex_digest(signature: str, prefix: str) -> bytes:
    """The digest a ``<prefix><hex>`` signature names (a malformed one is a bad signature)."""
    if not signature.startswith(prefix):
        raise _bad()
    try:
        return bytes.fromhex(signature[len(prefix) :])
    except ValueError:
        raise _bad() from None


def slack_signature(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Slack-Signature`` Slack sends for ``body`` at ``timestamp``."""
    base = f"{SLACK_VERSION}:{timestamp}:".encode() + body
    return f"{SLACK_VERSION}=" + _hmac_sha256(secret.encode(), base).hex()


def verify_slack(
    secrets: Sequence[str], signature: str | None, timestamp: str | None, body: bytes, now: datetime
) -> None:
    """A Slack Events API request: signed by one of ``secrets``, timestamp within the window.

    Raises:
        SignatureRejected: why it is not.
    """
    if not signature:
        raise _missing()
    check_timestamp(timestamp, now)
    assert timestamp is not None
    presented = _hex_digest(signature.strip(), f"{SLACK_VERSION}=")
    base = f"{SLACK_VERSION}:{timestamp.strip()}:".encode() + body
    if not _any_matches(presented, [_hmac_sha256(s.encode(), base) for s in secrets]):
        raise _bad()


def chatwork_signature(token: str, body: bytes) -> str:
    """The ``X-ChatWorkWebhookSignature`` Chatwork sends for ``body`` (``token`` as Chatwork shows it)."""
    return base64.b64encode(_hmac_sha256(base64.b64decode(token), body)).decode()


def verify_chatwork(secrets: Sequence[str], signature: str | None, body: bytes) -> None:
    """A Chatwork webhook request: signed with one of ``secrets`` (base64 webhook tokens).

    Raises:
        SignatureRejected: why it is not.
    """
    if not signature:
        raise _missing()
    try:
        presented = base64.b64decode(signature.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise _bad() from None
    expected = [_hmac_sha256(base64.b64decode(token), body) for token in secrets]
    if not _any_matches(presented, expected):
        raise _bad()


def generic_signature(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-AnimaWorks-Signature`` a generic source sends for ``body`` at ``timestamp``."""
    return GENERIC_PREFIX + _hmac_sha256(secret.encode(), timestamp.encode() + b"." + body).hex()


def verify_generic(
    secrets: Sequence[str], signature: str | None, timestamp: str | None, body: bytes, now: datetime
) -> None:
    """A generic webhook: signed with one of ``secrets`` (two during rotation), timestamp in the window.

    Raises:
        SignatureRejected: why it is not.
    """
    if not signature:
        raise _missing()
    check_timestamp(timestamp, now)
    assert timestamp is not None
    presented = _hex_digest(signature.strip(), GENERIC_PREFIX)
    message = timestamp.strip().encode() + b"." + body
    if not _any_matches(presented, [_hmac_sha256(s.encode(), message) for s in secrets]):
        raise _bad()
