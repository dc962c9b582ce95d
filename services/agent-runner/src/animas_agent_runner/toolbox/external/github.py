"""``github``: issues (list, read, comment) and pull requests (list, read) through the REST API.

config.json ``external_tools.github``: the API's base URL (github.com's or an Enterprise
server's ``/api/v3``), the credential holding the token, and optionally the repositories the tool
may touch. Lists are the 20 most recent; bodies and comments are cut to a fixed length.
Commenting posts to GitHub: a cycle redelivered after a crash may post its comment again.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import httpx
import msgspec

from animas_agent_runner.toolbox.errors import ToolDenied, ToolFailed
from animas_agent_runner.toolbox.external.plugin import Call, Plugin, answered, api_key, clip
from animas_agent_runner.toolbox.registry import Args
from animas_core.config import AnimaWorksConfig, GitHubConfig

NAME = "github"
PAGE = 20
BODY_CHARS = 4_000
COMMENT_CHARS = 1_000
MAX_COMMENT_CHARS = 10_000

Action = Literal["list_issues", "read_issue", "comment_issue", "list_pulls", "read_pull"]


class GitHubArgs(Args, frozen=True, kw_only=True):
    """Arguments of github."""

    action: Action
    # Neither part may be "." or "..": the URL's dot segments would take the token out of /repos/.
    repo: Annotated[str, msgspec.Meta(pattern=r"^(?!\.\.?/)[A-Za-z0-9_.-]+/(?!\.\.?$)[A-Za-z0-9_.-]+$")]
    """``owner/name``."""
    number: Annotated[int, msgspec.Meta(ge=1)] | None = None
    """The issue or pull request (read_issue, comment_issue, read_pull)."""
    body: str | None = None
    """The comment (comment_issue)."""
    state: Literal["open", "closed", "all"] = "open"


def _user(item: dict[str, Any]) -> str:
    user = item.get("user")
    return str(user.get("login", "?")) if isinstance(user, dict) else "?"


def _listing(kind: str, repo: str, items: Any, state: str) -> str:
    if not isinstance(items, list):
        raise ToolFailed("GitHub's answer is not a list")
    if kind == "issues":
        items = [i for i in items if isinstance(i, dict) and "pull_request" not in i]
    if not items:
        return f"No {state} {kind} in {repo}."
    lines = [f"{state.capitalize()} {kind} in {repo} (most recent first):"]
    for item in items[:PAGE]:
        if isinstance(item, dict):
            lines.append(
                f"#{item.get('number')} {clip(item.get('title'), 200)} ({_user(item)}, {item.get('state')})"
            )
    return "\n".join(lines)


def _one(kind: str, item: Any, comments: Any) -> str:
    if not isinstance(item, dict):
        raise ToolFailed("GitHub's answer is not an object")
    head = f"{kind} #{item.get('number')}: {clip(item.get('title'), 300)}"
    lines = [head, f"state: {item.get('state')}; by {_user(item)}; {item.get('html_url', '')}"]
    if kind == "Pull request":
        base, head_ref = item.get("base") or {}, item.get("head") or {}
        lines.append(
            f"{head_ref.get('label', '?')} -> {base.get('label', '?')}; merged: {bool(item.get('merged'))}"
        )
    body = str(item.get("body") or "").strip()
    lines += ["", body[:BODY_CHARS] + ("…" if len(body) > BODY_CHARS else "") if body else "(no description)"]
    if isinstance(comments, list) and comments:
        lines += ["", f"Comments ({min(len(comments), PAGE)} shown):"]
        for comment in comments[:PAGE]:
            if isinstance(comment, dict):
                lines.append(f"- {_user(comment)}: {clip(comment.get('body'), COMMENT_CHARS)}")
    return "\n".join(lines)


def _check(args: GitHubArgs, section: GitHubConfig) -> None:
    if section.repositories and args.repo.casefold() not in {r.casefold() for r in section.repositories}:
        raise ToolDenied(f"{args.repo} is not among the repositories the github tool may use")
    if args.action in ("read_issue", "comment_issue", "read_pull") and args.number is None:
        raise ToolFailed(f"{args.action} needs the number of the issue or pull request")
    if args.action == "comment_issue" and not (args.body or "").strip():
        raise ToolFailed("comment_issue needs a body")
    if args.action == "comment_issue" and len(args.body or "") > MAX_COMMENT_CHARS:
        raise ToolFailed(f"a comment may have at most {MAX_COMMENT_CHARS} characters")


def configure(config: AnimaWorksConfig) -> Call | str:
    """The configured GitHub client, or why there is none."""
    section = config.external_tools.github
    if section is None:
        return "github is not configured (external_tools.github in config.json)"
    token = api_key(config, section.credential)
    headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    base = section.base_url.rstrip("/")

    async def get(http: httpx.AsyncClient, path: str, **params: Any) -> Any:
        response = await http.get(f"{base}{path}", params=params, headers=headers, timeout=section.timeout_s)
        return answered(response, "GitHub")

    async def call(args: GitHubArgs, http: httpx.AsyncClient) -> str:
        _check(args, section)
        repo = f"/repos/{args.repo}"
        if args.action == "list_issues":
            items = await get(http, f"{repo}/issues", state=args.state, per_page=PAGE)
            return _listing("issues", args.repo, items, args.state)
        if args.action == "list_pulls":
            items = await get(http, f"{repo}/pulls", state=args.state, per_page=PAGE)
            return _listing("pull requests", args.repo, items, args.state)
        if args.action == "read_issue":
            item = await get(http, f"{repo}/issues/{args.number}")
            comments = await get(http, f"{repo}/issues/{args.number}/comments", per_page=PAGE)
            return _one("Issue", item, comments)
        if args.action == "read_pull":
            item = await get(http, f"{repo}/pulls/{args.number}")
            comments = await get(http, f"{repo}/issues/{args.number}/comments", per_page=PAGE)
            return _one("Pull request", item, comments)
        if token is None:
            raise ToolDenied("commenting needs a GitHub token (external_tools.github.credential)")
        response = await http.post(
            f"{base}{repo}/issues/{args.number}/comments",
            json={"body": args.body},
            headers=headers,
            timeout=section.timeout_s,
        )
        posted = answered(response, "GitHub")
        where = posted.get("html_url", "") if isinstance(posted, dict) else ""
        return f"Commented on {args.repo}#{args.number}: {where}"

    return call


PLUGIN = Plugin(
    name=NAME,
    permission=NAME,
    description=(
        "GitHub: action list_issues, read_issue (with comments), comment_issue (body), list_pulls or "
        "read_pull, on repo 'owner/name'; number for one issue or pull request; state open, closed or all."
    ),
    guide="read a repository's issues and pull requests and comment on issues.",
    origin="GitHub, written by whoever can post there",
    args=GitHubArgs,
    configure=configure,
)
