"""Tools that reach outside (config.json ``external_tools``): where each one goes and with which key.

web_search, http_fetch, github, slack, chatwork and email; a section left out leaves its tool off.

Each tool is off until its section is here, and even then an anima uses it only when its
permissions.md lists the tool under Available Tools. Keys are not written in this section: a tool
names a credential (``credentials.<name>.api_key``, or ``ANIMAWORKS_CREDENTIAL_<NAME>_API_KEY``),
so keys are kept, masked (``GET /api/config`` shows ``"***"``) and restored like every other key.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from animas_core.config_model import CredentialName, _Section

SearchProvider = Literal["searxng", "brave", "tavily"]
"""SearXNG (``GET /search?format=json``, no key), Brave Search API (``GET /res/v1/web/search``,
``X-Subscription-Token``) or Tavily (``POST /search``, bearer key)."""

DEFAULT_SEARCH_URLS: dict[str, str] = {
    "brave": "https://api.search.brave.com",
    "tavily": "https://api.tavily.com",
}
"""Where a provider is when ``base_url`` is not given (SearXNG is self-hosted: it has none)."""

BaseUrl = Annotated[str, Field(pattern=r"^https?://[^\s/]+(/\S*)?$")]


class WebSearchConfig(_Section):
    """``web_search``: one provider, its base URL, and the credential holding its key."""

    provider: SearchProvider
    base_url: BaseUrl | None = None
    """Defaults to the provider's public API (Brave, Tavily); required for SearXNG."""
    credential: CredentialName | None = None
    """The credential whose ``api_key`` the provider needs (Brave and Tavily; SearXNG none)."""
    max_results: int = Field(default=5, ge=1, le=20)
    timeout_s: float = Field(default=15.0, gt=0, le=120)

    @model_validator(mode="after")
    def _complete(self) -> WebSearchConfig:
        if self.base_url is None and self.provider not in DEFAULT_SEARCH_URLS:
            raise ValueError(f"{self.provider} needs a base_url (it is self-hosted)")
        if self.provider != "searxng" and self.credential is None:
            raise ValueError(f"{self.provider} needs a credential naming its API key")
        return self

    def url(self) -> str:
        """The provider's base URL without a trailing slash."""
        return (self.base_url or DEFAULT_SEARCH_URLS[self.provider]).rstrip("/")


HostPattern = Annotated[
    str, Field(pattern=r"^(\*\.)?[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$")
]


class HttpFetchConfig(_Section):
    """``http_fetch``: GET pages from listed hosts only, bounded in size and time, text only."""

    allowed_hosts: list[HostPattern] = Field(min_length=1)
    """``example.com`` (that host), ``*.example.com`` (its subdomains, not itself); a ``:port``
    limits the entry to that port. Every redirect is checked against the list again."""
    allow_private_addresses: bool = False
    """Whether a listed host may resolve to a loopback, private, link-local or reserved address
    (off: an allow-listed name pointing inside the network is still refused)."""
    max_bytes: int = Field(default=500_000, ge=1_000, le=10_000_000)
    """The most of a body read; a longer one is cut (and says so)."""
    timeout_s: float = Field(default=15.0, gt=0, le=120)
    """For the whole fetch, redirects included."""
    max_redirects: int = Field(default=5, ge=0, le=10)

    @field_validator("allowed_hosts")
    @classmethod
    def _folded(cls, hosts: list[str]) -> list[str]:
        return [host.casefold() for host in hosts]


class GitHubConfig(_Section):
    """``github``: the REST API (github.com or GitHub Enterprise) with a token."""

    base_url: BaseUrl = "https://api.github.com"
    credential: CredentialName | None = None
    """The credential whose ``api_key`` is the token (a fine-grained token scoped to the repositories
    the animas may see); without one only public repositories can be read and nothing posted."""
    repositories: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")]] = Field(
        default_factory=list
    )
    """``owner/name`` the tool may touch; empty: any the token reaches."""
    timeout_s: float = Field(default=15.0, gt=0, le=120)


class SlackToolConfig(_Section):
    """``slack``: read and post in channels through the Web API with a bot token."""

    base_url: BaseUrl = "https://slack.com/api"
    credential: CredentialName
    """The credential whose ``api_key`` is the bot token (``xoxb-…``)."""
    channels: list[Annotated[str, Field(pattern=r"^[A-Z0-9]{2,32}$")]] = Field(default_factory=list)
    """Channel IDs the tool may read and post in; empty: any the bot is a member of."""
    timeout_s: float = Field(default=15.0, gt=0, le=120)


class ChatworkToolConfig(_Section):
    """``chatwork``: read and post in rooms through the REST API (v2) with an API token."""

    base_url: BaseUrl = "https://api.chatwork.com/v2"
    credential: CredentialName
    """The credential whose ``api_key`` is the API token (sent as ``X-ChatWorkToken``)."""
    rooms: list[Annotated[str, Field(pattern=r"^[0-9]{1,20}$")]] = Field(default_factory=list)
    """Room IDs the tool may read and post in; empty: any the token's account is in."""
    timeout_s: float = Field(default=15.0, gt=0, le=120)


MailSecurity = Literal["tls", "starttls", "none"]
"""``tls``: TLS from the start (IMAPS 993, SMTPS 465); ``starttls``: upgraded after connecting;
``none``: plain (only for a server on the same host, e.g. a test's fake)."""


class EmailToolConfig(_Section):
    """``email``: read a mailbox over IMAP and send over SMTP as one account."""

    address: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    """The account's address (the sender of what the tool sends)."""
    username: str = Field(min_length=1)
    credential: CredentialName
    """The credential whose ``api_key`` is the account's password (or app password)."""
    imap_host: str = Field(min_length=1)
    imap_port: int = Field(default=993, ge=1, le=65535)
    imap_security: MailSecurity = "tls"
    mailbox: str = "INBOX"
    smtp_host: str = Field(min_length=1)
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_security: MailSecurity = "starttls"
    allowed_recipients: list[Annotated[str, Field(pattern=r"^[^@\s]*@[^@\s]+$")]] = Field(
        default_factory=list
    )
    """``someone@example.com`` or ``@example.com`` (the whole domain); empty: nobody can be
    written to (reading only)."""
    max_bytes: int = Field(default=200_000, ge=1_000, le=10_000_000)
    """The most of one message read."""
    timeout_s: float = Field(default=30.0, gt=0, le=120)


class ExternalToolsConfig(_Section):
    """The external tools that are configured (none by default)."""

    web_search: WebSearchConfig | None = None
    http_fetch: HttpFetchConfig | None = None
    github: GitHubConfig | None = None
    slack: SlackToolConfig | None = None
    chatwork: ChatworkToolConfig | None = None
    email: EmailToolConfig | None = None
