"""``chatwork``: read a room's messages and post to it through Chatwork's REST API (v2).

config.json ``external_tools.chatwork``: the credential holding the API token (sent as
``X-ChatWorkToken``), optionally the rooms the tool may use, and the API's base URL. Reading
calls ``GET /rooms/{id}/messages?force=1`` (the latest 100); posting ``POST /rooms/{id}/messages``.
A cycle redelivered after a crash may post its message again.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import httpx
import msgspec

from animas_agent_runner.toolbox.errors import ToolDenied, ToolFailed
from animas_agent_runner.toolbox.external.plugin import Call, Plugin, answered, api_key, clip
from animas_agent_runner.toolbox.registry import Args
from animas_core.config import AnimaWorksConfig

NAME = "chatwork"
MESSAGE_CHARS = 1_000
MAX_POST_CHARS = 4_000


class ChatworkArgs(Args, frozen=True, kw_only=True):
    """Arguments of chatwork."""

    action: Literal["read", "post"]
    room_id: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{1,20}$")]
    text: str | None = None
    """What to post (post)."""
    limit: Annotated[int, msgspec.Meta(ge=1, le=100)] = 20


def _render(room: str, messages: Any, limit: int) -> str:
    if not isinstance(messages, list) or not messages:
        return f"No messages in room {room}."
    shown = messages[-limit:]
    lines = [f"The last {len(shown)} messages in room {room} (oldest first):"]
    for message in shown:
        if isinstance(message, dict):
            found = message.get("account")
            account: dict[str, Any] = found if isinstance(found, dict) else {}
            who = f"{account.get('name', '?')} ({account.get('account_id', '?')})"
            lines.append(f"- {message.get('message_id')} {who}: {clip(message.get('body'), MESSAGE_CHARS)}")
    return "\n".join(lines)


def configure(config: AnimaWorksConfig) -> Call | str:
    """The configured Chatwork client, or why there is none."""
    section = config.external_tools.chatwork
    if section is None:
        return "chatwork is not configured (external_tools.chatwork in config.json)"
    token = api_key(config, section.credential)
    if token is None:
        return f"chatwork has no API token (credentials.{section.credential}.api_key in config.json)"
    base = section.base_url.rstrip("/")
    headers = {"X-ChatWorkToken": token}

    async def call(args: ChatworkArgs, http: httpx.AsyncClient) -> str:
        if section.rooms and args.room_id not in section.rooms:
            raise ToolDenied(f"room {args.room_id} is not among the rooms the chatwork tool may use")
        url = f"{base}/rooms/{args.room_id}/messages"
        if args.action == "read":
            response = await http.get(url, params={"force": 1}, headers=headers, timeout=section.timeout_s)
            if response.status_code == 204:  # Chatwork's "no messages"
                return f"No messages in room {args.room_id}."
            return _render(args.room_id, answered(response, "Chatwork"), args.limit)
        text = (args.text or "").strip()
        if not text:
            raise ToolFailed("post needs a text")
        if len(text) > MAX_POST_CHARS:
            raise ToolFailed(f"a Chatwork post may have at most {MAX_POST_CHARS} characters here")
        response = await http.post(url, data={"body": text}, headers=headers, timeout=section.timeout_s)
        posted = answered(response, "Chatwork")
        message_id = posted.get("message_id") if isinstance(posted, dict) else None
        return f"Posted to room {args.room_id} (message {message_id})."

    return call


PLUGIN = Plugin(
    name=NAME,
    permission=NAME,
    description=(
        "Chatwork: action read (the room's latest messages, up to limit) or post (text), in room_id."
    ),
    guide="read a Chatwork room and post to it.",
    origin="Chatwork, written by whoever can post in the room",
    args=ChatworkArgs,
    configure=configure,
)
