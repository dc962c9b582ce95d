"""Errors as RFC 9457 problem details, one shape for every route.

``error`` repeats ``detail``: clients written against the earlier ``{"error": ...}`` body keep
working (RFC 9457 allows extension members).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from starlette.responses import JSONResponse

PROBLEM_MEDIA_TYPE = "application/problem+json"


class Problem(Exception):
    """Raised by a handler to answer with a problem body."""

    def __init__(self, status: int, detail: str, *, title: str | None = None, **extensions: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.title = title
        self.extensions = extensions

    def response(self, headers: dict[str, str] | None = None) -> JSONResponse:
        return problem(self.status, self.detail, title=self.title, headers=headers, **self.extensions)


def problem_body(status: int, detail: str, *, title: str | None = None, **extensions: Any) -> dict[str, Any]:
    """The JSON of a problem."""
    return {
        "type": "about:blank",
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "error": detail,
        **extensions,
    }


def problem(
    status: int,
    detail: str,
    *,
    title: str | None = None,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    """A problem response."""
    return JSONResponse(
        problem_body(status, detail, title=title, **extensions),
        status_code=status,
        headers=headers,
        media_type=PROBLEM_MEDIA_TYPE,
    )
