"""API tokens and request bodies at the ASGI level: the gateway's middleware on a small Starlette app.

The real-HTTP versions (a gateway on a non-loopback address, the real routes) are in
``tests/security/``; these pin the rules themselves, address by address and scope by scope.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from animas_core.api_config import ApiConfig, ApiToken, match_token, new_token, token_digest
from animas_core.config import ConfigError
from animas_gateway.auth import Authentication, authenticate, is_loopback, principal_of, requires
from animas_gateway.http_input import CheckedBodies

CHAT_TOKEN, ADMIN_TOKEN = new_token(), new_token()
TOKENS = {
    "phone": ApiToken(scope="chat", sha256=token_digest(CHAT_TOKEN)),
    "ops": ApiToken(scope="admin", sha256=token_digest(ADMIN_TOKEN)),
}
REMOTE, LOCAL = "203.0.113.7", "127.0.0.1"

MakeClient = Callable[[ApiConfig | Exception, str], httpx.AsyncClient]


def _app(api: ApiConfig | Exception) -> Starlette:
    async def whoami(request: Request) -> Response:
        principal = principal_of(request)
        body = await request.body()
        return JSONResponse({"name": principal.name, "scope": principal.scope, "bytes": len(body)})

    async def health(_: Request) -> Response:
        return JSONResponse({"ok": True})

    async def reads_config(_: Request) -> Response:
        raise ConfigError("config.json: api.max_body_bytes: Input should be greater than 0")

    def config() -> ApiConfig:
        if isinstance(api, Exception):
            raise api
        return api

    return Starlette(
        routes=[
            Route("/api/health", health),
            Route("/chat", requires("chat", whoami), methods=["POST"]),
            Route("/admin", requires("admin", whoami), methods=["POST", "PUT"]),
            Route("/config", requires("chat", reads_config), methods=["POST"]),
        ],
        middleware=[
            Middleware(Authentication, api_config=config),
            Middleware(CheckedBodies, max_body_bytes=lambda: config().max_body_bytes),
        ],
    )


@pytest.fixture
async def call() -> AsyncIterator[MakeClient]:
    clients: list[httpx.AsyncClient] = []

    def make(api: ApiConfig | Exception, host: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=_app(api), client=(host, 40000))
        client = httpx.AsyncClient(transport=transport, base_url="http://gateway")
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("192.0.2.2", False),
        ("10.0.0.1", False),
        ("fd00::2", False),
        ("0.0.0.0", False),
        ("testclient", False),
        (None, False),
    ],
)
def test_only_loopback_addresses_count_as_this_machine(host: str | None, expected: bool) -> None:
    assert is_loopback(host) is expected


def test_a_token_matches_only_its_own_digest() -> None:
    assert match_token(TOKENS, CHAT_TOKEN) == "phone"
    assert match_token(TOKENS, ADMIN_TOKEN) == "ops"
    assert match_token(TOKENS, CHAT_TOKEN[:-1]) is None
    assert match_token(TOKENS, TOKENS["ops"].sha256) is None  # the digest itself is no token
    assert match_token({}, CHAT_TOKEN) is None


def test_authenticate_takes_a_token_from_anywhere_and_no_token_only_from_loopback() -> None:
    api = ApiConfig(tokens=TOKENS)
    assert authenticate(api, f"Bearer {CHAT_TOKEN}", REMOTE) == authenticate(
        api, f"bearer {CHAT_TOKEN}", LOCAL
    )
    assert authenticate(api, None, LOCAL) is not None
    assert authenticate(api, None, REMOTE) is None
    assert authenticate(ApiConfig(require_token_on_loopback=True), None, LOCAL) is None


async def test_a_remote_request_without_a_token_is_401_and_says_how_to_get_one(call: MakeClient) -> None:
    client = call(ApiConfig(tokens=TOKENS), REMOTE)
    for path in ("/chat", "/admin", "/nowhere"):
        response = await client.post(path, json={})
        assert response.status_code == 401, path
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert "anima token create" in response.json()["error"]
    assert (await client.get("/api/health")).status_code == 200  # probes need no token


@pytest.mark.parametrize(
    "authorization",
    [f"Bearer {CHAT_TOKEN}x", "Bearer ", f"Basic {CHAT_TOKEN}", CHAT_TOKEN, "Bearer awt_forged"],
    # Named, not shown: the token is random, and pytest-xdist's workers must collect the same ids.
    ids=["longer", "empty", "basic-scheme", "no-scheme", "forged"],
)
async def test_a_bad_token_is_401_from_anywhere_and_never_echoed(
    call: MakeClient, authorization: str
) -> None:
    for host in (REMOTE, LOCAL):
        client = call(ApiConfig(tokens=TOKENS), host)
        response = await client.post("/chat", json={}, headers={"Authorization": authorization})
        assert response.status_code == 401
        assert CHAT_TOKEN not in response.text


async def test_scopes_chat_may_chat_and_admin_may_do_everything(call: MakeClient) -> None:
    client = call(ApiConfig(tokens=TOKENS), REMOTE)
    chat_on_chat = await client.post("/chat", json={}, headers=_bearer(CHAT_TOKEN))
    chat_on_admin = await client.put("/admin", json={}, headers=_bearer(CHAT_TOKEN))
    admin_on_both = [await client.post(p, json={}, headers=_bearer(ADMIN_TOKEN)) for p in ("/chat", "/admin")]
    assert (chat_on_chat.status_code, chat_on_chat.json()["name"]) == (200, "phone")
    assert chat_on_admin.status_code == 403
    assert (
        "scope 'chat'" in chat_on_admin.json()["error"] and "needs 'admin'" in chat_on_admin.json()["error"]
    )
    assert [(r.status_code, r.json()["name"]) for r in admin_on_both] == [(200, "ops"), (200, "ops")]


async def test_loopback_is_local_unless_a_token_is_required_there(call: MakeClient) -> None:
    open_local = call(ApiConfig(tokens=TOKENS), LOCAL)
    anonymous = await open_local.put("/admin", json={})
    named = await open_local.put("/admin", json={}, headers=_bearer(CHAT_TOKEN))
    assert (anonymous.status_code, anonymous.json()["name"]) == (200, "local")
    assert named.status_code == 403  # a token sent is the caller, even where none is needed

    strict = call(ApiConfig(tokens=TOKENS, require_token_on_loopback=True), LOCAL)
    assert (await strict.put("/admin", json={})).status_code == 401
    assert (await strict.put("/admin", json={}, headers=_bearer(ADMIN_TOKEN))).json()["name"] == "ops"


async def test_an_unreadable_config_fails_closed(call: MakeClient) -> None:
    client = call(ConfigError("config.json: not valid JSON (line 1: oops)"), LOCAL)
    response = await client.post("/chat", json={})
    assert response.status_code == 503
    assert "cannot read its config.json" in response.json()["error"]


async def test_a_config_that_turns_invalid_under_a_handler_is_503(call: MakeClient) -> None:
    response = await call(ApiConfig(), LOCAL).post("/config", json={})
    assert response.status_code == 503
    assert "api.max_body_bytes" in response.json()["error"]


async def test_a_body_over_the_limit_is_413_naming_the_limit(call: MakeClient) -> None:
    client = call(ApiConfig(max_body_bytes=1000), LOCAL)
    fits = await client.post("/chat", content=b"x" * 1000)
    declared = await client.post("/chat", content=b"x" * 1001)

    async def undeclared() -> AsyncIterator[bytes]:  # chunked: no Content-Length to go by
        for _ in range(5):
            yield b"x" * 400

    streamed = await client.post("/chat", content=undeclared())
    assert (fits.status_code, fits.json()["bytes"]) == (200, 1000)
    for response in (declared, streamed):
        assert response.status_code == 413
        assert "larger than 1000 bytes" in response.json()["error"]
        assert "api.max_body_bytes" in response.json()["error"]


@pytest.mark.parametrize("body", [b'{"message": "\xff"}', b"\xc3\x28", b'{"message": "\xed\xa0\x80"}'])
async def test_a_body_that_is_not_utf8_is_400(call: MakeClient, body: bytes) -> None:
    client = call(ApiConfig(), LOCAL)
    response = await client.post("/chat", content=body)
    assert response.status_code == 400
    assert "not valid UTF-8" in response.json()["error"]


async def test_a_get_passes_without_reading_a_body(call: MakeClient) -> None:
    client = call(ApiConfig(max_body_bytes=1), LOCAL)
    assert (await client.get("/api/health")).status_code == 200
