"""``GET /openapi.json`` and ``GET /api/reference``: the API described, as data and as a page.

The page is rendered here from the very document ``/openapi.json`` serves (no CDN, no script):
every operation with its scope, parameters, request body and responses, and the schemas.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from animas_gateway.operations import Operation

Document = Callable[[], dict[str, Any]]

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
h2{border-bottom:1px solid #ccc;padding-bottom:.2rem;margin-top:2rem}
section.op{border:1px solid #ddd;border-radius:6px;padding:.5rem 1rem;margin:1rem 0}
.method{font-weight:bold;font-family:monospace;padding:.1rem .4rem;border-radius:4px;background:#eee}
code,pre{font-family:ui-monospace,monospace;font-size:.9em}
pre{background:#f6f6f6;padding:.5rem;overflow-x:auto}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.2rem .5rem;text-align:left}
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _schema_text(schema: Any) -> str:
    if isinstance(schema, dict) and set(schema) == {"$ref"}:
        name = str(schema["$ref"]).rsplit("/", 1)[-1]
        return f'<a href="#schema-{_e(name)}">{_e(name)}</a>'
    return f"<code>{_e(json.dumps(schema, ensure_ascii=False))}</code>"


def _content(content: dict[str, Any]) -> str:
    return "<br>".join(
        f"<code>{_e(media)}</code> {_schema_text(body.get('schema', {}))}" for media, body in content.items()
    )


def _operation(path: str, method: str, op: dict[str, Any]) -> str:
    anchor = _e(op.get("operationId", f"{method}_{path}"))
    scope = op.get("x-scope")
    parts = [
        f'<section class="op" id="{anchor}">',
        f'<h3><span class="method">{_e(method.upper())}</span> <code>{_e(path)}</code></h3>',
        f"<p>{_e(op.get('summary', ''))}</p>",
        f"<p>Scope: <code>{_e(scope)}</code></p>" if scope else "<p>Public: no token needed.</p>",
    ]
    params = op.get("parameters") or []
    if params:
        rows = "".join(
            f"<tr><td><code>{_e(p['name'])}</code></td><td>{_e(p['in'])}</td>"
            f"<td>{'yes' if p.get('required') else 'no'}</td><td>{_schema_text(p.get('schema', {}))}</td>"
            f"<td>{_e(p.get('description', ''))}</td></tr>"
            for p in params
        )
        parts.append(
            "<h4>Parameters</h4><table><tr><th>name</th><th>in</th><th>required</th><th>schema</th>"
            f"<th>description</th></tr>{rows}</table>"
        )
    body = op.get("requestBody")
    if body:
        parts.append(f"<h4>Request body</h4><p>{_content(body.get('content', {}))}</p>")
    rows = "".join(
        f"<tr><td>{_e(status)}</td><td>{_e(answer.get('description', ''))}</td>"
        f"<td>{_content(answer.get('content', {}))}</td></tr>"
        for status, answer in op.get("responses", {}).items()
    )
    parts.append(f"<h4>Responses</h4><table><tr><th>status</th><th></th><th>body</th></tr>{rows}</table>")
    parts.append("</section>")
    return "\n".join(parts)


def render_reference(document: dict[str, Any]) -> str:
    """The HTML page of an OpenAPI document: operations grouped by tag, then the schemas."""
    info = document.get("info", {})
    by_tag: dict[str, list[str]] = {}
    for path, item in document.get("paths", {}).items():
        for method, op in item.items():
            tag = (op.get("tags") or ["other"])[0]
            by_tag.setdefault(tag, []).append(_operation(path, method, op))
    sections = [f"<h2 id='tag-{_e(tag)}'>{_e(tag)}</h2>\n" + "\n".join(ops) for tag, ops in by_tag.items()]
    schemas = "\n".join(
        f'<section id="schema-{_e(name)}"><h3>{_e(name)}</h3>'
        f"<pre>{_e(json.dumps(schema, indent=2, ensure_ascii=False))}</pre></section>"
        for name, schema in sorted(document.get("components", {}).get("schemas", {}).items())
    )
    toc = " · ".join(f'<a href="#tag-{_e(tag)}">{_e(tag)}</a>' for tag in by_tag)
    title = f"{info.get('title', 'API')} {info.get('version', '')}".strip()
    return (
        "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{_e(title)}</title><style>{_STYLE}</style></head><body>\n"
        f"<h1>{_e(title)}</h1>\n"
        "<p>The same description as data: <a href='/openapi.json'>/openapi.json</a> (OpenAPI 3.1). "
        "Errors are problem details (RFC 9457, <code>application/problem+json</code>). Callers other "
        "than this machine send <code>Authorization: Bearer &lt;token&gt;</code>.</p>\n"
        f"<nav>{toc}</nav>\n" + "\n".join(sections) + f"\n<h2 id='schemas'>Schemas</h2>\n{schemas}\n"
        "</body></html>\n"
    )


def operations(document: Document) -> list[Operation]:
    """The two public routes; ``document`` gives the OpenAPI document of the whole API."""

    async def openapi(_: Request) -> Response:
        return JSONResponse(document())

    async def reference(_: Request) -> Response:
        return HTMLResponse(render_reference(document()))

    return [
        Operation("GET", "/openapi.json", openapi, "This API's OpenAPI 3.1 document", "reference", None),
        Operation("GET", "/api/reference", reference, "The API reference, as a web page", "reference", None,
                  media_type="text/html"),
    ]  # fmt: skip
