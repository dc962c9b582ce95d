"""The ``api`` section of config.json: the gateway's API tokens and its limits on what a request may carry.

A token is shown once, when ``anima token create`` makes it; config.json keeps only its SHA-256
digest. The token is 256 bits from :mod:`secrets`, so a digest without salt or stretching is as
strong as the token itself (stretching protects guessable passwords, which these are not), and
a stolen config.json does not let anyone call the API. Matching compares digests in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from typing import Annotated, Final, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

ApiScope = Literal["admin", "chat"]
"""``chat``: talk to animas (``/chat`` and ``/chat/stream``); ``admin``: everything."""

API_SCOPES: Final[tuple[ApiScope, ...]] = ("admin", "chat")

LOCAL_AUTHOR: Final = "local"
"""Who a request from this machine without a token is (the author of its identity edits)."""

TOKEN_PREFIX: Final = "awt_"
"""Marks an AnimaWorks API token, so a leaked one is recognisable (e.g. by secret scanners)."""

_TOKEN_BYTES: Final = 32


def _not_reserved(name: str) -> str:
    if name == LOCAL_AUTHOR:
        raise ValueError(f"{LOCAL_AUTHOR!r} is reserved for requests from this machine without a token")
    return name


TokenName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$"), AfterValidator(_not_reserved)]
"""Lowercase letters, digits, ``_`` and ``-`` (up to 64): it becomes the author of edits made with it."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ApiToken(_Section):
    """One API token as config.json keeps it: its scope and the digest of the token, never the token."""

    scope: ApiScope
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    created_at: str | None = None
    """When it was created (ISO 8601, UTC), for ``anima token list``."""


class ApiConfig(_Section):
    """The gateway's HTTP API: who may call it and how much one request may carry.

    A request from another machine always needs ``Authorization: Bearer <token>``; one from this
    machine (loopback) needs it only with ``require_token_on_loopback`` (turn it on when a reverse
    proxy on this machine forwards requests from elsewhere: they all arrive from loopback).
    """

    require_token_on_loopback: bool = False
    tokens: dict[TokenName, ApiToken] = Field(default_factory=dict)
    max_body_bytes: int = Field(default=1024 * 1024, gt=0, le=8 * 1024 * 1024)
    """A larger request body is refused with 413 before it is read to the end."""
    max_message_chars: int = Field(default=100_000, gt=0)
    """The longest chat message."""
    max_document_bytes: int = Field(default=256 * 1024, gt=0)
    """The largest identity.md or character sheet (UTF-8 bytes)."""
    max_thread_id_chars: int = Field(default=128, gt=0, le=1024)
    idempotency_window_s: float = Field(default=24 * 3600.0, gt=0)
    """How long an ``Idempotency-Key`` is honoured: a retry within it never makes a second message."""


def new_token() -> str:
    """A fresh API token (256 random bits, URL-safe)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(_TOKEN_BYTES)


def token_digest(token: str) -> str:
    """The hex SHA-256 of a token: what config.json stores."""
    return hashlib.sha256(token.encode("utf-8", errors="surrogatepass")).hexdigest()


def match_token(tokens: Mapping[str, ApiToken], presented: str) -> str | None:
    """The name of the token ``presented`` is, or ``None``.

    Every stored digest is compared (in constant time each), so how long this takes says nothing
    about which token, or which part of one, came close.
    """
    digest = token_digest(presented).encode()
    found: str | None = None
    for name, token in tokens.items():
        if hmac.compare_digest(digest, token.sha256.encode()):
            found = name
    return found
