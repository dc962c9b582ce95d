"""A broker outage is a 503 with Retry-After, never a 500 (issue #12, item 4).

The mapping on a bare Starlette app, with the errors nats-py raises while the broker is away; the
real outage is tests/chaos/test_nats_outage.py.
"""

from __future__ import annotations

import httpx
import nats.errors
import nats.js.errors
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from animas_core.errors import RetryableError
from animas_gateway.outage import RETRY_AFTER_S, guard_broker_outages


def _app(error: Exception | None = None, response: Response | None = None) -> Starlette:
    async def endpoint(_: Request) -> Response:
        if error is not None:
            raise error
        assert response is not None
        return response

    app = Starlette(routes=[Route("/x", endpoint, methods=["POST"])])
    guard_broker_outages(app)
    return app


async def _post(app: Starlette) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as client:
        return await client.post("/x")


@pytest.mark.parametrize(
    "error",
    [
        nats.errors.ConnectionClosedError(),
        nats.errors.TimeoutError(),
        nats.errors.OutboundBufferLimitError(),
        nats.errors.NoRespondersError(),
        nats.js.errors.ServiceUnavailableError(),
        RetryableError("no ack from ACTIVITY"),
        TimeoutError(),
    ],
    ids=lambda e: type(e).__name__,
)
async def test_a_broker_error_a_handler_lets_through_is_a_503_with_retry_after(error: Exception) -> None:
    answer = await _post(_app(error))
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == str(RETRY_AFTER_S)
    assert "broker is unavailable" in answer.json()["error"]


async def test_a_503_a_handler_returns_gets_retry_after_unless_it_has_one() -> None:
    plain = await _post(_app(response=JSONResponse({"error": "not stored"}, status_code=503)))
    assert plain.headers["retry-after"] == str(RETRY_AFTER_S)
    own = JSONResponse({"error": "busy"}, status_code=503, headers={"Retry-After": "30"})
    assert (await _post(_app(response=own))).headers.get_list("retry-after") == ["30"]


async def test_other_answers_are_left_alone() -> None:
    ok = await _post(_app(response=JSONResponse({"reply": "hi"})))
    assert ok.status_code == 200 and "retry-after" not in ok.headers
    with pytest.raises(ValueError):  # a bug stays a bug (a 500 in a server), not an outage
        await _post(_app(ValueError("bug")))
