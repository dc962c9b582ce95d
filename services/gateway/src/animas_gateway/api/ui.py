"""The web UI: static files shipped in the package (``animas_gateway/ui``), served as they are.

No build step and nothing fetched from elsewhere: ``index.html`` loads ``/ui/app.js`` (a plain ES
module importing its siblings) and ``/ui/style.css``. Only a flat name with a known extension that
exists in the folder is served, so no path can reach outside it.
"""

from __future__ import annotations

import re
from importlib import resources
from importlib.resources.abc import Traversable

from starlette.requests import Request
from starlette.responses import Response

from animas_gateway.operations import Operation, Param
from animas_gateway.problems import problem

MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*\.(html|js|css|svg)$")
SECURITY_HEADERS = {
    # Everything the page needs comes from this origin: its modules, its styles, the API.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def ui_folder() -> Traversable:
    """Where the installed UI files are."""
    return resources.files("animas_gateway").joinpath("ui")


def ui_file(name: str, folder: Traversable | None = None) -> tuple[bytes, str] | None:
    """A UI file's bytes and media type, or ``None`` for a name that is not a file of the UI."""
    if not _NAME.match(name):
        return None
    path = (folder or ui_folder()).joinpath(name)
    if not path.is_file():
        return None
    return path.read_bytes(), MEDIA_TYPES["." + name.rsplit(".", 1)[1]]


def _serve(name: str, folder: Traversable | None) -> Response:
    found = ui_file(name, folder)
    if found is None:
        return problem(404, f"no UI file named {name!r}", title="Not found")
    content, media_type = found
    return Response(content, media_type=media_type, headers=SECURITY_HEADERS)


def operations(folder: Traversable | None = None) -> list[Operation]:
    """``GET /`` (the page) and ``GET /ui/{file}`` (its modules and styles); public, not in the document."""

    async def index(_: Request) -> Response:
        return _serve("index.html", folder)

    async def asset(request: Request) -> Response:
        return _serve(str(request.path_params["file"]), folder)

    return [
        Operation("GET", "/", index, "The web UI", "ui", None, media_type="text/html", in_schema=False),
        Operation(
            "GET",
            "/ui/{file}",
            asset,
            "A file of the web UI",
            "ui",
            None,
            media_type="text/javascript",
            params=(Param("file", "path", "The file's name, e.g. app.js"),),
            errors=(404,),
            in_schema=False,
        ),
    ]
