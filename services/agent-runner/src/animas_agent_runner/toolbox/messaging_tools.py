"""Direct messages to other animas (seed 003 §7); boards are in ``board_tools``.

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


def check_text(text: str) -> str:
    """``text`` if it can be sent: not empty, within the length limit (a tool error otherwise)."""
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
    text = check_text(args.text)
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


MESSAGING_TOOLS = (
    Tool(
        "send_message",
        "Send a direct message to another anima by name; its answer comes back to you. Say things "
        "in your own words; put long content in a file and tell them where it is. ack=true for a "
        "short acknowledgement that needs no answer.",
        SendMessageArgs,
        send_message,
    ),
)
