"""Tools that talk to others: direct messages to animas and shared channels (seed 003 §7).

A message is checked here first (the recipient exists, is enabled and is not the sender), so a
wrong name is an error the model reads and no event reaches anyone. outbound delivers what
passes and checks again (an anima can disappear between the two), with the loop limits and the
storm guards; the tool waits for its verdict (toolbox/sending.py).
"""

from __future__ import annotations

from animas_agent_runner.toolbox.context import ToolContext
from animas_agent_runner.toolbox.errors import ToolFailed
from animas_agent_runner.toolbox.registry import Args, Tool
from animas_agent_runner.toolbox.sending import request_for, send
from animas_contracts import MessageKind, OutboundKind, is_valid_anima_name

MAX_MESSAGE_CHARS = 8_000
"""Seed 003 §7: long content goes in a file and the message says where it is."""


class SendMessageArgs(Args, frozen=True, kw_only=True):
    """Arguments of send_message."""

    to: str
    text: str
    attachments: list[str] = []  # noqa: RUF012 - msgspec copies defaults
    ack: bool = False
    """An acknowledgement: it wakes no cycle in the recipient and passes the storm guards."""


class PostChannelArgs(Args, frozen=True, kw_only=True):
    """Arguments of post_channel."""

    channel: str
    text: str


class ReadChannelArgs(Args, frozen=True, kw_only=True):
    """Arguments of read_channel."""

    channel: str
    limit: int = 20


def _check_text(text: str) -> str:
    if not text.strip():
        raise ToolFailed("the message is empty")
    if len(text) > MAX_MESSAGE_CHARS:
        raise ToolFailed(
            f"the message is {len(text)} characters; the limit is {MAX_MESSAGE_CHARS}. "
            "Put long content in a file and say where it is."
        )
    return text


async def send_message(ctx: ToolContext, args: SendMessageArgs, ordinal: int) -> str:
    """A direct message to another anima, in the current thread."""
    text = _check_text(args.text)
    to = args.to.strip().lower()
    if to == ctx.anima:
        raise ToolFailed("you cannot send a message to yourself")
    animas = {summary.name: summary for summary in await ctx.memory.animas()}
    recipient = animas.get(to) if is_valid_anima_name(to) else None
    if recipient is None:
        others = ", ".join(sorted(name for name in animas if name != ctx.anima)) or "none"
        raise ToolFailed(
            f"there is no anima named {args.to!r}; nothing was sent. Animas you can write to: {others}"
        )
    if not recipient.enabled:
        raise ToolFailed(f"{to} is disabled and cannot receive messages; nothing was sent")
    if to == ctx.answers_to and not args.ack:
        raise ToolFailed(
            f"{to} asked you; your final answer goes to {to} in this thread when you finish. "
            "Put what you want to tell them there (nothing was sent)."
        )
    if to in ctx.effects.messages_sent and not args.ack:
        raise ToolFailed(
            f"you already sent {to} a message in this cycle; one per recipient (nothing was sent)"
        )
    intent = MessageKind.ACK if args.ack else MessageKind.MESSAGE
    request = request_for(
        ctx, ordinal, OutboundKind.MESSAGE, to, text, intent=intent, attachments=list(args.attachments)
    )
    delivered = await send(ctx, request)
    state = "delivered" if delivered else "sent (delivery not confirmed yet)"
    return f"Message to {to} {state} (thread {ctx.thread_id})."


async def post_channel(ctx: ToolContext, args: PostChannelArgs, ordinal: int) -> str:
    """A post on a shared channel (board) every anima can read."""
    text = _check_text(args.text)
    channel = args.channel.strip().lstrip("#").lower()
    if not is_valid_anima_name(channel):
        raise ToolFailed(f"invalid channel name {args.channel!r}: use lowercase letters, digits, '_' or '-'")
    await send(ctx, request_for(ctx, ordinal, OutboundKind.CHANNEL, channel, text))
    return f"Posted to #{channel}."


async def read_channel(ctx: ToolContext, args: ReadChannelArgs, ordinal: int) -> str:
    """The latest posts of a channel, oldest first."""
    channel = args.channel.strip().lstrip("#").lower()
    if not is_valid_anima_name(channel):
        raise ToolFailed(f"invalid channel name {args.channel!r}")
    posts = await ctx.channels.recent(channel, max(1, min(args.limit, 100)))
    if not posts:
        return f"#{channel} has no posts."
    lines = [f"#{channel}, last {len(posts)} post(s):"]
    lines += [f"- {post.ts.isoformat(timespec='minutes')} {post.anima}: {post.text}" for post in posts]
    return "\n".join(lines)


MESSAGING_TOOLS = (
    Tool(
        "send_message",
        "Send a direct message to another anima by name; its answer comes back to you. Say things "
        "in your own words; put long content in a file and tell them where it is. ack=true for a "
        "short acknowledgement that needs no answer.",
        SendMessageArgs,
        send_message,
    ),
    Tool("post_channel", "Post to a shared channel (board) such as general.", PostChannelArgs, post_channel),
    Tool("read_channel", "Read the latest posts of a shared channel.", ReadChannelArgs, read_channel),
)
