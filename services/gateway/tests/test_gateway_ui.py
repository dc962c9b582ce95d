"""The web UI's static files: served from the package, flat names only, every module it imports shipped."""

from __future__ import annotations

import re
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from animas_gateway.api import ui
from animas_gateway.operations import openapi_document, routes

UI = Path(ui.__file__).parent.parent / "ui"
PYPROJECT = Path(ui.__file__).parents[3] / "pyproject.toml"
_IMPORT = re.compile(r"""^\s*import\s[^;]*?from\s+["'](\./[^"']+)["']""", re.MULTILINE)


def _client() -> httpx.AsyncClient:
    app = Starlette(routes=routes(ui.operations()))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


async def test_the_page_and_its_files_are_served_with_their_media_types() -> None:
    async with _client() as client:
        page = await client.get("/")
        script = await client.get("/ui/app.js")
        style = await client.get("/ui/style.css")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="/ui/app.js">' in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert style.headers["content-type"].startswith("text/css")


@pytest.mark.parametrize(
    "name", ["missing.js", ".hidden.js", "app.py", "APP.JS", "app.js.map", "index.html%00.js"]
)
async def test_only_files_of_the_ui_folder_are_served(name: str) -> None:
    async with _client() as client:
        response = await client.get(f"/ui/{name}")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 404


async def test_a_nested_path_matches_no_route() -> None:
    async with _client() as client:
        assert (await client.get("/ui/../api/ui.py")).status_code == 404
        assert (await client.get("/ui/sub/app.js")).status_code == 404
        assert (await client.get("/ui/..%2Fapi%2Fui.py")).status_code == 404
        assert (await client.get("/ui/%2Fetc%2Fpasswd")).status_code == 404


def test_a_name_is_checked_before_the_folder_is_read(tmp_path: Path) -> None:
    (tmp_path / "page.html").write_text("<p>x</p>")
    (tmp_path / "notes.txt").write_text("secret")
    assert ui.ui_file("page.html", tmp_path) == (b"<p>x</p>", "text/html; charset=utf-8")
    assert ui.ui_file("notes.txt", tmp_path) is None
    assert ui.ui_file("../page.html", tmp_path) is None


def test_every_module_the_page_imports_is_in_the_folder_and_installed() -> None:
    globs = tomllib.loads(PYPROJECT.read_text())["tool"]["setuptools"]["package-data"]["animas_gateway"]
    files = sorted(p.name for p in UI.iterdir() if p.is_file())
    assert files and all(any(fnmatch(f"ui/{name}", g) for g in globs) for name in files), (files, globs)
    wanted = {"app.js", "style.css"}
    for script in UI.glob("*.js"):
        wanted |= {m.removeprefix("./") for m in _IMPORT.findall(script.read_text())}
    assert wanted <= set(files), wanted - set(files)


def test_nothing_is_fetched_from_another_origin() -> None:
    for path in UI.iterdir():
        text = path.read_text()
        assert not re.search(r"""(src|href)=["']https?://""", text), path.name
        assert not re.search(r"""(fetch|import)\(\s*["']https?://""", text), path.name
        assert not re.search(r"""from\s+["']https?://""", text), path.name


def test_the_ui_routes_are_public_and_left_out_of_the_document() -> None:
    ops = ui.operations()
    assert all(op.scope is None for op in ops)
    assert openapi_document(ops, title="t", version="1")["paths"] == {}
