"""Who is calling: API tokens, and the machine's own loopback.

Every request from another machine needs ``Authorization: Bearer <token>`` naming a token in
config.json's ``api.tokens`` (401 otherwise); one from loopback needs it only when
``api.require_token_on_loopback`` is on. A token presented is always checked, from anywhere: a bad
one is 401 even on loopback. The caller (a :class:`Principal`) is what a handler acts as: the
token's name is the author of an identity edit, ``local`` for loopback without a token.

Tokens never reach a log or an event: only the token's name goes on.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from animas_core.api_config import LOCAL_AUTHOR, ApiConfig, ApiScope, match_token
from animas_core.config import ConfigError
from animas_gateway.problems import problem

PUBLIC_PATHS = frozenset({"/", "/api/health", "/openapi.json", "/api/reference"})
"""Answered to anyone: a liveness probe from another machine carries no token, and neither does a
browser opening the web UI or the API's description (they hold no data of the system)."""
PUBLIC_PREFIXES = ("/ui/", "/api/webhooks/")
"""The web UI's files, and the webhook sources (whose signature is their authentication:
:mod:`animas_gateway.api.webhooks` refuses every request it cannot verify)."""


def is_public(path: str) -> bool:
    """Whether anyone may call ``path`` without a token."""
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


_STATE_KEY = "principal"


@dataclasses.dataclass(frozen=True)
class Principal:
    """The caller of one request."""

    name: str
    scope: ApiScope

    def may(self, needed: ApiScope) -> bool:
        """Whether this caller's scope covers ``needed`` (admin covers everything)."""
        return self.scope == "admin" or self.scope == needed


class Unauthorized(Exception):
    """No acceptable credentials: 401."""


def is_loopback(host: str | None) -> bool:
    """Whether a client address is this machine's loopback (an IPv4-mapped one included)."""
    if host is None:
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False  # not an IP (a Unix socket path, a test client's name): not proven local
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def authenticate(api: ApiConfig, authorization: str | None, client_host: str | None) -> Principal | None:
    """The caller, or ``None`` for an anonymous caller who may reach only :data:`PUBLIC_PATHS`.

    Raises:
        Unauthorized: a token was presented and is not a valid one (or not in the Bearer form).
    """
    if authorization is not None:
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("the Authorization header must be 'Bearer <token>'")
        name = match_token(api.tokens, token.strip())
        if name is None:
            raise Unauthorized("the API token is not valid (revoked, or never created here)")
        return Principal(name, api.tokens[name].scope)
    if is_loopback(client_host) and not api.require_token_on_loopback:
        return Principal(LOCAL_AUTHOR, "admin")
    return None


class Authentication:
    """ASGI middleware: puts the caller in ``request.state.principal``, or answers 401."""

    def __init__(self, app: ASGIApp, api_config: Callable[[], ApiConfig]) -> None:
        self._app = app
        self._api_config = api_config

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        request = Request(scope)
        try:
            api = self._api_config()
        except ConfigError as exc:
            # Fail closed: without a readable config nobody can be told apart from anybody.
            detail = f"the gateway cannot read its config.json: {exc}"
            await problem(503, detail)(scope, receive, send)
            return
        try:
            principal = authenticate(
                api, request.headers.get("authorization"), request.client.host if request.client else None
            )
        except Unauthorized as exc:
            await _unauthorized(str(exc))(scope, receive, send)
            return
        if principal is None and not is_public(scope["path"]):
            why = (
                "an API token is required (Authorization: Bearer <token>; create one with "
                "`anima token create NAME --scope chat|admin`)"
            )
            await _unauthorized(why)(scope, receive, send)
            return
        scope.setdefault("state", {})[_STATE_KEY] = principal
        await self._app(scope, receive, send)


def _unauthorized(message: str) -> Response:
    return problem(401, message, headers={"WWW-Authenticate": 'Bearer realm="animaworks"'})


Handler = Callable[[Request], Awaitable[Response]]


def principal_of(request: Request) -> Principal:
    """The caller :class:`Authentication` found (it lets no anonymous request reach a guarded route)."""
    principal = request.scope.get("state", {}).get(_STATE_KEY)
    if not isinstance(principal, Principal):
        raise RuntimeError("a guarded route was reached without the Authentication middleware")
    return principal


def requires(needed: ApiScope, handler: Handler) -> Handler:
    """``handler`` for callers whose scope covers ``needed``; 403 for the others."""

    async def guarded(request: Request) -> Response:
        principal = principal_of(request)
        if not principal.may(needed):
            message = f"the token {principal.name!r} has scope {principal.scope!r}; this needs {needed!r}"
            return problem(403, message)
        try:
            return await handler(request)
        except ConfigError as exc:  # config.json turned invalid since the caller was let in
            return problem(503, f"the gateway cannot read its config.json: {exc}")

    return guarded
