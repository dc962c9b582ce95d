"""``http_fetch``: GET a page from an allow-listed host, as text, bounded in size and time.

Only hosts listed in config.json (``external_tools.http_fetch.allowed_hosts``) are fetched, and
every redirect is checked against the list again before it is followed. A host that resolves to
a loopback, private, link-local or otherwise reserved address is refused unless
``allow_private_addresses`` says otherwise, so an allow-listed name cannot be pointed inside the
network. Only ``http`` and ``https``; only text (``text/*``, JSON, XML); the body is read up to
``max_bytes`` and the whole fetch, redirects included, has ``timeout_s``. HTML is reduced to its
text (scripts and styles dropped).

Known limit: the address is checked when the name is resolved here, and the connection resolves
it again; a DNS answer that changes in between (rebinding) is not caught.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from html.parser import HTMLParser
from typing import Annotated
from urllib.parse import urljoin

import httpx
import msgspec

from animas_agent_runner.toolbox.errors import ToolDenied, ToolFailed
from animas_agent_runner.toolbox.external.plugin import Call, Plugin
from animas_agent_runner.toolbox.registry import Args
from animas_core.config import AnimaWorksConfig, HttpFetchConfig

NAME = "http_fetch"
TEXT_TYPES = ("text/", "application/json", "application/xml", "application/xhtml+xml", "application/rss+xml",
              "application/atom+xml", "application/ld+json")  # fmt: skip
REDIRECTS = frozenset({301, 302, 303, 307, 308})


class HttpFetchArgs(Args, frozen=True, kw_only=True):
    """Arguments of http_fetch."""

    url: Annotated[str, msgspec.Meta(min_length=1, max_length=2_000)]


def host_allowed(url: httpx.URL, allowed: list[str]) -> bool:
    """Whether ``url``'s host (and port) matches an allow-list entry."""
    host = url.host.casefold()
    port = url.port or (443 if url.scheme == "https" else 80)
    for entry in allowed:
        name, _, want_port = entry.rpartition(":") if _has_port(entry) else (entry, "", "")
        if want_port and int(want_port) != port:
            continue
        name = name.strip("[]")
        if name.startswith("*."):
            if host.endswith(name[1:]) and host != name[2:]:
                return True
        elif host == name:
            return True
    return False


def _has_port(entry: str) -> bool:
    return entry.rsplit("]", 1)[-1].count(":") == 1 if entry.startswith("[") else entry.count(":") == 1


async def _addresses(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise ToolFailed(f"{host} could not be resolved ({exc.strerror or exc})") from None
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


def _private(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return not address.is_global or address.is_multicast


async def check_url(url: httpx.URL, section: HttpFetchConfig) -> None:
    """Refuse a URL whose scheme, host or address the config does not allow (ToolDenied)."""
    if url.scheme not in ("http", "https"):
        raise ToolDenied(f"only http and https URLs are fetched, not {url.scheme or 'a relative URL'}")
    if not url.host:
        raise ToolDenied("the URL has no host")
    if not host_allowed(url, section.allowed_hosts):
        raise ToolDenied(
            f"{url.host} is not on the allow-list (external_tools.http_fetch.allowed_hosts in config.json)"
        )
    if section.allow_private_addresses:
        return
    port = url.port or (443 if url.scheme == "https" else 80)
    inside = [a for a in await _addresses(url.host, port) if _private(a)]
    if inside:
        raise ToolDenied(
            f"{url.host} resolves to a private or loopback address ({inside[0]}); "
            "such addresses are refused unless allow_private_addresses is set in config.json"
        )


class _Text(HTMLParser):
    """The visible text of an HTML page, one block per line."""

    SKIP = frozenset({"script", "style", "noscript", "template", "svg"})
    BLOCKS = frozenset(
        {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article"}
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self._skipping += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP and self._skipping:
            self._skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_text(html: str) -> str:
    """``html`` reduced to its text: tags, scripts and styles gone, blank runs collapsed."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)


async def _read(response: httpx.Response, limit: int) -> tuple[bytes, bool]:
    """At most ``limit`` bytes of the body, and whether there was more."""
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > limit:
            return bytes(body[:limit]), True
    return bytes(body), False


async def fetch(url: str, section: HttpFetchConfig, http: httpx.AsyncClient) -> str:
    """The text at ``url``, following allowed redirects; the model's reading of it."""
    try:
        current = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise ToolFailed(f"not a URL: {exc}") from None
    for _ in range(section.max_redirects + 1):
        await check_url(current, section)
        # The section's limit, not the shared client's default: a slow page the operator allowed
        # (e.g. one meant for the background) is read for as long as timeout_s says.
        request = http.build_request(
            "GET",
            current,
            headers={"Accept": "text/*, application/json;q=0.9"},
            timeout=section.timeout_s,
        )
        response = await http.send(request, stream=True, follow_redirects=False)
        try:
            if response.status_code in REDIRECTS and "location" in response.headers:
                current = httpx.URL(urljoin(str(current), response.headers["location"]))
                continue
            if response.status_code >= 400:
                raise ToolFailed(f"{current.host} answered HTTP {response.status_code}")
            kind = response.headers.get("content-type", "").split(";", 1)[0].strip().casefold()
            if not kind.startswith(TEXT_TYPES):
                raise ToolFailed(
                    f"{current} is {kind or 'of no stated type'}, not text; only text is fetched"
                )
            raw, cut = await _read(response, section.max_bytes)
            text = raw.decode(response.encoding or "utf-8", errors="replace")
        finally:
            await response.aclose()
        if kind in ("text/html", "application/xhtml+xml"):
            text = html_text(text)
        note = f"\n… (cut at {section.max_bytes} bytes)" if cut else ""
        return f"{current} ({kind}):\n{text}{note}"
    raise ToolFailed(f"more than {section.max_redirects} redirects")


def configure(config: AnimaWorksConfig) -> Call | str:
    """The configured fetch, or why there is none."""
    section = config.external_tools.http_fetch
    if section is None:
        return "http_fetch is not configured (external_tools.http_fetch in config.json)"

    async def call(args: HttpFetchArgs, http: httpx.AsyncClient) -> str:
        try:
            async with asyncio.timeout(section.timeout_s):
                return await fetch(args.url, section, http)
        except TimeoutError:
            raise ToolFailed(f"the fetch took longer than {section.timeout_s:g} s") from None

    return call


PLUGIN = Plugin(
    name=NAME,
    permission=NAME,
    description=(
        "Fetch a web page or document by URL (GET) from an allowed host and read it as text. "
        "Hosts not on the organization's allow-list are refused."
    ),
    guide="read a page whose URL you have (e.g. from web_search), if its host is allowed.",
    origin="a web page fetched by URL",
    args=HttpFetchArgs,
    configure=configure,
)
