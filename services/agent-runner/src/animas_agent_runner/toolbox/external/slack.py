"""``slack``: read a channel (or a thread) and post to it through Slack's Web API with a bot token.

config.json ``external_tools.slack``: the credential holding the bot token, optionally the
channels the tool may use, and the API's base URL (tests point it at a fake). Reading calls
``conversations.history`` (``conversations.replies`` for a thread); posting calls
``chat.postMessage``. Replies to people who wrote in by webhook go through outbound, not this
tool. A cycle redelivered after a crash may post its message again.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import httpx
import msgspec

from animas_agent_runner.toolbox.errors import ToolDenied, ToolFailed
from animas_agent_runner.toolbox.external.plugin import Call, Plugin, answered, api_key, clip
from animas_agent_runner.toolbox.registry import Args
from animas_core.config import AnimaWorksConfig

NAME = "slack"
MESSAGE_CHARS = 1_000
MAX_POST_CHARS = 4_000


class SlackArgs(Args, frozen=True, kw_only=True):
    """Arguments of slack."""

    action: Literal["read", "post"]
    channel: Annotated[str, msgspec.Meta(pattern=r"^[A-Z0-9]{2,32}$")]
    """The channel ID (``C0123…``)."""
    text: str | None = None
    """What to post (post)."""
    thread_ts: Annotated[str, msgspec.Meta(pattern=r"^[0-9]+\.[0-9]+$")] | None = None
    """A thread: read its replies, or post into it."""
    limit: Annotated[int, msgspec.Meta(ge=1, le=50)] = 20


def _ok(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ToolFailed("Slack's answer is not a JSON object")
    if not body.get("ok"):
        raise ToolFailed(f"Slack refused: {clip(body.get('error') or 'unknown error', 100)}")
    return body


def _render(channel: str, messages: Any) -> str:
    if not isinstance(messages, list) or not messages:
        return f"No messages in {channel}."
    lines = [f"Messages in {channel} (oldest first):"]
    for message in reversed(messages) if _newest_first(messages) else messages:
        if isinstance(message, dict):
            who = message.get("user") or message.get("bot_id") or "?"
            thread = f" [thread {message['thread_ts']}]" if message.get("reply_count") else ""
            lines.append(f"- {message.get('ts')} {who}: {clip(message.get('text'), MESSAGE_CHARS)}{thread}")
    return "\n".join(lines)


def _newest_first(messages: list[Any]) -> bool:
    stamps = [float(m.get("ts", 0)) for m in messages if isinstance(m, dict)]
    return len(stamps) > 1 and stamps[0] > stamps[-1]


def configure(config: AnimaWorksConfig) -> Call | str:
    """The configured Slack client, or why there is none."""
    section = config.external_tools.slack
    if section is None:
        return "slack is not configured (external_tools.slack in config.json)"
    token = api_key(config, section.credential)
    if token is None:
        return f"slack has no bot token (credentials.{section.credential}.api_key in config.json)"
    base = section.base_url.rstrip("/")
    headers = {"Authorization": f"Bearer {token}"}

    async def call(args: SlackArgs, http: httpx.AsyncClient) -> str:
        if section.channels and args.channel not in section.channels:
            raise ToolDenied(f"channel {args.channel} is not among the channels the slack tool may use")
        if args.action == "read":
            method = "conversations.replies" if args.thread_ts else "conversations.history"
            params: dict[str, str | int] = {"channel": args.channel, "limit": args.limit}
            if args.thread_ts:
                params["ts"] = args.thread_ts
            response = await http.get(
                f"{base}/{method}", params=params, headers=headers, timeout=section.timeout_s
            )
            return _render(args.channel, _ok(answered(response, "Slack")).get("messages"))
        text = (args.text or "").strip()
        if not text:
            raise ToolFailed("post needs a text")
        if len(text) > MAX_POST_CHARS:
            raise ToolFailed(f"a Slack post may have at most {MAX_POST_CHARS} characters here")
        payload: dict[str, str] = {"channel": args.channel, "text": text}
        if args.thread_ts:
            payload["thread_ts"] = args.thread_ts
        response = await http.post(
            f"{base}/chat.postMessage", json=payload, headers=headers, timeout=section.timeout_s
        )
        posted = _ok(answered(response, "Slack"))
        return f"Posted to {args.channel} (ts {posted.get('ts')})."

    return call


PLUGIN = Plugin(
    name=NAME,
    permission=NAME,
    description=(
        "Slack: action read (the channel's latest messages, or a thread's with thread_ts) or post "
        "(text, into a thread with thread_ts), in channel (an ID like C0123ABC)."
    ),
    guide="read a Slack channel or thread, and post to it.",
    origin="Slack, written by whoever can post in the channel",
    args=SlackArgs,
    configure=configure,
)
