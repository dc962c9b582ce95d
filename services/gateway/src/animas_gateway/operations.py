"""The HTTP API as data: each route is an :class:`Operation`, and the OpenAPI document is made from them.

A route's request and response bodies are msgspec types; the same type decodes the request
(:func:`decode_body`) and describes it in ``/openapi.json`` (:func:`openapi_document`), so the
document cannot drift from what the handlers accept. Every module of the API exposes a list of
operations; the app turns them into Starlette routes with :func:`routes`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from http import HTTPStatus
from typing import Any, Literal, TypeVar

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from animas_core.api_config import ApiScope
from animas_gateway.auth import requires
from animas_gateway.problems import Problem

Handler = Callable[[Request], Awaitable[Response]]
Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
_T = TypeVar("_T")

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "An error, as RFC 9457 problem details (``error`` repeats ``detail``).",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "error": {"type": "string"},
    },
    "required": ["type", "title", "status", "detail"],
}


@dataclasses.dataclass(frozen=True)
class Param:
    """A path or query parameter."""

    name: str
    where: Literal["path", "query", "header"]
    description: str
    schema: dict[str, Any] = dataclasses.field(default_factory=lambda: {"type": "string"})
    required: bool = False


@dataclasses.dataclass(frozen=True)
class Operation:
    """One route: where it is, who may call it, what it takes and what it answers."""

    method: Method
    path: str
    endpoint: Handler
    summary: str
    tag: str
    scope: ApiScope | None
    """The token scope it needs; ``None`` for routes anyone may call (health, the UI, the document)."""
    body: type | None = None
    response: type | None = None
    status: int = 200
    media_type: str = "application/json"
    """What a success answers with (``text/event-stream`` for a live feed)."""
    params: tuple[Param, ...] = ()
    errors: tuple[int, ...] = ()
    """Error statuses it answers (with a problem body) beyond 401/403/422 for scoped routes."""
    also: tuple[tuple[int, type | None], ...] = ()
    """Other successes, each with its JSON body's type (a chat not answered in time is 202)."""
    in_schema: bool = True

    @property
    def operation_id(self) -> str:
        words = [w.strip("{}") for w in self.path.strip("/").split("/") if w not in ("api",)]
        return "_".join([self.method.lower(), *words]).replace("-", "_")


def decode_body(body: bytes, model: type[_T]) -> _T:
    """The request body as ``model``; a :class:`Problem` (422) says which field is wrong."""
    try:
        return msgspec.json.decode(body or b"{}", type=model)
    except msgspec.ValidationError as exc:
        raise Problem(422, f"invalid request body: {exc}", title="Unprocessable request") from None
    except msgspec.DecodeError as exc:
        raise Problem(400, f"the body is not valid JSON: {exc}", title="Bad request") from None


def json_response(value: object, status: int = 200) -> Response:
    """A msgspec value (or plain JSON types) as a JSON response."""
    return Response(msgspec.json.encode(value), status_code=status, media_type="application/json")


def answering_problems(handler: Handler) -> Handler:
    """``handler``, with a :class:`Problem` it raises turned into its response."""

    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except Problem as exc:
            return exc.response()

    return endpoint


def routes(operations: Sequence[Operation]) -> list[Route]:
    """Starlette routes, each guarded by its scope; a :class:`Problem` raised is its response."""
    out: list[Route] = []
    for op in operations:
        endpoint = answering_problems(op.endpoint)
        if op.scope is not None:
            endpoint = requires(op.scope, endpoint)
        out.append(Route(op.path, endpoint, methods=[op.method]))
    return out


def openapi_document(operations: Sequence[Operation], *, title: str, version: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``operations``."""
    models = sorted(
        {
            t
            for op in operations
            if op.in_schema
            for t in (op.body, op.response, *(kind for _, kind in op.also))
            if t is not None
        },
        key=lambda t: t.__name__,
    )
    schemas, components = msgspec.json.schema_components(models, ref_template="#/components/schemas/{name}")
    ref = dict(zip(models, schemas, strict=True))
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        if not op.in_schema:
            continue
        item: dict[str, Any] = {
            "operationId": op.operation_id,
            "summary": op.summary,
            "tags": [op.tag],
            "parameters": [
                {
                    "name": p.name,
                    "in": p.where,
                    "description": p.description,
                    "required": p.required or p.where == "path",
                    "schema": p.schema,
                }
                for p in op.params
            ],
            "responses": _responses(op, ref),
        }
        if op.body is not None:
            item["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": ref[op.body]}},
            }
        if op.scope is not None:
            item["security"] = [{"bearer": []}]
            item["x-scope"] = op.scope
        paths.setdefault(op.path, {})[op.method.lower()] = item
    components["Problem"] = PROBLEM_SCHEMA
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def _responses(op: Operation, ref: dict[type, Any]) -> dict[str, Any]:
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    success: dict[str, Any] = {"description": HTTPStatus(op.status).phrase}
    if op.media_type == "application/json" and op.response is not None:
        success["content"] = {"application/json": {"schema": ref[op.response]}}
    elif op.media_type != "application/json":
        success["content"] = {op.media_type: {"schema": {"type": "string"}}}
    out: dict[str, Any] = {str(op.status): success}
    for status, kind in op.also:
        other: dict[str, Any] = {"description": HTTPStatus(status).phrase}
        if kind is not None:
            other["content"] = {"application/json": {"schema": ref[kind]}}
        out[str(status)] = other
    statuses = set(op.errors) | ({401, 403} if op.scope is not None else set())
    if op.body is not None:
        statuses |= {400, 413, 415, 422}
    if op.params:
        statuses.add(422)  # a parameter's value the route cannot use
    for status in sorted(statuses):
        out[str(status)] = {"description": "An error", "content": problem}
    return out
